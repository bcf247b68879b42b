"""Online backup: a verified copy, or a clear error and nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from acs_engine.cli import main
from acs_engine.store.backup import BackupError, backup_database, verify_database
from acs_engine.store.db import Store
from tests.unit.store.factories import commit, device, param


async def _database(tmp_path: Path) -> Path:
    db = tmp_path / "live.db"
    store = await Store.open(db)
    await store.commit_session(commit(device("D1"), "s1", upserts=[param("Device.X")]))
    await store.close()
    return db


async def test_copy_is_verified_self_contained_and_readable(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    live = await Store.open(db)  # the database is open (WAL) while it is copied
    try:
        result = backup_database(db, tmp_path / "copy.db")
    finally:
        await live.close()
    assert result.path == tmp_path / "copy.db" and result.devices == 1
    assert verify_database(result.path) == (1, 1)
    with sqlite3.connect(result.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in tmp_path.iterdir() if not p.name.startswith(".")
    )  # no partial file left behind


async def test_into_a_folder_gets_a_dated_name(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    folder = tmp_path / "backups"
    folder.mkdir()
    result = backup_database(db, folder)
    assert result.path.parent == folder and result.path.name.startswith("fieldacs-")


async def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    dest = tmp_path / "precious.db"
    dest.write_bytes(b"yesterday's backup")
    with pytest.raises(BackupError, match="--force"):
        backup_database(db, dest)
    assert dest.read_bytes() == b"yesterday's backup"
    backup_database(db, dest, force=True)
    assert verify_database(dest) == (1, 1)
    with pytest.raises(BackupError, match="database itself"):
        backup_database(db, db, force=True)
    assert verify_database(db) == (1, 1)


async def test_bad_sources_and_destinations_write_nothing(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    with pytest.raises(BackupError, match="no database"):
        backup_database(tmp_path / "missing.db", tmp_path / "a.db")
    with pytest.raises(BackupError, match="does not exist"):
        backup_database(db, tmp_path / "no" / "such" / "a.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00not sqlite at all" * 100)
    with pytest.raises(BackupError):
        backup_database(junk, tmp_path / "b.db")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="not a FieldACS database"):
        backup_database(other, tmp_path / "c.db")
    assert not any((tmp_path / n).exists() for n in ("a.db", "b.db", "c.db"))
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
    assert junk.read_bytes().startswith(b"\x00not sqlite")


def test_damaged_copy_fails_verification(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    with sqlite3.connect(bad) as conn:
        conn.execute("PRAGMA page_size = 1024")
        conn.execute("CREATE TABLE devices (id TEXT PRIMARY KEY, v TEXT)")
        conn.execute("CREATE TABLE sessions (id TEXT)")
        conn.executemany("INSERT INTO devices VALUES (?, ?)",
                         [(f"d{i}", "x" * 200) for i in range(200)])
    data = bytearray(bad.read_bytes())
    for page in range(2, len(data) // 1024):  # scribble over the b-tree pages' headers
        data[page * 1024: page * 1024 + 64] = b"\xff" * 64
    bad.write_bytes(bytes(data))
    with pytest.raises(BackupError):
        verify_database(bad)


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    db = asyncio.run(_database(tmp_path))
    assert main(["backup", str(tmp_path / "ok.db"), "--db", str(db)]) == 0
    assert "integrity check: ok" in capsys.readouterr().out
    assert main(["backup", str(tmp_path / "ok.db"), "--db", str(db)]) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.skipif(__import__("os").name == "nt", reason="POSIX file modes")
async def test_attack_backup_copy_is_private_like_the_database(tmp_path: Path) -> None:
    """The copy holds the CPE passwords the database holds: 0600 whatever the umask (it was
    created by SQLite under the umask, 0644 by default, readable by every local user)."""
    import os

    db = await _database(tmp_path)
    old = os.umask(0o022)
    try:
        result = backup_database(db, tmp_path / "copy.db")
    finally:
        os.umask(old)
    assert result.path.stat().st_mode & 0o777 == 0o600
