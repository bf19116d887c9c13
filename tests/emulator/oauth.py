"""Endpoints: OAuth 2 authorization (approved at once) and the token endpoint."""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .context import Emulator
from .errors import ApiError
from .web import json_response

_NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    body = {"error": error, "error_description": description}
    return ApiError(status, description, body=body)


def _bad_client() -> ApiError:
    """The recorded answer to a wrong client secret: 401, Basic challenge, and a `message`, not an OAuth error."""
    headers = {"WWW-Authenticate": 'Basic realm="oauth"'}
    return ApiError(401, "Client authentication failed", headers=headers)


def authorize(emu: Emulator, request: Request) -> Response:
    """GET /oauth/authorize: the user approves at once (no login page); 302 to the redirect URI.

    `deny_login` (a fault setting) makes the user refuse instead: `error=access_denied`.
    """
    args = request.args
    client_id, redirect_uri = args.get("client_id"), args.get("redirect_uri")
    if not client_id or not redirect_uri:
        # Without a redirect URI there is nowhere to send the answer: an error page, as services do.
        raise _oauth_error(400, "invalid_request", "client_id and redirect_uri are required")
    response_type = args.get("response_type")
    implicit = response_type == "token"
    params: dict[str, str | int] = {}
    if response_type not in ("code", "token"):
        params = {"error": "unsupported_response_type", "error_description": "response_type must be code or token"}
    elif emu.faults.settings.deny_login:
        params = {"error": "access_denied", "error_description": "The user denied access to the application"}
    elif implicit:
        token = emu.tokens.issue(client_id, emu.faults.settings.token_lifetime_s, refresh=False)
        params = {k: token[k] for k in ("access_token", "token_type", "expires_in")}
    else:
        params = {"code": emu.tokens.issue_code(client_id, redirect_uri)}
    if args.get("state") is not None:
        params["state"] = args["state"]
    if implicit:
        location = f"{redirect_uri}#{urlencode(params)}"
    else:
        location = redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params)
    return Response(status=302, headers=[("Location", location)])


def token(emu: Emulator, request: Request) -> Response:
    """POST /oauth/token: grants authorization_code, refresh_token and client_credentials.

    The client authenticates with HTTP basic auth (or client_id/client_secret in the form); any
    client id is accepted with the emulator's secret.
    """
    form = request.form
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id, secret = auth.username, auth.password
    else:
        client_id, secret = form.get("client_id"), form.get("client_secret")
    if not client_id or secret != emu.client_secret:
        raise _bad_client()
    lifetime = emu.faults.settings.token_lifetime_s
    grant = form.get("grant_type")
    if grant == "authorization_code":
        if not emu.tokens.redeem_code(form.get("code", ""), client_id, form.get("redirect_uri")):
            raise _oauth_error(400, "invalid_grant", "Invalid access code")  # the recorded description
        body = emu.tokens.issue(client_id, lifetime)
    elif grant == "refresh_token":
        spent = form.get("refresh_token", "")
        if not emu.tokens.use_refresh(spent, client_id):
            raise _oauth_error(400, "invalid_grant", "Invalid or already used refresh token")
        body = emu.tokens.issue(client_id, lifetime)
        emu.tokens.replaced(spent, client_id, body)
    elif grant == "client_credentials":
        body = emu.tokens.issue(client_id, lifetime, refresh=False, user=False)
    elif not grant:
        raise _oauth_error(400, "invalid_request", "grant_type is required")
    else:
        raise _oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant!r}")
    return json_response(body, headers=_NO_STORE)
