"""The fleet runner and the ``sim`` subcommand's entry points."""

from __future__ import annotations

import argparse

from acs_engine.cwmp import rpc
from acs_engine.sim.runner import add_arguments, run_from_args, run_sim, serial_for
from tests.unit.sim.conftest import FIXTURE_MODEL
from tests.unit.sim.scripted_acs import ScriptedAcs


async def test_run_sim_once_many_devices() -> None:
    gpv = rpc.GetParameterValues(names=("Device.DeviceInfo.SerialNumber",))
    async with ScriptedAcs(script=[gpv]) as acs:
        summary = await run_sim(acs.url, 25, str(FIXTURE_MODEL), once=True, concurrency=5,
                                serial_prefix="T")
    assert summary.ok
    assert (summary.devices, summary.sessions_ok, summary.sessions_failed) == (25, 25, 0)
    assert summary.rpcs_answered == 25
    serials = {r.env.message.device_id.serial_number  # type: ignore[union-attr]
               for r in acs.received if r.method == "Inform"}
    assert serials == {serial_for("T", i) for i in range(1, 26)}
    assert "sessions ok:     25" in summary.format()


async def test_run_from_args_once_reports_failures(capsys) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--acs", "http://127.0.0.1:9/acs", "--count", "2", "--once",
                              "--model", str(FIXTURE_MODEL), "--no-connreq"])
    assert await run_from_args(args) == 1
    out = capsys.readouterr().out
    assert "sessions failed: 2" in out and "SIM000001" in out


async def test_run_from_args_once_success(capsys) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    async with ScriptedAcs() as acs:
        args = parser.parse_args(["--acs", acs.url, "--count", "3", "--once",
                                  "--model", str(FIXTURE_MODEL), "--cwmp-version", "1.4"])
        assert await run_from_args(args) == 0
    assert "sessions ok:     3" in capsys.readouterr().out


async def test_run_sim_periodic_until_duration() -> None:
    async with ScriptedAcs() as acs:
        summary = await run_sim(acs.url, 3, str(FIXTURE_MODEL), periodic_interval=0.2,
                                duration=0.7)
    assert summary.sessions_failed == 0
    assert summary.sessions_ok >= 6  # bootstrap + at least one periodic each
    assert sum(1 for r in acs.received if r.env and isinstance(r.env.message, rpc.Inform)
               and r.env.message.has_event("2 PERIODIC")) >= 3
