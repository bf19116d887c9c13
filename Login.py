"""Logging in to Mendeley and keeping the access token fresh during a run.

Two flows, as in the original tool:
- no client secret: OAuth implicit grant, a browser login on every run, nothing saved;
- with a client secret: authorization-code grant; the token is saved in the token file (TokenStore),
  reused by later runs and refreshed, with the new token saved at once (refresh tokens are single-use).

The browser login opens `<api_host>/oauth/authorize?...` and catches the redirect on a loopback listener
(OAuthListener). With --no-browser the URL is printed to stderr and the address the browser ends on may
also be pasted on standard input, for a machine reached over SSH.

Stand-in browser protocol (end-to-end tests set BROWSER to a script):
    `webbrowser.open` runs `$BROWSER <login URL>` in a background thread and may wait for it to exit, so
    a synchronous script is fine. It should write nothing to stdout (scripts parse the tool's stdout).
    - Authorization code: GET the login URL without following the redirect, then GET the `Location` it
      answers (`http://localhost:5000/oauth?code=…&state=…`). That request is answered once the code is
      exchanged and the token saved: 200 "Successfully logged in! You can close this tab", or a
      "Failed to log in!" page. In shell:
          loc=$(curl -s -o /dev/null -w '%{redirect_url}' "$1"); curl -s -o /dev/null "$loc"
    - Implicit: the `Location` is `http://localhost:5000/oauth#access_token=…&state=…`. A real browser
      GETs `/oauth` (fragments are not sent), receives a page whose script then does
      `GET /oauth?fragment=<encodeURIComponent(fragment)>`; a stand-in makes that request directly:
          frag=${loc#*#}; curl -s -o /dev/null -G --data-urlencode "fragment=$frag" "${loc%%#*}"
    - A denied login redirects with `error=access_denied&error_description=…&state=…` (query, or fragment
      for implicit): the page says "Failed to log in!" and log_in raises LoginError with both.
    - A wrong or missing `state` gets HTTP 400 and the login keeps waiting; other paths get 404.
    With --no-browser nothing is opened: stderr gets "Open this URL in a browser to log in: <URL>", and
    the final redirect URL (with its query or fragment) may be written as one line on stdin instead.
"""

import contextlib
import hmac
import logging
import os
import queue
import secrets
import stat
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import requests
from mendeley import Mendeley, is_localhost
from oauthlib.oauth2 import OAuth2Error

from Errors import ConfigError, LoginError
from OAuthListener import OAuthListener, RedirectCatcher, is_loopback_url, listen_address
from TokenEndpoint import TokenEndpoint, TokenRefused
from TokenStore import Token, TokenFileError, load_token, save_token, token_file_lock

log = logging.getLogger(__name__)

NO_TERMINAL = ("No usable saved Mendeley login and no terminal to log in from; run mendeley-backup once by hand "
               "(add --no-browser on a machine without a browser) to log in")
NO_TERMINAL_IMPLICIT = ("Without a client secret mendeley-backup must log in through a browser on every run, "
                        "and there is no terminal to log in from; run it by hand, or set client-secret "
                        "(see the README) to keep a saved login for unattended runs")
IMPLICIT_EXPIRED = ("The Mendeley login of this run has expired and cannot be renewed without a client "
                    "secret; run mendeley-backup again (set client-secret for a login that renews itself)")

# How often the wait for the login answer looks at standard input and the browser opener.
POLL_S = 0.2


