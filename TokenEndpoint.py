"""The two requests to Mendeley's token endpoint (`POST <api host>/oauth/token`) the tool makes itself,
exchanging a login code and refreshing a token, and what their answers mean as one-line errors.

They go through the run's HTTP session (timeouts, retries) rather than the SDK's own: the SDK's refresh
does not send the saved refresh token (the original tool's bug) and its exchange has no timeout.
"""

import logging
import time
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from Errors import LoginError, TokenRefused
from TokenStore import Token

log = logging.getLogger(__name__)

EXPIRED_OR_REVOKED = ("The saved Mendeley login has expired or was revoked; "
                      "run mendeley-backup once by hand to log in again")


class TokenEndpoint:
    """Client of `<api_host>/oauth/token`, authenticated with HTTP basic auth (client id and secret)."""

    def __init__(self, http: requests.Session, api_host: str, client_id: str, client_secret: str,
                 redirect_uri: str) -> None:
        self.url = api_host.rstrip("/") + "/oauth/token"
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri

    def exchange_code(self, code: str) -> Token:
        """The token a login code is worth (grant_type=authorization_code)."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self._redirect_uri}
        return self._request(data, refreshing=False, hide=(code,))

    def refresh(self, token: Token) -> Token:
        """A new token for `token`'s refresh token; TokenRefused when that is no longer valid."""
        if not token.refresh_token:
            raise TokenRefused("The saved Mendeley login holds no refresh token; "
                               "run mendeley-backup once by hand to log in again")
        data = {"grant_type": "refresh_token", "refresh_token": token.refresh_token,
                "redirect_uri": self._redirect_uri}
        return self._request(data, refreshing=True, previous=token,
                             hide=(token.refresh_token, token.access_token))

    def _request(self, data: dict[str, str], refreshing: bool, previous: Token | None = None,
                 hide: tuple[str, ...] = ()) -> Token:
        what = "refresh" if refreshing else "login code exchange"
        hide = (*hide, self._client_secret)
        sent_at = time.time()
        try:
            rsp = self._http.post(self.url, data=data, headers={"Accept": "application/json"},
                                  auth=HTTPBasicAuth(self._client_id, self._client_secret))
        except requests.RequestException as e:
            raise LoginError(f"Could not reach the Mendeley token endpoint {self.url} "
                             f"({type(e).__name__}); check the network and try again") from e
        log.debug("Token %s: HTTP %d", what, rsp.status_code)
        body = _json_object(rsp)
        if rsp.ok and body is not None:
            try:
                return Token.from_response(body, received_at=sent_at, previous=previous)
            except ValueError:
                raise LoginError(f"The Mendeley token endpoint answered the {what} without an access "
                                 "token; try again later") from None
        raise _refusal(rsp, body, refreshing, what, hide)


def _json_object(rsp: requests.Response) -> dict[str, Any] | None:
    try:
        body = rsp.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _clean(text: Any, hide: tuple[str, ...], limit: int = 160) -> str:
    """Text from the endpoint as one short line that repeats none of the secrets sent."""
    text = " ".join(str(text).split())
    for secret in hide:
        if len(secret) >= 6:  # shorter strings are no real secret, and replacing them would garble the text
            text = text.replace(secret, "<redacted>")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _refusal(rsp: requests.Response, body: dict[str, Any] | None, refreshing: bool, what: str,
             hide: tuple[str, ...]) -> LoginError:
    """The error for a token endpoint's refusal."""
    status = rsp.status_code
    if body is None and status == 401 and rsp.headers.get("Content-Type", "").startswith("text/plain"):
        # Mendeley answers a bad client this way; the SDK reads it as invalid_client too.
        body = {"error": "invalid_client", "error_description": rsp.text}
    if body is not None and status == 401 and not body.get("error"):
        # The recorded answer to a bad client: 401, `WWW-Authenticate: Basic realm="oauth"`, `{"message": …}`.
        body = {"error": "invalid_client", "error_description": body.get("message") or ""}
    if body is None:
        return LoginError(f"The Mendeley token endpoint answered the {what} with HTTP {status} and no "
                          "JSON; try again later")
    error = str(body.get("error") or "")
    description = _clean(body.get("error_description") or "", hide)
    head = _clean(error, hide, 60) or f"HTTP {status}"
    detail = f"{head} ({description})" if description else head
    if error == "invalid_client" or (status == 401 and not refreshing and not error):
        return LoginError(f"Mendeley refused the client id/secret: {detail}; "
                          "check client-id and client-secret")
    if refreshing and (error == "invalid_grant" or status == 401):
        log.info("Mendeley refused the refresh token: %s", detail)
        return TokenRefused(EXPIRED_OR_REVOKED)
    if error == "invalid_grant":
        return LoginError(f"Mendeley refused the login code: {detail}; run mendeley-backup again to log in")
    if not error:
        return LoginError(f"The Mendeley token endpoint answered the {what} with HTTP {status}; try again later")
    return LoginError(f"The Mendeley token endpoint refused the {what}: {detail} (HTTP {status})")
