"""The console's one seam (:mod:`acs_engine.console_api`) over a real engine and a simulated CPE:
the local implementation satisfies the interface, tasks report their outcome on the bus, and
step mode goes through the engine's own handler wrapping."""

from __future__ import annotations

import asyncio
from pathlib import Path

from acs_engine.bus import TaskFinished
from acs_engine.config import EngineConfig
from acs_engine.console_api import (
    ConsoleEngine,
    DeviceFilter,
    EngineUnavailable,
    LocalConsoleEngine,
)
from acs_engine.server.controller import Engine
from acs_engine.session.step import StepGate
from acs_engine.sim.runner import run_sim
from tests.helpers.engine import running_engine
from tests.integration.test_wake import sim_id


async def test_the_local_engine_is_a_console_engine_and_says_when_it_is_stopped(
    tmp_path: Path,
) -> None:
    api = LocalConsoleEngine(Engine(EngineConfig(db_path=tmp_path / "x.db")))
    assert isinstance(api, ConsoleEngine)
    assert not api.running
    try:
        await api.list_devices()
    except EngineUnavailable:
        pass
    else:
        raise AssertionError("a stopped engine must refuse reads")


async def test_a_task_reports_its_outcome_and_the_step_gate_wraps_the_handler(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        api = LocalConsoleEngine(engine)
        finished: list[TaskFinished] = []
        api.bus.subscribe(finished.append, TaskFinished)
        stop = asyncio.Event()
        sim = asyncio.create_task(run_sim(
            engine.cwmp_urls()[-1], 1, "tr181", periodic_interval=3600, stop=stop,
            serial_prefix="SEAM",
        ))
        try:
            dev_id = sim_id("SEAM000001")
            for _ in range(200):
                if await api.get_device(dev_id) is not None and api.active_session_count() == 0:
                    break
                await asyncio.sleep(0.05)
            assert await api.count_devices() == 1
            assert await api.count_devices(DeviceFilter(contains="SEAM")) == 1
            assert await api.count_devices(DeviceFilter(contains="nothing-like-it")) == 0
            path = "Device.WiFi.SSID.1.SSID"
            task = await api.add_task(
                dev_id, "setParameterValues", {"parameterValues": [[path, "seam-lab", "xsd:string"]]}
            )
            done = await api.wake(dev_id)
            assert done.ok, done.message
            for _ in range(200):
                if finished:
                    break
                await asyncio.sleep(0.05)
            assert [(f.task_id, f.done) for f in finished] == [(task.id, True)]
            assert (await api.load_param_values(dev_id, [path]))[path].value == "seam-lab"
            assert await api.get_task(task.id) is None

            inner = engine.handler
            assert not api.step_enabled(dev_id)
            assert isinstance(engine.handler, StepGate) and engine.handler is not inner
            assert engine.cwmp is not None and engine.cwmp.handler is engine.handler
        finally:
            stop.set()
            await sim
