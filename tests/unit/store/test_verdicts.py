"""Schema v3: the preset verdicts of each device's last session, written with its commit."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from acs_engine.store import (
    CommitExtras,
    Fault,
    Param,
    SessionCommit,
    Store,
    StoreError,
    fault_id,
)
from acs_engine.store.records import PresetVerdict, SessionVerdicts
from acs_engine.store.schema import MIGRATIONS, migrate

from .factories import commit, device, param

DEV = "0011AA-Box-SN1"
WIFI = PresetVerdict("wifi", "default", True, "matched")
NEVER = PresetVerdict("never", "c2", False, "outside its schedule window — «ünïcode»")


def _with_verdicts(
    base: SessionCommit, verdicts: list[PresetVerdict] | None, **fields: object
) -> SessionCommit:
    return SessionCommit(
        device=base.device, upserts=base.upserts, session=base.session,
        extras=CommitExtras(preset_verdicts=verdicts, **fields),  # type: ignore[arg-type]
    )


async def _make_v2(path: Path) -> None:
    """A database exactly as the v2 code made it, with a device, its work and a session."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        assert await migrate(conn, path, MIGRATIONS[:2]) == 2
        await conn.execute(
            "INSERT INTO devices (id, oui, product_class, serial_number, registered, tags) "
            "VALUES (?, '0011AA', 'Box', 'SN1', 5, '[\"lab\"]')",
            (DEV,),
        )
        await conn.execute(
            "INSERT INTO params (device_id, path, value, type) VALUES (?, 'A.B', '1', 'xsd:int')",
            (DEV,),
        )
        await conn.execute(
            "INSERT INTO sessions (id, device_id, started) VALUES ('s-old', ?, 7)", (DEV,)
        )
        await conn.execute(
            "INSERT INTO tasks (id, device_id, name, args, timestamp) "
            "VALUES ('t1', ?, 'reboot', '{}', 1)",
            (DEV,),
        )
        await conn.execute(
            "INSERT INTO faults (id, device_id, channel, timestamp, code) "
            "VALUES (?, ?, 'default', 3, 'timeout')",
            (fault_id(DEV, "default"), DEV),
        )
        await conn.execute("INSERT INTO provisions (id, script) VALUES ('mine', 'log(1);')")
    finally:
        await conn.close()


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


async def test_v2_file_is_migrated_and_keeps_its_data(db_path: Path) -> None:
    await _make_v2(db_path)
    assert _user_version(db_path) == 2
    async with await Store.open(db_path) as store:
        got = await store.get_device(DEV)
        assert got is not None and got.tags == {"lab"} and got.registered_ms == 5
        assert (await store.load_params(DEV))["A.B"].value == "1"
        assert [s.id for s in await store.list_sessions(DEV)] == ["s-old"]
        assert [t.id for t in await store.list_tasks(DEV)] == ["t1"]
        assert [f.code for f in await store.list_faults(DEV, now_ms=0)] == ["timeout"]
        assert (await store.get_provision("mine")) is not None
        assert await store.last_verdicts(DEV) is None  # no session since the upgrade
        # The new table works with the old device.
        await store.commit_session(_with_verdicts(commit(device(), "s1", started=9), [WIFI]))
        assert await store.last_verdicts(DEV) == SessionVerdicts(DEV, "s1", 9, (WIFI,))
        assert await store.integrity_check() == "ok"
    assert _user_version(db_path) == len(MIGRATIONS) >= 3


async def test_verdicts_are_written_with_the_session_and_replaced_by_the_next(
    db_path: Path,
) -> None:
    async with await Store.open(db_path) as store:
        await store.commit_session(
            _with_verdicts(commit(device(), "s1", started=1_000), [WIFI, NEVER])
        )
        assert await store.last_verdicts(DEV) == SessionVerdicts(DEV, "s1", 1_000, (WIFI, NEVER))
        # A session that judged no presets (provisioning off) keeps the stored verdicts.
        await store.commit_session(_with_verdicts(commit(device(), "s2", started=2_000), None))
        assert (await store.last_verdicts(DEV)).session_id == "s1"  # type: ignore[union-attr]
        # The next one that did replaces them (an empty list: there were no presets).
        await store.commit_session(_with_verdicts(commit(device(), "s3", started=3_000), []))
        assert await store.last_verdicts(DEV) == SessionVerdicts(DEV, "s3", 3_000, ())
        await store.commit_session(_with_verdicts(commit(device(), "s4", started=4_000), [NEVER]))
    # They are in the file, not in memory: a new Store reads them.
    async with await Store.open(db_path) as store:
        assert await store.last_verdicts(DEV) == SessionVerdicts(DEV, "s4", 4_000, (NEVER,))
        assert await store.last_verdicts("unknown") is None


async def test_a_failing_commit_writes_no_verdicts(store: Store) -> None:
    await store.commit_session(_with_verdicts(commit(device(), "s1"), [WIFI]))
    bad = _with_verdicts(
        commit(device(), "s2", started=2_000, upserts=[param("A.y", "2")]), [NEVER],
        faults_put=[Fault(fault_id("ghost", "default"), "ghost", "default", 1, "x")],  # FK fails
    )
    with pytest.raises(StoreError, match="could not store session"):
        await store.commit_session(bad)
    assert await store.last_verdicts(DEV) == SessionVerdicts(DEV, "s1", 1_000, (WIFI,))
    unencodable = _with_verdicts(
        commit(device(), "s3", upserts=[Param("A.z", object())]),  # type: ignore[arg-type]
        [NEVER],
    )
    with pytest.raises(StoreError):
        await store.commit_session(unencodable)
    assert (await store.last_verdicts(DEV)).session_id == "s1"  # type: ignore[union-attr]


async def test_verdicts_are_deleted_with_the_device(store: Store) -> None:
    await store.commit_session(_with_verdicts(commit(device(), "s1"), [WIFI]))
    await store.commit_session(_with_verdicts(commit(device("OTHER"), "s2"), [NEVER]))
    assert await store.delete_device(DEV)
    assert await store.last_verdicts(DEV) is None
    assert await store.last_verdicts("OTHER") is not None
    rows = await store._fetch("SELECT device_id FROM preset_verdicts")
    assert rows == [("OTHER",)]
    assert await store.integrity_check() == "ok"


async def test_verdicts_survive_the_pruning_of_their_session(db_path: Path) -> None:
    async with await Store.open(db_path, trace_sessions_per_device=0) as store:
        await store.commit_session(_with_verdicts(commit(device(), "s1"), [WIFI]))
        assert await store.list_sessions(DEV) == []
        assert await store.last_verdicts(DEV) == SessionVerdicts(DEV, "s1", 1_000, (WIFI,))


async def test_group_commit_writes_every_devices_verdicts(store: Store) -> None:
    ids = [f"D-{i}" for i in range(30)]
    commits = [
        _with_verdicts(
            commit(device(d), f"s-{d}", started=i),
            [PresetVerdict("p", "default", i % 2 == 0, f"reason {i}")],
        )
        for i, d in enumerate(ids)
    ]
    await asyncio.gather(*(store.commit_session(c) for c in commits))
    for i, d in enumerate(ids):
        got = await store.last_verdicts(d)
        assert got is not None and got.session_id == f"s-{d}" and got.at_ms == i
        assert got.verdicts == (PresetVerdict("p", "default", i % 2 == 0, f"reason {i}"),)
