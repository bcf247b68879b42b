"""What every part of ``Store`` shares: the connection, its lock, and running SQL under it.

``Store`` is assembled from mixins (``provisioning``, ``operations``) over ``StoreBase`` so
that no module grows past a readable size; they all run SQL through ``_fetch`` (one
statement) or ``_run`` (a function of the raw ``sqlite3`` connection, run in one hop on
aiosqlite's thread, typically a whole transaction opened with ``immediate``).

Queries a client writes (the NBI's device and collection searches) run through ``_read`` on a
second, read-only connection instead: under WAL a reader never blocks the writer, so a slow
search cannot hold ``_lock`` and stall the CWMP sessions' commits, and a progress handler
stops any one read after :data:`READ_TIME_LIMIT_S` seconds (``QueryTooSlow``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from .errors import StoreError

__all__ = ["READ_TIME_LIMIT_S", "QueryTooSlow", "StoreBase", "describe", "immediate"]

T = TypeVar("T")

#: Longest a client's search (``StoreBase._read``) may run before SQLite stops it.
READ_TIME_LIMIT_S = 20.0
#: SQLite virtual-machine steps between two checks of that limit.
_PROGRESS_STEPS = 20_000


class QueryTooSlow(StoreError, ValueError):
    """A search ran past its time limit and was stopped (a ``ValueError`` too: the client's
    query is at fault, so the NBI answers it with 400)."""


def describe(path: Path, exc: BaseException) -> str:
    """A technician-readable sentence for an sqlite3 error about the database file."""
    text = str(exc)
    lower = text.lower()
    if "not a database" in lower or "malformed" in lower or "encrypted" in lower:
        return f"{path} is not a FieldACS database (not a readable SQLite file: {text})"
    if "locked" in lower or "busy" in lower:
        return f"{path} is locked by another program (is another FieldACS using it?): {text}"
    if "unable to open" in lower or "readonly" in lower or "read-only" in lower:
        return f"cannot open {path} for reading and writing; check the path and permissions"
    if "disk" in lower and ("full" in lower or "i/o" in lower):
        return f"cannot write {path}: {text}"
    return f"database error on {path}: {text}"


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction on an autocommit connection: committed, or rolled back on error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


class StoreBase:
    """The connection and lock behind every ``Store`` operation (see ``db.Store``)."""

    _conn: aiosqlite.Connection
    _reader: aiosqlite.Connection
    _read_lock: asyncio.Lock
    _path: Path
    _lock: asyncio.Lock
    _closed: bool
    _read_limit_s: float

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the database {self._path} is closed")

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement (its own implicit transaction) under the lock; rows are tuples."""
        async with self._lock:
            self._check_open()
            try:
                return list(await self._conn.execute_fetchall(sql, params))
            except sqlite3.Error as exc:
                raise StoreError(describe(self._path, exc)) from exc

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on aiosqlite's thread under the lock, in one hop.

        ``fn`` opens its own transaction if it needs one (``immediate``). sqlite3 errors
        become ``StoreError``; a ``StoreError`` raised by ``fn`` passes through.
        """
        async with self._lock:
            self._check_open()
            try:
                # aiosqlite has no public "run this in your thread"; _execute is that.
                result = await self._conn._execute(fn, self._conn._conn)
            except sqlite3.Error as exc:
                raise StoreError(describe(self._path, exc)) from exc
            return cast(T, result)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the read-only connection, in one hop, time-limited.

        It never takes ``_lock``, so commits go on meanwhile; ``fn`` sees committed data only
        (open a transaction with ``BEGIN`` for one snapshot across statements).

        Raises:
            QueryTooSlow: the read ran longer than ``_read_limit_s`` seconds.
            StoreError: any other sqlite3 error.
        """
        limit = self._read_limit_s

        def bounded(db: sqlite3.Connection) -> T:
            deadline = time.monotonic() + limit
            db.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
            try:
                return fn(db)
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc):
                    raise QueryTooSlow(
                        f"the query ran longer than {limit:g} s and was stopped; narrow it "
                        "(fewer or anchored $regex, a more selective field)"
                    ) from exc
                raise
            finally:
                db.set_progress_handler(None, 0)
                if db.in_transaction:
                    db.execute("ROLLBACK")

        async with self._read_lock:
            self._check_open()
            try:
                result = await self._reader._execute(bounded, self._reader._conn)
            except QueryTooSlow:
                raise
            except sqlite3.Error as exc:
                raise StoreError(describe(self._path, exc)) from exc
            return cast(T, result)
