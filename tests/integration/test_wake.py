"""Connection requests from the engine to simulated CPEs, with the credentials the ACS set."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from acs_engine.reach.wake import ConnectionRequestDone, DeviceUnknown
from acs_engine.sim.model import load_model
from acs_engine.sim.runner import run_sim
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine


def sim_id(serial: str) -> str:
    base = load_model("tr181")
    return make_device_id(base.oui, base.product_class, serial)


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_connection_request_wakes_the_device_with_the_credentials_we_set(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        events: list[ConnectionRequestDone] = []
        engine.bus.subscribe(events.append, ConnectionRequestDone)
        stop = asyncio.Event()
        sim = asyncio.create_task(run_sim(
            engine.cwmp_urls()[-1], 1, "tr181", periodic_interval=3600, stop=stop,
            serial_prefix="WAKE",
        ))
        try:
            dev_id = sim_id("WAKE000001")
            store = engine.store
            assert store is not None

            async def registered() -> bool:
                d = await store.get_device(dev_id)
                return d is not None and engine.active_session_count() == 0

            for _ in range(200):
                if await registered():
                    break
                await asyncio.sleep(0.05)
            done = await engine.connection_request(dev_id)
            assert done.ok, done.message
            assert done.result.outcome == "sent"
            assert done.session_started is True
            assert events and events[-1] is done
            sessions = await store.list_sessions(dev_id)
            await _until(lambda: engine.active_session_count() == 0)
            sessions = await store.list_sessions(dev_id)
            assert "6 CONNECTION REQUEST" in sessions[0].events
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await sim


async def test_connection_request_to_an_unknown_device_says_so(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        with pytest.raises(DeviceUnknown):
            await engine.connection_request("nope")
