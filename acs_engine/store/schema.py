"""The database schema as an ordered list of migrations, and the code that applies them.

The schema version lives in ``PRAGMA user_version``: version N means the first N entries of
``MIGRATIONS`` have been applied. To change the schema, append a ``Migration`` to the list;
never edit one that has shipped. Each migration runs in its own transaction together with
the version bump, so a crash mid-migration leaves the previous version intact.

``PRAGMA application_id`` marks the file as FieldACS's, so that pointing ``--db`` at another
program's SQLite file fails clearly instead of scribbling tables into it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from .errors import StoreError
from .history_schema import HISTORY_STATEMENTS
from .queries import rollback_quietly
from .rows import PRESET_COLUMNS, REVISION_KEY, preset_row, sql_literal
from .seeds import DEFAULT_PRESETS, DEFAULT_PROVISIONS

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SOFTWARE_VERSION_PATHS", "Migration", "migrate"]

log = logging.getLogger("fieldacs.store")

APPLICATION_ID = 0x46414353  # "FACS"

#: Parameters whose value is copied into ``devices.software_version`` by a trigger.
SOFTWARE_VERSION_PATHS = (
    "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
    "Device.DeviceInfo.SoftwareVersion",
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema's history.

    Attributes:
        description: what the step does, for the log.
        statements: SQL statements run in order inside one transaction.
    """

    description: str
    statements: tuple[str, ...]


_SV_PATHS_SQL = ", ".join(f"'{p}'" for p in SOFTWARE_VERSION_PATHS)

_V1 = Migration(
    "devices, parameters, sessions, wire traces, settings",
    (
        """CREATE TABLE devices (
            id TEXT PRIMARY KEY NOT NULL,
            manufacturer TEXT NOT NULL DEFAULT '',
            oui TEXT NOT NULL DEFAULT '',
            product_class TEXT NOT NULL DEFAULT '',
            serial_number TEXT NOT NULL DEFAULT '',
            registered INTEGER NOT NULL,
            last_inform INTEGER,
            last_boot INTEGER,
            last_bootstrap INTEGER,
            tags TEXT NOT NULL DEFAULT '[]',          -- JSON array of strings, sorted
            remote_address TEXT NOT NULL DEFAULT '',
            cwmp_version TEXT NOT NULL DEFAULT '',
            param_count INTEGER NOT NULL DEFAULT 0,   -- leaf parameters, kept by triggers
            software_version TEXT NOT NULL DEFAULT '' -- DeviceInfo.SoftwareVersion, by triggers
        ) WITHOUT ROWID""",
        """CREATE TABLE params (
            device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            value TEXT,
            type TEXT,
            value_ts INTEGER,
            object INTEGER,
            writable INTEGER,
            writable_ts INTEGER,
            notification INTEGER,
            access_list TEXT,                         -- JSON array of strings, or NULL
            attr_ts INTEGER,
            exist_ts INTEGER,
            PRIMARY KEY (device_id, path)
        ) WITHOUT ROWID""",
        """CREATE TRIGGER params_count_insert AFTER INSERT ON params
            WHEN substr(NEW.path, -1) <> '.'
            BEGIN
                UPDATE devices SET param_count = param_count + 1 WHERE id = NEW.device_id;
            END""",
        """CREATE TRIGGER params_count_delete AFTER DELETE ON params
            WHEN substr(OLD.path, -1) <> '.'
            BEGIN
                UPDATE devices SET param_count = param_count - 1 WHERE id = OLD.device_id;
            END""",
        f"""CREATE TRIGGER params_sw_insert AFTER INSERT ON params
            WHEN NEW.path IN ({_SV_PATHS_SQL})
            BEGIN
                UPDATE devices SET software_version = coalesce(NEW.value, '')
                WHERE id = NEW.device_id;
            END""",
        f"""CREATE TRIGGER params_sw_update AFTER UPDATE OF value ON params
            WHEN NEW.path IN ({_SV_PATHS_SQL})
            BEGIN
                UPDATE devices SET software_version = coalesce(NEW.value, '')
                WHERE id = NEW.device_id;
            END""",
        f"""CREATE TRIGGER params_sw_delete AFTER DELETE ON params
            WHEN OLD.path IN ({_SV_PATHS_SQL})
            BEGIN
                UPDATE devices SET software_version = '' WHERE id = OLD.device_id;
            END""",
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY NOT NULL,
            device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            started INTEGER NOT NULL,
            ended INTEGER,
            outcome TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '',
            remote TEXT NOT NULL DEFAULT '',
            events TEXT NOT NULL DEFAULT '[]',        -- JSON array of event codes
            rpc_count INTEGER NOT NULL DEFAULT 0,
            cwmp_version TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX sessions_device_started ON sessions (device_id, started)",
        # Bodies can be several KB, so this stays a rowid table (WITHOUT ROWID suits small rows).
        """CREATE TABLE trace (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            at INTEGER NOT NULL,
            direction TEXT NOT NULL,
            rpc TEXT NOT NULL DEFAULT '',
            cwmp_id TEXT,
            status INTEGER,
            headers TEXT NOT NULL DEFAULT '[]',       -- JSON array of [name, value] pairs
            body BLOB NOT NULL,
            PRIMARY KEY (session_id, seq)
        )""",
        """CREATE TABLE settings (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        ) WITHOUT ROWID""",
    ),
)



