"""SQL text and row conversions for presets, provisions, virtual parameters, config, tasks,
faults, operations, file metadata and preset verdicts (the device tables are in ``queries``).

Each statement sits next to the function that turns a record into its parameters, or a row
back into a record, so column order is written down once. JSON columns hold compact JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .records import Fault, FileRecord, Operation, Preset, PresetVerdict, SessionVerdicts, Task
from .upsert import upsert

Row = Sequence[Any]

#: The settings row that persists the provisioning revision counter.
REVISION_KEY = "provisioning.revision"


def dumps(value: Any) -> str:
    """Compact JSON text of a value (non-ASCII kept as is)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sql_literal(value: str | int | None) -> str:
    """An SQL literal of a string, integer or NULL (for migration statements only)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


BUMP_REVISION = (
    "INSERT INTO settings (key, value) VALUES (?, '1') "
    "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value"
)
SELECT_REVISION = "SELECT value FROM settings WHERE key = ?"

# --------------------------------------------------------------------------- presets

PRESET_COLUMNS = "id, weight, channel, events, schedule, precondition, provisions, configurations"
UPSERT_PRESET = upsert("presets", PRESET_COLUMNS, "id")
SELECT_PRESETS = f"SELECT {PRESET_COLUMNS} FROM presets ORDER BY weight, id"
SELECT_PRESET = f"SELECT {PRESET_COLUMNS} FROM presets WHERE id = ?"


def preset_row(preset: Preset) -> tuple[Any, ...]:
    """Parameters for ``UPSERT_PRESET``."""
    return (
        preset.id,
        preset.weight,
        preset.channel,
        dumps(preset.events),
        preset.schedule,
        preset.precondition,
        dumps(preset.provisions),
        None if preset.configurations is None else dumps(preset.configurations),
    )


def preset_from_row(row: Row) -> Preset:
    """A ``Preset`` from a ``SELECT_PRESET(S)`` row."""
    return Preset(
        id=row[0],
        weight=row[1],
        channel=row[2],
        events=json.loads(row[3]),
        schedule=row[4],
        precondition=row[5],
        provisions=json.loads(row[6]),
        configurations=None if row[7] is None else json.loads(row[7]),
    )


# --------------------------------------------------------------------------- scripts

#: Tables of (id, script) records, by the name the API uses.
SCRIPT_TABLES = ("provisions", "virtual_parameters")


def upsert_script(table: str) -> str:
    """The upsert of an (id, script) row into ``table`` (one of ``SCRIPT_TABLES``)."""
    assert table in SCRIPT_TABLES
    return (
        f"INSERT INTO {table} (id, script) VALUES (?, ?) "
        "ON CONFLICT (id) DO UPDATE SET script = excluded.script"
    )


# --------------------------------------------------------------------------- tasks

TASK_COLUMNS = "id, device_id, name, args, timestamp, expiry"
INSERT_TASK = f"INSERT INTO tasks ({TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
_TASK_ORDER = "ORDER BY timestamp, rowid"
SELECT_TASKS = f"SELECT {TASK_COLUMNS} FROM tasks {_TASK_ORDER}"
SELECT_DEVICE_TASKS = f"SELECT {TASK_COLUMNS} FROM tasks WHERE device_id = ? {_TASK_ORDER}"
SELECT_TASK = f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?"
DELETE_TASK = "DELETE FROM tasks WHERE id = ?"
DELETE_EXPIRED_TASKS = (
    f"DELETE FROM tasks WHERE device_id = ? AND expiry IS NOT NULL AND expiry < ? "
    f"RETURNING {TASK_COLUMNS}"
)
SELECT_DUE_TASKS = (
    f"SELECT {TASK_COLUMNS} FROM tasks WHERE device_id = ? AND timestamp <= ? {_TASK_ORDER}"
)


def task_row(task: Task) -> tuple[Any, ...]:
    """Parameters for ``INSERT_TASK``."""
    return (task.id, task.device_id, task.name, dumps(task.args), task.timestamp_ms, task.expiry_ms)


def task_from_row(row: Row) -> Task:
    """A ``Task`` from a ``SELECT_*TASK*`` row."""
    return Task(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5])


# --------------------------------------------------------------------------- faults

FAULT_COLUMNS = (
    "id, device_id, channel, timestamp, code, message, detail, retries, expiry, provisions, "
    "precondition"
)
UPSERT_FAULT = upsert("faults", FAULT_COLUMNS, "id")
# Expired means expiry < now: the way round GenieACS's comment meant (its loader drops the
# faults that have *not* expired yet).
DELETE_EXPIRED_FAULTS = "DELETE FROM faults WHERE expiry IS NOT NULL AND expiry < ?"
DELETE_EXPIRED_DEVICE_FAULTS = (
    "DELETE FROM faults WHERE device_id = ? AND expiry IS NOT NULL AND expiry < ?"
)
SELECT_FAULTS = f"SELECT {FAULT_COLUMNS} FROM faults ORDER BY device_id, timestamp, id"
SELECT_DEVICE_FAULTS = f"SELECT {FAULT_COLUMNS} FROM faults WHERE device_id = ? ORDER BY timestamp, id"
SELECT_FAULT = f"SELECT {FAULT_COLUMNS} FROM faults WHERE id = ?"
DELETE_FAULT = "DELETE FROM faults WHERE id = ?"


def fault_row(fault: Fault) -> tuple[Any, ...]:
    """Parameters for ``UPSERT_FAULT``."""
    return (
        fault.id,
        fault.device_id,
        fault.channel,
        fault.timestamp_ms,
        fault.code,
        fault.message,
        None if fault.detail is None else dumps(fault.detail),
        fault.retries,
        fault.expiry_ms,
        dumps(fault.provisions),
        int(fault.precondition),
    )


def fault_from_row(row: Row) -> Fault:
    """A ``Fault`` from a ``SELECT_*FAULT*`` row."""
    return Fault(
        id=row[0],
        device_id=row[1],
        channel=row[2],
        timestamp_ms=row[3],
        code=row[4],
        message=row[5],
        detail=None if row[6] is None else json.loads(row[6]),
        retries=row[7],
        expiry_ms=row[8],
        provisions=json.loads(row[9]),
        precondition=bool(row[10]),
    )


# --------------------------------------------------------------------------- operations

OPERATION_COLUMNS = "device_id, command_key, name, timestamp, args"
UPSERT_OPERATION = upsert("operations", OPERATION_COLUMNS, "device_id, command_key")
SELECT_OPERATIONS = (
    f"SELECT {OPERATION_COLUMNS} FROM operations WHERE device_id = ? ORDER BY timestamp, command_key"
)
SELECT_OLD_OPERATIONS = (
    f"SELECT {OPERATION_COLUMNS} FROM operations WHERE timestamp < ? "
    "ORDER BY timestamp, device_id, command_key"
)
DELETE_OPERATION = "DELETE FROM operations WHERE device_id = ? AND command_key = ?"


def operation_row(op: Operation) -> tuple[Any, ...]:
    """Parameters for ``UPSERT_OPERATION``."""
    return (op.device_id, op.command_key, op.name, op.timestamp_ms, dumps(op.args))


def operation_from_row(row: Row) -> Operation:
    """An ``Operation`` from a ``SELECT_*OPERATIONS`` row."""
    return Operation(row[0], row[1], row[2], row[3], json.loads(row[4]))


# --------------------------------------------------------------------------- files

FILE_COLUMNS = "name, size, md5, file_type, oui, product_class, version, uploaded"
UPSERT_FILE = upsert("files", FILE_COLUMNS, "name")
SELECT_FILES = f"SELECT {FILE_COLUMNS} FROM files ORDER BY name"
SELECT_FILE = f"SELECT {FILE_COLUMNS} FROM files WHERE name = ?"


def file_row(record: FileRecord) -> tuple[Any, ...]:
    """Parameters for ``UPSERT_FILE``."""
    return (
        record.name,
        record.size,
        record.md5,
        record.file_type,
        record.oui,
        record.product_class,
        record.version,
        record.uploaded_ms,
    )


def file_from_row(row: Row) -> FileRecord:
    """A ``FileRecord`` from a ``SELECT_FILE(S)`` row."""
    return FileRecord(*row)


# --------------------------------------------------------------------------- preset verdicts

UPSERT_VERDICTS = upsert("preset_verdicts", "device_id, session_id, at, verdicts", "device_id")
SELECT_VERDICTS = "SELECT device_id, session_id, at, verdicts FROM preset_verdicts WHERE device_id = ?"


def verdicts_row(
    device_id: str, session_id: str, at: int, verdicts: Sequence[PresetVerdict]
) -> tuple[Any, ...]:
    """Parameters for ``UPSERT_VERDICTS``."""
    return (
        device_id,
        session_id,
        at,
        dumps([
            [v.preset, v.channel, bool(v.matched), v.reason, *([list(v.notes)] if v.notes else [])]
            for v in verdicts
        ]),
    )


def verdicts_from_row(row: Row) -> SessionVerdicts:
    """A ``SessionVerdicts`` from a ``SELECT_VERDICTS`` row."""
    return SessionVerdicts(
        row[0], row[1], row[2],
        tuple(
            PresetVerdict(
                str(v[0]), str(v[1]), bool(v[2]), str(v[3]),
                tuple(str(n) for n in v[4]) if len(v) > 4 else (),  # notes: schema v3 rows too
            )
            for v in json.loads(row[3])
        ),
    )
