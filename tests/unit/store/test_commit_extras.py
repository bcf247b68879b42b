"""SessionCommit's faults, tasks, operations and tag deltas: written in the session's
transaction, or not at all."""

from __future__ import annotations

import asyncio

import pytest

from acs_engine.store import (
    CommitExtras,
    Fault,
    Operation,
    Param,
    SessionCommit,
    Store,
    StoreError,
    fault_id,
)

from .factories import commit, device, param

DEV = "0011AA-Box-SN1"


def _fault(channel: str, device_id: str = DEV, **fields: object) -> Fault:
    values: dict[str, object] = {
        "id": fault_id(device_id, channel),
        "device_id": device_id,
        "channel": channel,
        "timestamp_ms": 2_000,
        "code": "cwmp.9002",
    }
    values.update(fields)
    return Fault(**values)  # type: ignore[arg-type]


async def _seed(store: Store) -> tuple[str, str]:
    """A device with two tasks, a fault and an operation; returns the task ids."""
    await store.commit_session(commit(device(tags={"lab"}), upserts=[param("A.x", "1")]))
    t1 = await store.add_task(DEV, "reboot", {}, timestamp_ms=1)
    t2 = await store.add_task(DEV, "reboot", {}, timestamp_ms=2)
    await store.put_fault(_fault("default", code="timeout"))
    await store.put_operation(Operation(DEV, "old", "Download", 1, {}))
    return t1.id, t2.id


async def test_extras_are_written_with_the_session(store: Store) -> None:
    t1, t2 = await _seed(store)
    new_fault = _fault(f"task_{t2}", retries=1, provisions=[["reboot"]], expiry_ms=None)
    base = commit(device(), "s1", upserts=[param("A.y", "2")])
    await store.commit_session(
        SessionCommit(
            device=base.device,
            upserts=base.upserts,
            session=base.session,
            extras=CommitExtras(
                faults_put=[new_fault, _fault("default", code="cwmp.9001")],
                faults_deleted=[fault_id(DEV, "default"), fault_id(DEV, "missing")],
                tasks_deleted=[t1, "not-a-task"],
                operations_put=[Operation(DEV, "new", "Download", 5, {"file": {"name": "fw"}})],
                operations_deleted=[(DEV, "old")],
            ),
        )
    )
    assert [t.id for t in await store.list_tasks(DEV)] == [t2]
    faults = {f.channel: f for f in await store.list_faults(DEV, now_ms=0)}
    assert faults[f"task_{t2}"] == new_fault
    # Deleted, then put again in the same commit: present (put wins).
    assert faults["default"].code == "cwmp.9001"
    ops = await store.get_operations(DEV)
    assert [(o.command_key, o.args) for o in ops] == [("new", {"file": {"name": "fw"}})]
    assert sorted(await store.load_params(DEV)) == ["A.x", "A.y"]


async def test_a_failing_commit_writes_none_of_them(store: Store) -> None:
    t1, t2 = await _seed(store)
    bad = SessionCommit(
        device=device(last_inform_ms=99, tags={"replaced"}),
        upserts=[param("A.y", "2"), Param("A.z", object())],  # type: ignore[arg-type]
        tags_add={"x"},
        extras=CommitExtras(
            faults_put=[_fault("new")],
            faults_deleted=[fault_id(DEV, "default")],
            tasks_deleted=[t1, t2],
            operations_put=[Operation(DEV, "new", "Download", 5, {})],
            operations_deleted=[(DEV, "old")],
        ),
    )
    with pytest.raises(StoreError):
        await store.commit_session(bad)
    await _assert_untouched(store, t1, t2)


async def test_a_failing_extra_rolls_back_the_session(store: Store) -> None:
    t1, t2 = await _seed(store)
    bad = SessionCommit(
        device=device(last_inform_ms=99),
        upserts=[param("A.y", "2")],
        extras=CommitExtras(
            tasks_deleted=[t1, t2],
            operations_deleted=[(DEV, "old")],
            faults_deleted=[fault_id(DEV, "default")],
            faults_put=[_fault("default", device_id="no-such-device")],  # foreign key fails
        ),
    )
    with pytest.raises(StoreError, match="could not store session"):
        await store.commit_session(bad)
    await _assert_untouched(store, t1, t2)