def _seed_statements() -> tuple[str, ...]:
    """INSERTs of the default presets and provisions (``seeds``), as literal SQL."""
    out = [
        f"INSERT INTO presets ({PRESET_COLUMNS}) VALUES ("
        + ", ".join(sql_literal(v) for v in preset_row(p))
        + ")"
        for p in DEFAULT_PRESETS
    ]
    out += [
        f"INSERT INTO provisions (id, script) VALUES ({sql_literal(p.id)}, {sql_literal(p.script)})"
        for p in DEFAULT_PROVISIONS
    ]
    out.append(
        f"INSERT INTO settings (key, value) VALUES ({sql_literal(REVISION_KEY)}, '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )
    return tuple(out)


# The default presets are inserted by this migration, so exactly once in a database's life:
# a technician who deletes them does not get them back on the next start.
_V2 = Migration(
    "presets, provisions, virtual parameters, config, tasks, faults, operations, files",
    (
        """CREATE TABLE presets (
            id TEXT PRIMARY KEY NOT NULL,
            weight INTEGER NOT NULL DEFAULT 0,
            channel TEXT NOT NULL DEFAULT 'default',
            events TEXT NOT NULL DEFAULT '{}',        -- JSON object: event name -> bool
            schedule TEXT,                            -- "<duration s> <cron>" or NULL
            precondition TEXT NOT NULL DEFAULT '',    -- expression (or legacy JSON query)
            provisions TEXT NOT NULL DEFAULT '[]',    -- JSON [[name, ...args]]
            configurations TEXT                       -- raw GenieACS JSON, or NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE provisions (
            id TEXT PRIMARY KEY NOT NULL,
            script TEXT NOT NULL
        )""",
        """CREATE TABLE virtual_parameters (
            id TEXT PRIMARY KEY NOT NULL,
            script TEXT NOT NULL
        )""",
        """CREATE TABLE config (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL                       -- an expression, e.g. cwmp.auth
        ) WITHOUT ROWID""",
        # A rowid table: rowid orders tasks queued in the same millisecond.
        """CREATE TABLE tasks (
            id TEXT PRIMARY KEY NOT NULL,
            device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            args TEXT NOT NULL,                       -- JSON: the task document as given
            timestamp INTEGER NOT NULL,
            expiry INTEGER
        )""",
        "CREATE INDEX tasks_device_timestamp ON tasks (device_id, timestamp)",
        """CREATE TABLE faults (
            id TEXT PRIMARY KEY NOT NULL,             -- "<device id>:<channel>"
            device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            timestamp INTEGER NOT NULL,
            code TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            detail TEXT,                              -- JSON or NULL
            retries INTEGER NOT NULL DEFAULT 0,
            expiry INTEGER,
            provisions TEXT NOT NULL DEFAULT '[]',    -- JSON [[name, ...args]]
            precondition INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX faults_device ON faults (device_id)",
        """CREATE TABLE operations (
            device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            command_key TEXT NOT NULL,
            name TEXT NOT NULL,
            timestamp INTEGER NOT NULL,
            args TEXT NOT NULL DEFAULT '{}',          -- JSON: provisions, channels, retries...
            PRIMARY KEY (device_id, command_key)
        ) WITHOUT ROWID""",
        "CREATE INDEX operations_timestamp ON operations (timestamp)",
        """CREATE TABLE files (
            name TEXT PRIMARY KEY NOT NULL,
            size INTEGER NOT NULL,
            md5 TEXT NOT NULL,
            file_type TEXT NOT NULL DEFAULT '',
            oui TEXT NOT NULL DEFAULT '',
            product_class TEXT NOT NULL DEFAULT '',
            version TEXT NOT NULL DEFAULT '',
            uploaded INTEGER NOT NULL
        ) WITHOUT ROWID""",
        *_seed_statements(),
    ),
)

# One row per device, replaced by every committed session, with the verdicts as one JSON
# array: they are always written and read whole (one upsert per session, no per-preset
# rows to delete and insert in the group commit), and nothing queries a single verdict.
# A rowid table: the JSON of many presets' reasons runs to kilobytes. ``session_id`` is no
# foreign key: sessions are pruned on their own schedule; the verdicts go with the device.
_V3 = Migration(
    "preset verdicts of each device's last session",
    (
        """CREATE TABLE preset_verdicts (
            device_id TEXT PRIMARY KEY NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            session_id TEXT NOT NULL,
            at INTEGER NOT NULL,                      -- the session's start (ms)
            verdicts TEXT NOT NULL DEFAULT '[]'       -- JSON [[preset, channel, matched, reason]]
        )""",
    ),
)

# GenieACS's ``objects`` collection: free-form JSON documents kept for NBI scripts (the
# document as given, with ``_id`` taken from the URL).
_V4 = Migration(
    "objects (GenieACS's free-form NBI documents)",
    (
        """CREATE TABLE objects (
            id TEXT PRIMARY KEY NOT NULL,
            doc TEXT NOT NULL DEFAULT '{}'            -- JSON object, without _id
        ) WITHOUT ROWID""",
    ),
)

_V5 = Migration("parameter history, its retention counters, snapshots", HISTORY_STATEMENTS)

#: Every schema version this build knows, oldest first. Append; never edit a shipped entry.
MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5)


async def _pragma_int(conn: aiosqlite.Connection, name: str) -> int:
    rows = list(await conn.execute_fetchall(f"PRAGMA {name}"))
    return int(rows[0][0])


async def migrate(
    conn: aiosqlite.Connection,
    path: Path,
    migrations: tuple[Migration, ...] = MIGRATIONS,
) -> int:
    """Bring the database up to the newest schema this build knows.

    Args:
        conn: an open connection in autocommit mode (``isolation_level=None``).
        path: the database file, for messages.
        migrations: the schema history; tests pass their own.

    Returns:
        The schema version after migrating.

    Raises:
        StoreError: the file belongs to another program or was made by a newer FieldACS.
        sqlite3.Error: a statement failed (the caller turns it into a StoreError).
    """
    known = len(migrations)
    app_id = await _pragma_int(conn, "application_id")
    version = await _pragma_int(conn, "user_version")
    if app_id not in (0, APPLICATION_ID):
        raise StoreError(
            f"{path} is an SQLite database of another program (application id {app_id:#x}), "
            "not a FieldACS database"
        )
    if version > known:
        raise StoreError(
            f"{path} was written by a newer FieldACS (database schema v{version}; this build "
            f"knows up to v{known}). Update FieldACS or open a different database."
        )
    if version == 0:
        rows = list(
            await conn.execute_fetchall(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            )
        )
        if rows[0][0]:
            raise StoreError(
                f"{path} is an SQLite database that FieldACS did not create; "
                "choose an empty or FieldACS database file"
            )
    while version < known:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated between our read and our lock.
            version = await _pragma_int(conn, "user_version")
            if version >= known:
                await conn.execute("COMMIT")
                break
            step = migrations[version]
            for statement in step.statements:
                await conn.execute(statement)
            version += 1
            await conn.execute(f"PRAGMA user_version = {version}")
            await conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            await conn.execute("COMMIT")
        except BaseException:
            await rollback_quietly(conn)
            raise
        log.info("database %s migrated to schema v%d: %s", path, version, step.description)
    return version
