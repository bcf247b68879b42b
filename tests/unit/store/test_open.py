"""Opening, migrating and refusing databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from acs_engine.store import Store, StoreError
from acs_engine.store.schema import APPLICATION_ID, MIGRATIONS, Migration, migrate

from .factories import commit, device, param


def _pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


async def test_open_creates_folders_and_schema(db_path: Path) -> None:
    assert not db_path.parent.exists()
    async with await Store.open(db_path) as store:
        assert store.path == db_path
        assert await store.count_devices() == 0
        assert await store.integrity_check() == "ok"
    assert db_path.is_file()
    assert _pragma(db_path, "user_version") == len(MIGRATIONS)
    assert _pragma(db_path, "application_id") == APPLICATION_ID
    assert _pragma(db_path, "journal_mode") == "wal"


async def test_connection_settings(store: Store) -> None:
    conn = store._conn
    assert list(await conn.execute_fetchall("PRAGMA foreign_keys")) == [(1,)]
    assert list(await conn.execute_fetchall("PRAGMA synchronous")) == [(1,)]  # NORMAL
    assert list(await conn.execute_fetchall("PRAGMA busy_timeout")) == [(5000,)]


async def test_reopen_keeps_data(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        await store.commit_session(commit(device(), "s1", upserts=[param("A.B", "1")]))
    async with await Store.open(db_path) as store:
        assert (await store.get_device("0011AA-Box-SN1")) is not None
        assert (await store.load_params("0011AA-Box-SN1"))["A.B"].value == "1"
        assert [s.id for s in await store.list_sessions("0011AA-Box-SN1")] == ["s1"]


async def test_appending_a_migration_upgrades_an_existing_file(db_path: Path) -> None:
    async with await Store.open(db_path):
        pass
    extra = Migration(
        "test table", ("CREATE TABLE extra (x INTEGER)", "CREATE INDEX ex ON extra(x)")
    )
    conn = await aiosqlite.connect(db_path, isolation_level=None)
    try:
        assert await migrate(conn, db_path, (*MIGRATIONS, extra)) == len(MIGRATIONS) + 1
        # Running again is a no-op.
        assert await migrate(conn, db_path, (*MIGRATIONS, extra)) == len(MIGRATIONS) + 1
        rows = list(
            await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE name = 'extra'")
        )
        assert rows == [("extra",)]
    finally:
        await conn.close()
    # This build does not know v2, so it refuses the file.
    with pytest.raises(StoreError, match="newer FieldACS"):
        await Store.open(db_path)


async def test_failed_migration_rolls_back(db_path: Path) -> None:
    async with await Store.open(db_path):
        pass
    bad = Migration("broken", ("CREATE TABLE half (x)", "THIS IS NOT SQL"))
    conn = await aiosqlite.connect(db_path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(conn, db_path, (*MIGRATIONS, bad))
        rows = list(
            await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE name = 'half'")
        )
        assert rows == []
    finally:
        await conn.close()
    assert _pragma(db_path, "user_version") == len(MIGRATIONS)


async def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"These are my notes, not a database. " * 200)
    with pytest.raises(StoreError, match=r"notes\.db is not a FieldACS database"):
        await Store.open(path)
    assert path.read_bytes().startswith(b"These are my notes")


async def test_newer_schema_is_refused(db_path: Path) -> None:
    async with await Store.open(db_path):
        pass
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match=rf"schema v99; this build knows up to v{len(MIGRATIONS)}"):
        await Store.open(db_path)


async def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="FieldACS did not create"):
        await Store.open(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.close()
    with pytest.raises(StoreError, match="another program"):
        await Store.open(path)


async def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        await Store.open(tmp_path)


async def test_unopenable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the folder"):
        await Store.open(blocker / "sub" / "fieldacs.db")


async def test_locked_database(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="locked by another program"):
            await Store.open(path, busy_timeout_ms=50)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    async with await Store.open(path) as store:
        assert await store.integrity_check() == "ok"


async def test_closed_store_refuses_work(db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        await store.get_device("x")
    with pytest.raises(StoreError, match="closed"):
        await store.commit_session(commit(device()))
