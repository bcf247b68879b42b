"""What every part of ``Store`` shares: the connection, its lock, and running SQL under it.

``Store`` is assembled from mixins (``provisioning``, ``operations``) over ``StoreBase`` so
that no module grows past a readable size; they all run SQL through ``_fetch`` (one
statement) or ``_run`` (a function of the raw ``sqlite3`` connection, run in one hop on
aiosqlite's thread, typically a whole transaction opened with ``immediate``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from .errors import StoreError

__all__ = ["StoreBase", "describe", "immediate"]

T = TypeVar("T")


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
    _path: Path
    _lock: asyncio.Lock
    _closed: bool

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
