"""The parameter history as the session commit writes it, and retention, on a real SQLite file."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from acs_engine.admin.treediff import (
    compare,
    export_snapshot,
    import_snapshot,
    parse_time,
)
from acs_engine.store import Param, SessionCommit, Store, StoreError
from acs_engine.store.history import HistoryRetention, Snapshot, decode_nodes

from .factories import commit, device, param

A = "Device.A"
B = "Device.B"


def _typed(path: str, value: str, xsd: str = "xsd:string", writable: bool | None = True) -> Param:
    return Param(path, value, xsd, 2_000, False, writable, 2_000, exist_ts_ms=2_000)


async def test_only_what_differs_is_recorded_and_the_first_session_is_the_start(
    store: Store,
) -> None:
    dev = device()
    await store.commit_session(commit(dev, "s1", 1_000, [param(A, "1"), param(B, "x")]))
    assert await store.device_history(dev.id) == []  # the device's starting point
    await store.commit_session(commit(dev, "s2", 2_000, [param(A, "1"), param(B, "x")]))
    assert await store.device_history(dev.id) == []  # same values: no row
    await store.commit_session(commit(dev, "s3", 3_000, [param(A, "2"), param(B, "x")]))
    rows = await store.param_history(dev.id, [A, B])
    assert [(r.path, r.kind_name, r.old[0], r.new[0], r.session_id) for r in rows] == [
        (A, "changed", "1", "2", "s3")
    ]
    assert rows[0].at == 3_000  # the session's time (ended, else started)
    assert await store.session_time(dev.id, "s3") == 3_000
    assert await store.session_time(dev.id, "s2") is None


async def test_type_and_writability_changes_count_but_first_learning_them_does_not(
    store: Store,
) -> None:
    dev = device()
    await store.commit_session(commit(dev, "s1", 1_000, [param(A, "1")]))
    await store.commit_session(commit(dev, "s2", 2_000, [_typed("Device.C", "5", writable=None)]))
    # learned by a later GetParameterNames: writability unknown -> known is no change
    await store.commit_session(commit(dev, "s3", 3_000, [_typed("Device.C", "5", writable=True)]))
    await store.commit_session(commit(dev, "s4", 4_000, [_typed("Device.C", "5", "xsd:int")]))
    await store.commit_session(
        commit(dev, "s5", 5_000, [_typed("Device.C", "5", "xsd:int", writable=False)])
    )
    rows = await store.param_history(dev.id, ["Device.C"])
    assert [(r.kind_name, r.session_id) for r in rows] == [
        ("added", "s2"), ("changed", "s4"), ("changed", "s5")
    ]
    assert rows[1].old[1] == "xsd:string" and rows[1].new[1] == "xsd:int"
    assert rows[2].old[2] is True and rows[2].new[2] is False


async def test_objects_added_and_removed_with_their_subtree(store: Store) -> None:
    dev = device()
    await store.commit_session(commit(dev, "s1", 1_000, [param(A, "1")]))
    obj = "Device.T.1."
    await store.commit_session(
        commit(dev, "s2", 2_000, [param(obj), param(obj + "X", "a"), param(obj + "Y", "b")])
    )
    await store.commit_session(commit(dev, "s3", 3_000, deletes=[obj]))
    rows = await store.device_history(dev.id)
    assert sorted((r.path, r.kind_name) for r in rows if r.session_id == "s3") == [
        (obj, "removed"), (obj + "X", "removed"), (obj + "Y", "removed")
    ]
    assert len([r for r in rows if r.kind_name == "added"]) == 3
    # The tree rebuilt at each point.
    assert set((await store.tree_at(dev.id, 2_000)).nodes) == {A, obj, obj + "X", obj + "Y"}
    assert set((await store.tree_at(dev.id, 1_000)).nodes) == {A}
    assert (await store.tree_at(dev.id, 500)).nodes == {}  # before the device was known
    now = await store.tree_at(dev.id, None)
    diff = {e.path: e.kind for e in compare((await store.tree_at(dev.id, 2_000)).nodes,
                                            now.nodes)}
    assert diff == {A: "same", obj: "removed", obj + "X": "removed", obj + "Y": "removed"}


async def test_group_commit_attributes_each_row_to_its_own_session(store: Store) -> None:
    devs = [device(f"0011AA-Box-SN{i}", serial_number=f"SN{i}") for i in range(20)]
    await asyncio.gather(*(store.commit_session(commit(d, f"a{i}", 1_000, [param(A, "0")]))
                           for i, d in enumerate(devs)))
    await asyncio.gather(*(store.commit_session(commit(d, f"b{i}", 2_000 + i,
                                                       [param(A, str(i % 2))]))
                           for i, d in enumerate(devs)))
    for i, d in enumerate(devs):
        rows = await store.param_history(d.id, [A])
        if i % 2:
            assert [(r.session_id, r.at, r.new[0]) for r in rows] == [(f"b{i}", 2_000 + i, "1")]
        else:
            assert rows == []


async def test_a_commit_without_a_session_and_a_deleted_device(store: Store) -> None:
    dev = device()
    await store.commit_session(commit(dev, "s1", 1_000, [param(A, "1")]))
    await store.commit_session(SessionCommit(device=dev, upserts=[param(A, "2")]))
    rows = await store.param_history(dev.id, [A])
    assert len(rows) == 1 and rows[0].session_id is None
    assert await store.delete_device(dev.id)  # cascades; records nothing of its own
    assert await store.history_stats() == (0, 0)


async def test_retention_by_age_rows_per_device_and_total_size(store: Store) -> None:
    devs = [device(f"0011AA-Box-SN{i}", serial_number=f"SN{i}") for i in range(3)]
    for d in devs:
        await store.commit_session(commit(d, f"{d.id}-0", 1_000, [param(A, "0")]))
    for k in range(1, 11):  # as time goes: each device's session k, then k + 1
        for d in devs:
            await store.commit_session(commit(d, f"{d.id}-{k}", 1_000 * k + 1_000,
                                              [param(A, str(k))]))
    rows, size = await store.history_stats()
    assert rows == 30 and size > 0
    day = 86_400_000
    # By age: everything before t=6000 (rows at 2000..5000 of each device: 4 x 3).
    gone = await store.prune_history(
        HistoryRetention(max_age_days=1, rows_per_device=0, max_bytes=0), now=day + 6_000
    )
    assert gone == 12 and (await store.history_stats())[0] == 18
    # By rows per device, in chunks of at most ``budget``: a device over the limit is
    # trimmed to 90 % of it (here 4 of 5), its oldest rows first.
    keep5 = HistoryRetention(max_age_days=0, rows_per_device=5, max_bytes=0)
    assert await store.prune_history(keep5, budget=4) == 4
    while await store.prune_history(keep5, budget=4):
        pass
    for d in devs:
        assert [r.new[0] for r in await store.param_history(d.id, [A])] == ["7", "8", "9", "10"]
    # By total size: the fleet's oldest rows go first, down to 90 % of the cap, in chunks.
    rows, size = await store.history_stats()
    cap = HistoryRetention(max_age_days=0, rows_per_device=0, max_bytes=size // 2)
    while await store.prune_history(cap, budget=2):
        pass
    rows_after, size_after = await store.history_stats()
    assert size_after <= size // 2 * 0.9 and rows_after < rows
    assert await store.prune_history(cap) == 0  # under the cap: nothing more
    kept = [[r.new[0] for r in await store.param_history(d.id, [A])] for d in devs]
    assert all(k == kept[0] for k in kept) and kept[0][-1] == "10"  # the oldest went, alike
    # What a rebuild needs was pruned: the tree then says so.
    assert not (await store.tree_at(devs[0].id, 3_000)).complete
    assert (await store.tree_at(devs[0].id, 11_000)).complete
    # Over the cap again: trimmed again (a new cutoff).
    for d in devs:
        await store.commit_session(commit(d, f"{d.id}-x", 12_000, [param(A, "x" * 400)]))
    assert await store.prune_history(cap) > 0


async def test_snapshots_are_named_kept_exported_and_imported(store: Store) -> None:
    dev = device()
    await store.commit_session(commit(dev, "s1", 1_000, [param(A, "1"), param("Device.T.")]))
    nodes = (await store.tree_at(dev.id, None)).nodes
    snap = Snapshot(dev.id, "golden", 5_000, "now", nodes)
    await store.save_snapshot(snap)
    with pytest.raises(StoreError, match="already has a snapshot named 'golden'"):
        await store.save_snapshot(snap)
    with pytest.raises(StoreError, match="needs a name"):
        await store.save_snapshot(dataclasses.replace(snap, name=" "))
    assert await store.list_snapshots(dev.id) == [("golden", 5_000, "now")]
    loaded = await store.load_snapshot(dev.id, "golden")
    assert loaded == snap
    text = export_snapshot(snap)
    back = import_snapshot(text, name="copy")
    assert back.nodes == nodes and back.name == "copy" and back.device_id == dev.id
    for bad, message in (
        ("not json", "not JSON"),
        ('{"format": "x"}', "not a FieldACS snapshot"),
        ('{"format": "fieldacs-snapshot", "version": 9}', "version 9"),
        ('{"format": "fieldacs-snapshot", "version": 1, "device": "d", "name": "n", '
         '"params": {"A": [1]}}', "expected \\[value, type, writable\\]"),
    ):
        with pytest.raises(ValueError, match=message):
            import_snapshot(bad)
    with pytest.raises(ValueError):
        decode_nodes("[]")
    assert await store.delete_snapshot(dev.id, "golden")
    assert not await store.delete_snapshot(dev.id, "golden")


def test_times_are_iso_or_epoch_milliseconds() -> None:
    assert parse_time("1700000000000") == 1_700_000_000_000
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000_000
    assert parse_time("2023-11-14T22:13:20") == 1_700_000_000_000  # naive = UTC
    with pytest.raises(ValueError, match="neither ISO 8601 nor epoch"):
        parse_time("yesterday")


async def test_a_pruned_session_is_still_a_point_through_its_changes(store: Store) -> None:
    from acs_engine.admin.treediff import PointError, resolve_point

    dev = device()
    await store.commit_session(commit(dev, "s0", 1_000, [param(A, "0")]))
    for k in range(1, 6):  # the store keeps 3 sessions per device
        await store.commit_session(commit(dev, f"s{k}", 1_000 * k + 1_000, [param(A, str(k))]))
    assert "s1" not in {s.id for s in await store.list_sessions(dev.id)}
    point = await resolve_point(store, dev.id, "session:s1")
    assert point.tree.nodes[A][0] == "1" and "after session s1" in point.label
    with pytest.raises(PointError, match="is not a point of device"):
        await resolve_point(store, dev.id, "session:s0")  # pruned, and changed nothing
    with pytest.raises(PointError, match="no recorded Download"):
        await resolve_point(store, dev.id, "before-download")
