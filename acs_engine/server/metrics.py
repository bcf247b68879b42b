"""The engine's health and metrics: counters kept from the event bus, rendered in Prometheus's
text exposition format (version 0.0.4) by :func:`render`.

:class:`EngineMetrics` subscribes to the bus when the engine is made, so its counters cover the
engine's whole life (a listener swapped by new settings does not reset them). What it keeps:

- sessions started, and sessions ended by outcome (``ok``, ``fault``, ``timeout``, ``aborted``,
  ``error``): a counter, so ``rate(fieldacs_sessions_ended_total[1m])`` is sessions per second;
- session duration, Inform to end, as a histogram;
- CWMP requests refused, by HTTP status (503: busy device, too many sessions starting,
  shutting down);
- the event loop's lag: a monitor task sleeps :data:`LAG_INTERVAL` and records how late it
  wakes (a loop kept busy by one long callback shows here first).

Gauges read at scrape time (live sessions, devices, the database's size on disk)
are added by the NBI route (:mod:`acs_engine.server.nbi_service`). No dependency: the format
is a few lines of text.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from acs_engine.bus import EventBus, RequestRejected, SessionEnded, SessionStarted

__all__ = ["EngineMetrics", "Histogram", "Sample", "render"]

#: Seconds between two wake-ups of the event-loop lag monitor.
LAG_INTERVAL = 0.5
#: Upper bounds of the session-duration histogram (seconds).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: Upper bounds of the event-loop lag histogram (seconds).
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: The outcomes a session can end with (always listed, zero or not).
OUTCOMES = ("ok", "fault", "timeout", "aborted", "error")


@dataclass(slots=True)
class Histogram:
    """A cumulative histogram (Prometheus semantics: ``le`` buckets, ``_sum``, ``_count``)."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if list(self.bounds) != sorted(self.bounds) or not self.bounds:
            raise ValueError("histogram bounds must be given in increasing order")
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        """Count one observation (negative values count as 0)."""
        value = max(0.0, value)
        index = bisect_left(self.bounds, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs, cumulative, ending with ``+Inf``."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, n in zip(self.bounds, self.counts, strict=True):
            running += n
            out.append((_number(bound), running))
        out.append(("+Inf", self.count))
        return out


@dataclass(frozen=True, slots=True)
class Sample:
    """One metric family: its name, type, help text and ``(labels, value)`` samples."""

    name: str
    kind: str  # "counter" | "gauge" | "histogram"
    help: str
    values: Sequence[tuple[dict[str, str], float]] = ()
    histogram: Histogram | None = None


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def render(families: Iterable[Sample]) -> str:
    """The text exposition format of ``families`` (``# HELP``, ``# TYPE``, samples)."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        if family.histogram is not None:
            hist = family.histogram
            for le, n in hist.cumulative():
                lines.append(f'{family.name}_bucket{{le="{le}"}} {n}')
            lines.append(f"{family.name}_sum {_number(hist.total)}")
            lines.append(f"{family.name}_count {hist.count}")
            continue
        for labels, value in family.values:
            lines.append(f"{family.name}{_labels(labels)} {_number(value)}")
    return "\n".join(lines) + "\n"


class EngineMetrics:
    """Counters and histograms of one engine, fed by its bus.

    Args:
        bus: the engine's event bus.
        clock: the time source of the lag monitor (monotonic seconds).
    """

    def __init__(self, bus: EventBus, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started_at = time.time()
        self.sessions_started = 0
        self.sessions_ended: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.rejected: dict[int, int] = {}
        self.duration = Histogram(DURATION_BUCKETS)
        self.lag = Histogram(LAG_BUCKETS)
        #: The latest lag measured (seconds) and the largest since the engine started.
        self.lag_last = 0.0
        self.lag_max = 0.0
        self._starts: dict[str, float] = {}
        self._monitor: asyncio.Task[None] | None = None
        self._unsubscribe = bus.subscribe(
            self._on_event, SessionStarted, SessionEnded, RequestRejected
        )

    # ------------------------------------------------------------------ bus
    def _on_event(self, event: object) -> None:
        if isinstance(event, SessionStarted):
            self.sessions_started += 1
            self._starts[event.session_id] = event.at_ms
        elif isinstance(event, SessionEnded):
            outcome = event.outcome if event.outcome in self.sessions_ended else "error"
            self.sessions_ended[outcome] += 1
            began = self._starts.pop(event.session_id, None)
            if began is not None:
                self.duration.observe((event.at_ms - began) / 1000)
        elif isinstance(event, RequestRejected):
            self.rejected[event.status] = self.rejected.get(event.status, 0) + 1

    def close(self) -> None:
        """Stop listening to the bus (the engine is going away)."""
        self._unsubscribe()

    # ------------------------------------------------------------------ event-loop lag
    def start_lag_monitor(self) -> None:
        """Start measuring the running loop's lag (idempotent)."""
        if self._monitor is None or self._monitor.done():
            self._monitor = asyncio.get_running_loop().create_task(self._watch_lag())

    async def stop_lag_monitor(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._monitor
            self._monitor = None

    async def _watch_lag(self) -> None:
        while True:
            before = self.clock()
            await asyncio.sleep(LAG_INTERVAL)
            self.record_lag(self.clock() - before - LAG_INTERVAL)

    def record_lag(self, lag: float) -> None:
        """Record one lag measurement (seconds late)."""
        lag = max(0.0, lag)
        self.lag.observe(lag)
        self.lag_last = lag
        self.lag_max = max(self.lag_max, lag)

    # ------------------------------------------------------------------ exposition
    def families(self) -> list[Sample]:
        """The metric families kept here (the scrape adds its gauges)."""
        return [
            Sample("fieldacs_sessions_started_total", "counter",
                   "CWMP sessions started (Informs accepted).",
                   [({}, self.sessions_started)]),
            Sample("fieldacs_sessions_ended_total", "counter",
                   "CWMP sessions ended, by outcome; rate() of it is sessions per second.",
                   [({"outcome": k}, v) for k, v in self.sessions_ended.items()]),
            Sample("fieldacs_session_faults_total", "counter",
                   "Sessions that recorded a fault (a CPE fault, a script error, ...).",
                   [({}, self.sessions_ended["fault"])]),
            Sample("fieldacs_session_duration_seconds", "histogram",
                   "Duration of CWMP sessions, from the Inform to the end.",
                   histogram=self.duration),
            Sample("fieldacs_cwmp_rejected_total", "counter",
                   "CWMP requests refused, by HTTP status (503: busy or overloaded).",
                   [({"status": str(s)}, n)
                    for s, n in sorted({503: 0, **self.rejected}.items())]),
            Sample("fieldacs_event_loop_lag_seconds", "gauge",
                   "How late the event loop woke the lag monitor, latest measurement.",
                   [({}, self.lag_last)]),
            Sample("fieldacs_event_loop_lag_max_seconds", "gauge",
                   "The largest event-loop lag measured since the engine started.",
                   [({}, self.lag_max)]),
            Sample("fieldacs_event_loop_lag_histogram_seconds", "histogram",
                   "Event-loop lag measurements.", histogram=self.lag),
        ]
