"""File bytes: synthetic content for seeded files, signed short-lived content URLs, headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import random
import secrets
import time
from collections.abc import Mapping
from pathlib import PurePosixPath
from urllib.parse import quote, urlencode

from .models import File
from .pdfs import pdf_bytes

CONTENT_PATH = "/_content/"
# The second origin's bucket, and the access key its query-string signatures name (S3's own format).
BUCKET = "mendeley-emulator-files"
ACCESS_KEY_ID = "AKIAEMULATOREXAMPLE7"


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
    if file.pdf_pages:
        return pdf_bytes(file.content_seed, file.pdf_pages, file.pdf_format, file.size)
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

    # The second origin, signed like S3's query-string authentication (AWSAccessKeyId, Expires, Signature),
    # the signature covering the response-* overrides the URL carries.

    def _s3_signature(self, path: str, expires: int, disposition: str, content_type: str) -> str:
        msg = f"GET\n{expires}\n{path}\n{disposition}\n{content_type}".encode()
        return base64.b64encode(hmac.new(self._key, msg, hashlib.sha1).digest()).decode()

    def s3_url(self, base: str, file: File, year: object, lifetime_s: float) -> str:
        """`{base}/{BUCKET}/{id}?AWSAccessKeyId=…&Expires=…&Signature=…&response-content-disposition=…&
        response-content-type=…`, the file named as the content host names it (see s3_file_name)."""
        expires = int(time.time() + lifetime_s)
        path = f"/{BUCKET}/{file.id}"
        disposition = content_disposition(s3_file_name(file, year))
        query = {"AWSAccessKeyId": ACCESS_KEY_ID, "Expires": str(expires),
                 "Signature": self._s3_signature(path, expires, disposition, file.mime_type),
                 "response-content-disposition": disposition, "response-content-type": file.mime_type}
        return f"{base.rstrip('/')}{path}?{urlencode(query, quote_via=quote)}"

    def s3_problem(self, path: str, args: Mapping[str, str]) -> tuple[str, str] | None:
        """Why a content-host URL is refused (S3's error code and message), or None when it is good."""
        try:
            expires = int(args.get("Expires", ""))
        except ValueError:
            return "AccessDenied", ("Query-string authentication requires the Signature, Expires and "
                                    "AWSAccessKeyId parameters")
        wanted = self._s3_signature(path, expires, args.get("response-content-disposition", ""),
                                    args.get("response-content-type", ""))
        if args.get("AWSAccessKeyId") != ACCESS_KEY_ID or not hmac.compare_digest(wanted, args.get("Signature", "")):
            return "SignatureDoesNotMatch", ("The request signature we calculated does not match the signature "
                                             "you provided")
        if expires < time.time():
            return "AccessDenied", "Request has expired"
        return None


def s3_file_name(file: File, year: object) -> str:
    """The content host's name for a file, which differs from the API's `file_name`, as recorded
    (`2014-Underwater_basket_weaving.txt` for `Underwater basket weaving`): the document's year (or the
    file's), the name with `_` for spaces, and an extension from the mime type where the name has none."""
    name = file.file_name.replace(" ", "_")
    if not PurePosixPath(name).suffix:
        name += mimetypes.guess_extension(file.mime_type) or ""
    return f"{year or time.gmtime(file.created / 1000).tm_year}-{name}"
