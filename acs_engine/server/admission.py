"""Admission of new CWMP sessions: a short, bounded queue instead of an early 503.

After a power cut hundreds of CPEs boot within seconds, and many CPE stacks do not try again
before their next periodic inform when they are refused. A CPE waits 30 s or more for the
answer to its Inform, so the ACS can afford to hold a new session for a while:

- at most ``max_concurrent_new_sessions`` Informs are worked on at once (CPU protected: a
  waiting Inform costs nothing but its parsed body);
- at most ``max_sessions`` sessions are alive at once (memory and device locks bounded);
- a new session that finds no free slot waits in first-come order for up to
  ``admission_wait_ms``, then is refused (503 with Retry-After);
- the waiting Informs' bodies are bounded in total (``admission_queue_bytes``); past that a
  new one is refused at once.

A refused CPE is told when to come back by :class:`RetryPacer` (moved here from
``cwmp_http``), so the refused part of a burst spreads out.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from acs_engine.config import EngineConfig


class Refused(Exception):
    """A new session could not be admitted; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[None]
    size: int


class Admission:
    """The gate every Inform passes before its session starts.

    Args:
        config: read on every call (the limits may change while running).
        live: how many sessions are alive now.
        clock: the time source (for :attr:`longest_wait`).
    """

    def __init__(
        self, config: EngineConfig, live: Callable[[], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._live = live
        self._clock = clock
        self._waiters: deque[_Waiter] = deque()
        self._queued_bytes = 0
        #: Informs admitted and not yet answered.
        self.in_flight = 0
        #: The longest time an admitted Inform waited, seconds (since start).
        self.longest_wait = 0.0
        #: Informs that waited (were not admitted at once), and those refused.
        self.queued_total = 0
        self.refused_total = 0

    @property
    def waiting(self) -> int:
        """Informs waiting for a slot now."""
        return len(self._waiters)

    def _free(self) -> bool:
        cfg = self.config
        return (
            self.in_flight < max(1, cfg.max_concurrent_new_sessions)
            and self._live() + self.in_flight < max(1, cfg.max_sessions)
        )

    async def enter(self, size: int = 0) -> float:
        """Wait for a slot; returns the seconds waited. Call :meth:`leave` when done.

        Args:
            size: the Inform's body size (counted against ``admission_queue_bytes``
                while it waits).

        Raises:
            Refused: no slot within ``admission_wait_ms``, or the queue is full.
        """
        if not self._waiters and self._free():
            self.in_flight += 1
            return 0.0
        cfg = self.config
        if cfg.admission_wait_ms <= 0:
            self.refused_total += 1
            raise Refused("too many sessions are starting")
        if self._queued_bytes + size > cfg.admission_queue_bytes:
            self.refused_total += 1
            raise Refused("too many sessions are waiting to start")
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future(), size)
        self._waiters.append(waiter)
        self._queued_bytes += size
        self.queued_total += 1
        began = self._clock()
        timer = loop.call_later(cfg.admission_wait_ms / 1000, self._expire, waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self.leave()  # admitted just as the caller went away
            raise
        finally:
            timer.cancel()
            self._drop(waiter)
        waited = self._clock() - began
        self.longest_wait = max(self.longest_wait, waited)
        return waited

    def leave(self) -> None:
        """An admitted Inform was answered (or given up): its slot goes to the next one."""
        self.in_flight = max(0, self.in_flight - 1)
        self.pump()

    def pump(self) -> None:
        """Admit waiting Informs while there are free slots (call when a session ends)."""
        while self._waiters and self._free():
            waiter = self._waiters.popleft()
            self._queued_bytes -= waiter.size
            if waiter.future.done():
                continue
            self.in_flight += 1
            waiter.future.set_result(None)

    def _drop(self, waiter: _Waiter) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            return
        self._queued_bytes -= waiter.size

    def _expire(self, waiter: _Waiter) -> None:
        if waiter.future.done():
            return
        self._drop(waiter)
        self.refused_total += 1
        waiter.future.set_exception(
            Refused(f"no session slot free within {self.config.admission_wait_ms / 1000:g} s")
        )


#: Bounds of the Retry-After sent when too many sessions are starting (seconds).
OVERLOAD_RETRY_MIN = 5
OVERLOAD_RETRY_MAX = 120


class RetryPacer:
    """Retry-After for CPEs refused because too many sessions are starting at once.

    The refused CPEs form a backlog (refusals in the last ``window`` seconds, decaying
    exponentially); the ACS admits ``limit`` Informs at a time, each taking about
    ``inform_seconds`` (a moving average of real ones). Clearing the backlog takes about
    ``backlog * inform_seconds / limit`` seconds; each CPE is told to come back at a random
    time between that and twice that, at least :data:`OVERLOAD_RETRY_MIN` later, so a burst
    of a thousand CPEs spreads over the following minutes instead of coming back together.
    Never more than :data:`OVERLOAD_RETRY_MAX`.

    Args:
        limit: new sessions admitted at once (``max_concurrent_new_sessions``).
        window: seconds over which refusals are remembered.
        rng: the source of the jitter (tests pass a seeded one).
        clock: the time source.
    """

    def __init__(
        self, limit: int, *, window: float = 30.0, rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max(1, limit)
        self.window = window
        self.rng = rng or random.Random()
        self.clock = clock
        self.backlog = 0.0
        #: Moving average of how long an admitted Inform takes (seconds).
        self.inform_seconds = 0.5
        self._at = clock()

    def _decay(self) -> None:
        now = self.clock()
        if now > self._at:
            self.backlog *= math.exp(-(now - self._at) / self.window)
        self._at = now

    def inform_took(self, seconds: float) -> None:
        """Record how long an admitted Inform took to answer."""
        self.inform_seconds += 0.2 * (max(0.0, seconds) - self.inform_seconds)

    def refused(self, limit: int | None = None) -> int:
        """Count one more refused CPE; the Retry-After (whole seconds) to tell it.

        Args:
            limit: the admission limit now (it may have changed since construction).
        """
        if limit is not None:
            self.limit = max(1, limit)
        self._decay()
        self.backlog += 1.0
        drain = self.backlog * self.inform_seconds / self.limit
        base = max(float(OVERLOAD_RETRY_MIN), drain)
        wait = self.rng.uniform(base, 2 * base)
        return int(min(OVERLOAD_RETRY_MAX, max(OVERLOAD_RETRY_MIN, round(wait))))
