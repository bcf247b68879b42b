"""Issue 17, "the simulator behaves like a CPE on 503": it honours Retry-After (capped, with
jitter), under ``--once`` too, and reports devices that never got in apart from failed
sessions. Against a live engine on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from acs_engine.sim.options import SimOptions
from acs_engine.sim.runner import add_arguments, run_from_args, run_sim
from tests.helpers.engine import RawCpe, inform, running_engine


async def test_sim_honours_retry_after_and_every_device_gets_in(tmp_path: Path) -> None:
    # No queue and room for 3 sessions: most of a 20-device burst is refused at first.
    async with running_engine(tmp_path, max_sessions=3, admission_wait_ms=0) as engine:
        assert engine.cwmp is not None and engine.store is not None
        summary = await run_sim(
            engine.cwmp_urls()[-1], 20, "tr098", once=True, connection_requests=False,
            options=SimOptions(latency=0.05, busy_retry_cap=0.2),
        )
        assert engine.cwmp.admission.refused_total > 0  # the ACS did turn some away
        assert summary.sessions_refused == engine.cwmp.admission.refused_total
        assert summary.ok, summary.format()
        assert (summary.sessions_ok, summary.sessions_failed) == (20, 0)
        assert summary.never_through == [] and summary.failures == []
        assert await engine.store.count_devices() == 20


async def test_sim_reports_devices_that_never_got_in_apart_from_failures(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path, max_sessions=1, admission_wait_ms=0) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as holder:  # takes the only slot
            assert (await holder.send(inform("HOLDER")))[0] == 200
            summary = await run_sim(
                engine.cwmp_urls()[-1], 3, "tr098", once=True, connection_requests=False,
                options=SimOptions(busy_retry_cap=0.05, busy_retries=2),
            )
        assert summary.never_through == ["SIM000001", "SIM000002", "SIM000003"]
        assert summary.sessions_refused == 3 * 3  # the first try and two more each
        assert summary.sessions_failed == 0 and summary.failures == []
        assert not summary.ok
        text = summary.format()
        assert "never got in:    3 devices" in text and "SIM000002" in text


async def test_sim_count_50_once_completes_all_against_a_default_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # `fieldacs-engine sim --count 50 --once` against a fresh engine with serve's settings
    # (seeded presets on): 28 of 50 ended with "HTTP 503 from the ACS" before.
    async with running_engine(tmp_path, provisioning=True) as engine:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        args = parser.parse_args(
            ["--acs", engine.cwmp_urls()[-1], "--count", "50", "--once", "--no-connreq"])
        assert await run_from_args(args) == 0
        out = capsys.readouterr().out
        assert "sessions ok:     50" in out and "never got in:    0 devices" in out
        assert engine.store is not None and await engine.store.count_devices() == 50
