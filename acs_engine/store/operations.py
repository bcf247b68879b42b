"""``Store`` methods for per-device work: tasks, faults, pending operations; and file metadata.

Expiry is applied when records are read: an expired task is deleted together with its fault
by ``due_tasks``, and a fault whose expiry has passed is deleted instead of being returned
(GenieACS's loader has that condition inverted; see the behaviour reference, §6).
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from acs_engine import clock

from . import rows as r
from .base import StoreBase, immediate
from .errors import StoreError
from .records import Fault, FileRecord, Operation, Task, fault_id, task_channel

__all__ = ["OperationsMixin", "new_task_id"]

log = logging.getLogger("fieldacs.store")


def new_task_id() -> str:
    """A fresh task id: 24 hex digits, seconds first (the shape of a GenieACS ObjectId)."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def _take_due_tasks(
    db: sqlite3.Connection, device_id: str, now_ms: int
) -> tuple[list[Task], list[Task]]:
    """In the caller's transaction: delete the device's expired tasks (with their faults) and
    read the ones due now. Returns (expired, due)."""
    expired = [
        r.task_from_row(row)
        for row in db.execute(r.DELETE_EXPIRED_TASKS, (device_id, now_ms)).fetchall()
    ]
    if expired:
        db.executemany(
            r.DELETE_FAULT, [(fault_id(device_id, task_channel(t.id)),) for t in expired]
        )
    due = db.execute(r.SELECT_DUE_TASKS, (device_id, now_ms)).fetchall()
    return expired, [r.task_from_row(row) for row in due]


def _log_expired(device_id: str, expired: Iterable[Task]) -> None:
    for task in expired:
        log.info("device %s: task %s (%s) expired; deleted", device_id, task.id, task.name)


