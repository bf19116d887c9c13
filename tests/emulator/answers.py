"""What every answer gets on its way out, and the answers that are not the API's own.

- `X-Mendeley-Trace-Id` on every answer, as the real service sends.
- gzip for 200 answers to GET (and token answers) when the client accepts it, as the recorded answers are:
  `Content-Encoding: gzip`, `Vary: Accept-Encoding`, `Content-Length` the compressed size; 201, 204, 303 and
  errors go uncompressed. File content is not compressed (S3 serves the bytes as stored).
- `truncate_rate`: the full `Content-Length` goes out, then half the body, then the connection closes.
- The HTML pages of `garbage_rate` (a captive portal's 200) and `html_error_rate` (a load balancer's 502).
"""

from __future__ import annotations

import gzip
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import ClosingIterator

from .context import Emulator
from .errors import ApiError

GZIP_LEVEL = 1  # fast: the point is the encoding, not the ratio

CAPTIVE_PORTAL = """<!DOCTYPE html>
<html><head><title>Sign in to the network</title></head>
<body><h1>Welcome to Airport Free WiFi</h1>
<form method="post" action="/login"><label><input type="checkbox" name="terms"> I accept the terms</label>
<button>Connect</button></form></body></html>
"""

BAD_GATEWAY = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>awselb/2.0</center>
</body>
</html>
"""


class DropConnection(ConnectionError):
    """Raised inside a response body to close the connection at once (see keep_alive.KeepAliveHandler)."""


def html_page(status: int) -> Response:
    """A page from something between the client and the API: a captive portal (200) or a load balancer."""
    page = CAPTIVE_PORTAL if status == 200 else BAD_GATEWAY
    return Response(page.encode(), status, content_type="text/html; charset=utf-8")


def trace_id() -> str:
    """An id like the recorded ones (`_ZqEYtC9vmI`): 11 URL-safe characters."""
    return secrets.token_urlsafe(8)[:11]


def counted_in_flight(emu: Emulator, environ: dict[str, Any], start_response: Callable[..., Any],
                      answer: Callable[[], Response]) -> Iterable[bytes]:
    """Serve one API or content request, counted in flight from its arrival to the end of its answer's body (the
    server closes the body however the answer ends, a dropped connection included)."""
    emu.stats.arrived()
    try:
        response = answer()
        stamp(emu, response)
        body = response(environ, start_response)
    except BaseException:
        emu.stats.answered()
        raise
    return ClosingIterator(body, [emu.stats.answered])


def stamp(emu: Emulator, response: Response) -> None:
    """What every answer carries: the server's (possibly shifted) `Date` and a trace id."""
    response.headers["Date"] = emu.clock.http_date()
    response.headers["X-Mendeley-Trace-Id"] = trace_id()


def fault_answer(emu: Emulator, request: Request, error_body: Callable[[ApiError], Response]) -> Response | None:
    """The injected fault's answer to this request (after `latency_ms`), or None to serve it.

    `error_body` renders an error as this origin does (the API's JSON, the content host's XML).
    """
    settings = emu.faults.settings
    if settings.latency_ms:
        time.sleep(settings.latency_ms / 1000)
    verdict = emu.faults.before_request(request.path)
    if verdict.drop:
        request.get_data()  # read the body so closing sends no reset, then close: no answer
        raise DropConnection("dropped by fault injection")
    if verdict.html and verdict.status is not None:
        return html_page(verdict.status)
    if verdict.status is not None:
        headers = {}
        if verdict.retry_after is not None:
            headers["Retry-After"] = retry_after(emu, verdict.retry_after)
        return error_body(ApiError(verdict.status, verdict.message, headers=headers))
    return None


def retry_after(emu: Emulator, seconds: int) -> str:
    """`Retry-After` in seconds, or (`retry_after_date`) as the HTTP date of the server's clock that far ahead."""
    if emu.faults.settings.retry_after_date:
        return http_date(-(-emu.clock.now_ms() // 1000) + seconds)
    return str(seconds)


def finish(emu: Emulator, request: Request, response: Response) -> Response:
    """gzip and truncation for an API answer held in memory (streamed file content does its own)."""
    if response.direct_passthrough:
        return response
    data = response.get_data()
    if _compressible(request, response, data):
        data = gzip.compress(data, GZIP_LEVEL)
        response.set_data(data)
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
    if len(data) > 1 and not emu.faults.settings.truncate_content_only and emu.faults.truncate():
        response.response = _cut_short(data, len(data) // 2)
        response.direct_passthrough = True
        response.headers["Content-Length"] = str(len(data))
    return response


def _compressible(request: Request, response: Response, data: bytes) -> bool:
    token_answer = request.method == "POST" and request.path.rstrip("/") == "/oauth/token"
    return (
        response.status_code == 200
        and (request.method == "GET" or token_answer)
        and "json" in (response.mimetype or "")
        and bool(data)
        and request.accept_encodings["gzip"] > 0
    )


def _cut_short(data: bytes, cut: int) -> Iterator[bytes]:
    yield data[:cut]
    raise DropConnection("answer cut short by fault injection")
