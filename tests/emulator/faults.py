"""Fault injection: latency, errors, rate limits, dropped and truncated connections, a slow link, answers
that are not the API's (a captive portal's page, a load balancer's error page), and the shapes the real
service's answers take (its `Link` headers, a second origin for file content, chunked downloads).

`POST /_emulator/faults` replaces the whole setting. Faults apply to every request outside
`/_emulator/` (OAuth, API and file content alike, on either origin).
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import bad_request

LINK_STYLES = ("default", "real", "minimal")


@dataclass(frozen=True)
class FaultSettings:
    latency_ms: float = 0
    bandwidth_bytes_per_s: float | None = None
    error_rate: float = 0.0
    error_status: int = 500
    rate_limit_per_s: float | None = None
    truncate_rate: float = 0.0
    drop_rate: float = 0.0
    clock_offset_s: float = 0.0
    token_lifetime_s: float = 3600
    fail_after_requests: int | None = None
    # Extension: fail_after_requests counts and fails only the requests whose path starts so (e.g. "/documents": a
    # listing cut short at a given page, whatever else a client asks for at the same time).
    fail_path: str | None = None
    # Extensions: a denied login at /oauth/authorize, the lifetime of signed content URLs, and the
    # seed of the fault RNG (reproducible fault sequences for a sequential client).
    deny_login: bool = False
    content_url_lifetime_s: float = 600  # as recorded: the S3 URL's Expires is now + 600 s
    seed: int | None = None
    # The recorded shapes of the real service's answers and what real networks do (see the README).
    link_style: str = "default"  # "real" or "minimal": the Link headers of listings
    garbage_rate: float = 0.0  # a 200 whose body is an HTML page (a captive portal)
    html_error_rate: float = 0.0  # a 502 whose body is a load balancer's HTML page
    retry_after_date: bool = False  # 429s carry Retry-After as an HTTP date instead of seconds
    no_retry_after: bool = False  # 429s and 503s carry no Retry-After at all
    chunked_content: bool = False  # file content sent chunked, without Content-Length
    separate_content_host: bool = False  # GET /files/{id} redirects to the second origin (S3-like)
    no_count: bool = False  # listings carry no Mendeley-Count
    max_page_items: int | None = None  # pages hold at most this many items, whatever limit was asked
    truncate_content_only: bool = False  # truncate_rate spares API answers: only file content is cut

    @classmethod
    def from_json(cls, body: Any) -> FaultSettings:
        if not isinstance(body, dict):
            raise bad_request("faults must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise bad_request(f"unknown fault fields: {', '.join(unknown)}")
        values = {k: v for k, v in body.items() if v is not None}
        defaults = cls()
        for name, value in values.items():
            default = getattr(defaults, name)
            if name == "fail_path":
                if not (isinstance(value, str) and value.startswith("/")):
                    raise bad_request("fail_path must be a path, starting with /")
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise bad_request(f"{name} must be a boolean")
            elif isinstance(default, str):
                if value not in LINK_STYLES:
                    raise bad_request(f"{name} must be one of {', '.join(LINK_STYLES)}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise bad_request(f"{name} must be a number")
        for name in ("error_rate", "truncate_rate", "drop_rate", "garbage_rate", "html_error_rate"):
            if not 0 <= values.get(name, 0) <= 1:
                raise bad_request(f"{name} must be between 0 and 1")
        if not 100 <= values.get("error_status", 500) <= 599:
            raise bad_request("error_status must be an HTTP status code")
        for name in ("bandwidth_bytes_per_s", "rate_limit_per_s", "token_lifetime_s", "max_page_items"):
            if name in values and values[name] <= 0:
                raise bad_request(f"{name} must be positive")
        if "max_page_items" in values and not isinstance(values["max_page_items"], int):
            raise bad_request("max_page_items must be an integer")
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """What to do with a request before handling it: drop it, or answer with an error status."""

    drop: bool = False
    status: int | None = None
    message: str = ""
    retry_after: int | None = None
    html: bool = False  # the answer's body is an HTML page, not the API's JSON


PASS = Verdict()


class Faults:
    """The current fault setting and the state it needs (RNG, token bucket, counters, link)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure(FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            self._rng = random.Random(settings.seed)
            self._requests = 0
            self._bucket = settings.rate_limit_per_s or 0.0
            self._bucket_time = time.monotonic()
            self._link_free = 0.0

    def before_request(self, path: str) -> Verdict:
        """Decide the fate of one request to `path` (after `latency_ms`, which the caller sleeps)."""
        s = self.settings
        with self._lock:
            counted = s.fail_path is None or path.startswith(s.fail_path)
            self._requests += counted
            if s.drop_rate and self._rng.random() < s.drop_rate:
                return Verdict(drop=True)
            if s.fail_after_requests is not None and counted and self._requests > s.fail_after_requests:
                return Verdict(status=503, message="Service unavailable (fail_after_requests)")
            if s.rate_limit_per_s:
                now = time.monotonic()
                rate = s.rate_limit_per_s
                # A bucket of one second's worth of requests, refilled continuously.
                self._bucket = min(max(rate, 1.0), self._bucket + (now - self._bucket_time) * rate)
                self._bucket_time = now
                if self._bucket < 1:
                    wait = max(1, math.ceil((1 - self._bucket) / rate))
                    return Verdict(status=429, message="Too many requests", retry_after=self._retry_after(wait))
                self._bucket -= 1
            if s.error_rate and self._rng.random() < s.error_rate:
                retry = self._retry_after(1) if s.error_status in (429, 503) else None
                return Verdict(status=s.error_status, message="Injected fault", retry_after=retry)
            if s.html_error_rate and self._rng.random() < s.html_error_rate:
                return Verdict(status=502, message="Bad Gateway", html=True)
            if s.garbage_rate and self._rng.random() < s.garbage_rate:
                return Verdict(status=200, message="Sign in to the network", html=True)
        return PASS

    def _retry_after(self, seconds: int) -> int | None:
        return None if self.settings.no_retry_after else seconds

    def truncate(self) -> bool:
        """Whether to cut this answer (API answer or file content) short."""
        s = self.settings
        if not s.truncate_rate:
            return False
        with self._lock:
            return self._rng.random() < s.truncate_rate

    def chunk_size(self) -> int:
        rate = self.settings.bandwidth_bytes_per_s
        return 64 * 1024 if not rate else int(min(16 * 1024, max(512, rate / 20)))

    def throttle(self, nbytes: int) -> None:
        """Wait until `nbytes` more may go over the one shared link of `bandwidth_bytes_per_s`.

        Every download reserves its next chunk's time on the link in turn, so parallel downloads
        share the bandwidth instead of each getting all of it.
        """
        rate = self.settings.bandwidth_bytes_per_s
        if not rate:
            return
        with self._lock:
            now = time.monotonic()
            self._link_free = max(now, self._link_free) + nbytes / rate
            done = self._link_free
        time.sleep(max(0.0, done - now))
