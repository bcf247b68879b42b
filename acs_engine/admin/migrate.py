"""Move devices to another ACS: set ``ManagementServer.URL``, then follow who really went.

:func:`start_migration` queues, for each device, a ``setParameterValues`` task that points
its ``ManagementServer.URL`` (``InternetGatewayDevice.`` for TR-098, ``Device.`` for TR-181)
at the new ACS, and keeps the list (with the task ids) in the database's settings, so the
tracking survives a restart. The CPE applies it in its next session (a connection request
makes that now) and from then on informs the new ACS.

:func:`migration_status` says where each device stands:

- ``waiting``: the task is queued; the device has not had a session since;
- ``failed``: the task faulted (the CPE refused the URL, ...): not moved;
- ``switched``: the URL was set and the device has not informed here since; it is confirmed
  as ``moved`` when the new ACS's NBI is given and knows it with an inform after the switch;
- ``moved``: seen at the new ACS after the switch;
- ``came back``: it informed here after the switch (it could not reach the new ACS, or
  someone set it back): not moved;
- ``lost``: the task is gone but the URL was not set (the task was deleted).

Rolling back is the same action towards the old URL, run on the new ACS (docs/scaling.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from acs_engine.store.db import Store
from acs_engine.store.records import fault_id, task_channel

__all__ = [
    "DONE", "NOT_MOVED", "DeviceMove", "Migration", "MigrationError", "load_migration",
    "management_url_path", "migration_status", "start_migration",
]

#: Devices asked about in one request to the new ACS's NBI.
NBI_BATCH = 50
#: Most bytes read from the new ACS's NBI for one batch (ids and dates only were asked for).
MAX_ANSWER_BYTES = 1024 * 1024
#: Where the latest migration is kept (the settings table).
SETTING = "migration.latest"
#: States that mean the device did not move.
NOT_MOVED = frozenset({"failed", "came back", "lost"})
#: States that end the tracking of a device (a moved one is still watched: an inform here
#: later means it did not stay).
DONE = NOT_MOVED
_ROOTS = ("InternetGatewayDevice", "Device")


class MigrationError(ValueError):
    """The migration cannot start (bad URL, no device); nothing was queued."""


@dataclass(slots=True)
class DeviceMove:
    """One device of a migration and where it stands (see the module's states)."""

    device_id: str
    task_id: str
    state: str = "waiting"
    detail: str = ""
    #: When the URL was set here (ms), once known.
    switched_at: int | None = None


@dataclass(slots=True)
class Migration:
    """A batch of devices sent to ``url`` at ``started`` (ms)."""

    url: str
    started: int
    moves: list[DeviceMove] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"url": self.url, "started": self.started,
                           "devices": {m.device_id: m.task_id for m in self.moves}})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for move in self.moves:
            out[move.state] = out.get(move.state, 0) + 1
        return out


def check_acs_url(url: str) -> str:
    """``url`` stripped; raises MigrationError unless it is an http(s) URL with a host."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MigrationError(f"the new ACS URL must be http(s)://host[:port]/…, not {url!r}")
    if any(c.isspace() for c in url) or len(url) > 256:
        raise MigrationError("the new ACS URL must be one line of at most 256 characters")
    return url


async def management_url_path(store: Store, device_id: str) -> str | None:
    """The device's ``ManagementServer.URL`` path (its data model's root), or None."""
    for root in _ROOTS:
        path = f"{root}.ManagementServer.URL"
        if await store.load_param_values(device_id, [path]):
            return path
    device = await store.get_device(device_id)
    if device is None:
        return None
    params = await store.load_param_values(device_id, [f"{r}." for r in _ROOTS])
    for root in _ROOTS:
        if f"{root}." in params:
            return f"{root}.ManagementServer.URL"
    return None


async def start_migration(store: Store, device_ids: Sequence[str], url: str) -> Migration:
    """Queue the URL change for ``device_ids`` and remember the batch.

    Devices whose data model is unknown (no stored ``ManagementServer.URL`` or root) are
    listed as ``failed`` without a task.

    Raises:
        MigrationError: bad URL or no device given (nothing queued).
    """
    url = check_acs_url(url)
    if not device_ids:
        raise MigrationError("no device selected")
    migration = Migration(url, time.time_ns() // 1_000_000)
    for device_id in dict.fromkeys(device_ids):
        path = await management_url_path(store, device_id)
        if path is None:
            migration.moves.append(DeviceMove(
                device_id, "", "failed", "its data model is not known here (no session yet?)"))
            continue
        task = await store.add_task(
            device_id, "setParameterValues",
            {"parameterValues": [[path, url, "xsd:string"]]},
        )
        migration.moves.append(DeviceMove(device_id, task.id))
    await store.set_setting(SETTING, migration.to_json())
    return migration


async def load_migration(store: Store) -> Migration | None:
    """The latest migration started on this database, or None."""
    raw = await store.get_setting(SETTING)
    if not raw:
        return None
    try:
        doc = json.loads(raw)
        moves = [DeviceMove(str(d), str(t)) for d, t in dict(doc["devices"]).items()]
        return Migration(str(doc["url"]), int(doc["started"]), moves)
    except (ValueError, KeyError, TypeError):
        return None


async def _seen_at_new_acs(
    nbi_url: str, token: str | None, device_ids: Iterable[str], timeout: float
) -> dict[str, int]:
    """Last inform (ms) of each of ``device_ids`` the new ACS's NBI knows (asked in batches
    of :data:`NBI_BATCH`, so no request line grows past what an HTTP server accepts)."""
    ids = list(device_ids)
    out: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(
        headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as http:
        for start in range(0, len(ids), NBI_BATCH):
            query = json.dumps({"_id": {"$in": ids[start:start + NBI_BATCH]}})
            async with http.get(
                nbi_url.rstrip("/") + "/devices/",
                params={"query": query, "projection": "_id,_lastInform"},
            ) as resp:
                if resp.status != 200:
                    raise MigrationError(f"the new ACS's NBI answered HTTP {resp.status}")
                raw = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    raw += chunk
                    if len(raw) > MAX_ANSWER_BYTES:
                        raise MigrationError(f"the new ACS's NBI answered more than "
                                             f"{MAX_ANSWER_BYTES} bytes for {NBI_BATCH} devices")
            try:
                docs = json.loads(raw.decode("utf-8"))
            except ValueError as exc:
                raise MigrationError(f"the new ACS's NBI did not answer JSON: {exc}") from exc
            asked = set(ids[start:start + NBI_BATCH])
            for doc in docs if isinstance(docs, list) else []:
                if isinstance(doc, dict) and doc.get("_id") in asked:
                    out[doc["_id"]] = _ms(doc.get("_lastInform"))
    return out


def _ms(value: Any) -> int:
    """A GenieACS date (ISO text or ms) as ms; 0 when missing or unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        from datetime import datetime

        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return 0
    return 0


