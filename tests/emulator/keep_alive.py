"""The emulator's HTTP/1.1 request handler: connections kept alive, as the real service and S3 keep them.

Werkzeug's own handler (`WSGIRequestHandler.run_wsgi`) answers every request with `Connection: close` and, after
each answer, drains whatever the client sent next, which on a kept-alive connection would swallow the next request.
This handler keeps Werkzeug's request parsing and WSGI environ, and writes the answer itself:

- `Content-Length` answers as they are, others chunked (HTTP/1.1) or closed at their end (HTTP/1.0);
- after the answer, the rest of the request body the app left unread is read, so the next request starts where
  it should; a chunked request body, whose end the handler does not track, closes the connection instead;
- the connection closes when the client asks (`Connection: close`, HTTP/1.0), when the app drops it
  (`DropConnection`, a body cut short), when an answer carries fewer bytes than its `Content-Length`, after an
  error inside the app, and after `IDLE_TIMEOUT_S` without a request.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

# A connection with no request for this long is closed, as a load balancer closes idle ones.
IDLE_TIMEOUT_S = 60.0


class KeepAliveHandler(WSGIRequestHandler):
    """One connection's requests, one after another, each answered through the server's WSGI app."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    # Headers and body go out in separate writes: without this, the body of a small answer waits for the client's
    # (delayed) acknowledgement of the headers.
    disable_nagle_algorithm = True
    verbose = False

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body = _bounded_body(environ)
        answer = _Answer(self, head_only=environ["REQUEST_METHOD"] == "HEAD")
        try:
            iterable = self.server.app(environ, answer.start_response)
            try:
                for chunk in iterable:
                    answer.write(chunk)
                answer.end()
            finally:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()
        except self.connection_dropped_errors as e:
            self.connection_dropped(e, environ)
            return
        except Exception:
            traceback.print_exc(file=sys.stderr)
            answer.fail()
            return
        if body is None:
            self.close_connection = True
        elif not self.close_connection:
            body.exhaust()

    def connection_dropped(self, error: BaseException, environ: dict[str, Any] | None = None) -> None:
        # A DropConnection (or a client gone): no further requests on this connection. Nothing
        # was written for a drop; a truncated answer stops after the bytes already sent.
        self.close_connection = True

    def send_response(self, code: int, message: str | None = None) -> None:
        # http.server adds its own Date (real time); the app's Date comes from the shifted clock.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.verbose:
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:
        # An idle connection timing out is routine for a kept-alive server.
        if self.verbose:
            super().log_error(format, *args)


def _bounded_body(environ: dict[str, Any]) -> LimitedStream | None:
    """The request body as a stream that ends at its `Content-Length` (the app reads from it), or None for a chunked
    body."""
    if environ.get("wsgi.input_terminated"):
        return None
    try:
        length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        length = 0
    body = LimitedStream(environ["wsgi.input"], length)
    environ["wsgi.input"] = body
    return body


class _Answer:
    """One answer as the app gives it: the status line and headers when its first bytes (or its end) come, then
    the body, as it is or in chunks."""

    def __init__(self, handler: KeepAliveHandler, head_only: bool) -> None:
        self._handler = handler
        self._head_only = head_only
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self.started = False
        self._chunked = False
        self._length: int | None = None
        self._sent = 0

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self._status, self._headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        if not self.started:
            self._start()
        if not data or self._head_only:
            return
        wfile = self._handler.wfile
        if self._chunked:
            wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            wfile.write(data)
        self._sent += len(data)
        wfile.flush()

    def end(self) -> None:
        if not self.started:
            self._start()
        if self._chunked:
            self._handler.wfile.write(b"0\r\n\r\n")
            self._handler.wfile.flush()
        elif self._length is not None and self._sent < self._length and not self._head_only:
            self._handler.close_connection = True  # the client cannot tell where this answer ends

    def fail(self) -> None:
        """After an error inside the app: a 500 if nothing was sent yet; the connection closes either way."""
        if not self.started:
            self._status, self._headers = "500 Internal Server Error", [("Content-Length", "0")]
            self._start()
        self._handler.close_connection = True

    def _start(self) -> None:
        handler = self._handler
        if self._status is None:
            raise AssertionError("the app wrote before calling start_response")
        code_text, _, message = self._status.partition(" ")
        code = int(code_text)
        handler.send_response(code, message)
        names = set()
        for name, value in self._headers:
            handler.send_header(name, value)
            names.add(name.lower())
            if name.lower() == "content-length":
                self._length = int(value)
        bodiless = self._head_only or 100 <= code < 200 or code in (204, 304)
        if self._length is None and not bodiless:
            if handler.request_version == "HTTP/1.1":
                self._chunked = True
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.close_connection = True
        if handler.close_connection and "connection" not in names:
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.started = True
