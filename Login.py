"""Logging in to Mendeley and keeping the access token fresh during a run.

Two flows, as in the original tool:
- no client secret: OAuth implicit grant, a browser login on every run, nothing saved;
- with a client secret: authorization-code grant; the token is saved in the token file (TokenStore),
  reused by later runs and refreshed, with the new token saved at once (refresh tokens are single-use).

The browser login itself, and when one may be attempted at all, is BrowserLogin's.
"""

import hmac
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from BrowserLogin import browser_login, can_log_in_interactively, tell
from Config import LoginSettings
from Errors import ConfigError, LoginError, TokenFileError, TokenRefused
from OAuthListener import is_loopback_url, listen_address
from TokenEndpoint import TokenEndpoint
from TokenStore import Token, load_token, read_token, save_token, token_file_lock

log = logging.getLogger(__name__)

NO_TERMINAL_IMPLICIT = ("Without a client secret mendeley-backup must log in through a browser on every run, "
                        "and there is no terminal to log in from; run it by hand, or set client-secret "
                        "(see the README) to keep a saved login for unattended runs")
IMPLICIT_EXPIRED = ("The Mendeley login of this run has expired and cannot be renewed without a client "
                    "secret; run mendeley-backup again (set client-secret for a login that renews itself)")


class Credentials:
    """Thread-safe holder of the current access token (several download threads share it)."""

    def __init__(self, token: Token, renew: Callable[[Token], Token] | None = None) -> None:
        """`renew(old)` gives a fresh token for one the API rejected; None when there is no way to."""
        self._token = token
        self._renew = renew
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Credentials(expires_at={self._token.expires_at}, renewable={self._renew is not None})"

    def access_token(self) -> str:
        with self._lock:
            return self._token.access_token

    def refresh(self, rejected_token: str) -> str:
        """Called by the API client after a 401 with the token that was rejected. Returns a token to retry with.

        If another thread already refreshed (current token != rejected_token) the current one is returned, unless it
        has itself expired meanwhile (this thread's request may have waited out retries longer than it lives).
        Raises LoginError when no refresh is possible (implicit flow, no refresh token, refresh refused).
        """
        with self._lock:
            replaced = not hmac.compare_digest(self._token.access_token.encode(), rejected_token.encode())
            if replaced and not self._token.expired():
                return self._token.access_token
            if self._renew is None:
                raise LoginError(IMPLICIT_EXPIRED)
            self._token = self._renew(self._token)
            return self._token.access_token


def log_in(settings: LoginSettings, http: requests.Session) -> Credentials:
    """Log in as the settings say: reuse or refresh the saved token, or log in through the browser.

    Raises LoginError (ConfigError for an unusable redirect URI or API host). Never hangs without a
    person to log in: see can_log_in_interactively.
    """
    _check_settings(settings)
    if not settings.client_secret:
        if not can_log_in_interactively(settings.open_browser):
            raise LoginError(NO_TERMINAL_IMPLICIT)
        log.info("No client secret: logging in through the browser (implicit grant, nothing is saved)")
        return Credentials(browser_login(settings, finish_code=None), renew=None)

    endpoint = TokenEndpoint(http, settings.api_host, settings.client_id, settings.client_secret,
                             settings.redirect_uri)
    saved_login = SavedLogin(settings.token_file, endpoint)
    credentials = saved_login.resume(can_log_in_again=lambda: can_log_in_interactively(settings.open_browser))
    if credentials is not None:
        return credentials
    if not can_log_in_interactively(settings.open_browser):
        raise LoginError(f"{saved_login.unusable}, and there is no terminal to log in from; run mendeley-backup "
                         f"once by hand (add --no-browser on a machine without a browser) to log in")
    if saved_login.unusable is not None and settings.token_file.exists():
        log.warning("%s; logging in again", saved_login.unusable)
    return Credentials(browser_login(settings, finish_code=saved_login.finish_code), saved_login.renew)


