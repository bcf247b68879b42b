"""The console attached to a remote engine, end to end on loopback.

A second engine process (``fieldacs-engine serve`` with an NBI token) stands in for the
server; simulated CPEs talk CWMP to it; :class:`RemoteEngine` clients attach over the NBI
and the WebSocket event stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from acs_engine.bus import SessionEnded, SessionStarted, WireMessage
from acs_engine.remote import (
    CommandQueued,
    RemoteEngine,
    RemoteStatus,
    StagedCommandSent,
    StepHeldElsewhere,
    Unauthorized,
    VersionMismatch,
)
from acs_engine.server.events_codec import PROTOCOL_VERSION, decode, encode
from acs_engine.server.step_claim import StepHolderChanged
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Provision
from tests.helpers.nbi import until
from tests.helpers.remote import ServeProcess


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServeProcess]:
    proc = ServeProcess(tmp_path / "server.db")
    await proc.start()
    try:
        yield proc
    finally:
        await proc.stop()


def _cpe(server: ServeProcess, serial: str) -> tuple[SimCpe, str]:
    base = load_model("tr181")
    device = SimDevice(base, serial, context={"acs_url": server.cwmp_url})
    return SimCpe(device, server.cwmp_url), make_device_id(
        base.oui, base.product_class, serial)


def _collect(remote: RemoteEngine) -> list[Any]:
    seen: list[Any] = []
    remote.bus.subscribe(seen.append)
    return seen


async def test_events_arrive_and_the_console_reads_the_remote_engine(
    server: ServeProcess,
) -> None:
    remote = RemoteEngine(server.nbi_url, server.token, holder="alice")
    seen = _collect(remote)
    await remote.connect()
    try:
        await until(lambda: remote.connected)
        cpe, device_id = _cpe(server, "REMOTE0001")
        result = await cpe.session()
        assert result.ok, result.error
        await until(lambda: any(isinstance(e, SessionEnded) for e in seen))
        assert remote.device_count == 1  # mirrored from the events, as a local engine's
        kinds = {type(e) for e in seen}
        assert {SessionStarted, WireMessage, SessionEnded} <= kinds
        wire = [e for e in seen if isinstance(e, WireMessage)]
        assert wire[0].direction == "in" and b"Inform" in wire[0].body
        # the console's reads, through the same interface as a local engine
        summaries = await remote.list_devices()
        assert [s.id for s in summaries] == [device_id]
        params = await remote.load_params(device_id, "Device.DeviceInfo.")
        assert params["Device.DeviceInfo.SerialNumber."[:-1]].value == "REMOTE0001"
        sessions = await remote.list_sessions(device_id)
        trace = await remote.load_trace(sessions[0].id)
        assert trace and trace[0].direction == "in"
        assert await remote.set_tags(device_id, add=["lab"]) == {"lab"}
        assert not remote.in_session(device_id)
        # scripts and presets
        assert await remote.check_script("declare('A', {value: 1});") is None
        fault = await remote.check_script("this is not javascript(")
        assert fault is not None and "line" in fault.detail
        await remote.put_provision(Provision("remote-test", "log('hi');"))
        assert "remote-test" in {p.id for p in await remote.list_provisions()}
        dry = await remote.dry_run(device_id, provisions=[["remote-test"]])
        assert any("hi" in line for line in dry.log_lines)
        assert remote.config.nbi_token is None  # secrets never leave the engine
    finally:
        await remote.close()


async def test_step_mode_is_held_by_one_console_and_the_others_see_who(
    server: ServeProcess,
) -> None:
    alice = RemoteEngine(server.nbi_url, server.token, holder="alice@laptop")
    bob = RemoteEngine(server.nbi_url, server.token, holder="bob@desk")
    bob_seen = _collect(bob)
    await alice.connect()
    await bob.connect()
    try:
        await until(lambda: alice.connected and bob.connected)
        cpe, device_id = _cpe(server, "REMOTE0002")
        assert (await cpe.session()).ok  # bootstrap, without step mode
        await alice.set_step(device_id, True)  # claims step mode on the way
        await until(lambda: bob.step_holder == "alice@laptop")
        assert any(isinstance(e, StepHolderChanged) and e.holder == "alice@laptop"
                   for e in bob_seen)
        with pytest.raises(StepHeldElsewhere) as refused:
            await bob.claim_step()
        assert refused.value.holder == "alice@laptop"
        with pytest.raises(StepHeldElsewhere):
            await bob.step_command(device_id, "send")
        # a held session, answered by the holder through the stream's StepPending
        session = asyncio.create_task(cpe.session())
        sends = 0
        while not session.done() and sends < 50:
            try:
                await until(lambda: alice.step_pending(device_id) is not None
                            or session.done(), 20)
            except AssertionError:
                break
            if session.done():
                break
            await alice.step_command(device_id, "send")
            sends += 1
            await until(lambda: alice.step_pending(device_id) is None or session.done())
        result = await session
        assert result.ok and sends >= 1
        await alice.release_step()
        await until(lambda: bob.step_holder == "")
        await bob.claim_step()
        assert bob.holds_step
    finally:
        await alice.close()
        await bob.close()


async def test_a_wrong_token_gets_its_own_error(server: ServeProcess) -> None:
    remote = RemoteEngine(server.nbi_url, "not-the-token-at-all")
    statuses: list[RemoteStatus] = []
    remote.bus.subscribe(statuses.append, RemoteStatus)
    with pytest.raises(Unauthorized):
        await remote.connect()
    assert statuses[-1].state == "unauthorized"
    with pytest.raises(Unauthorized):
        await RemoteEngine(server.nbi_url, None).connect()


async def test_a_version_mismatch_gets_its_own_error(server: ServeProcess) -> None:
    remote = RemoteEngine(server.nbi_url, server.token, protocol=PROTOCOL_VERSION + 1)
    with pytest.raises(VersionMismatch) as mismatch:
        await remote.connect()
    assert mismatch.value.server == PROTOCOL_VERSION
    assert "protocol" in str(mismatch.value)
    assert remote.last_status is not None
    assert remote.last_status.state == "version_mismatch"


async def test_a_dropped_connection_reconnects_and_no_staged_edit_is_lost(
    server: ServeProcess,
) -> None:
    cpe, device_id = _cpe(server, "REMOTE0003")
    assert (await cpe.session()).ok
    remote = RemoteEngine(server.nbi_url, server.token, first_delay=0.2, longest_delay=1.0)
    seen = _collect(remote)
    await remote.connect()
    try:
        await until(lambda: remote.connected)
        await server.kill()
        await until(lambda: remote.last_status is not None
                    and remote.last_status.state == "reconnecting")
        assert not remote.connected
        args = {"parameterValues": [["Device.DeviceInfo.ProvisioningCode", "X1", "xsd:string"]]}
        with pytest.raises(CommandQueued) as kept:
            await remote.add_task(device_id, "setParameterValues", args)
        assert kept.value.ref
        assert len(remote.outbox) == 1
        await server.start()  # same ports, same database
        await until(lambda: remote.connected, 30)
        await until(lambda: any(isinstance(e, StagedCommandSent) for e in seen), 10)
        sent = next(e for e in seen if isinstance(e, StagedCommandSent))
        assert sent.error == "" and sent.task_id and sent.ref == kept.value.ref
        assert remote.outbox == []
        task = await remote.get_task(sent.task_id)
        assert task is not None and task.name == "setParameterValues"
        # events flow again after the reconnection
        before = len(seen)
        assert (await cpe.session()).ok
        await until(lambda: any(isinstance(e, SessionEnded) for e in seen[before:]))
        states = [e.state for e in seen if isinstance(e, RemoteStatus)]
        assert states.count("connected") >= 2
    finally:
        await remote.close()


async def test_devices_move_to_another_acs_from_a_remote_console(server: ServeProcess) -> None:
    """"Move these devices to another ACS…" on a remote engine: the task is queued on the
    server, a refused URL comes back as the same MigrationError, and the states follow."""
    from acs_engine.admin.migrate import MigrationError

    cpe, device_id = _cpe(server, "REMOTE0MOVE")
    assert (await cpe.session()).ok
    remote = RemoteEngine(server.nbi_url, server.token, holder="alice")
    await remote.connect()
    try:
        with pytest.raises(MigrationError, match="must be"):
            await remote.start_migration([device_id], "not a url")
        new_url = "http://127.0.0.1:9/acs"  # never reached: only the device's URL changes
        migration = await remote.start_migration([device_id], new_url)
        assert [(m.device_id, m.state) for m in migration.moves] == [(device_id, "waiting")]
        assert len(await remote.list_faults(device_id)) == 0
        same = await remote.migration_status(migration)
        assert same is migration and migration.moves[0].state == "waiting"
        cpe.device.add_event("6 CONNECTION REQUEST")
        assert (await cpe.session()).ok  # the task sets ManagementServer.URL
        await remote.migration_status(migration)
        assert migration.moves[0].state == "switched", migration.moves[0]
        values = await remote.load_param_values(device_id, ["Device.ManagementServer.URL"])
        assert values["Device.ManagementServer.URL"].value == new_url
        # The new ACS's NBI is asked by this console, not by the engine: a peer cannot make
        # the engine fetch a URL it names (a closed port here: the console's own error).
        with pytest.raises(MigrationError, match="cannot ask the new ACS"):
            await remote.migration_status(migration, nbi_url="http://127.0.0.1:1/")
        status, data = await remote.link.request(
            "POST", "/fieldacs/v1/console/migration_status",
            {"args": encode({"migration": migration, "nbi_url": "http://127.0.0.1:1/"})})
        assert status == 400 and "no nbi_url" in data["error"]
    finally:
        await remote.close()


async def test_attack_a_remote_fleet_view_cannot_ask_for_millions_of_points(
    server: ServeProcess,
) -> None:
    """``points`` came from the peer unbounded: 10^8 built lists of that length per value on
    the store's thread, holding every commit. It is clamped to the store's maximum."""
    from acs_engine.store.fleet import MAX_POINTS

    cpe, _device_id = _cpe(server, "REMOTE0FLEET")
    assert (await cpe.session()).ok
    remote = RemoteEngine(server.nbi_url, server.token, holder="mallory")
    await remote.connect()
    try:
        view = await asyncio.wait_for(
            remote.fleet_view(["Device.DeviceInfo.SoftwareVersion"], points=100_000_000),
            timeout=30,
        )
        assert len(view.times) == MAX_POINTS and view.devices == 1
        assert (await cpe.session()).ok  # the engine went on serving
    finally:
        await remote.close()


async def test_a_staged_command_sent_again_makes_one_task(server: ServeProcess) -> None:
    """A command whose answer was lost is sent again on reconnection; a reconnection while
    its first send waits flushes the outbox. Either way the engine makes one task: every send
    carries the command's reference, and the engine answers a repeat with the first task."""
    cpe, device_id = _cpe(server, "REMOTE0ONCE")
    assert (await cpe.session()).ok
    remote = RemoteEngine(server.nbi_url, server.token, holder="alice")
    await remote.connect()
    try:
        args = {"device_id": device_id, "name": "getParameterValues",
                "args": {"parameterNames": ["Device.DeviceInfo.SoftwareVersion"]}}
        replies = [await remote.link.request(
            "POST", "/fieldacs/v1/console/add_task",
            {"args": encode({**args, "ref": "ref-0001"})}) for _ in range(3)]
        assert {status for status, _ in replies} == {200}
        ids = {decode(data["result"]).id for _, data in replies}
        assert len(ids) == 1
        # the console's own path: add_task and a flush racing it
        first = asyncio.ensure_future(remote.add_task(
            device_id, "getParameterValues",
            {"parameterNames": ["Device.DeviceInfo.HardwareVersion"]}))
        await asyncio.sleep(0)  # the send is in flight
        assert await remote.flush_outbox() == 0  # not sent twice
        task = await first
        assert remote.outbox == []
        # one task per reference in the engine's queue (GenieACS's NBI lists them)
        query = quote(json.dumps({"device": device_id}))
        status, queued = await remote.link.request("GET", f"/tasks/?query={query}")
        assert status == 200
        assert sorted(t["_id"] for t in queued) == sorted([*ids, task.id])
        bad = await remote.link.request(
            "POST", "/fieldacs/v1/console/add_task", {"args": encode({**args, "ref": "x" * 65})})
        assert bad[0] == 400
    finally:
        await remote.close()
