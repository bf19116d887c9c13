"""File bytes: synthetic content for seeded files, signed short-lived content URLs, headers."""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import time
from urllib.parse import quote

from .models import File

CONTENT_PATH = "/_content/"


def synthetic_bytes(seed: int, size: int, mime_type: str) -> bytes:
    """Deterministic bytes of exactly `size`: a PDF-looking shell around seeded random bytes.

    Seeded files keep only (seed, size, mime type) and are regenerated when served, so a large
    seeded library costs no memory for its content.
    """
    rng = random.Random(seed)
    if mime_type == "application/pdf":
        head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Producer (mendeley emulator " + str(seed).encode()
        head += b") >>\nendobj\nstream\n"
        tail = b"\nendstream\n%%EOF\n"
    else:
        head = b"emulator file " + str(seed).encode() + b"\n"
        tail = b""
    if size < len(head) + len(tail) + 16:
        return rng.randbytes(size)  # too small for the shell
    return head + rng.randbytes(size - len(head) - len(tail)) + tail


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def file_bytes(file: File) -> bytes:
    if file.content is not None:
        return file.content
    return synthetic_bytes(file.content_seed, file.size, file.mime_type)


def content_disposition(file_name: str) -> str:
    """`attachment; filename="…"`, plus RFC 5987 `filename*` for names that are not plain ASCII.

    The quoted form is what the SDK reads (`filename="(\\S+)"`), so it comes first; it keeps
    Latin-1 characters (HTTP headers are Latin-1) and replaces others, quotes and controls with `_`.
    """
    fallback = "".join(c if (32 <= ord(c) < 127 or 160 <= ord(c) < 256) and c not in '"\\' else "_" for c in file_name)
    value = f'attachment; filename="{fallback}"'
    if not file_name.isascii() or fallback != file_name:
        value += "; filename*=UTF-8''" + quote(file_name, safe="")
    return value


class Signer:
    """Signs content URLs with a per-process secret; URLs expire on the real clock."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def _signature(self, file_id: str, expires: int) -> str:
        msg = f"{file_id}:{expires}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:40]

    def url(self, base: str, file_id: str, lifetime_s: float) -> str:
        expires = int(time.time() + lifetime_s)
        signature = self._signature(file_id, expires)
        return f"{base.rstrip('/')}{CONTENT_PATH}{file_id}?expires={expires}&signature={signature}"

    def valid(self, file_id: str, expires: str | None, signature: str | None) -> bool:
        try:
            when = int(expires or "")
        except ValueError:
            return False
        good = hmac.compare_digest(self._signature(file_id, when), signature or "")
        return good and when >= time.time()
