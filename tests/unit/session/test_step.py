"""Step-through mode against a real engine on 127.0.0.1 and a hand-driven CPE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from acs_engine.bus import SessionEnded
from acs_engine.cwmp import rpc
from acs_engine.server.controller import Engine
from acs_engine.session.step import (
    StepError,
    StepGate,
    StepPending,
    StepResolved,
    default_margin,
    install_step_gate,
)
from tests.helpers.engine import RawCpe, inform, running_engine

DEVICE = "F1E1D0-TestGW-SN0001"
GPV = rpc.GetParameterValues(names=("Device.DeviceInfo.SoftwareVersion",))
SPV = rpc.SetParameterValues(
    parameters=(rpc.ParameterValue("Device.WiFi.SSID.1.SSID", "field", "xsd:string"),),
    parameter_key="k1",
)


async def _until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(tmp_path) as engine:
        yield engine


class Recorder:
    def __init__(self, engine: Engine) -> None:
        self.events: list[Any] = []
        engine.bus.subscribe(self.events.append, StepPending, StepResolved, SessionEnded)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def pending_count(self) -> int:
        return len(self.of(StepPending))


def _answer(request: rpc.Message) -> rpc.Message:
    if isinstance(request, rpc.GetParameterValues):
        return rpc.GetParameterValuesResponse(
            parameters=tuple(rpc.ParameterValue(n, "1.0.0", "xsd:string") for n in request.names)
        )
    if isinstance(request, rpc.SetParameterValues):
        return rpc.SetParameterValuesResponse(status=0)
    raise AssertionError(f"unexpected {request.METHOD}")


async def test_install_wraps_the_chain_once(engine: Engine) -> None:
    chain = engine.handler
    gate = install_step_gate(engine)
    assert isinstance(gate, StepGate) and gate.inner is chain
    assert engine.handler is gate and engine.cwmp is not None and engine.cwmp.handler is gate
    assert install_step_gate(engine) is gate


async def test_a_device_not_in_step_mode_is_never_held(engine: Engine) -> None:
    gate = install_step_gate(engine)
    rec = Recorder(engine)
    engine.manual.put(DEVICE, GPV)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        status, reply, _ = await cpe.send(None)
        assert status == 200 and reply is not None and reply.message == GPV
        status, _, _ = await cpe.send(_answer(GPV), cwmp_id=reply.cwmp_id)
        assert status == 204
    assert rec.pending_count() == 0 and not gate.is_enabled(DEVICE)


async def test_send_then_end_of_session(engine: Engine) -> None:
    gate = install_step_gate(engine)
    gate.enable(DEVICE)
    rec = Recorder(engine)
    engine.manual.put(DEVICE, GPV)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        reply_task = asyncio.create_task(cpe.send(None))
        await _until(lambda: gate.pending(DEVICE) is not None)
        held = gate.pending(DEVICE)
        assert held is not None and held.rpc == GPV and not held.ending
        assert held.deadline_ms > 0
        await asyncio.sleep(0.05)
        assert not reply_task.done()  # the CPE really waits
        gate.send(DEVICE)
        status, reply, _ = await reply_task
        assert status == 200 and reply is not None and reply.message == GPV

        end_task = asyncio.create_task(cpe.send(_answer(GPV), cwmp_id=reply.cwmp_id))
        await _until(lambda: rec.pending_count() == 2)
        final = gate.pending(DEVICE)
        assert final is not None and final.ending and final.rpc is None
        with pytest.raises(StepError):
            gate.edit(DEVICE, GPV)
        gate.send(DEVICE)
        status, _, _ = await end_task
        assert status == 204
    # The response reached the chain (the manual queue keeps results).
    assert engine.manual.results[DEVICE][0][0] == GPV
    assert [(e.action, e.rpc) for e in rec.of(StepResolved)] == [("send", GPV), ("send", None)]
    await _until(lambda: rec.of(SessionEnded))
    assert rec.of(SessionEnded)[0].outcome == "ok"
    assert gate.pending(DEVICE) is None
    with pytest.raises(StepError):
        gate.send(DEVICE)


async def test_skip_edit_and_insert(engine: Engine) -> None:
    gate = install_step_gate(engine)
    gate.enable(DEVICE)
    rec = Recorder(engine)
    other = rpc.GetParameterValues(names=("Device.ManagementServer.",))
    engine.manual.put(DEVICE, GPV)
    engine.manual.put(DEVICE, other)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        task = asyncio.create_task(cpe.send(None))
        await _until(lambda: rec.pending_count() == 1)
        gate.skip(DEVICE)  # GPV is dropped; the queue offers the next one
        await _until(lambda: rec.pending_count() == 2)
        pending = gate.pending(DEVICE)
        assert pending is not None and pending.rpc == other
        with pytest.raises(StepError):
            gate.insert(DEVICE, rpc.InformResponse())  # not an ACS request
        gate.insert(DEVICE, SPV)
        status, reply, _ = await task
        assert reply is not None and reply.message == SPV
        task = asyncio.create_task(cpe.send(_answer(SPV), cwmp_id=reply.cwmp_id))
        await _until(lambda: rec.pending_count() == 3)
        pending = gate.pending(DEVICE)
        assert pending is not None and pending.rpc == other  # still held
        assert gate.results[DEVICE][-1] == (SPV, rpc.SetParameterValuesResponse(status=0))
        assert DEVICE not in engine.manual.results  # the insert's answer stayed with the gate
        edited = rpc.GetParameterValues(names=("Device.DeviceInfo.",))
        gate.edit(DEVICE, edited)
        status, reply, _ = await task
        assert reply is not None and reply.message == edited
        task = asyncio.create_task(cpe.send(_answer(edited), cwmp_id=reply.cwmp_id))
        await _until(lambda: rec.pending_count() == 4)
        gate.skip(DEVICE)  # skipping the end ends the session
        status, _, _ = await task
        assert status == 204
    assert list(engine.manual.results[DEVICE]) == [(edited, _answer(edited))]
    assert [e.action for e in rec.of(StepResolved)] == ["skip", "insert", "edit", "skip"]


async def test_insert_at_the_end_of_the_session(engine: Engine) -> None:
    gate = install_step_gate(engine)
    gate.enable(DEVICE)
    rec = Recorder(engine)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        task = asyncio.create_task(cpe.send(None))
        await _until(lambda: rec.pending_count() == 1)
        assert gate.pending(DEVICE) is not None and gate.pending(DEVICE).ending  # type: ignore[union-attr]
        gate.insert(DEVICE, GPV)
        _, reply, _ = await task
        assert reply is not None and reply.message == GPV
        task = asyncio.create_task(cpe.send(_answer(GPV), cwmp_id=reply.cwmp_id))
        await _until(lambda: rec.pending_count() == 2)
        gate.disable(DEVICE)  # switching step mode off releases the hold
        status, _, _ = await task
        assert status == 204
    assert gate.results[DEVICE][0][0] == GPV


async def test_the_deadline_sends_the_held_rpc(tmp_path: Path) -> None:
    async with running_engine(tmp_path, session_timeout_ms=1000) as engine:
        gate = install_step_gate(engine, margin=0.4)
        gate.enable(DEVICE)
        rec = Recorder(engine)
        engine.manual.put(DEVICE, GPV)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            loop = asyncio.get_running_loop()
            started = loop.time()
            status, reply, _ = await cpe.send(None)  # nobody answers the hold
            waited = loop.time() - started
            assert status == 200 and reply is not None and reply.message == GPV
            assert 0.4 <= waited < 1.0
            status, _, _ = await cpe.send(_answer(GPV), cwmp_id=reply.cwmp_id)
            assert status == 204  # the end hold was sent automatically as well
        assert [e.action for e in rec.of(StepResolved)] == ["auto", "auto"]
        await _until(lambda: rec.of(SessionEnded))
        assert rec.of(SessionEnded)[0].outcome == "ok"


async def test_a_session_ending_while_held_releases_the_hold(engine: Engine) -> None:
    gate = install_step_gate(engine)
    gate.enable(DEVICE)
    rec = Recorder(engine)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        task = asyncio.create_task(cpe.send(None))
        await _until(lambda: gate.pending(DEVICE) is not None)
        await engine.stop()  # ends the sessions in flight
        await asyncio.gather(task, return_exceptions=True)
    await _until(lambda: rec.of(SessionEnded))
    assert rec.of(SessionEnded)[0].outcome == "aborted"
    assert [e.action for e in rec.of(StepResolved)] == ["ended"]
    assert gate.pending(DEVICE) is None


def test_default_margin() -> None:
    assert default_margin(30) == 5.0
    assert default_margin(10) == 2.0
    assert default_margin(1) == 0.5


async def test_answers_to_queued_rpcs_are_kept_within_bounds() -> None:
    from types import SimpleNamespace

    from acs_engine.session.handler import RESULTS_DEVICES, RESULTS_PER_DEVICE, RpcQueue

    queue = RpcQueue()
    answer = rpc.GetParameterValuesResponse()
    for _ in range(RESULTS_PER_DEVICE + 5):
        await queue.on_response(SimpleNamespace(device_id="D0"), GPV, answer)  # type: ignore[arg-type]
    assert len(queue.results["D0"]) == RESULTS_PER_DEVICE
    for n in range(1, RESULTS_DEVICES + 1):
        await queue.on_response(SimpleNamespace(device_id=f"D{n}"), GPV, answer)  # type: ignore[arg-type]
    assert len(queue.results) == RESULTS_DEVICES and "D0" not in queue.results
    await queue.on_response(SimpleNamespace(device_id="D1"), GPV, answer)  # type: ignore[arg-type]
    await queue.on_response(SimpleNamespace(device_id="NEW"), GPV, answer)  # type: ignore[arg-type]
    assert "D1" in queue.results and "D2" not in queue.results  # the least recent goes


async def test_skip_on_a_provisioning_gpn_really_skips_it(tmp_path: Path) -> None:
    """Issue 18: Skip on a held GetParameterNames (asked by a seeded preset) left the same
    RPC held, and the countdown later sent it anyway."""
    async with running_engine(tmp_path, provisioning=True) as engine:
        gate = install_step_gate(engine)
        gate.enable(DEVICE)
        rec = Recorder(engine)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            task = asyncio.create_task(cpe.send(None))
            await _until(lambda: rec.pending_count() == 1)
            held = gate.pending(DEVICE)
            assert held is not None and isinstance(held.rpc, rpc.GetParameterNames)
            gate.skip(DEVICE)
            await _until(lambda: rec.pending_count() == 2)
            again = gate.pending(DEVICE)
            assert again is not None and again.rpc != held.rpc
            while not again.ending:  # whatever else is asked: skip it too
                count = rec.pending_count()
                gate.skip(DEVICE)
                await _until(lambda n=count: rec.pending_count() > n)
                again = gate.pending(DEVICE)
                assert again is not None and not isinstance(again.rpc, rpc.GetParameterNames)
            gate.send(DEVICE)
            status, reply, _ = await task
            assert status == 204 and reply is None  # the skipped GPN never went out
        await _until(lambda: rec.of(SessionEnded))
        assert rec.of(SessionEnded)[0].outcome == "ok"
        assert engine.store is not None
        assert await engine.store.list_faults(DEVICE) == []  # skipped is not a fault


async def test_a_handler_insisting_on_a_skipped_rpc_gets_no_more_asks(engine: Engine) -> None:
    """A handler that offers the very RPC it was told was skipped: the gate asks it no more
    in this session, so the skipped RPC is never sent."""
    from acs_engine.session.handler import Handler, HandlerChain, Outgoing

    class Stubborn(Handler):
        skipped: list[rpc.Message] = []

        async def next_rpc(self, session: Any) -> Outgoing | None:
            return Outgoing(GPV)

        async def on_skipped(self, session: Any, request: rpc.Message) -> None:
            self.skipped.append(request)

    stubborn = Stubborn()
    chain = engine.handler
    assert isinstance(chain, HandlerChain)
    chain.handlers.append(stubborn)
    gate = install_step_gate(engine)
    gate.enable(DEVICE)
    rec = Recorder(engine)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        task = asyncio.create_task(cpe.send(None))
        await _until(lambda: rec.pending_count() == 1)
        gate.skip(DEVICE)
        await _until(lambda: rec.pending_count() == 2)
        final = gate.pending(DEVICE)
        assert final is not None and final.ending
        gate.send(DEVICE)
        status, reply, _ = await task
        assert status == 204 and reply is None
    assert stubborn.skipped == [GPV]


async def test_a_paused_countdown_does_not_send(tmp_path: Path) -> None:
    """Issue 18: the countdown kept running while Edit… was open."""
    async with running_engine(tmp_path, session_timeout_ms=1000) as engine:
        gate = install_step_gate(engine, margin=0.4)
        gate.enable(DEVICE)
        rec = Recorder(engine)
        engine.manual.put(DEVICE, GPV)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            task = asyncio.create_task(cpe.send(None))
            await _until(lambda: rec.pending_count() == 1)
            gate.pause(DEVICE)
            paused = gate.pending(DEVICE)
            assert paused is not None and paused.paused and paused.rpc == GPV
            assert rec.of(StepPending)[-1].paused  # the console hears of it
            await asyncio.sleep(1.2)  # past the deadline the hold had
            assert not task.done() and gate.pending(DEVICE) is not None
            assert rec.of(StepResolved) == []
            gate.resume(DEVICE)
            resumed = gate.pending(DEVICE)
            assert resumed is not None and not resumed.paused
            assert resumed.deadline_ms > paused.deadline_ms
            gate.send(DEVICE)
            status, reply, _ = await task
            assert status == 200 and reply is not None and reply.message == GPV
            gate.disable(DEVICE)
            status, _, _ = await cpe.send(_answer(GPV), cwmp_id=reply.cwmp_id)
            assert status == 204
        assert rec.of(StepResolved)[0].action == "send"


async def test_a_pause_nobody_resumes_ends_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A console that paused a hold and went away (a remote one's network, a laptop's lid)
    held the session, and with it the device ("already in a session"), for ever: a pause
    lasts at most MAX_PAUSE_SECONDS, then the held RPC is sent as at its deadline."""
    from acs_engine.session import step as step_module

    monkeypatch.setattr(step_module, "MAX_PAUSE_SECONDS", 0.5)
    async with running_engine(tmp_path, session_timeout_ms=30_000) as engine:
        gate = install_step_gate(engine)
        gate.enable(DEVICE)
        rec = Recorder(engine)
        engine.manual.put(DEVICE, GPV)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            task = asyncio.create_task(cpe.send(None))
            await _until(lambda: rec.pending_count() == 1)
            gate.pause(DEVICE)
            status, reply, _ = await asyncio.wait_for(task, timeout=10)
            assert status == 200 and reply is not None and reply.message == GPV
            gate.disable(DEVICE)
            status, _, _ = await cpe.send(_answer(GPV), cwmp_id=reply.cwmp_id)
            assert status == 204
        assert rec.of(StepResolved)[0].action == "auto"
