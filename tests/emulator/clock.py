"""The server's clock: real time shifted by `clock_offset_s`, in integer milliseconds.

Every timestamp the emulator sets comes from `Clock.stamp()`, which never hands out the same
millisecond twice, so two changes never share a `last_modified` (the backup tool compares them).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from werkzeug.http import http_date

UTC = timezone.utc  # datetime.UTC arrived in Python 3.11


class Clock:
    """Shifted wall clock; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset_ms = 0
        self._last_stamp = 0

    @property
    def offset_s(self) -> float:
        return self._offset_ms / 1000

    def set_offset(self, seconds: float) -> None:
        """Shift the clock. A new offset may move it backwards, as a real clock fix would."""
        with self._lock:
            self._offset_ms = round(seconds * 1000)
            self._last_stamp = 0

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self._offset_ms

    def stamp(self) -> int:
        """A fresh timestamp for a change: the shifted time, at least 1 ms after the previous stamp."""
        with self._lock:
            self._last_stamp = max(self.now_ms(), self._last_stamp + 1)
            return self._last_stamp

    def http_date(self) -> str:
        """The `Date` header value (RFC 7231) of the shifted clock."""
        return http_date(self.now_ms() / 1000)


def iso(ms: int) -> str:
    """Milliseconds since the epoch as ISO-8601 UTC with milliseconds and `Z`."""
    dt = datetime.fromtimestamp(ms // 1000, timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def parse_iso(text: str) -> int:
    """An ISO-8601 date or timestamp as milliseconds since the epoch; naive times are UTC.

    Raises ValueError when the text is not a timestamp.
    """
    text = text.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)
