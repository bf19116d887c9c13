"""Unit tests of Transfers: the adaptive number of transfers against simulated links, and the shared bandwidth."""

from __future__ import annotations

import threading
import time

import pytest

from Transfers import MAX_TRANSFERS, PROBE_AFTER_S, START_TRANSFERS, Bandwidth, Concurrency


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_link(concurrency: Concurrency, clock: Clock, rate_at: object, completions: int) -> list[int]:
    """Complete transfers one after another at the rate `rate_at(limit)` the link gives; the limits seen."""
    seen = []
    for _ in range(completions):
        clock.now += 1 / rate_at(concurrency.limit)  # type: ignore[operator]
        concurrency.completed()
        seen.append(concurrency.limit)
    return seen


def test_a_fixed_number_never_changes() -> None:
    clock = Clock()
    fixed = Concurrency(6, clock)
    run_link(fixed, clock, lambda limit: 10.0 * limit, 500)
    fixed.pushed_back()
    assert (fixed.limit, fixed.ceiling, fixed.peak, fixed.adaptive) == (6, 6, 6, False)


def test_on_a_link_bound_by_latency_it_grows_to_the_bound_and_stays() -> None:
    clock = Clock()
    adaptive = Concurrency(None, clock)
    assert adaptive.limit == START_TRANSFERS
    seen = run_link(adaptive, clock, lambda limit: 25.0 * limit, 5000)  # each transfer alone: 25 a second
    assert max(seen) == MAX_TRANSFERS and seen[-1000:] == [MAX_TRANSFERS] * 1000


@pytest.mark.parametrize("knee", [3, 7, 12, 20])
def test_on_a_link_bound_by_bandwidth_it_settles_at_the_least_number_that_fills_it(knee: int) -> None:
    """Each transfer alone gets 5 a second; the link carries `knee` transfers' worth and no more."""
    clock = Clock()
    adaptive = Concurrency(None, clock)
    seen = run_link(adaptive, clock, lambda limit: 5.0 * min(limit, knee), 4000)
    settled = seen[-1000:]
    held = max(set(settled), key=settled.count)  # the level held, between probes a step up and a step down
    assert knee <= held <= max(knee + 1, knee * 1.34), (knee, held)
    assert settled.count(held) > 0.6 * len(settled), sorted(set(settled))
    assert max(seen) <= MAX_TRANSFERS


def test_a_push_back_halves_at_once_a_burst_counts_once_and_the_level_holds_a_while() -> None:
    clock = Clock()
    adaptive = Concurrency(None, clock)
    run_link(adaptive, clock, lambda limit: 25.0 * limit, 3000)
    assert adaptive.limit == MAX_TRANSFERS
    for _ in range(5):  # five 429s within a second
        adaptive.pushed_back()
        clock.now += 0.2
    assert adaptive.limit == MAX_TRANSFERS // 2
    started = clock.now
    seen = []
    while clock.now - started < PROBE_AFTER_S - 1:
        seen += run_link(adaptive, clock, lambda limit: 25.0 * limit, 1)
    assert set(seen) == {MAX_TRANSFERS // 2}
    run_link(adaptive, clock, lambda limit: 25.0 * limit, 3000)
    assert adaptive.limit >= 0.9 * MAX_TRANSFERS  # and grows again once the server stops pushing back


def test_pushes_back_never_go_below_one_transfer() -> None:
    clock = Clock()
    adaptive = Concurrency(None, clock)
    for _ in range(10):
        adaptive.pushed_back()
        clock.now += 5
    assert adaptive.limit == 1


def test_no_more_than_the_limit_run_in_their_slots_at_once() -> None:
    concurrency = Concurrency(3)
    running, most, lock = [0], [0], threading.Lock()

    def transfer() -> None:
        with concurrency.slot():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.01)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=transfer) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 3


def test_the_bandwidth_is_shared_and_allows_only_a_short_burst() -> None:
    clock = Clock()
    limited = Bandwidth(100_000, clock, clock.sleep)
    started = clock.now
    for _ in range(100):  # 1 MB in 10 KB reads
        limited.take(10_000)
    assert 9.7 <= clock.now - started <= 10.0
    clock.now += 60  # idle: no credit beyond the burst builds up
    before = clock.now
    for _ in range(20):
        limited.take(10_000)
    assert 1.7 <= clock.now - before <= 2.0


def test_no_bandwidth_limit_never_waits() -> None:
    clock = Clock()
    unlimited = Bandwidth(None, clock, clock.sleep)
    for _ in range(1000):
        unlimited.take(1 << 20)
    assert clock.now == 1000.0