async def test_unencodable_extra_fails_before_writing(store: Store) -> None:
    t1, t2 = await _seed(store)
    bad = SessionCommit(
        device=device(last_inform_ms=99),
        extras=CommitExtras(
            tasks_deleted=[t1, t2],
            faults_put=[_fault("default", detail=object())],
        ),
    )
    with pytest.raises(StoreError):
        await store.commit_session(bad)
    await _assert_untouched(store, t1, t2)


async def _assert_untouched(store: Store, t1: str, t2: str) -> None:
    got = await store.get_device(DEV)
    assert got is not None and got.last_inform_ms == 1_000 and got.tags == {"lab"}
    assert list(await store.load_params(DEV)) == ["A.x"]
    assert [t.id for t in await store.list_tasks(DEV)] == [t1, t2]
    assert [(f.channel, f.code) for f in await store.list_faults(DEV, now_ms=0)] == [
        ("default", "timeout")
    ]
    assert [o.command_key for o in await store.get_operations(DEV)] == ["old"]


async def test_tag_deltas_apply_to_the_stored_tags(store: Store) -> None:
    await store.commit_session(commit(device(tags={"lab", "old"})))
    session_view = await store.get_device(DEV)
    assert session_view is not None
    # While the session runs, the console adds a tag.
    await store.set_tags(DEV, add={"console"})
    session_view.tags = (session_view.tags | {"fw"}) - {"old"}
    await store.commit_session(
        SessionCommit(device=session_view, tags_add={"fw", ""}, tags_remove={"old"})
    )
    got = await store.get_device(DEV)
    assert got is not None and got.tags == {"lab", "console", "fw"}
    row = await store._fetch("SELECT tags FROM devices WHERE id = ?", (DEV,))
    assert row[0][0] == '["console", "fw", "lab"]'
    # A tag both added and removed ends up removed.
    await store.commit_session(SessionCommit(device=got, tags_add={"x"}, tags_remove={"x", "lab"}))
    assert (await store.get_device(DEV)).tags == {"console", "fw"}  # type: ignore[union-attr]
    # Without a delta, device.tags replaces the stored tags (as before).
    await store.commit_session(commit(device(tags={"only"})))
    assert (await store.get_device(DEV)).tags == {"only"}  # type: ignore[union-attr]


async def test_tag_delta_on_a_new_device_starts_from_its_tags(store: Store) -> None:
    await store.commit_session(
        SessionCommit(device=device(tags={"a", "b"}), tags_add={"c"}, tags_remove={"a"})
    )
    got = await store.get_device(DEV)
    assert got is not None and got.tags == {"b", "c"}


async def test_group_commit_with_extras(store: Store) -> None:
    ids = [f"D-{i}" for i in range(20)]
    for device_id in ids:
        await store.commit_session(commit(device(device_id)))
    tasks = {d: (await store.add_task(d, "reboot", {}, timestamp_ms=1)).id for d in ids}
    commits = [
        SessionCommit(
            device=device(d, last_inform_ms=5),
            tags_add={f"t{i}"},
            extras=CommitExtras(
                tasks_deleted=[tasks[d]],
                faults_put=[_fault("default", device_id=d)],
                operations_put=[Operation(d, "ck", "Download", 5, {})],
            ),
        )
        for i, d in enumerate(ids)
    ]
    commits[7].extras.faults_put.append(_fault("default", device_id="ghost"))  # this one fails
    results = await asyncio.gather(
        *(store.commit_session(c) for c in commits), return_exceptions=True
    )
    assert [i for i, res in enumerate(results) if isinstance(res, BaseException)] == [7]
    for i, d in enumerate(ids):
        ok = i != 7
        assert (await store.list_tasks(d) == []) is ok
        assert bool(await store.list_faults(d, now_ms=0)) is ok
        assert bool(await store.get_operations(d)) is ok
        got = await store.get_device(d)
        assert got is not None and (got.tags == {f"t{i}"}) is ok
