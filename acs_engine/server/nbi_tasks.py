"""Tasks through the NBI: validation, and ``POST /devices/<id>/tasks`` with GenieACS's
connection-request semantics (behaviour reference §7).

``POST /devices/<id>/tasks[?connection_request][&timeout=ms]``:

- no ``connection_request``: the task is queued; **202** with the task.
- ``connection_request`` and a task: if the device stays in session for 5 s, the task is
  queued and the answer is **202 "Task queued but not processed"**. Otherwise the task is
  stored, the connection request sent, and the NBI waits for the session to start (the
  ``timeout`` parameter, else ``device_online_threshold_ms``) and then to end (at most
  120 s): **200** with the task when the session completed it, else **202** with the status
  text "Task faulted", "Task queued but not processed", or the connection-request error.
- ``connection_request`` and no body: the connection request alone; **200** when the
  device started a session, **504** with the error text otherwise.
- unknown device **404**; a malformed or invalid task **400** with the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from acs_engine.bus import SessionEnded, SessionStarted
from acs_engine.policy.presets import task_provisions
from acs_engine.reach.wake import DeviceUnknown
from acs_engine.server.nbi_devices import collection_document
from acs_engine.server.nbi_query import parse_date
from acs_engine.store.records import Task, fault_id, task_channel

if TYPE_CHECKING:
    from acs_engine.server.controller import Engine

__all__ = ["PreparedTask", "prepare_task", "submit_task", "task_document"]

log = logging.getLogger("fieldacs.nbi")

#: Longest wait for the end of the session a connection request started (GenieACS: 120 s).
SESSION_END_WAIT_S = 120.0
#: Longest wait for a device's current session to end before queueing (GenieACS: 5 s).
SESSION_LOCK_WAIT_S = 5.0
QUEUED = "Task queued but not processed"
FAULTED = "Task faulted"
_RESERVED = ("_id", "device", "timestamp", "expiry")


@dataclass(frozen=True, slots=True)
class PreparedTask:
    """A validated task, ready for ``Store.add_task``."""

    name: str
    args: dict[str, Any]
    timestamp_ms: int
    expiry_ms: int | None


def _date_ms(value: Any, what: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        ms = parse_date(value)
        if ms is not None:
            return ms
    raise ValueError(f"{what} must be a date (ISO 8601) or epoch milliseconds, not {value!r}")


def prepare_task(doc: Any, device_id: str, *, now_ms: int | None = None) -> PreparedTask:
    """Validate a GenieACS task document.

    Args:
        doc: the decoded JSON body: ``{"name": ..., <fields>, "timestamp"?, "expiry"?}``.
        device_id: the device it is for.
        now_ms: the default timestamp (default: now).

    Returns:
        The task's name, its fields (``_id``/``device``/``timestamp``/``expiry`` removed),
        timestamp and absolute expiry (``expiry`` is seconds after the timestamp, or a
        date).

    Raises:
        ValueError: the reason the task is invalid (what ``task_provisions`` says).
    """
    if not isinstance(doc, Mapping):
        raise ValueError("a task must be a JSON object with a name")
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a task needs a name")
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    timestamp = now if doc.get("timestamp") is None else _date_ms(doc["timestamp"], "timestamp")
    expiry: int | None = None
    raw_expiry = doc.get("expiry")
    if isinstance(raw_expiry, int | float) and not isinstance(raw_expiry, bool):
        expiry = timestamp + int(raw_expiry * 1000)
    elif raw_expiry is not None:
        expiry = _date_ms(raw_expiry, "expiry")
    args = {str(k): v for k, v in doc.items() if k not in _RESERVED}
    task_provisions(Task("", device_id, name, args, timestamp, expiry))
    return PreparedTask(name, args, timestamp, expiry)


def task_document(task: Task) -> dict[str, Any]:
    """A stored task as GenieACS's task document."""
    return collection_document("tasks", {
        "id": task.id, "name": task.name, "device_id": task.device_id, "args": task.args,
        "timestamp": task.timestamp_ms, "expiry": task.expiry_ms,
    })


