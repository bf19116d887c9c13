"""OAuth 2 bookkeeping: authorization codes, access tokens and refresh tokens.

Lifetimes run on the real (monotonic) clock, not the shifted server clock: changing
`clock_offset_s` during a test does not expire tokens. The real service's tokens live 3600 s;
`token_lifetime_s` changes the lifetime of tokens issued from then on.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

CODE_LIFETIME_S = 600


@dataclass
class _Code:
    client_id: str
    redirect_uri: str | None
    expires: float


@dataclass
class _Access:
    expires: float
    user: bool  # False for client_credentials tokens, which reach no user library


class Tokens:
    """Issued codes and tokens; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._codes: dict[str, _Code] = {}
            self._access: dict[str, _Access] = {}
            self._refresh: dict[str, str | None] = {}  # refresh token -> client id (None: any)
            # Spent refresh tokens whose successors were never used: spent -> (client id, successor tokens);
            # and each successor token -> the spent one it replaced.
            self._pending: dict[str, tuple[str | None, tuple[str, str]]] = {}
            self._replaced: dict[str, str] = {}

    def issue_code(self, client_id: str, redirect_uri: str | None) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(client_id, redirect_uri, time.monotonic() + CODE_LIFETIME_S)
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str | None) -> bool:
        """Use a code once; it must have been issued to this client with this redirect URI."""
        with self._lock:
            found = self._codes.pop(code, None)
        return (
            found is not None
            and found.expires > time.monotonic()
            and found.client_id == client_id
            and (found.redirect_uri is None or found.redirect_uri == redirect_uri)
        )

    def issue(
        self, client_id: str | None, lifetime_s: float, *, refresh: bool = True, user: bool = True
    ) -> dict[str, Any]:
        """A token response body: access_token, token_type, expires_in, scope (+ refresh_token).

        A refresh token issued to client None (by /_emulator/token) may be used by any client.
        """
        access = secrets.token_urlsafe(32)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": max(1, round(lifetime_s)),
            "scope": "all",
        }
        with self._lock:
            self._access[access] = _Access(time.monotonic() + lifetime_s, user)
            if refresh:
                body["refresh_token"] = secrets.token_urlsafe(32)
                self._refresh[body["refresh_token"]] = client_id
        return body

    def use_refresh(self, token: str, client_id: str) -> bool:
        """Spend a refresh token (single use: the new token response carries its successor).

        A spent token whose successors (the access and refresh token answered for it) were never used works
        once more, revoking them: the answer carrying them was lost, as a cut-short answer is. A guess at the
        real service, like the reuse grace of common OAuth servers; without it one lost answer ends a login.
        """
        with self._lock:
            self._successor_used(token)
            if token in self._refresh and self._refresh[token] in (None, client_id):
                del self._refresh[token]
                return True
            pending = self._pending.get(token)
            if pending is None or pending[0] not in (None, client_id):
                return False
            del self._pending[token]
            access, refresh = pending[1]
            self._access.pop(access, None)
            self._refresh.pop(refresh, None)
            self._replaced.pop(access, None)
            self._replaced.pop(refresh, None)
            return True

    def replaced(self, spent: str, client_id: str | None, answer: dict[str, Any]) -> None:
        """Record the tokens answered for the spent refresh token `spent` (see use_refresh)."""
        successors = (answer["access_token"], answer["refresh_token"])
        with self._lock:
            self._pending[spent] = (client_id, successors)
            for token in successors:
                self._replaced[token] = spent

    def _successor_used(self, token: str) -> None:
        spent = self._replaced.pop(token, None)
        if spent is not None:
            access, refresh = self._pending.pop(spent, (None, ("", "")))[1]
            self._replaced.pop(access, None)
            self._replaced.pop(refresh, None)

    def check(self, access: str) -> tuple[int, str] | None:
        """None when the access token opens the user's library, else (status, reason)."""
        with self._lock:
            found = self._access.get(access)
            if found is not None and found.expires > time.monotonic():
                self._successor_used(access)
        if found is None:
            return 401, "Token not recognised"
        if found.expires <= time.monotonic():
            return 401, "Token has expired"
        if not found.user:
            # The real service gives client-credentials tokens the catalog only.
            return 403, "Client credentials tokens give no access to a user library"
        return None