@dataclass(frozen=True)
class LoginSettings:
    """What logging in needs, already resolved by the config code."""

    client_id: str
    client_secret: str | None = field(repr=False)  # None (or empty) → implicit grant, nothing saved
    redirect_uri: str  # http:// on a loopback host, e.g. http://localhost:5000/oauth
    token_file: Path  # absolute
    api_host: str  # e.g. https://api.mendeley.com, or http://127.0.0.1:PORT for the emulator
    open_browser: bool = True  # False with --no-browser
    login_timeout_s: float = 300.0


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

        If another thread already refreshed (current token != rejected_token) just return the current one.
        Raises LoginError when no refresh is possible (implicit flow, no refresh token, refresh refused).
        """
        with self._lock:
            if not hmac.compare_digest(self._token.access_token.encode(), rejected_token.encode()):
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
        return Credentials(_browser_login(settings, finish_code=None), renew=None)

    endpoint = TokenEndpoint(http, settings.api_host, settings.client_id, settings.client_secret,
                             settings.redirect_uri)
    saved_login = SavedLogin(settings.token_file, endpoint)
    credentials = saved_login.resume(can_log_in_again=lambda: can_log_in_interactively(settings.open_browser))
    if credentials is not None:
        return credentials
    if not can_log_in_interactively(settings.open_browser):
        raise LoginError(NO_TERMINAL)
    return Credentials(_browser_login(settings, finish_code=saved_login.finish_code), saved_login.renew)


class SavedLogin:
    """The authorization-code login kept in the token file: resumed, renewed and replaced."""

    def __init__(self, path: Path, endpoint: TokenEndpoint) -> None:
        self.path = path
        self.endpoint = endpoint

    def resume(self, can_log_in_again: Callable[[], bool]) -> Credentials | None:
        """Credentials from the saved token, refreshed first when expired; None when a login is needed.

        A refused refresh raises its LoginError unless a person is there to log in again.
        """
        saved = load_token(self.path)
        if saved is None:
            return None
        if not saved.expired():
            log.info("Using the saved Mendeley login")
            return Credentials(saved, self.renew)
        if not saved.refresh_token:
            log.info("The saved Mendeley login has expired and cannot be renewed (no refresh token)")
            return None
        log.info("The saved Mendeley login has expired; renewing it")
        try:
            return Credentials(self.renew(saved, at_start=True), self.renew)
        except TokenRefused:
            if not can_log_in_again():
                raise
            log.warning("The saved Mendeley login has expired or was revoked; logging in again")
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
        try:
            code = flow.client.parse_request_uri_response(redirect_url, state=flow.state)["code"]
        except OAuth2Error as e:
            raise LoginError(f"Mendeley refused the login: {e.error}; run mendeley-backup again") from e
        token = self.endpoint.exchange_code(code)
        log.info("Logged in to Mendeley")
        self._save(token, strict=True, what="Logged in")
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
        raise ConfigError(f"Unusable redirect URI {settings.redirect_uri}: {e} "
                          "(e.g. http://localhost:5000/oauth)") from None
    scheme = urlsplit(settings.api_host).scheme
    if not (scheme == "https" or (scheme == "http" and is_loopback_url(settings.api_host))):
        # The SDK switches off oauthlib's https check for a loopback redirect URI; this is the check.
        raise ConfigError(f"Unusable API host {settings.api_host}: it must be https:// "
                          "(plain http only on a loopback address)")


# ---- interactivity -------------------------------------------------------------------------------------

def can_log_in_interactively(open_browser: bool, *, stdin: IO[Any] | None = None,
                             environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether a person may be there to finish a browser login, so that waiting for one makes sense.

    Browser mode: standard input is a terminal, or BROWSER, DISPLAY or WAYLAND_DISPLAY is set (on macOS
    and Windows, which have no DISPLAY, the terminal test is what counts). --no-browser: standard input
    is a terminal, or a pipe, file or socket that may deliver the pasted URL (if it ends before any line
    the wait stops at once); /dev/null, a closed or missing standard input do not count.
    `stdin`, `environ` and `platform` default to the process's own.
    """
    stream = sys.stdin if stdin is None else stdin
    env = os.environ if environ is None else environ
    tty = _isatty(stream)
    if open_browser:
        plat = sys.platform if platform is None else platform
        graphical = any(env.get(name) for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"))
        return tty or graphical or (plat in ("darwin", "win32") and tty)
    return tty or _may_deliver_lines(stream)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _fileno(stream: Any) -> int | None:
    try:
        return None if stream is None else stream.fileno()
    except (AttributeError, OSError, ValueError):  # closed, or replaced by an object without a descriptor
        return None


def _may_deliver_lines(stream: Any) -> bool:
    fd = _fileno(stream)
    if fd is None:
        return False
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


# ---- the browser login ---------------------------------------------------------------------------------

def _new_state() -> str:
    return secrets.token_urlsafe(24)


def _tell(text: str) -> None:
    """A line the person logging in must see (it may hold the login URL): stderr, not the log."""
    print(text, file=sys.stderr, flush=True)


def _browser_login(settings: LoginSettings, finish_code: Callable[[str, Any], Token] | None,
                   stdin: IO[Any] | None = None) -> Token:
    """One browser login; `finish_code` (None: implicit grant) exchanges and saves an accepted code."""
    implicit = finish_code is None
    mendeley = Mendeley(settings.client_id, settings.client_secret or None, settings.redirect_uri,
                        host=settings.api_host.rstrip("/"))
    if not is_localhost(settings.redirect_uri):
        # The SDK allows oauthlib plain http for localhost and 127.0.0.1 only; the redirect URI is a
        # loopback address too (checked), e.g. [::1]. The API host was checked on its own.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    state = _new_state()
    if implicit:
        flow = mendeley.start_implicit_grant_flow(state=state)

        def finish(url: str) -> Token:
            return _token_from_fragment(flow, url)
    else:
        flow = mendeley.start_authorization_code_flow(state=state)

        def finish(url: str) -> Token:
            return finish_code(url, flow)  # type: ignore[misc]
    url = flow.get_login_url()
    catcher: RedirectCatcher[Token] = RedirectCatcher(settings.redirect_uri, state, implicit, finish)
    stream = sys.stdin if stdin is None else stdin

    listener: OAuthListener | None = None
    try:
        listener = OAuthListener(settings.redirect_uri, catcher, implicit)
    except OSError as e:
        address, port, _ = listen_address(settings.redirect_uri)
        problem = f"cannot listen on {address}:{port} for the login answer ({e.strerror or e})"
        if settings.open_browser:
            raise LoginError(f"Mendeley login: {problem}; stop what uses that port or register another "
                             "redirect URI") from e
        log.warning("%s; only a pasted address will do", problem[0].upper() + problem[1:])
    try:
        return _await_answer(settings, url, catcher, listener, stream)
    finally:
        if listener is not None:
            listener.close()


def _token_from_fragment(flow: Any, url: str) -> Token:
    """The implicit grant's token, through the SDK (oauthlib checks the state again)."""
    received_at = time.time()
    try:
        token = flow.authenticate(url).token
    except OAuth2Error as e:
        raise LoginError(f"Mendeley refused the login: {e.error}; run mendeley-backup again") from e
    except Warning as w:
        # oauthlib raises its scope-change "warning" when the granted scope differs from the one asked
        # for. SDK 0.3.2 passes no requested scope, so it does not fire today; the token is fine anyway.
        token = getattr(w, "token", None)
        if token is None:
            raise LoginError("The Mendeley login answer could not be read; run mendeley-backup again") from w
        log.debug("Scope changed at login: %s", w)
    except ValueError as e:
        raise LoginError("The Mendeley login answer could not be read; run mendeley-backup again") from e
    try:
        return Token.from_response(dict(token), received_at)
    except ValueError:
        raise LoginError("The Mendeley login answer carries no access token; run mendeley-backup again") \
            from None


def _open_browser(url: str, failed: threading.Event) -> None:
    """Open the login page; runs in its own thread since a BROWSER command may take its time to exit."""
    try:
        opened = webbrowser.open(url)
    except Exception as e:  # webbrowser raises little of its own, but a broken BROWSER must not kill us
        log.debug("Opening the browser failed: %s", type(e).__name__)
        opened = False
    if not opened:
        failed.set()


def _await_answer(settings: LoginSettings, url: str, catcher: RedirectCatcher[Token],
                  listener: OAuthListener | None, stdin: IO[Any] | None) -> Token:
    """Open or print the login URL, then wait for the first accepted answer: from the listener, or
    pasted on standard input (--no-browser, or when no browser could be opened and stdin is a terminal).
    """
    log.info("Mendeley login URL: %s", url)
    stdin_fd = _fileno(stdin)
    tty = _isatty(stdin)
    reader: _LineReader | None = None
    browser_failed = threading.Event()
    if settings.open_browser:
        threading.Thread(target=_open_browser, args=(url, browser_failed), name="login-browser",
                         daemon=True).start()
    else:
        if stdin_fd is None and listener is None:
            raise LoginError(NO_TERMINAL)
        _tell(f"Open this URL in a browser to log in: {url}")
        if stdin_fd is not None:
            _tell(_paste_hint(settings.redirect_uri))
            reader = _LineReader(stdin_fd)
    timeout_message = (f"No login answer within {settings.login_timeout_s:g} s; run mendeley-backup again "
                       "and finish the login in the browser"
                       + ("" if settings.open_browser else " (or paste the address it ends on)"))
    deadline = time.monotonic() + settings.login_timeout_s
    announced = False
    lines_seen = 0
    while not catcher.done.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if listener is not None:
            listener.poll(min(POLL_S, remaining))
        else:
            catcher.done.wait(min(POLL_S, remaining))
        if browser_failed.is_set() and not announced:
            announced = True
            _tell(f"Could not open a browser. Open this URL in a browser to log in: {url}")
            if tty and stdin_fd is not None and reader is None:
                _tell(_paste_hint(settings.redirect_uri))
                reader = _LineReader(stdin_fd)
        while reader is not None and not catcher.done.is_set():
            try:
                line = reader.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:  # end of input
                reader = None
                if tty and listener is not None:
                    log.info("Standard input closed; still waiting for the browser")
                    break
                return catcher.result(NO_TERMINAL if lines_seen == 0 else
                                      "Standard input ended without a usable login address; "
                                      "run mendeley-backup again to log in")
            if line.strip():
                lines_seen += 1
                _offer_pasted(catcher, line.strip(), settings.redirect_uri)
    return catcher.result(timeout_message)


def _paste_hint(redirect_uri: str) -> str:
    return ("If that browser cannot reach this machine, paste here the address it ends on "
            f"(it starts with {redirect_uri}) and press Enter.")


def _offer_pasted(catcher: RedirectCatcher[Token], line: str, redirect_uri: str) -> None:
    """Judge a pasted address; tell the person why it was refused (the wait goes on)."""
    pasted, expected = urlsplit(line), urlsplit(redirect_uri)
    if pasted.scheme not in ("http", "https") or pasted.path != (expected.path or "/"):
        _tell(f"That is not the address the login ends on; it starts with {redirect_uri}. Paste it again.")
        return
    reply = catcher.offer(line)
    if not reply.accepted:
        _tell(f"Refused: {reply.message} Paste it again, or wait for the browser.")


class _LineReader:
    """Lines of a file descriptor, read by a daemon thread into `lines` (None marks the end).

    It reads with os.read, so no Python-level lock is held while it blocks: a reader left waiting on a
    terminal after the login cannot trouble the interpreter's shutdown.
    """

    def __init__(self, fd: int) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._run, args=(fd,), name="login-paste-reader", daemon=True).start()

    def _run(self, fd: int) -> None:
        pending = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 4096):
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self.lines.put(line.decode("utf-8", "replace"))
        if pending.strip():
            self.lines.put(pending.decode("utf-8", "replace"))
        self.lines.put(None)
