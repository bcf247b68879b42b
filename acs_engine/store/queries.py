"""SQL text and the conversions between records and rows.

Every statement the store runs on a device, parameter, session or trace lives here, next to
the function that turns a record into that statement's parameters (or a row back into a
record), so that column order is written down once.
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import aiosqlite

from acs_engine.kinds import Direction, SessionOutcome

from .model import DeviceRecord, Param, SessionRecord, TraceEntry
from .upsert import upsert

Row = Sequence[Any]

# --------------------------------------------------------------------------- devices

DEVICE_COLUMNS = (
    "id, manufacturer, oui, product_class, serial_number, registered, last_inform, last_boot, "
    "last_bootstrap, tags, remote_address, cwmp_version"
)

UPSERT_DEVICE = upsert("devices", DEVICE_COLUMNS, "id", keep=("registered",))

SELECT_DEVICE = f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?"

SUMMARY_COLUMNS = (
    "id, oui, product_class, serial_number, last_inform, registered, param_count, tags, "
    "software_version, remote_address"
)

LIST_DEVICES = f"SELECT {SUMMARY_COLUMNS} FROM devices ORDER BY id LIMIT ? OFFSET ?"


def encode_tags(tags: set[str] | frozenset[str]) -> str:
    """Tags as stored: a sorted JSON array."""
    return json.dumps(sorted(tags), ensure_ascii=False)


def decode_tags(text: str) -> set[str]:
    """The inverse of ``encode_tags``."""
    return set(json.loads(text))


def device_row(device: DeviceRecord, tags: set[str] | None = None) -> tuple[Any, ...]:
    """Parameters for ``UPSERT_DEVICE``; ``tags``, when given, replaces ``device.tags``."""
    return (
        device.id,
        device.manufacturer,
        device.oui,
        device.product_class,
        device.serial_number,
        device.registered_ms,
        device.last_inform_ms,
        device.last_boot_ms,
        device.last_bootstrap_ms,
        encode_tags(device.tags if tags is None else tags),
        device.remote_address,
        device.cwmp_version,
    )


def device_from_row(row: Row) -> DeviceRecord:
    """A ``DeviceRecord`` from a ``SELECT_DEVICE`` row."""
    return DeviceRecord(
        id=row[0],
        manufacturer=row[1],
        oui=row[2],
        product_class=row[3],
        serial_number=row[4],
        registered_ms=row[5],
        last_inform_ms=row[6],
        last_boot_ms=row[7],
        last_bootstrap_ms=row[8],
        tags=decode_tags(row[9]),
        remote_address=row[10],
        cwmp_version=row[11],
    )


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    """One line of the device list: the device's fields plus two figures kept up to date
    by the store (so listing never scans parameters).

    Attributes:
        id: the device id.
        oui: ``DeviceId/OUI``.
        product_class: ``DeviceId/ProductClass``.
        serial_number: ``DeviceId/SerialNumber``.
        last_inform_ms: last Inform time (ms since the epoch), or None.
        registered_ms: first-seen time (ms since the epoch).
        param_count: how many leaf parameters (not object nodes) the store holds.
        tags: the device's tags.
        software_version: ``DeviceInfo.SoftwareVersion`` (TR-098 or TR-181), or "".
        remote_address: the address the last session came from.
    """

    id: str
    oui: str
    product_class: str
    serial_number: str
    last_inform_ms: int | None
    registered_ms: int
    param_count: int
    tags: frozenset[str]
    software_version: str
    remote_address: str


def summary_from_row(row: Row) -> DeviceSummary:
    """A ``DeviceSummary`` from a ``LIST_DEVICES`` row."""
    return DeviceSummary(
        id=row[0],
        oui=row[1],
        product_class=row[2],
        serial_number=row[3],
        last_inform_ms=row[4],
        registered_ms=row[5],
        param_count=row[6],
        tags=frozenset(json.loads(row[7])),
        software_version=row[8],
        remote_address=row[9],
    )


# --------------------------------------------------------------------------- params

PARAM_COLUMNS = (
    "path, value, type, value_ts, object, writable, writable_ts, notification, access_list, "
    "attr_ts, exist_ts"
)

# ON CONFLICT DO UPDATE, not INSERT OR REPLACE: REPLACE would fire the insert trigger
# (counting the parameter twice) without firing the delete trigger.
UPSERT_PARAM = f"""
INSERT INTO params (device_id, {PARAM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (device_id, path) DO UPDATE SET
    value = excluded.value,
    type = excluded.type,
    value_ts = excluded.value_ts,
    object = excluded.object,
    writable = excluded.writable,
    writable_ts = excluded.writable_ts,
    notification = excluded.notification,
    access_list = excluded.access_list,
    attr_ts = excluded.attr_ts,
    exist_ts = excluded.exist_ts
"""

DELETE_PARAM = "DELETE FROM params WHERE device_id = ? AND path = ?"
DELETE_PARAM_RANGE = "DELETE FROM params WHERE device_id = ? AND path >= ? AND path < ?"

SELECT_PARAMS = f"SELECT {PARAM_COLUMNS} FROM params WHERE device_id = ?"
SELECT_PARAMS_RANGE = (
    f"SELECT {PARAM_COLUMNS} FROM params WHERE device_id = ? AND path >= ? AND path < ?"
)
SELECT_PARAMS_FROM = f"SELECT {PARAM_COLUMNS} FROM params WHERE device_id = ? AND path >= ?"
SELECT_PARAM_VALUES = (
    f"SELECT {PARAM_COLUMNS} FROM params "
    "WHERE device_id = ? AND path IN (SELECT value FROM json_each(?))"
)


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix``.

    SQLite compares TEXT with memcmp over UTF-8, which orders like code points, so bumping
    the last character gives an exclusive upper bound: ``"A.B."`` -> ``"A.B/"``. The range
    ``prefix <= path < bound`` then uses the primary key index and, unlike LIKE, treats
    ``%`` and ``_`` in names as ordinary characters.

    Returns:
        The bound, or None when there is none (an empty prefix, or one that ends in the
        highest code point), meaning "no upper limit".
    """
    stripped = prefix
    while stripped and stripped[-1] == "\U0010ffff":
        stripped = stripped[:-1]
    if not stripped:
        return None
    last = ord(stripped[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # skip the surrogate block, which UTF-8 cannot hold
        last = 0xE000
    return stripped[:-1] + chr(last)


def param_row(device_id: str, param: Param) -> tuple[Any, ...]:
    """Parameters for ``UPSERT_PARAM``."""
    access = param.access_list
    return (
        device_id,
        param.path,
        param.value,
        param.type,
        param.value_ts_ms,
        param.object,
        param.writable,
        param.writable_ts_ms,
        param.notification,
        None if access is None else json.dumps(list(access), ensure_ascii=False),
        param.attr_ts_ms,
        param.exist_ts_ms,
    )


def _opt_bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def param_from_row(row: Row) -> Param:
    """A ``Param`` from a ``SELECT_PARAMS*`` row."""
    access = row[8]
    return Param(
        path=row[0],
        value=row[1],
        type=row[2],
        value_ts_ms=row[3],
        object=_opt_bool(row[4]),
        writable=_opt_bool(row[5]),
        writable_ts_ms=row[6],
        notification=row[7],
        access_list=None if access is None else tuple(json.loads(access)),
        attr_ts_ms=row[9],
        exist_ts_ms=row[10],
    )


# --------------------------------------------------------------------------- sessions, trace

SESSION_COLUMNS = (
    "id, device_id, started, ended, outcome, detail, remote, events, rpc_count, cwmp_version"
)

UPSERT_SESSION = upsert("sessions", SESSION_COLUMNS, "id")

SELECT_SESSIONS = (
    f"SELECT {SESSION_COLUMNS} FROM sessions WHERE device_id = ? "
    "ORDER BY started DESC, rowid DESC LIMIT ?"
)

# Keeps the newest N sessions of a device; trace rows go with them (ON DELETE CASCADE).
PRUNE_SESSIONS = """
DELETE FROM sessions WHERE id IN (
    SELECT id FROM sessions WHERE device_id = ?
    ORDER BY started DESC, rowid DESC LIMIT -1 OFFSET ?
)
"""

TRACE_COLUMNS = "session_id, seq, at, direction, rpc, cwmp_id, status, headers, body"

INSERT_TRACE = f"INSERT OR REPLACE INTO trace ({TRACE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

SELECT_TRACE = (
    "SELECT seq, at, direction, rpc, cwmp_id, status, headers, body FROM trace "
    "WHERE session_id = ? ORDER BY seq"
)


def session_row(session: SessionRecord) -> tuple[Any, ...]:
    """Parameters for ``UPSERT_SESSION``."""
    return (
        session.id,
        session.device_id,
        session.started_ms,
        session.ended_ms,
        session.outcome,
        session.detail,
        session.remote,
        json.dumps(list(session.events), ensure_ascii=False),
        session.rpc_count,
        session.cwmp_version,
    )


_E = TypeVar("_E", bound=enum.StrEnum)


def _known(kind: type[_E], value: str) -> _E:
    """``value`` as a member of ``kind``; a value no member has (written by a later version)
    is kept as the string it is (a ``StrEnum`` member compares equal to it anyway)."""
    try:
        return kind(value)
    except ValueError:
        return cast(_E, value)


def session_from_row(row: Row) -> SessionRecord:
    """A ``SessionRecord`` from a ``SELECT_SESSIONS`` row."""
    return SessionRecord(
        id=row[0],
        device_id=row[1],
        started_ms=row[2],
        ended_ms=row[3],
        outcome=_known(SessionOutcome, row[4]),
        detail=row[5],
        remote=row[6],
        events=tuple(json.loads(row[7])),
        rpc_count=row[8],
        cwmp_version=row[9],
    )


def trace_row(session_id: str, entry: TraceEntry) -> tuple[Any, ...]:
    """Parameters for ``INSERT_TRACE``."""
    return (
        session_id,
        entry.seq,
        entry.at_ms,
        entry.direction,
        entry.rpc,
        entry.cwmp_id,
        entry.status,
        json.dumps([list(pair) for pair in entry.headers], ensure_ascii=False),
        bytes(entry.body),
    )


def trace_from_row(row: Row) -> TraceEntry:
    """A ``TraceEntry`` from a ``SELECT_TRACE`` row."""
    return TraceEntry(
        seq=row[0],
        at_ms=row[1],
        direction=_known(Direction, row[2]),
        rpc=row[3],
        cwmp_id=row[4],
        status=row[5],
        headers=tuple((str(name), str(value)) for name, value in json.loads(row[6])),
        body=bytes(row[7]),
    )


# --------------------------------------------------------------------------- helpers


async def rollback_quietly(conn: aiosqlite.Connection) -> None:
    """Roll back the open transaction, if any; never raises for "no transaction"."""
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.OperationalError:
        pass