class OperationsMixin(StoreBase):
    """Tasks, faults, operations and file records."""

    # ------------------------------------------------------------------ tasks

    async def add_task(
        self,
        device_id: str,
        name: str,
        args: dict[str, Any],
        *,
        timestamp_ms: int | None = None,
        expiry_ms: int | None = None,
    ) -> Task:
        """Queue a task for a device.

        Args:
            device_id: the device; it must exist.
            name: the task type.
            args: the whole task document (stored as given, as JSON).
            timestamp_ms: not due before this time (ms); default now.
            expiry_ms: absolute expiry time (ms), or None for never.

        Returns:
            The stored task, with its new id.

        Raises:
            StoreError: the device does not exist, or the write failed.
        """
        task = Task(
            id=new_task_id(),
            device_id=device_id,
            name=name,
            args=dict(args),
            timestamp_ms=clock.now_ms() if timestamp_ms is None else timestamp_ms,
            expiry_ms=expiry_ms,
        )
        row = r.task_row(task)

        def write(db: sqlite3.Connection) -> None:
            with immediate(db):
                if not db.execute("SELECT 1 FROM devices WHERE id = ?", (device_id,)).fetchone():
                    raise StoreError(f"no device {device_id!r}")
                db.execute(r.INSERT_TASK, row)

        await self._run(write)
        return task

    async def list_tasks(self, device_id: str | None = None) -> list[Task]:
        """Queued tasks (of one device, or all), oldest timestamp first."""
        if device_id is None:
            rows = await self._fetch(r.SELECT_TASKS)
        else:
            rows = await self._fetch(r.SELECT_DEVICE_TASKS, (device_id,))
        return [r.task_from_row(row) for row in rows]

    async def get_task(self, task_id: str) -> Task | None:
        """One task, or None."""
        rows = await self._fetch(r.SELECT_TASK, (str(task_id),))
        return r.task_from_row(rows[0]) if rows else None

    async def delete_task(self, task_id: str) -> bool:
        """Delete a task (its fault, if any, stays). Returns True if it existed."""
        rows = await self._fetch(r.DELETE_TASK + " RETURNING id", (str(task_id),))
        return bool(rows)

    async def due_tasks(self, device_id: str, now_ms: int) -> list[Task]:
        """A device's tasks to run now, oldest first; expired ones are dropped first.

        In one transaction: tasks with ``expiry < now_ms`` are deleted together with their
        faults (channel ``task_<id>``); the remaining tasks with ``timestamp <= now_ms`` are
        returned.
        """

        def work(db: sqlite3.Connection) -> tuple[list[Task], list[Task]]:
            with immediate(db):
                return _take_due_tasks(db, device_id, now_ms)

        expired, due = await self._run(work)
        _log_expired(device_id, expired)
        return due

    async def device_work(
        self, device_id: str, now_ms: int
    ) -> tuple[list[Task], list[Fault], list[Operation]]:
        """What a session of ``device_id`` starts from, in one trip to the database.

        The same as :meth:`due_tasks`, :meth:`list_faults` and :meth:`get_operations` for the
        device (expired tasks and faults are deleted first), read in one transaction.
        """

        def work(db: sqlite3.Connection) -> tuple[list[Task], list[Task], list[Any], list[Any]]:
            with immediate(db):
                expired, due = _take_due_tasks(db, device_id, now_ms)
                db.execute(r.DELETE_EXPIRED_DEVICE_FAULTS, (device_id, now_ms))
                faults = db.execute(r.SELECT_DEVICE_FAULTS, (device_id,)).fetchall()
                ops = db.execute(r.SELECT_OPERATIONS, (device_id,)).fetchall()
                return expired, due, faults, ops

        expired, due, faults, ops = await self._run(work)
        _log_expired(device_id, expired)
        return (
            due,
            [r.fault_from_row(row) for row in faults],
            [r.operation_from_row(row) for row in ops],
        )

    # ------------------------------------------------------------------ faults

    async def put_fault(self, fault: Fault) -> None:
        """Insert or replace a fault (by id)."""
        await self._fetch(r.UPSERT_FAULT, r.fault_row(fault))

    async def get_fault(self, fault_id: str, *, now_ms: int | None = None) -> Fault | None:
        """One fault, or None; a fault whose expiry is before ``now_ms`` (default: now)
        is deleted and None returned."""
        now = clock.now_ms() if now_ms is None else now_ms

        def work(db: sqlite3.Connection) -> list[Any]:
            with immediate(db):
                db.execute(
                    "DELETE FROM faults WHERE id = ? AND expiry IS NOT NULL AND expiry < ?",
                    (fault_id, now),
                )
                return db.execute(r.SELECT_FAULT, (fault_id,)).fetchall()

        rows = await self._run(work)
        return r.fault_from_row(rows[0]) if rows else None

    async def list_faults(
        self, device_id: str | None = None, *, now_ms: int | None = None
    ) -> list[Fault]:
        """Faults (of one device, or all) by time; expired ones are deleted, not returned.

        Args:
            device_id: one device, or None for every device.
            now_ms: the time expiry is judged at; default now.
        """
        now = clock.now_ms() if now_ms is None else now_ms

        def work(db: sqlite3.Connection) -> list[Any]:
            with immediate(db):
                if device_id is None:
                    db.execute(r.DELETE_EXPIRED_FAULTS, (now,))
                    return db.execute(r.SELECT_FAULTS).fetchall()
                db.execute(r.DELETE_EXPIRED_DEVICE_FAULTS, (device_id, now))
                return db.execute(r.SELECT_DEVICE_FAULTS, (device_id,)).fetchall()

        return [r.fault_from_row(row) for row in await self._run(work)]

    async def delete_fault(self, fault_id: str) -> bool:
        """Delete a fault. Returns True if it existed."""
        rows = await self._fetch(r.DELETE_FAULT + " RETURNING id", (fault_id,))
        return bool(rows)

    async def delete_faults(self, device_id: str, channels: Iterable[str]) -> int:
        """Delete a device's faults in the given channels. Returns how many existed."""
        ids = [(fault_id(device_id, channel),) for channel in dict.fromkeys(channels)]
        if not ids:
            return 0

        def write(db: sqlite3.Connection) -> int:
            with immediate(db):
                return db.executemany(r.DELETE_FAULT, ids).rowcount

        return await self._run(write)

    # ------------------------------------------------------------------ operations

    async def put_operation(self, op: Operation) -> None:
        """Insert or replace a pending operation (by device and command key)."""
        await self._fetch(r.UPSERT_OPERATION, r.operation_row(op))

    async def get_operations(self, device_id: str) -> list[Operation]:
        """A device's pending operations, oldest first."""
        rows = await self._fetch(r.SELECT_OPERATIONS, (device_id,))
        return [r.operation_from_row(row) for row in rows]

    async def delete_operation(self, device_id: str, command_key: str) -> bool:
        """Delete a pending operation. Returns True if it existed."""
        rows = await self._fetch(
            r.DELETE_OPERATION + " RETURNING command_key", (device_id, command_key)
        )
        return bool(rows)

    async def expired_operations(self, older_than_ms: int) -> list[Operation]:
        """Pending operations of every device started before ``older_than_ms``, oldest first
        (e.g. Downloads past ``cwmp.downloadTimeout``); they are not deleted."""
        rows = await self._fetch(r.SELECT_OLD_OPERATIONS, (older_than_ms,))
        return [r.operation_from_row(row) for row in rows]

    # ------------------------------------------------------------------ files

    async def put_file_record(self, record: FileRecord) -> None:
        """Insert or replace a file's metadata (by name)."""
        await self._fetch(r.UPSERT_FILE, r.file_row(record))

    async def get_file_record(self, name: str) -> FileRecord | None:
        """One file's metadata, or None."""
        rows = await self._fetch(r.SELECT_FILE, (name,))
        return r.file_from_row(rows[0]) if rows else None

    async def list_file_records(self) -> list[FileRecord]:
        """Every file's metadata, by name."""
        return [r.file_from_row(row) for row in await self._fetch(r.SELECT_FILES)]

    async def delete_file_record(self, name: str) -> bool:
        """Delete a file's metadata. Returns True if it existed."""
        rows = await self._fetch("DELETE FROM files WHERE name = ? RETURNING name", (name,))
        return bool(rows)
