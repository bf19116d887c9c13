"""Catching the OAuth redirect: a loopback HTTP listener at the redirect URI, and the rules that judge a
login answer wherever it comes from (the listener, or a URL pasted on standard input).

The listener serves the redirect path only (anything else is a 404) and answers each request with a
small page. An answer with a wrong or missing `state` is refused (HTTP 400) and the wait goes on;
the first answer that carries the right state, with a code, a token or an error, ends the login.

Implicit grant: the token travels in the URL fragment, which browsers do not send. A plain GET of the
redirect path (no query) is therefore answered with a page whose script sends the fragment back as
`GET <redirect path>?fragment=<encodeURIComponent(location.hash without '#')>`
and shows the page that request answers with.
"""

import contextlib
import hmac
import html
import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from Errors import LoginError

log = logging.getLogger(__name__)

T = TypeVar("T")

SUCCESS_TITLE = "Successfully logged in! You can close this tab"
FAILURE_TITLE = "Failed to log in!"

# Seconds a connection may take to send its request: browsers open idle "preconnect" sockets.
REQUEST_READ_TIMEOUT_S = 10.0

# Seconds close() waits for the page of an answer being judged to be sent.
ANSWER_SEND_WAIT_S = 5.0


@dataclass(frozen=True)
class Reply:
    """What a login answer gets back: an HTTP status and a page (title and one line of text)."""

    status: int
    title: str
    message: str = ""
    accepted: bool = False  # False: refused or not an answer, the wait goes on


def listen_address(redirect_uri: str) -> tuple[str, int, str]:
    """(IP address, port, path) to listen on for `redirect_uri`; ValueError unless http:// on loopback.

    `localhost` means 127.0.0.1; a name other than localhost, or an address that is not loopback
    (0.0.0.0 included), is refused: the login answer must not be reachable from other machines.
    """
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http":
        raise ValueError("the redirect URI must start with http://")
    host = (parts.hostname or "").lower()
    if host == "localhost":
        address = "127.0.0.1"
    else:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError("the redirect URI must be on localhost or a loopback address") from None
        if not ip.is_loopback:
            raise ValueError("the redirect URI must be on localhost or a loopback address")
        address = str(ip)
    port = parts.port  # ValueError when it is not a valid port number
    return address, 80 if port is None else port, parts.path or "/"


