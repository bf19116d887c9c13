"""The one HTTP session every request of a run goes through: pooled keep-alive connections, a connect and
read timeout on every request, and one retry loop, with exponential backoff and jitter that honours
`Retry-After`, for everything another try may cure.

urllib3's own `Retry` covers only what goes wrong before an answer's headers arrive; a body cut short after
them (a connection reset mid-page, a chunked or gzip stream that ends early), or a 200 that is not the API's
answer at all (a captive portal's page), escaped it. Here one budget of `--retries` covers them all: no
answer (connection refused, reset, timed out), 429 and 5xx answers, a body that ends early or does not
decode, an HTML page where the API's JSON was asked for, and a body the caller's `parse` rejects.

A `WriteSession` (a restore's requests that create something) goes through the same loop, but sends a request again
only where the server cannot have acted on it; the rest reaches the caller (MendeleyApi.created_once).
"""

import contextlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError

from Config import HttpPolicy
from Errors import BodyRejected, RetriesExhausted
from Timestamps import UTC, parse_http_date

log = logging.getLogger(__name__)

USER_AGENT = "mendeley-backup"

# Transient answers worth another try: rate limiting and server-side trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Of them, the answers that say the server did not act on a request: rate limiting, a service not taking requests.
NOT_ACTED_ON_STATUSES = frozenset({429, 503})
# An unwanted body up to this size is read rather than closed with its connection (see `release`).
SHORT_BODY_BYTES = 64 * 1024
# Query parameters that sign a URL or carry a secret: never logged.
_SECRET_PARAMETER = re.compile(r"signature|expires|accesskey|credential|security-token|token|code|^key$|x-amz-", re.I)
# How urllib3 names the connection an error happened on: `HTTPConnectionPool(host='…', port=1): `.
_CONNECTION_PREFIX = re.compile(r"^(\w+\([^)]*\)|<[^>]*>): ")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


class Fetched(NamedTuple):
    """An answer worth returning, what `parse` made of its body, and what getting it took."""

    response: requests.Response
    value: Any
    tries: int
    seconds: float


class TimeoutAdapter(HTTPAdapter):
    """An adapter that applies the policy's timeout to every request that does not set its own."""

    def __init__(self, timeout_s: float, **kwargs) -> None:
        self._timeout_s = timeout_s
        super().__init__(**kwargs)

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout_s
        return super().send(request, **kwargs)