class SavedLogin:
    """The authorization-code login kept in the token file: resumed, renewed and replaced."""

    def __init__(self, path: Path, endpoint: TokenEndpoint) -> None:
        self.path = path
        self.endpoint = endpoint
        self.unusable: str | None = None  # why the saved login could not be used, once `resume` found so

    def resume(self, can_log_in_again: Callable[[], bool]) -> Credentials | None:
        """Credentials from the saved token, refreshed first when expired; None when a login is needed, with the
        reason in `unusable`.

        A refused refresh raises its LoginError unless a person is there to log in again.
        """
        saved, problem = read_token(self.path)
        if saved is None:
            self.unusable = (f"There is no saved Mendeley login ({self.path} does not exist)" if not self.path.exists()
                             else f"The saved Mendeley login in {self.path} cannot be used: {problem}")
            return None
        if not saved.expired():
            log.info("Using the saved Mendeley login")
            return Credentials(saved, self.renew)
        if not saved.refresh_token:
            self.unusable = f"The saved Mendeley login in {self.path} has expired and has no refresh token to renew it"
            return None
        log.info("The saved Mendeley login has expired; renewing it")
        try:
            return Credentials(self.renew(saved, at_start=True), self.renew)
        except TokenRefused:
            if not can_log_in_again():
                raise
            self.unusable = f"The saved Mendeley login in {self.path} has expired or was revoked"
            return None

    def renew(self, rejected: Token, at_start: bool = False) -> Token:
        """A fresh token for `rejected`, saved before it is returned.

        Under a lock shared with overlapping runs, the token file is read again first: if another run
        has already renewed the login (a different, unexpired token), that token is adopted and the
        refresh token, perhaps already used up, is not sent. Raises TokenRefused or LoginError.
        """
        with token_file_lock(self.path):
            on_disk = load_token(self.path)
            if on_disk is not None and _fresh_and_other(on_disk, rejected):
                log.info("Another run has already renewed the Mendeley login; using its token")
                return on_disk
            source = on_disk if on_disk is not None and on_disk.refresh_token else rejected
            try:
                token = self.endpoint.refresh(source)
            except TokenRefused:
                # A run that could not take the lock may have rotated the refresh token meanwhile.
                again = load_token(self.path)
                if again is not None and _fresh_and_other(again, rejected, source):
                    log.info("Another run has just renewed the Mendeley login; using its token")
                    return again
                raise
            log.info("Renewed the Mendeley login")
            self._save(token, strict=at_start, what="Renewed the Mendeley login")
            return token

    def finish_code(self, redirect_url: str, flow: Any) -> Token:
        """Exchange the code of an accepted redirect and save the token (a failure shows on the page).

        `flow` is the SDK's authorization-code authenticator; its oauthlib client reads the code and
        checks the state once more.
        """
        from oauthlib.oauth2 import OAuth2Error  # as the SDK, only for a run that logs in

        try:
            code = flow.client.parse_request_uri_response(redirect_url, state=flow.state)["code"]
        except OAuth2Error as e:
            raise LoginError(f"Mendeley refused the login: {e.error}; run mendeley-backup again") from e
        token = self.endpoint.exchange_code(code)
        self._save(token, strict=True, what="Logged in")
        tell(f"Logged in to Mendeley; the login is saved in {self.path} and renews itself, so later runs (from cron "
             f"too) need no browser")
        return token

    def _save(self, token: Token, strict: bool, what: str) -> None:
        try:
            save_token(self.path, token)
        except TokenFileError as e:
            if strict:
                raise LoginError(f"{what} but {e}; make it writable and run again") from e
            log.error("%s but %s; the next run will have to log in again", what, e)


def _fresh_and_other(token: Token, *others: Token) -> bool:
    """True for an unexpired token that is none of `others`: one another run has saved."""
    return not token.expired() and all(token.access_token != o.access_token for o in others)


def _check_settings(settings: LoginSettings) -> None:
    try:
        listen_address(settings.redirect_uri)
    except ValueError as e:
        raise ConfigError(f"Unusable redirect URI {settings.redirect_uri!r} (--redirect-uri, or redirect-uri in the "
                          f"config file): {e}, such as http://localhost:5000/oauth") from None
    scheme = urlsplit(settings.api_host).scheme
    if not (scheme == "https" or (scheme == "http" and is_loopback_url(settings.api_host))):
        # The SDK switches off oauthlib's https check for a loopback redirect URI; this is the check.
        raise ConfigError(f"Unusable API host {settings.api_host!r} (--api-host, or api-host in the config file): it "
                          "must be https:// (plain http only on a loopback address)")