def is_loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is localhost or a loopback address."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _one_line(text: str, limit: int = 200) -> str:
    """Text from the other side squeezed into one short printable line."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RedirectCatcher(Generic[T]):
    """Judges login answers and keeps the first final one; shared by the listener's threads and the
    standard-input reader.

    `finish(url)` turns an accepted answer (the redirect URL, with the right state, carrying a code or
    a token) into the login's result, e.g. by exchanging the code; it raises LoginError on failure.
    It runs at most once, under the catcher's lock, so the page shown reports the real outcome.
    """

    def __init__(self, redirect_uri: str, state: str, implicit: bool, finish: Callable[[str], T]) -> None:
        parts = urlsplit(redirect_uri)
        self._base = (parts.scheme, parts.netloc, parts.path or "/")
        self._state = state
        self._implicit = implicit
        self._finish = finish
        self._lock = threading.Lock()
        self.done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def offer(self, url: str) -> Reply:
        """Judge one answer: the full redirect URL, its token (implicit) in the fragment or the query."""
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.update(parse_qsl(parts.fragment, keep_blank_values=True))
        state = params.get("state")
        state_ok = state is not None and hmac.compare_digest(state.encode(), self._state.encode())
        with self._lock:
            if self.done.is_set():
                return Reply(200, "Already logged in", "mendeley-backup already has its login answer.")
            if "error" in params and (state_ok or state is None):
                # An error cannot log anyone in, so one without a state is believed too.
                error = _one_line(params["error"], 60) or "unknown_error"
                description = _one_line(params.get("error_description", ""))
                detail = f"{error} ({description})" if description else error
                return self._end(error=LoginError(f"Mendeley refused the login: {detail}; "
                                                  "run mendeley-backup again to retry"),
                                 reply=Reply(200, FAILURE_TITLE, detail, accepted=True))
            if not state_ok:
                log.warning("Refused a login answer with a %s state", "missing" if state is None else "wrong")
                return Reply(400, "Wrong login answer",
                             "This answer does not carry the state of the login mendeley-backup is "
                             "waiting for (it may come from an older login attempt). Finish the login "
                             "opened most recently.")
            needed = "access_token" if self._implicit else "code"
            if not params.get(needed):
                return Reply(400, "Incomplete login answer",
                             f"The answer carries neither a {needed.replace('_', ' ')} nor an error.")
            canonical = urlunsplit((*self._base, parts.query, parts.fragment))
            try:
                value = self._finish(canonical)
            except LoginError as e:
                return self._end(error=e, reply=Reply(200, FAILURE_TITLE, str(e), accepted=True))
            except Exception as e:
                log.exception("Finishing the login failed")
                return self._end(error=e, reply=Reply(500, FAILURE_TITLE, "mendeley-backup failed while "
                                                      "finishing the login; see its output.", accepted=True))
            self._value = value
            self.done.set()
            return Reply(200, SUCCESS_TITLE, accepted=True)

    def _end(self, error: BaseException, reply: Reply) -> Reply:
        self._error = error
        self.done.set()
        return reply

    def result(self, timeout_message: str) -> T:
        """The login's result; raises its error, or LoginError(timeout_message) when there is none.

        Waits for an answer being finished at this moment (the lock is held meanwhile).
        """
        with self._lock:
            if not self.done.is_set():
                raise LoginError(timeout_message)
            if self._error is not None:
                raise self._error
            return self._value  # type: ignore[return-value]


def _page(title: str, message: str = "", script: str = "") -> bytes:
    body = f"<h1>{html.escape(title)}</h1>"
    if message:
        body += f'\n<p id="message">{html.escape(message)}</p>'
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>mendeley-backup login</title></head>\n"
        f"<body>\n{body}\n{script}</body></html>\n"
    ).encode()


# The page at the redirect path for the implicit grant: it hands the fragment to the listener (see the
# module docstring) and replaces itself with the answer. The token is taken out of the address bar.
FRAGMENT_SCRIPT = """<script>
(function () {
  var hash = window.location.hash.substring(1);
  var message = document.getElementById("message");
  if (!hash) {
    message.textContent = "This address carries no login answer; start the login again from mendeley-backup.";
    return;
  }
  var path = window.location.pathname;
  history.replaceState(null, "", path);
  fetch(path + "?fragment=" + encodeURIComponent(hash), {cache: "no-store"})
    .then(function (response) { return response.text(); })
    .then(function (page) { document.open(); document.write(page); document.close(); })
    .catch(function () {
      message.textContent = "Could not hand the login to mendeley-backup; is it still running?";
    });
})();
</script>
<noscript><p>This page needs JavaScript to hand the login to mendeley-backup.</p></noscript>
"""

FRAGMENT_PAGE = _page("Finishing the Mendeley login", "One moment…", FRAGMENT_SCRIPT)

OAUTH_PARAMS = ("code", "state", "error", "access_token")


def _redact(text: str) -> str:
    """A log line without query strings or fragments, which carry codes and tokens."""
    return re.sub(r"[?#][^\s\"]*", "?<redacted>", text)


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    timeout = REQUEST_READ_TIMEOUT_S
    server_version = "mendeley-backup"
    sys_version = ""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        listener = self.server.listener
        if parts.path != listener.path:
            self._send(404, _page("Not found", "mendeley-backup only waits for its login answer here."))
            return
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        base = listener.redirect_uri.split("?", 1)[0].split("#", 1)[0]
        if listener.implicit and "fragment" in query:
            url = f"{base}#{query['fragment']}"
        elif listener.implicit and not any(k in query for k in OAUTH_PARAMS):
            self._send(200, FRAGMENT_PAGE)
            return
        else:
            url = f"{base}?{parts.query}" if parts.query else base
        with listener.answering():
            reply = listener.catcher.offer(url)
            self._send(reply.status, _page(reply.title, reply.message))

    def _send(self, status: int, page: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(page)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("Login listener: %s %s -> %s", self.command, _redact(self.path), code)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("Login listener: %s", _redact(format % args))


class _Server(ThreadingMixIn, HTTPServer):
    # One thread per connection, so an idle preconnect socket cannot hold up the real answer.
    daemon_threads = True
    allow_reuse_address = True
    listener: "OAuthListener"


class _Server6(_Server):
    address_family = socket.AF_INET6


class OAuthListener:
    """An HTTP server on the redirect URI's loopback address and port, feeding a RedirectCatcher.

    Binds at construction (OSError when the port is taken). `poll()` accepts at most one connection;
    call it in a loop until `catcher.done` is set or the time is up, then `close()`.
    """

    def __init__(self, redirect_uri: str, catcher: RedirectCatcher, implicit: bool) -> None:
        address, port, self.path = listen_address(redirect_uri)
        self.redirect_uri = redirect_uri
        self.catcher = catcher
        self.implicit = implicit
        server_class = _Server6 if ":" in address else _Server
        self._server = server_class((address, port), _Handler)
        self._server.listener = self
        self._answering = 0
        self._answered = threading.Condition()
        log.debug("Listening for the login answer on %s port %d", address, self.port)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def poll(self, timeout_s: float) -> None:
        """Wait up to `timeout_s` for a connection and hand it to a handler thread."""
        self._server.timeout = timeout_s
        self._server.handle_request()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Mark a handler judging an answer and sending its page, for close() to wait on."""
        with self._answered:
            self._answering += 1
        try:
            yield
        finally:
            with self._answered:
                self._answering -= 1
                self._answered.notify_all()

    def close(self, wait_s: float = ANSWER_SEND_WAIT_S) -> None:
        """Stop listening, once the pages of answers being judged are sent (at most `wait_s`).

        The login's result is known before its page is written: without this wait a run that stops at
        once on a failed login would cut the browser's "Failed to log in!" page short.
        """
        with self._answered:
            self._answered.wait_for(lambda: self._answering == 0, timeout=wait_s)
        self._server.server_close()
