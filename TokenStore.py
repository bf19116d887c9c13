"""The saved OAuth token of the authorization-code flow: its on-disk format, atomic writing and locking.

The token file holds the JSON the token endpoint answered, plus `expires_at` (seconds since the epoch,
computed when the token was received). Files written by the original tool (the SDK's token dict, whose
`scope` is a list) load too. The file is a password: it is created 0600 and never exists, even briefly,
with looser permissions.
"""

import contextlib
import json
import logging
import os
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from BackupFolder import AtomicWriter
from Errors import TokenFileError
from LockFile import LockFile

log = logging.getLogger(__name__)

# A token this close to its expiry counts as expired, so a run does not start with one about to lapse.
EXPIRY_MARGIN_S = 60.0

# How long a run waits for an overlapping run to finish its refresh before going ahead without the lock.
LOCK_WAIT_S = 120.0


@dataclass(frozen=True)
class Token:
    """An OAuth token as the token endpoint gave it. The secrets stay out of `repr`, hence out of logs."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False, default=None)
    expires_at: float | None = None
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_response(cls, answer: Mapping[str, Any], received_at: float,
                      previous: "Token | None" = None) -> "Token":
        """The token in a token endpoint's answer, with `expires_at` = `received_at` + `expires_in`.

        An answer to a refresh that carries no new refresh token keeps the previous one (RFC 6749 §6).
        Raises ValueError when the answer holds no usable access token.
        """
        raw = dict(answer)
        access = raw.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("no access_token in the answer")
        if isinstance(raw.get("scope"), list):
            raw["scope"] = " ".join(str(s) for s in raw["scope"])
        refresh = raw.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            refresh = previous.refresh_token if previous else None
            raw.pop("refresh_token", None)
            if refresh:
                raw["refresh_token"] = refresh
        expires_at = None
        with contextlib.suppress(KeyError, TypeError, ValueError):
            expires_at = received_at + float(raw["expires_in"])
        raw.pop("expires_at", None)
        if expires_at is not None:
            raw["expires_at"] = expires_at
        return cls(access, refresh, expires_at, raw)

    def expired(self, now: float | None = None) -> bool:
        """True once the token is (nearly) past `expires_at`; a token with no known expiry never is.

        "Nearly": EXPIRY_MARGIN_S, or a quarter of the token's lifetime when that is shorter (the
        emulator's tests use lifetimes of seconds).
        """
        if self.expires_at is None:
            return False
        margin_s = EXPIRY_MARGIN_S
        with contextlib.suppress(KeyError, TypeError, ValueError):
            margin_s = min(margin_s, float(self.raw["expires_in"]) / 4)
        return (time.time() if now is None else now) >= self.expires_at - margin_s


def _token_from_saved(data: Any) -> Token:
    """The token a saved file holds; ValueError naming the first problem found."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValueError("no access_token")
    refresh = data.get("refresh_token")
    if refresh is not None and not isinstance(refresh, str):
        raise ValueError("refresh_token is not a string")
    expires_at = data.get("expires_at")
    if expires_at is not None and (isinstance(expires_at, bool) or not isinstance(expires_at, int | float)):
        raise ValueError("expires_at is not a number")
    return Token(access, refresh or None, None if expires_at is None else float(expires_at), dict(data))


def load_token(path: Path) -> Token | None:
    """The saved token, or None when there is none or it cannot be used (with a warning: not a crash)."""
    token, problem = read_token(path)
    if problem is not None and path.exists():
        log.warning("Ignoring the token file %s: %s", path, problem)
    return token


def read_token(path: Path) -> tuple[Token | None, str | None]:
    """The saved token, or None and why the file at `path` holds none that can be used (for the caller to say)."""
    try:
        with open(path, encoding="utf-8") as f:
            mode = os.fstat(f.fileno()).st_mode
            text = f.read()
    except FileNotFoundError:
        log.debug("No token file at %s", path)
        return None, "there is no such file"
    except (OSError, UnicodeDecodeError) as e:
        return None, f"it cannot be read ({_reason(e)})"
    try:
        token = _token_from_saved(json.loads(text))
    except json.JSONDecodeError as e:  # its message holds no file content
        return None, f"it is not JSON ({e.msg} at line {e.lineno})"
    except ValueError as e:
        return None, f"it holds no usable token ({e})"
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        try:  # e.g. a file written by the original tool under the usual umask
            os.chmod(path, 0o600)
            log.warning("The token file %s could be read by other users; it is now private (0600)", path)
        except OSError as e:
            log.warning("The token file %s can be read by other users and cannot be made private (%s)",
                        path, _reason(e))
    return token, None


def save_token(path: Path, token: Token) -> None:
    """Write the token file atomically, mode 0600 from its creation on, creating its folder (0700). Raises
    TokenFileError."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = json.dumps(dict(token.raw), indent=2, sort_keys=True).encode("utf-8") + b"\n"
        AtomicWriter(path.parent, private=True).write_chunks(path, [data])
    except OSError as e:
        raise TokenFileError(f"cannot write the token file {path}: {_reason(e)}") from e
    log.debug("Saved the token to %s", path)


@contextlib.contextmanager
def token_file_lock(path: Path) -> Iterator[None]:
    """Hold a lock shared by every run using this token file (a `.lock` file beside it).

    Refresh tokens are single-use: two overlapping runs refreshing at once would leave one with a
    refused refresh. The lock orders them; the second then finds the first's new token in the file.
    Waits at most LOCK_WAIT_S, then goes ahead without the lock rather than hang a backup.
    """
    lock = LockFile(path.with_name(path.name + ".lock"), mode=0o600)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        deadline = time.monotonic() + LOCK_WAIT_S
        while not lock.acquire():
            if time.monotonic() >= deadline:
                log.warning("Another run has held the token file lock for %.0f s; going on without it", LOCK_WAIT_S)
                break
            time.sleep(0.1)
    except OSError as e:
        log.warning("Cannot lock the token file (%s); going on without the lock", _reason(e))
    try:
        yield
    finally:
        lock.release()


def _reason(e: BaseException) -> str:
    """A short reason for a file error, without the path (the callers name it)."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return type(e).__name__
