"""The Retry-After of the "too many sessions are starting" 503: bounded, jittered, load-driven."""

from __future__ import annotations

import random
import statistics

from acs_engine.server.admission import OVERLOAD_RETRY_MAX, OVERLOAD_RETRY_MIN, RetryPacer


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_lone_refusal_waits_the_minimum_to_twice_it() -> None:
    pacer = RetryPacer(20, rng=random.Random(1), clock=_Clock())
    wait = pacer.refused()
    assert OVERLOAD_RETRY_MIN <= wait <= 2 * OVERLOAD_RETRY_MIN


def test_a_burst_of_a_thousand_spreads_out_within_the_bounds() -> None:
    clock = _Clock()
    pacer = RetryPacer(20, rng=random.Random(7), clock=clock)
    pacer.inform_seconds = 1.0
    waits = [pacer.refused() for _ in range(1000)]
    assert all(OVERLOAD_RETRY_MIN <= w <= OVERLOAD_RETRY_MAX for w in waits)
    # The first ones come back soon, the later ones later: the load sets the wait.
    assert statistics.mean(waits[:20]) < 12
    # 1,000 Informs of 1 s, 20 at a time, take 50 s: the last are told 50-100 s.
    assert all(50 <= w <= 100 for w in waits[-10:])
    # Jitter: not everybody is told the same second.
    assert len(set(waits[200:400])) > 20


def test_the_backlog_is_forgotten_as_time_passes() -> None:
    clock = _Clock()
    pacer = RetryPacer(10, rng=random.Random(3), clock=clock)
    pacer.inform_seconds = 1.0
    for _ in range(500):
        pacer.refused()
    assert pacer.refused() >= 50
    clock.now += 600  # ten minutes of calm
    assert pacer.refused() <= 2 * OVERLOAD_RETRY_MIN


def test_never_more_than_the_maximum() -> None:
    pacer = RetryPacer(1, rng=random.Random(2), clock=_Clock())
    waits = [pacer.refused() for _ in range(2000)]
    assert max(waits) == OVERLOAD_RETRY_MAX


def test_fast_informs_mean_short_waits() -> None:
    pacer = RetryPacer(20, rng=random.Random(5), clock=_Clock())
    for _ in range(50):
        pacer.inform_took(0.01)
    waits = [pacer.refused() for _ in range(200)]
    assert max(waits) <= 2 * OVERLOAD_RETRY_MIN
