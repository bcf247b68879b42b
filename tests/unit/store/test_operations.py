"""Tasks, faults, pending operations and file records."""

from __future__ import annotations

import re

import pytest

from acs_engine.store import (
    Fault,
    FileRecord,
    Operation,
    Store,
    StoreError,
    fault_id,
    task_channel,
)

from .factories import commit, device

DEV = "0011AA-Box-SN1"
OTHER = "0011AA-Box-SN2"


@pytest.fixture
async def devices(store: Store) -> Store:
    await store.commit_session(commit(device(DEV)))
    await store.commit_session(commit(device(OTHER, serial_number="SN2")))
    return store


def _fault(device_id: str, channel: str, **fields: object) -> Fault:
    values: dict[str, object] = {
        "id": fault_id(device_id, channel),
        "device_id": device_id,
        "channel": channel,
        "timestamp_ms": 1_000,
        "code": "cwmp.9002",
        "message": "Internal error",
    }
    values.update(fields)
    return Fault(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- tasks


async def test_tasks_crud_and_order(devices: Store) -> None:
    store = devices
    doc = {"name": "setParameterValues", "parameterValues": [["A.B", "1", "xsd:int"]]}
    late = await store.add_task(DEV, "setParameterValues", doc, timestamp_ms=3_000)
    early = await store.add_task(DEV, "reboot", {"name": "reboot"}, timestamp_ms=1_000)
    same1 = await store.add_task(DEV, "a", {}, timestamp_ms=2_000, expiry_ms=9_000)
    same2 = await store.add_task(DEV, "b", {}, timestamp_ms=2_000)
    other = await store.add_task(OTHER, "factoryReset", {"name": "factoryReset"}, timestamp_ms=500)
    assert re.fullmatch(r"[0-9a-f]{24}", late.id)
    assert len({t.id for t in (late, early, same1, same2, other)}) == 5
    assert late.channel == task_channel(late.id) == f"task_{late.id}"
    assert [t.id for t in await store.list_tasks(DEV)] == [early.id, same1.id, same2.id, late.id]
    assert [t.id for t in await store.list_tasks()] == [
        other.id, early.id, same1.id, same2.id, late.id
    ]
    assert await store.get_task(late.id) == late
    assert (await store.get_task(late.id)).args == doc  # type: ignore[union-attr]
    assert (await store.get_task(same1.id)).expiry_ms == 9_000  # type: ignore[union-attr]
    assert await store.get_task("nope") is None
    assert await store.delete_task(late.id)
    assert not await store.delete_task(late.id)
    # Timestamp defaults to now.
    now_task = await store.add_task(DEV, "reboot", {})
    assert now_task.timestamp_ms > 1_600_000_000_000


async def test_add_task_needs_a_device(store: Store) -> None:
    with pytest.raises(StoreError, match="no device 'ghost'"):
        await store.add_task("ghost", "reboot", {})


async def test_due_tasks_and_expiry(devices: Store) -> None:
    store = devices
    due = await store.add_task(DEV, "reboot", {}, timestamp_ms=1_000, expiry_ms=5_000)
    future = await store.add_task(DEV, "reboot", {}, timestamp_ms=9_000)
    expired = await store.add_task(DEV, "reboot", {}, timestamp_ms=500, expiry_ms=1_999)
    edge = await store.add_task(DEV, "reboot", {}, timestamp_ms=2_000, expiry_ms=2_000)
    theirs = await store.add_task(OTHER, "reboot", {}, timestamp_ms=0, expiry_ms=1)
    await store.put_fault(_fault(DEV, expired.channel))
    await store.put_fault(_fault(DEV, due.channel))
    got = await store.due_tasks(DEV, 2_000)
    # expiry < now is expired; expiry == now is not yet.
    assert [t.id for t in got] == [due.id, edge.id]
    assert await store.get_task(expired.id) is None
    assert await store.get_fault(fault_id(DEV, expired.channel)) is None
    assert await store.get_fault(fault_id(DEV, due.channel)) is not None
    assert await store.get_task(future.id) is not None
    assert await store.get_task(theirs.id) is not None  # another device's: untouched
    assert [t.id for t in await store.due_tasks(DEV, 10_000)] == [future.id]
    assert await store.list_tasks(DEV) == [await store.get_task(future.id)]


async def test_tasks_go_with_their_device(devices: Store) -> None:
    store = devices
    await store.add_task(DEV, "reboot", {})
    await store.put_fault(_fault(DEV, "default"))
    await store.put_operation(Operation(DEV, "ck", "Download", 1, {}))
    assert await store.delete_device(DEV)
    assert await store.list_tasks() == []
    assert await store.list_faults() == []
    assert await store.get_operations(DEV) == []
    assert await store.integrity_check() == "ok"


# --------------------------------------------------------------------------- faults


async def test_faults_crud(devices: Store) -> None:
    store = devices
    full = _fault(
        DEV,
        "task_abc",
        timestamp_ms=2_000,
        code="script.TypeError",
        message="x is undefined",
        detail={"name": "TypeError", "stack": "at line 1"},
        retries=2,
        expiry_ms=None,
        provisions=[["refresh", "Device.", 60], ["tag", "x", True]],
        precondition=True,
    )
    await store.put_fault(full)
    await store.put_fault(_fault(DEV, "default", timestamp_ms=1_000))
    await store.put_fault(_fault(OTHER, "default"))
    assert await store.get_fault(full.id) == full
    assert [f.channel for f in await store.list_faults(DEV)] == ["default", "task_abc"]
    assert len(await store.list_faults()) == 3
    bumped = _fault(DEV, "default", retries=1, timestamp_ms=3_000)
    await store.put_fault(bumped)  # upsert
    assert await store.get_fault(bumped.id) == bumped
    assert await store.delete_fault(bumped.id)
    assert not await store.delete_fault(bumped.id)
    await store.put_fault(_fault(DEV, "a"))
    await store.put_fault(_fault(DEV, "b"))
    assert await store.delete_faults(DEV, ["a", "b", "missing", "a"]) == 2
    assert await store.delete_faults(DEV, []) == 0
    assert [f.channel for f in await store.list_faults(DEV)] == ["task_abc"]


async def test_fault_expiry_the_right_way_round(devices: Store) -> None:
    store = devices
    past = _fault(DEV, "past", expiry_ms=1_500)
    future = _fault(DEV, "future", expiry_ms=5_000)
    never = _fault(DEV, "never", expiry_ms=None)
    for f in (past, future, never):
        await store.put_fault(f)
    # At 1_000 nothing has expired (GenieACS would drop the two with an expiry here).
    assert {f.channel for f in await store.list_faults(DEV, now_ms=1_000)} == {
        "past", "future", "never"
    }
    assert await store.get_fault(past.id, now_ms=1_500) == past  # not before it
    assert await store.get_fault(past.id, now_ms=2_000) is None  # expired: dropped
    assert {f.channel for f in await store.list_faults(now_ms=2_000)} == {"future", "never"}
    assert {f.channel for f in await store.list_faults(DEV, now_ms=6_000)} == {"never"}
    # Dropped for good, not just hidden.
    assert {f.channel for f in await store.list_faults(DEV, now_ms=0)} == {"never"}
    # Without now_ms, the clock decides.
    await store.put_fault(_fault(DEV, "old", expiry_ms=1))
    assert {f.channel for f in await store.list_faults(DEV)} == {"never"}


async def test_fault_needs_a_device(store: Store) -> None:
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        await store.put_fault(_fault("ghost", "default"))


# --------------------------------------------------------------------------- operations


async def test_operations(devices: Store) -> None:
    store = devices
    args = {
        "provisions": [["download", "1 Firmware Upgrade Image", "fw.bin"]],
        "channels": {"default": 0},
        "retries": {},
        "file": {"fileType": "1 Firmware Upgrade Image", "fileName": "fw.bin", "size": 7},
    }
    first = Operation(DEV, "ck1", "Download", 1_000, args)
    second = Operation(DEV, "ck2", "Download", 3_000, {})
    theirs = Operation(OTHER, "ck1", "Download", 2_000, {})
    for op in (second, first, theirs):
        await store.put_operation(op)
    assert await store.get_operations(DEV) == [first, second]
    assert await store.get_operations("nobody") == []
    assert await store.expired_operations(2_500) == [first, theirs]
    assert await store.expired_operations(1_000) == []
    moved = Operation(DEV, "ck1", "Download", 4_000, {"x": 1})
    await store.put_operation(moved)  # upsert
    assert await store.get_operations(DEV) == [second, moved]
    assert await store.delete_operation(DEV, "ck1")
    assert not await store.delete_operation(DEV, "ck1")
    assert await store.get_operations(OTHER) == [theirs]


# --------------------------------------------------------------------------- files


async def test_file_records(store: Store) -> None:
    fw = FileRecord(
        name="fw-1.2.bin",
        size=1024,
        md5="0" * 32,
        file_type="1 Firmware Upgrade Image",
        oui="0011AA",
        product_class="Box",
        version="1.2",
        uploaded_ms=1_700_000_000_000,
    )
    cfg = FileRecord("a.cfg", 10, "1" * 32, "3 Vendor Configuration File", uploaded_ms=5)
    await store.put_file_record(fw)
    await store.put_file_record(cfg)
    assert await store.list_file_records() == [cfg, fw]
    assert await store.get_file_record("fw-1.2.bin") == fw
    assert await store.get_file_record("missing") is None
    replaced = FileRecord("a.cfg", 20, "2" * 32, uploaded_ms=6)
    await store.put_file_record(replaced)
    assert await store.get_file_record("a.cfg") == replaced
    assert await store.delete_file_record("a.cfg")
    assert not await store.delete_file_record("a.cfg")
    assert await store.list_file_records() == [fw]


# --------------------------------------------------------------------------- query_collection


async def test_query_collection(devices: Store) -> None:
    store = devices
    t = [await store.add_task(DEV, f"n{i}", {"i": i}, timestamp_ms=i) for i in range(5)]
    await store.add_task(OTHER, "x", {}, timestamp_ms=100)
    rows, total = await store.query_collection(
        "tasks",
        where_sql="device_id = ? AND timestamp >= ?",
        params=[DEV, 1],
        sort=[("timestamp", -1)],
        skip=1,
        limit=2,
    )
    assert total == 4
    assert [r["id"] for r in rows] == [t[3].id, t[2].id]
    assert rows[0] == {
        "id": t[3].id,
        "device_id": DEV,
        "name": "n3",
        "args": {"i": 3},
        "timestamp": 3,
        "expiry": None,
    }
    everything, total = await store.query_collection("tasks")
    assert total == len(everything) == 6
    await store.put_fault(_fault(DEV, "default", detail={"a": 1}, precondition=True))
    [fault], total = await store.query_collection("faults", where_sql="code LIKE 'cwmp.%'")
    assert total == 1 and fault["detail"] == {"a": 1} and fault["precondition"] is True
    presets, total = await store.query_collection("presets", sort=[("id", 1)])
    assert [p["id"] for p in presets] == ["bootstrap", "default", "inform"] and total == 3
    assert presets[0]["events"] == {"0_BOOTSTRAP": True}
    assert presets[0]["configurations"] is None
    with pytest.raises(ValueError, match="unknown collection"):
        await store.query_collection("devices")
    with pytest.raises(ValueError, match="no column"):
        await store.query_collection("tasks", sort=[("id; DROP TABLE tasks", 1)])
    with pytest.raises(ValueError, match="direction"):
        await store.query_collection("tasks", sort=[("id", 0)])
    with pytest.raises(ValueError, match="negative"):
        await store.query_collection("tasks", limit=-1)
    with pytest.raises(StoreError):
        await store.query_collection("tasks", where_sql="no_such_column = 1")


# --------------------------------------------------------------------------- device_work


async def test_device_work_reads_tasks_faults_and_operations_at_once(devices: Store) -> None:
    store = devices
    due = await store.add_task(DEV, "reboot", {"name": "reboot"}, timestamp_ms=1_000)
    await store.add_task(DEV, "reboot", {"name": "reboot"}, timestamp_ms=9_000)  # not due yet
    expired = await store.add_task(DEV, "reboot", {"name": "reboot"}, timestamp_ms=500, expiry_ms=1_500)
    await store.put_fault(_fault(DEV, task_channel(expired.id)))
    await store.put_fault(_fault(DEV, "default"))
    await store.put_fault(_fault(DEV, "old", expiry_ms=1_999))
    await store.put_fault(_fault(OTHER, "default"))
    await store.put_operation(Operation(DEV, "ck1", "Download", 1_000, {"instance": "1"}))
    tasks, faults, ops = await store.device_work(DEV, 2_000)
    assert [t.id for t in tasks] == [due.id]
    assert [f.channel for f in faults] == ["default"]
    assert [o.command_key for o in ops] == ["ck1"]
    # the expired task and its fault, and the expired fault, are gone for good
    assert await store.get_task(expired.id) is None
    assert await store.get_fault(fault_id(DEV, "old"), now_ms=0) is None
