"""Everything one running emulator holds: clock, library, tokens, faults, counters."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from werkzeug.wrappers import Request

from .auth import Tokens
from .clock import Clock
from .content import Signer
from .faults import Faults, FaultSettings
from .pagination import Key, MarkerMemory, Page, Paging, paginate
from .state import Library

DEFAULT_CLIENT_SECRET = "emulator-secret"

# The logged-in user. Fixed ids keep a seeded library reproducible across runs.
PROFILE: dict[str, Any] = {
    "id": "4afc0c0f-88ab-3aed-a20a-f50934fc83b1",
    "first_name": "Ada",
    "last_name": "Émulator",
    "display_name": "Dr. Ada Émulator",
    "email": "ada.emulator@example.org",
    "link": "https://www.mendeley.com/profiles/ada-emulator/",
    "academic_status": "Researcher",
    "discipline": {"name": "Computer and Information Science", "subdisciplines": ["Software Engineering"]},
    "disciplines": [{"name": "Computer and Information Science", "subdisciplines": ["Software Engineering"]}],
    "location": {"latitude": 51.513, "longitude": -0.123, "name": "London, United Kingdom"},
    "verified": True,
    "marketing": False,
    "user_type": "normal",
    "created": "2013-10-08T09:26:16.000Z",
}


class Stats:
    """Request counters by `METHOD /route/{template}`, content bytes actually sent, the most requests that were
    in flight at once (from the request's arrival to the last byte of its answer), and the connections clients
    opened (to either origin)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_endpoint: Counter[str] = Counter()
            self.bytes_served = 0
            self.in_flight = 0
            self.in_flight_peak = 0
            self.connections = 0

    def count(self, key: str) -> None:
        with self._lock:
            self.total += 1
            self.by_endpoint[key] += 1

    def arrived(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.in_flight_peak = max(self.in_flight_peak, self.in_flight)

    def answered(self) -> None:
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def connected(self) -> None:
        with self._lock:
            self.connections += 1

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes_served += n

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total_requests": self.total,
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
                "bytes_served": self.bytes_served,
                "in_flight_peak": self.in_flight_peak,
                "connections": self.connections,
            }


class Emulator:
    """The state behind the WSGI app; endpoint functions receive it as their first argument."""

    def __init__(self, client_secret: str = DEFAULT_CLIENT_SECRET) -> None:
        self.client_secret = client_secret
        self.clock = Clock()
        self.library = Library(self.clock, PROFILE)
        self.tokens = Tokens()
        self.faults = Faults()
        self.stats = Stats()
        self.signer = Signer()
        self.markers = MarkerMemory()
        # The second origin's base URL (the S3-like content host), once its server listens.
        self.content_host_url: str | None = None

    def paginate(self, request: Request, ascending: Sequence[Any], key: Callable[[Any], Key], **options: Any) -> Page:
        """One page of a listing, paged as the current fault setting says (see pagination.paginate)."""
        s = self.faults.settings
        paging = Paging(s.link_style, s.max_page_items, not s.no_count)
        return paginate(request, ascending, key, paging=paging, markers=self.markers, **options)

    def set_faults(self, settings: FaultSettings) -> None:
        if settings.clock_offset_s != self.clock.offset_s:
            self.clock.set_offset(settings.clock_offset_s)
        self.faults.configure(settings)

    def reset(self) -> None:
        """Empty library, no tokens, counters zeroed, faults cleared."""
        self.library.reset()
        self.tokens.reset()
        self.stats.reset()
        self.set_faults(FaultSettings())
