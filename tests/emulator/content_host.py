"""The second origin: file content served as the S3 bucket behind the real `GET /files/{id}` serves it.

With `separate_content_host`, `GET /files/{id}` answers 303 to this server (another port, so another
origin). As in the recordings: a query-string signature (`AWSAccessKeyId`, `Expires` = now + the URL
lifetime, `Signature`, `response-content-disposition`, `response-content-type`), a `Content-Disposition`
naming the file differently from the API's `file_name`, `ETag`, `Last-Modified`, `Accept-Ranges`, and S3's
`400 InvalidArgument` ("Only one auth mechanism allowed") to any request carrying `Authorization`. Errors
are S3's XML. Faults apply here as on the API's origin; stats count `GET /{bucket}/{id}`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response

from .answers import counted_in_flight, fault_answer
from .api_files import stream_file
from .content import BUCKET, file_bytes
from .context import Emulator
from .errors import ApiError

_PATH = re.compile(rf"^/{BUCKET}/([^/]+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_CODES = {400: "InvalidRequest", 403: "AccessDenied", 404: "NoSuchKey", 429: "SlowDown", 500: "InternalError",
          502: "InternalError", 503: "ServiceUnavailable", 504: "InternalError"}
STATS_KEY = f"GET /{BUCKET}/{{id}}"


def s3_error(status: int, code: str, message: str, headers: dict[str, str] | None = None,
             extra: dict[str, str] | None = None) -> Response:
    fields = {"Code": code, "Message": message, **(extra or {}), "RequestId": secrets.token_hex(8).upper(),
              "HostId": secrets.token_urlsafe(48)}
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'
    return Response(xml.encode(), status, headers=list((headers or {}).items()), content_type="application/xml")


def _injected(error: ApiError) -> Response:
    return s3_error(error.status, _CODES.get(error.status, "InternalError"), error.message, error.headers)


class ContentHostApp:
    """The WSGI application of the content host."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return counted_in_flight(self.emulator, environ, start_response, lambda: self._answer(request))

    def _answer(self, request: Request) -> Response:
        response = self._serve(request)
        response.headers["x-amz-request-id"] = secrets.token_hex(8).upper()
        return response

    def _serve(self, request: Request) -> Response:
        emu = self.emulator
        match = _PATH.match(request.path)
        emu.stats.count(STATS_KEY if match and request.method in ("GET", "HEAD") else f"{request.method} (unmatched)")
        faulted = fault_answer(emu, request, _injected)
        if faulted is not None:
            return faulted
        if "Authorization" in request.headers:
            # S3 refuses a request authenticated twice: by the signed URL and by a header.
            return s3_error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                            "parameter, Signature query string parameter or the Authorization header should be "
                            "specified", extra={"ArgumentName": "Authorization",
                                                "ArgumentValue": request.headers["Authorization"]})
        if match is None or request.method not in ("GET", "HEAD"):
            return s3_error(404 if match is None else 405, "NoSuchKey" if match is None else "MethodNotAllowed",
                            "The specified key does not exist." if match is None else "The method is not allowed")
        problem = emu.signer.s3_problem(request.path, request.args)
        if problem is not None:
            return s3_error(403, *problem)
        with emu.library.lock:
            file = emu.library.files.get(match.group(1))
        if file is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return self._content(request, file_bytes(file), file.created)

    def _content(self, request: Request, data: bytes, created_ms: int) -> Response:
        args = request.args
        headers = [("ETag", f'"{hashlib.md5(data).hexdigest()}"'), ("Last-Modified", http_date(created_ms / 1000)),
                   ("Accept-Ranges", "bytes"), ("Content-Disposition", args["response-content-disposition"])]
        status = 200
        wanted = _RANGE.match(request.headers.get("Range", "").strip())
        if wanted and int(wanted.group(1)) < len(data):
            first = int(wanted.group(1))
            last = min(int(wanted.group(2) or len(data) - 1), len(data) - 1)
            headers.append(("Content-Range", f"bytes {first}-{last}/{len(data)}"))
            data, status = data[first : last + 1], 206
        return stream_file(self.emulator, request, data, headers, args["response-content-type"], status)
