"""The parameter history's tables and triggers (schema v4; see ``schema.MIGRATIONS``).

How a row gets written: ``Store._apply`` (the session commit) fills ``history_ctx`` with one
row per device of the batch (its session id and commit time) before writing parameters, and
empties it before COMMIT. Triggers on ``params`` compare each written row with the stored one
and, only when the value, type or writability differs (or the node appears or disappears),
insert one ``history`` row. An unchanged value costs one comparison of the old and new row
inside SQLite: no Python, no extra statement, no extra lookup.

Writes outside a session commit (a device deleted, its parameters cascading away) find no
``history_ctx`` row and record nothing. The first session of a device is recorded as the
device's starting point only (``history_ctx.initial``): its hundreds of "added" nodes are not
history.

``history_devices`` keeps each device's row count and an estimate of its bytes (kept by
triggers), so retention never has to count a large table, plus ``pruned_before``: the newest
time of a row retention removed, before which the tree cannot be rebuilt from history.

Kinds: 0 a value/type/writability changed, 1 a node appeared, 2 a node disappeared.
"""

from __future__ import annotations

__all__ = ["HISTORY_STATEMENTS", "KIND_ADDED", "KIND_CHANGED", "KIND_REMOVED"]

KIND_CHANGED = 0
KIND_ADDED = 1
KIND_REMOVED = 2

# The estimate of one row's bytes: its columns, the two index entries that repeat the path,
# and SQLite's per-row and per-cell overheads.
_ROW_BYTES = (
    "(3 * length({r}.path) + 2 * length({r}.device_id) + coalesce(length({r}.old_value), 0)"
    " + coalesce(length({r}.new_value), 0) + coalesce(length({r}.session_id), 0) + 48)"
)

_CTX = "(SELECT {col} FROM history_ctx WHERE device_id = {r}.device_id)"

HISTORY_STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,                      -- the session's commit time (ms)
        session_id TEXT,                          -- no foreign key: sessions are pruned sooner
        path TEXT NOT NULL,
        kind INTEGER NOT NULL,                    -- 0 changed, 1 added, 2 removed
        old_value TEXT,
        new_value TEXT,
        old_type TEXT,
        new_type TEXT,
        old_writable INTEGER,
        new_writable INTEGER
    )""",
    "CREATE INDEX history_device_path ON history (device_id, path, at)",
    "CREATE INDEX history_device_at ON history (device_id, at)",
    """CREATE TABLE history_ctx (
        device_id TEXT PRIMARY KEY NOT NULL,
        session_id TEXT,
        at INTEGER NOT NULL,
        initial INTEGER NOT NULL DEFAULT 0        -- 1: the device's first session
    ) WITHOUT ROWID""",
    """CREATE TABLE history_devices (
        device_id TEXT PRIMARY KEY NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        rows INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        pruned_before INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID""",
    """CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,                  -- kept when the device is deleted
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        source TEXT NOT NULL DEFAULT '',          -- what it was taken from, for people
        params TEXT NOT NULL,                     -- JSON {path: [value, type, writable]}
        UNIQUE (device_id, name)
    )""",
    # A value, type or writability that changed. A type or writability not known before
    # (NULL: learned for the first time) is not a change; a value learned is.
    f"""CREATE TRIGGER params_history_update AFTER UPDATE ON params
        WHEN (OLD.value IS NOT NEW.value
              OR (OLD.type IS NOT NULL AND OLD.type IS NOT NEW.type)
              OR (OLD.writable IS NOT NULL AND OLD.writable IS NOT NEW.writable))
            AND EXISTS (SELECT 1 FROM history_ctx WHERE device_id = NEW.device_id)
        BEGIN
            INSERT INTO history (device_id, at, session_id, path, kind, old_value, new_value,
                                 old_type, new_type, old_writable, new_writable)
            VALUES (NEW.device_id, {_CTX.format(col="at", r="NEW")},
                    {_CTX.format(col="session_id", r="NEW")}, NEW.path, 0, OLD.value,
                    NEW.value, OLD.type, NEW.type, OLD.writable, NEW.writable);
        END""",
    f"""CREATE TRIGGER params_history_insert AFTER INSERT ON params
        WHEN {_CTX.format(col="initial", r="NEW")} = 0
        BEGIN
            INSERT INTO history (device_id, at, session_id, path, kind, new_value, new_type,
                                 new_writable)
            VALUES (NEW.device_id, {_CTX.format(col="at", r="NEW")},
                    {_CTX.format(col="session_id", r="NEW")}, NEW.path, 1, NEW.value,
                    NEW.type, NEW.writable);
        END""",
    f"""CREATE TRIGGER params_history_delete AFTER DELETE ON params
        WHEN EXISTS (SELECT 1 FROM history_ctx WHERE device_id = OLD.device_id)
        BEGIN
            INSERT INTO history (device_id, at, session_id, path, kind, old_value, old_type,
                                 old_writable)
            VALUES (OLD.device_id, {_CTX.format(col="at", r="OLD")},
                    {_CTX.format(col="session_id", r="OLD")}, OLD.path, 2, OLD.value,
                    OLD.type, OLD.writable);
        END""",
    f"""CREATE TRIGGER history_count_insert AFTER INSERT ON history
        BEGIN
            INSERT INTO history_devices (device_id, rows, bytes)
            VALUES (NEW.device_id, 1, {_ROW_BYTES.format(r="NEW")})
            ON CONFLICT (device_id) DO UPDATE SET
                rows = rows + 1, bytes = bytes + excluded.bytes;
        END""",
    f"""CREATE TRIGGER history_count_delete AFTER DELETE ON history
        BEGIN
            UPDATE history_devices SET
                rows = rows - 1,
                bytes = bytes - {_ROW_BYTES.format(r="OLD")},
                pruned_before = max(pruned_before, OLD.at)
            WHERE device_id = OLD.device_id;
        END""",
)