class _NoCookies(requests.cookies.RequestsCookieJar):
    """A cookie jar that keeps none."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


class RetryingSession(requests.Session):
    """A `requests.Session` whose every request goes through the policy's retry loop.

    POSTs are retried too: the only ones a backup sends are token requests, which fail cleanly
    (`invalid_grant`) rather than do harm when a lost answer makes them run twice. A restore's writes go through
    a `WriteSession` instead.
    """

    def __init__(self, policy: HttpPolicy, on_pushback: Callable[[], None] = lambda: None) -> None:
        """`on_pushback` is told of each 429 or 5xx answer (the server asking for less)."""
        super().__init__()
        self.policy = policy
        self._on_pushback = on_pushback
        # A wait the server asked for (Retry-After) holds every request of the run, not only the one it answered.
        self._hold_lock = threading.Lock()
        self._held_until = 0.0
        self._environment: dict[tuple[str, str], Any] = {}
        # Neither the API nor the content host sets cookies; reading every answer for them cost a tenth of a file's
        # CPU time.
        self.cookies = _NoCookies()
        # No retries inside urllib3: the loop below does them all, within one budget.
        adapter = TimeoutAdapter(policy.timeout_s, max_retries=0, pool_connections=policy.pool_size,
                                 pool_maxsize=policy.pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """requests' own entry point (`get`, `post`, …), retried; the last 429/5xx answer is returned as it is."""
        return self.fetch(str(method), str(url), None, *args, **kwargs).response

    def fetch(self, method: str, url: str, parse: Callable[[requests.Response], Any] | None = None, *args: Any,
              **kwargs: Any) -> Fetched:
        """One request, tried up to `retries + 1` times. `parse` turns a 2xx answer's body into a value or raises
        BodyRejected. The last 429 or 5xx answer is returned (its status tells what failed); any other failure
        of the last try raises RetriesExhausted."""
        started = time.monotonic()
        tries = self.policy.retries + 1
        reason: str | None
        for attempt in range(1, tries + 1):
            self._wait_for_hold()
            sent = time.monotonic()
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.exceptions.SSLError:
                raise  # a certificate problem is not cured by trying again
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as error:
                reason = describe_error(error)
                answered = isinstance(error, (requests.exceptions.ChunkedEncodingError,
                                              requests.exceptions.ContentDecodingError))
                tried = error.request.url if error.request is not None and error.request.url else url
                log.debug("%s %s: %s after %d ms", method, loggable_url(str(tried)), reason, _ms(sent))
                wait = None
                last = attempt == tries or not self._may_resend_after(error)
            else:
                _log_answer(method, response, sent, kwargs.get("stream", False))
                reason, wait, value = self._judge(response, parse)
                if reason is None:
                    return Fetched(response, value, attempt, time.monotonic() - started)
                last = attempt == tries or not self._may_resend_answered(response)
                if last and response.status_code in RETRY_STATUSES:
                    return Fetched(response, None, attempt, time.monotonic() - started)
                release(response)
                answered = True
            if last:
                raise RetriesExhausted(method, url, reason, attempt, time.monotonic() - started, answered)
            delay = wait if wait is not None else backoff(self.policy, attempt)
            log.info("%s %s: %s; trying again in %.1f s (try %d of %d)", method, urlsplit(url).path, reason, delay,
                     attempt + 1, tries)
            time.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def merge_environment_settings(self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        """requests' reading of the proxy and CA-bundle variables, once per scheme and host instead of once per
        request (it was an eighth of a large backup's CPU time); the run's environment does not change."""
        parts = urlsplit(url.decode() if isinstance(url, bytes) else url or "")
        key = (parts.scheme, parts.netloc)
        environment = self._environment.get(key)
        if environment is None:
            environment = super().merge_environment_settings(url, {}, None, None, None)
            self._environment[key] = environment
        return {"proxies": {**environment["proxies"], **(proxies or {})},
                "stream": environment["stream"] if stream is None else stream,
                "verify": environment["verify"] if verify is None else verify,
                "cert": environment["cert"] if cert is None else cert}

    def resolve_redirects(self, response: requests.Response, request: requests.PreparedRequest,  # type: ignore[override]
                          **kwargs: Any) -> Iterator[Any]:
        """requests' following of redirects. Not asked to follow, as for `GET /files/{id}`, requests still prepares the
        redirect's request for `Response.next`, which nothing here reads: that work is skipped."""
        if kwargs.get("yield_requests"):
            return iter(())
        return super().resolve_redirects(response, request, **kwargs)

    def _may_resend_after(self, error: requests.RequestException) -> bool:
        """Whether a request that got no usable answer (`error`) may be sent again."""
        return True

    def _may_resend_answered(self, response: requests.Response) -> bool:
        """Whether a request whose answer is worth another try may be sent again."""
        return True

    def _wait_for_hold(self) -> None:
        with self._hold_lock:
            wait = self._held_until - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def _judge(self, response: requests.Response, parse: Callable[[requests.Response], Any] | None
               ) -> tuple[str | None, float | None, Any]:
        """Why this answer is worth another try (None: it is not), the wait it asks for, and the parsed body."""
        status = response.status_code
        if status in RETRY_STATUSES:
            self._on_pushback()
            wait = retry_after(response, self.policy)
            if wait is not None:
                with self._hold_lock:
                    self._held_until = max(self._held_until, time.monotonic() + wait)
            return f"answered {status} {response.reason}", wait, None
        if not 200 <= status < 300:
            return None, None, None
        if _html_instead_of_api(response):
            return f"answered an HTML page instead of the API ({page_title(response.text)})", None, None
        if parse is None:
            return None, None, None
        try:
            return None, None, parse(response)
        except BodyRejected as rejected:
            return str(rejected), None, None


class WriteSession(RetryingSession):
    """A session for the requests that create something in the account (a restore's POSTs): sent again only where
    the server cannot have acted on them, a connection never made or an answer saying it did not (429, 503), since a
    lost answer to a request that did reach the server would otherwise make a second copy. Any other failure (no
    answer, one cut short, one that is not the API's, a 500, 502 or 504) reaches the caller at once, which looks
    for the object by its content before trying again (MendeleyApi.created_once)."""

    def _may_resend_after(self, error: requests.RequestException) -> bool:
        return never_connected(error)

    def _may_resend_answered(self, response: requests.Response) -> bool:
        return response.status_code in NOT_ACTED_ON_STATUSES


def make_session(policy: HttpPolicy, on_pushback: Callable[[], None] = lambda: None) -> RetryingSession:
    """The session of a run: the policy's retries and timeouts for http and https."""
    return RetryingSession(policy, on_pushback)


def make_write_session(policy: HttpPolicy, on_pushback: Callable[[], None] = lambda: None) -> WriteSession:
    """The session of a restore's writes: the same policy, sending again only what cannot have been acted on."""
    return WriteSession(policy, on_pushback)


def release(response: requests.Response) -> None:
    """Done with an answer whose body nothing needs (a redirect, an answer to try again). A short body is read first:
    a streamed answer closed unread takes its connection with it, and the next request would have to connect
    anew."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) <= SHORT_BODY_BYTES:
        with contextlib.suppress(requests.RequestException):  # cut short: closed with its connection below
            _ = response.content
    response.close()


def never_connected(error: BaseException) -> bool:
    """Whether a request failed before any connection was made (refused, host not found, connect timed out): its
    bytes never reached a server."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, (requests.exceptions.ConnectTimeout, ConnectTimeoutError)):
            return True  # urllib3's NewConnectionError (refused, no such host) is a ConnectTimeoutError too
        cause = _wrapped(cause)
    return False


def backoff(policy: HttpPolicy, attempt: int) -> float:
    """Exponential backoff with full jitter, capped: the wait after the `attempt`-th try failed."""
    return random.uniform(0, min(policy.backoff_max_s, policy.backoff_s * 2 ** attempt))


def retry_after(response: requests.Response, policy: HttpPolicy) -> float | None:
    """The wait an answer's `Retry-After` asks for, in seconds (None without one), capped by the backoff cap so
    that a run stays bounded. An HTTP date is counted from the answer's own `Date`, so a server whose clock is
    off by hours still asks for the few seconds it meant."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        when = parse_http_date(value)
        if when is None:
            return None
        now = parse_http_date(response.headers.get("Date")) or datetime.now(UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), policy.backoff_max_s)


def _html_instead_of_api(response: requests.Response) -> bool:
    """A 2xx HTML page answering a request that asked for other types: a captive portal or a proxy's page."""
    asked = response.request.headers.get("Accept", "*/*") if response.request is not None else "*/*"
    media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml") and "*/*" not in asked and "html" not in asked


def page_title(text: str, limit: int = 80) -> str:
    """What an HTML page calls itself: its title, else its first line; one short line."""
    found = _TITLE.search(text)
    return one_line(re.sub(r"<[^>]+>", " ", found.group(1)) if found else text, limit) or "no title"


def one_line(text: str, limit: int = 160) -> str:
    """The first non-blank line of `text`, its spaces folded, cut to `limit` characters."""
    first = next((line for line in str(text).splitlines() if line.strip()), "")
    first = " ".join(first.split())
    return first if len(first) <= limit else first[: limit - 1] + "…"


def describe_error(error: BaseException) -> str:
    """What went wrong, in a few words ("connection refused", "read timed out", "answer cut short: …"), from
    inside the layers requests and urllib3 wrap it in, without the URL they name: a content URL's query carries
    its signature."""
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "answer cut short: " + _innermost(error)
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return "answer's compressed body is damaged"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return "read timed out"
    text = _innermost(error)
    for words, short in (("refused", "connection refused"), ("name or service not known", "host name not found"),
                         ("nodename nor servname", "host name not found"), ("failed to resolve", "host name not found"),
                         ("reset by peer", "connection reset"),
                         ("remote end closed connection", "connection closed without an answer")):
        if words in text.lower():
            return short
    return text


def _innermost(error: BaseException) -> str:
    cause = error
    while (inner := _wrapped(cause)) is not None:
        cause = inner
    return _CONNECTION_PREFIX.sub("", str(cause)).split("(Caused by")[0].strip() or type(cause).__name__


def _wrapped(error: BaseException) -> BaseException | None:
    """The exception `error` wraps: urllib3's `reason`, or one among its arguments (requests, ProtocolError)."""
    reason = getattr(error, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    return next((arg for arg in error.args if isinstance(arg, BaseException)), None)


def loggable_url(url: str) -> str:
    """`host/path?query` without the query parameters that sign the URL or carry a secret."""
    parts = urlsplit(url)
    kept = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not _SECRET_PARAMETER.search(key)]
    return parts.netloc + parts.path + ("?" + urlencode(kept) if kept else "")


def _log_answer(method: str, response: requests.Response, sent: float, streamed: bool) -> None:
    if not log.isEnabledFor(logging.DEBUG):
        return
    if streamed:
        size = response.headers.get("Content-Length", "unknown") + " bytes to come"
    else:
        wire = response.raw.tell() if hasattr(response.raw, "tell") else len(response.content)
        size = f"{len(response.content)} bytes ({wire} on the wire)" if wire != len(response.content) \
            else f"{wire} bytes"
    log.debug("%s %s: %d, %s, %d ms", method, loggable_url(response.url), response.status_code, size, _ms(sent))


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)
