"""The dashboard's figures and charts after real sessions on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from acs_engine.bus import SessionEnded, SessionStarted
from acs_engine.cwmp import rpc
from app.bridge import EngineBridge
from app.dashboard import HISTORY_MINUTES, Dashboard, DashboardStats, PerMinute, histogram
from tests.gui.aio import wait_until
from tests.helpers.engine import RawCpe, inform, running_engine

GPV = rpc.GetParameterValues(names=("Device.DeviceInfo.SoftwareVersion",))


def test_per_minute_keeps_one_hour() -> None:
    counts = PerMinute()
    now = 1_000_000 * 60.0 + 50
    counts.add(now - 65)
    counts.add(now - 5, 2)
    for minute in range(100):  # from two hours earlier on
        counts.add(now - 7200 + minute * 60)
    xs, ys = counts.series(now)
    assert len(xs) == HISTORY_MINUTES and xs[-1] == 0
    assert ys[-1] == 2 and ys[-2] == 1
    assert counts.total() == 3 + 100 - 61  # what is older than an hour was dropped


def test_histogram_and_stats_are_bounded() -> None:
    edges, counts = histogram([])
    assert counts.sum() == 0
    edges, counts = histogram([0.1, 0.2, 5.0], bins=5)
    assert counts.sum() == 3 and len(edges) == 6
    stats = DashboardStats()
    for i in range(30000):  # sessions that never end are forgotten, oldest first
        stats.feed(SessionStarted(f"s{i}", "D", i * 1000, "", (), "1.0"))
    assert len(stats._started) <= 20000
    stats.feed(SessionEnded("s29999", "D", 30_001_000, "timeout"))
    assert list(stats.durations) == [2.0] and stats.totals["failed"] == 1


async def test_dashboard_counts_real_sessions(tmp_path: Path, qtbot) -> None:
    async with running_engine(tmp_path) as engine:
        bridge = EngineBridge(engine.bus)
        dashboard = Dashboard(engine, bridge)
        bridge.setParent(dashboard)
        qtbot.addWidget(dashboard)
        dashboard.resize(1000, 760)
        url = engine.cwmp_urls()[-1]
        engine.manual.put("F1E1D0-TestGW-SNDASH1", GPV)
        async with RawCpe(url) as cpe:  # one RPC, answered with a CWMP fault
            await cpe.send(inform("SNDASH1"))
            _, reply, _ = await cpe.send(None)
            assert reply is not None
            await cpe.send(rpc.Fault(code=9005, string="Invalid parameter name"),
                           cwmp_id=reply.cwmp_id)
        for serial in ("SNDASH2", "SNDASH3"):
            async with RawCpe(url) as cpe:
                await cpe.send(inform(serial))
                await cpe.send(None)
        async with RawCpe(url) as cpe:  # a session that breaks: malformed XML
            await cpe.send(inform("SNDASH4"))
            await cpe.post_raw(b"<broken")
        stats = dashboard.stats
        await wait_until(lambda: stats.totals["sessions"] == 4, what="four sessions counted")
        assert stats.totals["informs"] == 4
        assert stats.totals["failed"] == 1 and stats.totals["faults"] == 1
        assert len(stats.latencies) == 1 and len(stats.durations) == 4
        now = time.time()
        assert stats.informs.series(now)[1][-1] + stats.informs.series(now)[1][-2] == 4
        dashboard.redraw()
        assert dashboard.tile_values["sessions"].text() == "4"
        assert dashboard.tile_values["latency"].text().endswith(" ms")

        assert not dashboard.plots_built
        dashboard.show()
        await wait_until(lambda: dashboard.plots_built, what="charts built when shown")
        dashboard.redraw()
        heights = np.asarray(dashboard._informs.opts["height"])
        assert heights.sum() == 4
        loaded: list[bool] = []
        dashboard.versionsLoaded.connect(lambda: loaded.append(True))
        dashboard.refresh_versions(force=True)
        await wait_until(lambda: loaded, what="software versions")
        assert dashboard.versions == {"1.0.0": 3, "unknown": 1}  # the broken one never told
        assert dashboard.export_png(tmp_path / "dash.png")
        assert (tmp_path / "dash.png").stat().st_size > 1000
        dashboard.shutdown()
