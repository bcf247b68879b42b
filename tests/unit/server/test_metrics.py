"""Metrics kept from the bus and their text exposition (Prometheus format 0.0.4)."""

from __future__ import annotations

import pytest

from acs_engine.bus import EventBus, RequestRejected, SessionEnded, SessionStarted
from acs_engine.server.metrics import EngineMetrics, Histogram, Sample, render
from tests.helpers.serve import parse_exposition


def test_histogram_is_cumulative_with_inf_bucket() -> None:
    hist = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0, -1.0):
        hist.observe(value)
    assert hist.cumulative() == [("0.1", 3), ("1", 4), ("+Inf", 5)]
    assert hist.count == 5 and hist.total == pytest.approx(3.65)
    with pytest.raises(ValueError):
        Histogram((1.0, 0.5))


def test_bus_events_move_the_counters() -> None:
    bus = EventBus()
    metrics = EngineMetrics(bus)
    bus.publish(SessionStarted("s1", "d1", 100_000, "127.0.0.1", ("2 PERIODIC",), "1.0"))
    bus.publish(SessionStarted("s2", "d2", 100_000, "127.0.0.1", (), "1.0"))
    bus.publish(SessionEnded("s1", "d1", 101_500, "ok"))
    bus.publish(SessionEnded("s2", "d2", 100_200, "fault", "9002"))
    bus.publish(SessionEnded("s3", "d3", 100_200, "something-new"))  # counted as an error
    bus.publish(RequestRejected(100_000, "127.0.0.1", 503, "busy"))
    bus.publish(RequestRejected(100_000, "127.0.0.1", 413, "too large"))
    metrics.record_lag(0.02)
    samples = parse_exposition(render(metrics.families()))
    assert samples["fieldacs_sessions_started_total"] == 2
    assert samples['fieldacs_sessions_ended_total{outcome="ok"}'] == 1
    assert samples['fieldacs_sessions_ended_total{outcome="fault"}'] == 1
    assert samples['fieldacs_sessions_ended_total{outcome="error"}'] == 1
    assert samples["fieldacs_session_faults_total"] == 1
    assert samples["fieldacs_session_duration_seconds_count"] == 2  # s3 never started
    assert samples['fieldacs_session_duration_seconds_bucket{le="0.25"}'] == 1
    assert samples["fieldacs_session_duration_seconds_sum"] == pytest.approx(1.7)
    assert samples['fieldacs_cwmp_rejected_total{status="503"}'] == 1
    assert samples['fieldacs_cwmp_rejected_total{status="413"}'] == 1
    assert samples["fieldacs_event_loop_lag_max_seconds"] == pytest.approx(0.02)
    metrics.close()
    bus.publish(SessionStarted("s4", "d4", 100_000, "", (), "1.0"))
    assert metrics.sessions_started == 2


def test_exposition_format_escapes_labels_and_help() -> None:
    text = render([Sample("x_total", "counter", 'help with \\ and\nnewline',
                          [({"v": 'a"b\\c\nd'}, 1.5)])])
    lines = text.splitlines()
    assert lines[0] == "# HELP x_total help with \\\\ and\\nnewline"
    assert lines[1] == "# TYPE x_total counter"
    assert lines[2] == 'x_total{v="a\\"b\\\\c\\nd"} 1.5'
    assert text.endswith("\n")
    # Every type line names a family whose samples follow it.
    assert render([Sample("g", "gauge", "h", [({}, float("inf"))])]).splitlines()[2] == "g +Inf"


async def test_lag_monitor_measures_a_blocked_loop() -> None:
    import asyncio
    import time

    metrics = EngineMetrics(EventBus())
    metrics.start_lag_monitor()
    await asyncio.sleep(0)  # the monitor starts its 0.5 s sleep
    time.sleep(0.8)  # a callback hogging the loop well past the monitor's wake-up time
    while metrics.lag.count == 0:
        await asyncio.sleep(0.05)
    await metrics.stop_lag_monitor()
    assert metrics.lag_max >= 0.3
