"""Online backup of a FieldACS database, with the engine running (no downtime).

SQLite's backup API copies every page of the database in one step, inside one read
transaction: the copy is the database as it was at one instant, whatever the engine commits
meanwhile (in WAL mode a reader never blocks the writer, and the writer never blocks it).
The copy is written beside the destination under a temporary name, switched to a single
self-contained file (rollback journal instead of WAL), checked with ``PRAGMA
integrity_check`` and ``PRAGMA foreign_key_check``, flushed to disk, and only then renamed
to the destination: a failed or interrupted backup never leaves a half-written file under
the destination's name, and never touches an existing file unless asked to replace it.

This works on the file, not through the engine: run it on the machine the database is on,
as a user who may read it (``sudo -u fieldacs fieldacs-engine backup ...``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from acs_engine.store.connect import make_private

__all__ = ["BackupError", "BackupResult", "backup_database", "verify_database"]


class BackupError(Exception):
    """The backup could not be made or did not verify; the message says why."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A verified backup: where it is, its size, what it holds, how long it took."""

    path: Path
    size: int
    devices: int
    sessions: int
    seconds: float


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30.0,
                           isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def verify_database(path: Path) -> tuple[int, int]:
    """Check a database file: SQLite's integrity check, foreign keys, FieldACS's tables.

    Returns:
        ``(devices, sessions)``: how many of each it holds.

    Raises:
        BackupError: the file is damaged or not a FieldACS database.
    """
    try:
        conn = _connect(path, create=False)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {path}: {exc}") from exc
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{path} failed the integrity check: " + "; ".join(problems[:5]))
        dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
        if dangling:
            table, rowid, parent = dangling[0][:3]
            raise BackupError(
                f"{path}: {len(dangling)} row(s) point to missing rows "
                f"(first: {table} row {rowid} -> {parent})"
            )
        devices = int(conn.execute("SELECT count(*) FROM devices").fetchone()[0])
        sessions = int(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])
        return devices, sessions
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a FieldACS database: {exc}") from exc
    finally:
        conn.close()


def _destination(dest: Path, *, force: bool) -> Path:
    if dest.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = dest / f"fieldacs-{stamp}.db"
    if not dest.parent.is_dir():
        raise BackupError(f"the folder {dest.parent} does not exist")
    if dest.exists() and not force:
        raise BackupError(f"{dest} exists; pass --force to replace it")
    if dest.exists() and not dest.is_file():
        raise BackupError(f"{dest} is not a regular file")
    return dest


def backup_database(source: Path, dest: Path, *, force: bool = False) -> BackupResult:
    """Copy the database ``source`` to ``dest`` while it is in use, and verify the copy.

    Args:
        source: the live database file.
        dest: the backup's file name, or an existing folder (the backup is then named
            ``fieldacs-<UTC time>.db`` in it).
        force: replace ``dest`` when it exists.

    Raises:
        BackupError: nothing usable was written under ``dest`` (an existing file there is
            untouched unless the new backup verified and ``force`` was given).
    """
    began = time.monotonic()
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    dest = _destination(dest, force=force)
    if dest.exists() and dest.resolve() == source.resolve():
        raise BackupError("the backup cannot replace the database itself")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        try:
            src = _connect(source, create=False)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot open {source}: {exc}") from exc
        try:
            partial.unlink(missing_ok=True)
            make_private(partial)  # a copy of the CPE passwords: 0600, as the database
            out = _connect(partial, create=True)
            try:
                src.backup(out)  # every page in one step: one consistent snapshot
                out.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                out.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"cannot back up {source}: {exc}") from exc
        finally:
            src.close()
        devices, sessions = verify_database(partial)
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, dest)
        with contextlib.suppress(OSError):  # the rename itself, on disk
            fd = os.open(dest.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        raise BackupError(f"cannot write {dest}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
        for suffix in ("-journal", "-wal", "-shm"):
            partial.with_name(partial.name + suffix).unlink(missing_ok=True)
    return BackupResult(dest, dest.stat().st_size, devices, sessions,
                        time.monotonic() - began)
