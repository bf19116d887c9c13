"""How fast a run's transfers go: how many run at once, and how many bytes a second they may take together.

`Concurrency` is either fixed (`--jobs N`) or adaptive (`--jobs auto`, the default). Adaptive, it starts with a few
transfers at once and measures the rate at which they complete. It doubles the number, the way TCP's slow start probes
a link, until a doubling brings less than a tenth more; then goes back to the level that paid and steps down while
fewer transfers cost less than a tenth of the rate, to the least number that gives it; then holds that level,
probing a step higher now and then in case the link got faster. When the server pushes back (a 429 or a 5xx) it
halves at once and holds. It never goes above `MAX_TRANSFERS`. On a link limited by its bandwidth the rate stops
growing with the number of transfers, so no more are opened than help.

`Bandwidth` (`--bwlimit`) is one token bucket shared by every download.
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from Config import MAX_JOBS

MAX_TRANSFERS = MAX_JOBS
START_TRANSFERS = 8
# A measurement covers at least this long and this many rounds of the current number of transfers; while the level
# doubles, one round (twice as many transfers show at once, and a slow start on a link of long latency costs a
# round trip for each round it waits).
WINDOW_S = 0.3
WINDOW_ROUNDS = 2
# The rate must grow by more than this share for more transfers to count as paying off.
GAIN = 0.10
# How long the level holds before one step higher is tried again, and how long a push back holds the level.
PROBE_AFTER_S = 15.0
# Push backs closer together than this count as one (a burst of 429s halves once).
PUSHBACK_SPACING_S = 2.0
# How far ahead of the rate a burst of reads may go.
BURST_S = 0.25


GROWING, SHRINKING, HOLDING = "growing", "shrinking", "holding"


class Concurrency:
    """The number of transfers that may run at once, and the slots they run in."""

    def __init__(self, fixed: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = fixed or MAX_TRANSFERS
        self.adaptive = fixed is None
        self._limit = fixed or min(START_TRANSFERS, MAX_TRANSFERS)
        self.peak = self._limit
        self._clock = clock
        self._running = 0
        self._changed = threading.Condition()
        self._window_start = clock()
        self._window_done = 0
        self._phase = GROWING
        self._doubling = True  # until the first level that did not pay, as in TCP's slow start
        self._best: tuple[int, float] | None = None  # the level to come back to, and the rate it gave
        self._probe_at = 0.0
        self._last_pushback = -PUSHBACK_SPACING_S

    @property
    def limit(self) -> int:
        with self._changed:
            return self._limit

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `limit` slots while a transfer runs; waits while all are taken."""
        with self._changed:
            self._changed.wait_for(lambda: self._running < self._limit)
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                # One slot is free: one waiter is woken, not every one to find all but one taken again (with dozens
                # waiting, that was a tenth of a large backup's CPU time). A change of the limit wakes them all.
                self._changed.notify()

    def completed(self) -> None:
        """One transfer finished: measure the rate, and adapt the level once a window is full."""
        if not self.adaptive:
            return
        with self._changed:
            self._window_done += 1
            now = self._clock()
            elapsed = now - self._window_start
            rounds = 1 if self._doubling else WINDOW_ROUNDS
            if elapsed < WINDOW_S or self._window_done < rounds * self._limit:
                return
            self._adapt(self._window_done / elapsed, now)
            self._window_start, self._window_done = now, 0

    def pushed_back(self) -> None:
        """The server answered 429 or 5xx: halve the level (once for a burst) and hold it a while."""
        if not self.adaptive:
            return
        with self._changed:
            now = self._clock()
            if now - self._last_pushback < PUSHBACK_SPACING_S:
                return
            self._last_pushback = now
            self._set(self._limit // 2)
            self._hold(now)
            self._window_start, self._window_done = now, 0

    def _adapt(self, rate: float, now: float) -> None:
        """Grow while more transfers pay; then shrink while fewer cost nothing; then hold, and probe again later."""
        best = self._best
        if self._phase == GROWING:
            if best is None or rate > best[1] * (1 + GAIN):
                self._best = (self._limit, rate)
                self._set(self._limit * 2 if self._doubling else self._limit + _step(self._limit))
            else:  # more transfers did not pay: back to the level that did, then look for the least that does
                self._set(best[0])
                self._phase, self._doubling = SHRINKING, False
        elif self._phase == SHRINKING and best is not None:
            if rate >= best[1] * (1 - GAIN) and self._limit > 1:
                self._best = (self._limit, max(rate, best[1]))
                self._set(self._limit - _step(self._limit))
            else:  # fewer transfers cost: the last level is the one
                self._set(best[0])
                self._hold(now)
        elif now >= self._probe_at:
            self._best = (self._limit, rate)
            self._phase = GROWING
            self._set(self._limit + _step(self._limit))

    def _hold(self, now: float) -> None:
        self._phase, self._doubling, self._best = HOLDING, False, None
        self._probe_at = now + PROBE_AFTER_S

    def _set(self, limit: int) -> None:
        self._limit = max(1, min(self.ceiling, limit))
        self.peak = max(self.peak, self._limit)
        self._changed.notify_all()


def _step(limit: int) -> int:
    """A quarter of the level, at least one transfer."""
    return max(1, limit // 4)


class Bandwidth:
    """A shared budget of bytes per second (None: unlimited): each read takes its bytes from it, waiting when the
    transfers together run ahead of the rate."""

    def __init__(self, bytes_per_s: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.bytes_per_s = bytes_per_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._free_at = clock()  # when the bytes taken so far will have been paid for

    def take(self, count: int) -> None:
        if not self.bytes_per_s:
            return
        with self._lock:
            now = self._clock()
            self._free_at = max(self._free_at, now) + count / self.bytes_per_s
            wait = self._free_at - now - BURST_S
        if wait > 0:
            self._sleep(wait)