async def migration_status(
    store: Store, migration: Migration, *, nbi_url: str | None = None,
    token: str | None = None, timeout: float = 10.0,
) -> Migration:
    """Update each device's state (see the module); returns ``migration``.

    Args:
        nbi_url: the new ACS's NBI, to confirm ``switched`` devices as ``moved``.
        token: its bearer token.

    Raises:
        MigrationError: the new ACS's NBI could not be asked (the states read here are
            still updated).
    """
    for move in migration.moves:
        if not move.task_id or move.state in DONE:
            continue
        fault = await store.get_fault(fault_id(move.device_id, task_channel(move.task_id)))
        if fault is not None:
            move.state, move.detail = "failed", f"{fault.code}: {fault.message}"
            continue
        if await store.get_task(move.task_id) is not None:
            move.state, move.detail = "waiting", "the task waits for the device's next session"
            continue
        path = await management_url_path(store, move.device_id)
        params = await store.load_param_values(move.device_id, [path] if path else [])
        param = params.get(path) if path else None
        device = await store.get_device(move.device_id)
        if device is None:
            move.state, move.detail = "lost", "the device was deleted here"
            continue
        if param is None or param.value != migration.url:
            if (device.last_inform_ms or 0) > migration.started:
                move.state = "came back"
                move.detail = (f"it informs here, its URL is "
                               f"{param.value if param is not None else 'unknown'!s}")
            else:
                move.state, move.detail = "lost", "the task is gone and the URL was not set"
            continue
        move.switched_at = param.value_ts_ms or migration.started
        if (device.last_inform_ms or 0) > move.switched_at:
            move.state, move.detail = "came back", "it informed here after the switch"
            continue
        move.state, move.detail = "switched", "URL set; not seen here since"
    if nbi_url:
        await confirm_at_new_acs(migration, nbi_url, token=token, timeout=timeout)
    return migration


async def confirm_at_new_acs(
    migration: Migration, nbi_url: str, *, token: str | None = None, timeout: float = 10.0,
) -> Migration:
    """Mark the ``switched`` devices the new ACS's NBI has seen since as ``moved`` (no store:
    a remote console runs this itself, so the engine never fetches a URL a peer gave it).

    Raises:
        MigrationError: the NBI URL is not http(s), or it could not be asked.
    """
    if nbi_url:
        parts = urlsplit(nbi_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MigrationError(f"the new ACS's NBI must be http(s)://host:port, not {nbi_url!r}")
        switched = {m.device_id: m for m in migration.moves if m.state == "switched"}
        try:
            seen = await _seen_at_new_acs(nbi_url, token, switched, timeout)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise MigrationError(f"cannot ask the new ACS: {exc}") from exc
        for device_id, last in seen.items():
            move = switched[device_id]
            if last >= (move.switched_at or 0):
                move.state, move.detail = "moved", "informed the new ACS"
    return migration
