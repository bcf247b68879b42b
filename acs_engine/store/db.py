"""``Store``: the device database (one aiosqlite connection, WAL, migrations, group commit).

Concurrency model: there is one connection, so statements run one at a time on aiosqlite's
worker thread. A transaction spans several awaits, so every operation takes ``_lock`` to
keep another coroutine's statements (or reads) out of an open transaction; readers thus
only ever see committed data.

Group commit: a ``commit_session`` call queues its commit and waits for the lock. Whoever
gets the lock first and still finds its own commit pending writes *every* pending commit
(one per device, up to ``MAX_BATCH``) in a single transaction; the others find their commit
already done when their turn comes. One transaction and one set of ``executemany`` calls for
many sessions is what makes 800 sessions/s cheap (see benchmarks/store.py). If a batch
fails, each of its commits is retried in its own transaction, so a bad commit fails only
its own caller.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from . import queries as q
from .base import READ_TIME_LIMIT_S, describe
from .connect import make_private, open_reader
from .errors import StoreError
from .extras import ExtrasRows
from .fleet import FleetMixin
from .history import HistoryMixin, history_context
from .listing import QueryMixin
from .model import DeviceRecord, Param, SessionCommit, SessionRecord, TraceEntry
from .operations import OperationsMixin
from .provisioning import ProvisioningMixin
from .queries import DeviceSummary
from .schema import migrate
from .search import regexp_match

#: Device rows kept in memory (a few hundred bytes each).
DEVICE_CACHE_SIZE = 50_000

__all__ = ["MAX_BATCH", "Store"]

log = logging.getLogger("fieldacs.store")

#: Most session commits written in one transaction.
MAX_BATCH = 256


@dataclass(slots=True)
class _Pending:
    commit: SessionCommit
    done: asyncio.Future[None]


class Store(ProvisioningMixin, OperationsMixin, QueryMixin, HistoryMixin, FleetMixin):
    """The device database.

    Devices, parameters, sessions and settings are here; presets, provisions, virtual
    parameters and config come from ``ProvisioningMixin``, tasks, faults, operations and
    file records from ``OperationsMixin``, NBI-style collection queries from ``QueryMixin``,
    the parameter history and snapshots from ``HistoryMixin``, the fleet view from
    ``FleetMixin``.

    Open with ``await Store.open(path)`` and close with ``await store.close()``, or use
    ``async with await Store.open(path) as store:``. All methods are coroutines that must
    run on the loop that opened the store. Errors from SQLite surface as ``StoreError``.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        *,
        reader: aiosqlite.Connection,
        trace_sessions_per_device: int,
        group_commit: bool,
        read_limit_s: float = READ_TIME_LIMIT_S,
    ) -> None:
        """Use ``Store.open``; this only wires up already prepared connections."""
        self._conn = conn
        self._reader = reader
        self._read_lock = asyncio.Lock()
        self._read_limit_s = read_limit_s
        self._path = path
        self._keep_sessions = max(0, trace_sessions_per_device)
        self._group_commit = group_commit
        self._lock = asyncio.Lock()
        self._pending: deque[_Pending] = deque()
        self._closed = False
        self._revision: int | None = None  # provisioning revision, read at first use
        # Write-through cache of device rows: every write to a device goes through this Store.
        self._devices: dict[str, DeviceRecord] = {}

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        trace_sessions_per_device: int = 20,
        busy_timeout_ms: int = 5000,
        group_commit: bool = True,
        read_limit_s: float = READ_TIME_LIMIT_S,
    ) -> Store:
        """Open (creating if needed) and migrate the database at ``path``.

        Args:
            path: the database file; missing parent folders are created.
            trace_sessions_per_device: how many sessions (with their wire traces) to keep
                per device; older ones are deleted as new ones are committed.
            busy_timeout_ms: how long to wait for another process's lock before failing.
            group_commit: write concurrent ``commit_session`` calls in shared transactions.
            read_limit_s: longest a client's search (NBI queries) may run on the read
                connection before it is stopped.

        Returns:
            The open store.

        Raises:
            StoreError: the file is not a (FieldACS) SQLite database, cannot be opened or
                created, is locked, or has a newer schema than this build knows.
        """
        db_path = Path(path)
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {db_path}: {exc}") from exc
        if db_path.is_dir():
            raise StoreError(f"{db_path} is a folder, not a database file")
        make_private(db_path)
        try:
            conn = await aiosqlite.connect(
                str(db_path), isolation_level=None, timeout=busy_timeout_ms / 1000
            )
        except sqlite3.Error as exc:
            raise StoreError(describe(db_path, exc)) from exc
        try:
            rows = list(await conn.execute_fetchall("PRAGMA journal_mode = WAL"))
            mode = rows[0][0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{db_path}: cannot switch to WAL journaling (got {mode!r})")
            for pragma in (
                f"busy_timeout = {int(busy_timeout_ms)}",
                "synchronous = NORMAL",
                "foreign_keys = ON",
                "temp_store = MEMORY",
                "cache_size = -65536",  # 64 MiB
            ):
                await conn.execute(f"PRAGMA {pragma}")
            # the NBI's $regex (acs_engine/server/nbi_query.py)
            await conn.create_function("nbi_regexp", 3, regexp_match, deterministic=True)
            version = await migrate(conn, db_path)
            reader = await open_reader(db_path, busy_timeout_ms)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(describe(db_path, exc)) from exc
            raise
        log.info("opened database %s (schema v%d)", db_path, version)
        return cls(
            conn,
            db_path,
            reader=reader,
            trace_sessions_per_device=trace_sessions_per_device,
            group_commit=group_commit,
            read_limit_s=read_limit_s,
        )

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    async def close(self) -> None:
        """Finish queued commits and close the connection. Safe to call twice."""
        if self._closed:
            return
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                await self._conn.execute("PRAGMA optimize")
            except sqlite3.Error as exc:  # never keep the file open over a hint
                log.debug("PRAGMA optimize failed on %s: %s", self._path, exc)
            async with self._read_lock:
                await self._reader.close()
            await self._conn.close()
        log.info("closed database %s", self._path)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ devices and params

    def _remember(self, device: DeviceRecord) -> None:
        if len(self._devices) >= DEVICE_CACHE_SIZE and device.id not in self._devices:
            self._devices.pop(next(iter(self._devices)))
        self._devices[device.id] = replace(device, tags=set(device.tags))

    async def get_device(self, device_id: str) -> DeviceRecord | None:
        """A device's own fields (tags included, parameters not), or None if unknown.

        The record is the caller's own copy.
        """
        cached = self._devices.get(device_id)
        if cached is not None:
            self._check_open()
            return replace(cached, tags=set(cached.tags))
        rows = await self._fetch(q.SELECT_DEVICE, (device_id,))
        if not rows:
            return None
        device = q.device_from_row(rows[0])
        self._remember(device)
        return replace(device, tags=set(device.tags))

    async def load_params(self, device_id: str, prefix: str = "") -> dict[str, Param]:
        """A device's parameter tree, or the part of it whose paths start with ``prefix``.

        Args:
            device_id: the device.
            prefix: "" for everything; an object path ending in '.' for that subtree
                (the object node itself included).

        Returns:
            Nodes by path, in path order.
        """
        upper = q.prefix_upper_bound(prefix)
        if not prefix:
            rows = await self._fetch(q.SELECT_PARAMS, (device_id,))
        elif upper is None:
            rows = await self._fetch(q.SELECT_PARAMS_FROM, (device_id, prefix))
        else:
            rows = await self._fetch(q.SELECT_PARAMS_RANGE, (device_id, prefix, upper))
        return {row[0]: q.param_from_row(row) for row in rows}

    async def load_param_values(self, device_id: str, paths: Iterable[str]) -> dict[str, Param]:
        """Just the named nodes of a device (those that exist), in one indexed query.

        Args:
            device_id: the device.
            paths: exact paths (no prefixes or wildcards).

        Returns:
            Nodes by path; paths the store does not hold are absent.
        """
        wanted = json.dumps(list(dict.fromkeys(paths)), ensure_ascii=False)
        rows = await self._fetch(q.SELECT_PARAM_VALUES, (device_id, wanted))
        return {row[0]: q.param_from_row(row) for row in rows}

    async def list_devices(self, *, limit: int = 100, offset: int = 0) -> list[DeviceSummary]:
        """One page of the device list, ordered by device id."""
        rows = await self._fetch(q.LIST_DEVICES, (limit, offset))
        return [q.summary_from_row(row) for row in rows]

    async def count_devices(self) -> int:
        """How many devices the store holds."""
        rows = await self._fetch("SELECT count(*) FROM devices")
        return int(rows[0][0])

    async def delete_device(self, device_id: str) -> bool:
        """Delete a device with its parameters, sessions, traces, tasks, faults, operations
        and preset verdicts (foreign keys cascade).

        Returns:
            True if the device existed.
        """
        self._devices.pop(device_id, None)
        rows = await self._fetch("DELETE FROM devices WHERE id = ? RETURNING id", (device_id,))
        if rows:
            log.info("deleted device %s", device_id)
        return bool(rows)

    async def set_tags(
        self, device_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> set[str]:
        """Add and remove tags of a device (a tag in both is removed).

        Args:
            device_id: the device.
            add: tags to add; empty strings are ignored.
            remove: tags to remove; absent ones are ignored.

        Returns:
            The device's tags afterwards.

        Raises:
            StoreError: the device does not exist.
        """
        to_add = {tag for tag in add if tag}
        to_remove = set(remove)
        async with self._lock:
            self._check_open()
            conn = self._conn
            try:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    rows = list(
                        await conn.execute_fetchall(
                            "SELECT tags FROM devices WHERE id = ?", (device_id,)
                        )
                    )
                    if not rows:
                        raise StoreError(f"no device {device_id!r}")
                    tags = (q.decode_tags(rows[0][0]) | to_add) - to_remove
                    await conn.execute(
                        "UPDATE devices SET tags = ? WHERE id = ?",
                        (q.encode_tags(tags), device_id),
                    )
                    await conn.execute("COMMIT")
                except BaseException:
                    await q.rollback_quietly(conn)
                    raise
            except sqlite3.Error as exc:
                raise StoreError(describe(self._path, exc)) from exc
            cached = self._devices.get(device_id)
            if cached is not None:
                cached.tags = set(tags)
        return tags

    # ------------------------------------------------------------------ sessions

    async def list_sessions(self, device_id: str, limit: int = 50) -> list[SessionRecord]:
        """A device's stored sessions, newest first."""
        rows = await self._fetch(q.SELECT_SESSIONS, (device_id, limit))
        return [q.session_from_row(row) for row in rows]

    async def load_trace(self, session_id: str) -> list[TraceEntry]:
        """A stored session's wire trace in order (empty if pruned or never traced)."""
        rows = await self._fetch(q.SELECT_TRACE, (session_id,))
        return [q.trace_from_row(row) for row in rows]

    async def commit_session(self, commit: SessionCommit) -> None:
        """Write everything one session changed, atomically.

        In one transaction: upsert the device row (``registered`` is kept from the first
        insert; tags are replaced by ``commit.device.tags``, or, when ``tags_add`` or
        ``tags_remove`` is non-empty, those are applied to the stored tags), delete
        ``commit.deletes`` (a path ending in '.' removes that object and its whole subtree),
        upsert ``commit.upserts``, upsert the session record, insert its trace entries,
        drop the device's sessions (and traces) beyond ``trace_sessions_per_device``, then
        delete and upsert faults, delete finished tasks, delete and upsert operations, and
        replace the device's preset verdicts (when ``commit.extras.preset_verdicts`` is not None).
        Triggers record each parameter whose value, type or writability changed in the
        parameter history (``history_schema``), in the same transaction.
        Deletes run before upserts, so a node (or fault) that is both deleted and upserted
        ends up present.

        Raises:
            StoreError: the write failed; nothing of this commit was stored.
        """
        self._check_open()
        entry = _Pending(commit, asyncio.get_running_loop().create_future())
        self._pending.append(entry)
        try:
            async with self._lock:
                if not entry.done.done():
                    self._check_open()
                    await self._write_pending(entry)
        except BaseException:
            # Cancelled (or closed) before anyone wrote it: it must not be written later.
            if not entry.done.done():
                try:
                    self._pending.remove(entry)
                except ValueError:
                    pass
            raise
        entry.done.result()

    async def record_session_only(
        self, device: DeviceRecord, session: SessionRecord, trace: list[TraceEntry]
    ) -> None:
        """Store a session that ended abnormally: device row, session and trace, no params.

        Raises:
            StoreError: the write failed; nothing was stored.
        """
        await self.commit_session(SessionCommit(device=device, session=session, trace=trace))

    def _take_batch(self, own: _Pending) -> list[_Pending]:
        """Pending commits to write now: ``own`` plus, with group commit, the other pending
        commits, oldest first, at most one per device and MAX_BATCH in all."""
        try:
            self._pending.remove(own)
        except ValueError:
            pass
        batch = [own]
        if not self._group_commit:
            return batch
        devices = {own.commit.device.id}
        kept: deque[_Pending] = deque()
        while self._pending and len(batch) < MAX_BATCH:
            entry = self._pending.popleft()
            if entry.done.done():  # its caller was cancelled
                continue
            device_id = entry.commit.device.id
            if device_id in devices:  # one device's commits stay in order, across batches
                kept.append(entry)
                continue
            devices.add(device_id)
            batch.append(entry)
        kept.extend(self._pending)
        self._pending = kept
        return batch

    async def _write_pending(self, own: _Pending) -> None:
        """Write a batch that includes ``own``; settle every future in it. Holds the lock."""
        batch = self._take_batch(own)
        try:
            try:
                await self._apply([entry.commit for entry in batch])
            except Exception as exc:
                if len(batch) == 1:
                    self._settle(own, exc)
                    return
                log.warning(
                    "batch of %d session commits failed (%s); retrying each on its own",
                    len(batch),
                    exc,
                )
                for entry in batch:
                    try:
                        await self._apply([entry.commit])
                    except Exception as single_exc:
                        self._settle(entry, single_exc)
                    else:
                        self._settle(entry, None)
                return
        except BaseException:
            # Cancelled mid-write: hand the other commits back to their callers, who will
            # write them in turn. Writing one twice is harmless: every statement is an upsert
            # or an idempotent delete.
            others = [e for e in batch if e is not own and not e.done.done()]
            self._pending.extendleft(reversed(others))
            raise
        for entry in batch:
            self._settle(entry, None)
        if len(batch) > 1:
            log.debug("group commit wrote %d sessions in one transaction", len(batch))

    def _settle(self, entry: _Pending, exc: Exception | None) -> None:
        if entry.done.done():
            return
        if exc is None:
            entry.done.set_result(None)
            return
        commit = entry.commit
        session = commit.session.id if commit.session else "-"
        log.error("could not store session %s of device %s: %s", session, commit.device.id, exc)
        if isinstance(exc, StoreError):
            entry.done.set_exception(exc)
            return
        error = StoreError(
            f"could not store session {session} of device {commit.device.id} in {self._path}: {exc}"
        )
        error.__cause__ = exc
        entry.done.set_exception(error)

    async def _apply(self, commits: Sequence[SessionCommit]) -> None:
        """Write ``commits`` (distinct devices) in one transaction, or roll back and raise."""
        extras = ExtrasRows.collect(commits)
        exact: list[tuple[str, str]] = []
        ranges: list[tuple[str, str, str | None]] = []
        params: list[tuple[Any, ...]] = []
        sessions: list[tuple[Any, ...]] = []
        trace: list[tuple[Any, ...]] = []
        prune: list[tuple[str, int]] = []
        for commit in commits:
            device_id = commit.device.id
            for path in commit.deletes:
                if path.endswith("."):
                    ranges.append((device_id, path, q.prefix_upper_bound(path)))
                else:
                    exact.append((device_id, path))
            params.extend(q.param_row(device_id, param) for param in commit.upserts)
            if commit.session is not None:
                sessions.append(q.session_row(commit.session))
                trace.extend(q.trace_row(commit.session.id, e) for e in commit.trace)
                prune.append((device_id, self._keep_sessions))
        context = history_context(commits)

        def write(db: sqlite3.Connection) -> dict[str, set[str]]:
            db.execute("BEGIN IMMEDIATE")
            try:
                tags = extras.resolve_tags(db)
                context.open(db)  # before the device upsert: it tells new devices apart
                devices = [q.device_row(c.device, tags.get(c.device.id)) for c in commits]
                db.executemany(q.UPSERT_DEVICE, devices)
                if exact:
                    db.executemany(q.DELETE_PARAM, exact)
                if ranges:
                    db.executemany(q.DELETE_PARAM_RANGE, ranges)
                if params:
                    db.executemany(q.UPSERT_PARAM, params)
                context.close(db)
                if sessions:
                    db.executemany(q.UPSERT_SESSION, sessions)
                if trace:
                    db.executemany(q.INSERT_TRACE, trace)
                if prune:
                    db.executemany(q.PRUNE_SESSIONS, prune)
                extras.write(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return tags

        # The whole transaction runs in one hop to aiosqlite's thread: a hop costs ~100 µs,
        # and one commit is seven statements (benchmarks/store.md). aiosqlite has no public
        # "run this function in your thread", hence its private _execute.
        tags: dict[str, set[str]] = await self._conn._execute(write, self._conn._conn)
        for commit in commits:
            cached = self._devices.get(commit.device.id)
            if cached is not None:  # ``registered_ms`` stays what the first insert wrote
                final = tags.get(commit.device.id, commit.device.tags)
                self._remember(replace(commit.device, registered_ms=cached.registered_ms, tags=final))

    # ------------------------------------------------------------------ settings, health

    async def get_setting(self, key: str) -> str | None:
        """A stored setting's value, or None if it was never set."""
        rows = await self._fetch("SELECT value FROM settings WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def set_setting(self, key: str, value: str) -> None:
        """Store a setting (replacing any previous value)."""
        await self._fetch(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def setting_once(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless a value is there already; the stored value."""
        rows = await self._fetch(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = value RETURNING value",
            (key, value),
        )
        return str(rows[0][0])

    async def delete_setting(self, key: str) -> bool:
        """Remove a setting. Returns True if it existed."""
        rows = await self._fetch("DELETE FROM settings WHERE key = ? RETURNING key", (key,))
        return bool(rows)

    async def integrity_check(self) -> str:
        """SQLite's integrity and foreign-key checks.

        Returns:
            "ok" when the file is sound; otherwise the problems found, one per line.
        """
        rows = await self._fetch("PRAGMA integrity_check")
        problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
        fk_rows = await self._fetch("PRAGMA foreign_key_check")
        problems += [f"foreign key: {row[0]} rowid {row[1]} -> {row[2]}" for row in fk_rows]
        return "\n".join(problems) if problems else "ok"