def _reason(text: str) -> str:
    """A status text fit for an HTTP status line (one line, printable, short)."""
    line = " ".join(text.split())
    return "".join(ch for ch in line if ch.isprintable())[:200] or "Error"


class _SessionWatch:
    """SessionStarted/SessionEnded of one device, from the moment it is created."""

    def __init__(self, engine: Engine, device_id: str) -> None:
        self.started = asyncio.Event()
        self.ended = asyncio.Event()
        self._device_id = device_id

        def seen(event: SessionStarted | SessionEnded) -> None:
            if event.device_id != self._device_id:
                return
            if isinstance(event, SessionStarted):
                self.started.set()
                self.ended.clear()
            elif self.started.is_set():
                self.ended.set()

        self.close = engine.bus.subscribe(seen, SessionStarted, SessionEnded)


def _in_session(engine: Engine, device_id: str) -> bool:
    return bool(engine.cwmp and engine.cwmp.session_of_device(device_id))


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), max(0.0, seconds))
    except TimeoutError:
        return False
    return True


def _json(doc: Any, status: int, reason: str | None = None) -> web.Response:
    return web.json_response(doc, status=status, reason=_reason(reason) if reason else None)


async def _connection_request_only(
    engine: Engine, device_id: str, wait_s: float
) -> web.Response:
    watch = _SessionWatch(engine, device_id)
    try:
        try:
            done = await engine.connection_request(device_id, wait_for_session=False)
        except DeviceUnknown as exc:
            return _json({"error": str(exc)}, 504, str(exc))
        if not done.ok:
            return _json({"error": done.message}, 504, done.message)
        if done.session_started or await _wait(watch.started, wait_s):
            return _json({"message": "Connection request succeeded"}, 200)
        text = "Device accepted the connection request but did not start a session in time"
        return _json({"error": text}, 504, text)
    finally:
        watch.close()


async def submit_task(
    engine: Engine,
    device_id: str,
    body: bytes,
    *,
    connection_request: bool,
    timeout_ms: int | None,
) -> web.Response:
    """Carry out ``POST /devices/<id>/tasks`` (see the module docstring).

    Raises:
        web.HTTPNotFound: the device is unknown.
        ValueError: the body is not a valid task (the NBI answers 400).
    """
    store = engine.store
    if store is None or await store.get_device(device_id) is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no device {device_id!r}"}),
            content_type="application/json",
        )
    wait_s = (engine.config.device_online_threshold_ms if timeout_ms is None else timeout_ms) / 1000
    text = body.decode("utf-8", errors="strict").strip() if body else ""
    if not text:
        if not connection_request:
            raise ValueError("the body must be a task (a JSON object with a name)")
        return await _connection_request_only(engine, device_id, wait_s)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the task is not valid JSON: {exc}") from exc
    prepared = prepare_task(doc, device_id)

    async def insert() -> Task:
        task = await store.add_task(
            device_id, prepared.name, prepared.args,
            timestamp_ms=prepared.timestamp_ms, expiry_ms=prepared.expiry_ms,
        )
        log.info("task %s (%s) queued for %s", task.id, task.name, device_id)
        return task

    if not connection_request:
        return _json(task_document(await insert()), 202)
    deadline = time.monotonic() + SESSION_LOCK_WAIT_S
    while _in_session(engine, device_id) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if _in_session(engine, device_id):
        return _json(task_document(await insert()), 202, QUEUED)
    watch = _SessionWatch(engine, device_id)
    try:
        task = await insert()
        try:
            done = await engine.connection_request(device_id, wait_for_session=False)
        except DeviceUnknown as exc:
            return _json(task_document(task), 202, str(exc))
        if not done.ok:
            return _json(task_document(task), 202, done.message)
        if not await _wait(watch.started, wait_s):
            return _json(task_document(task), 202, QUEUED)
        await _wait(watch.ended, SESSION_END_WAIT_S)
        if await store.get_task(task.id) is None:
            return _json(task_document(task), 200)
        if await store.get_fault(fault_id(device_id, task_channel(task.id))) is not None:
            return _json(task_document(task), 202, FAULTED)
        return _json(task_document(task), 202, QUEUED)
    finally:
        watch.close()
