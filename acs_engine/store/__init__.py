"""The device database: SQLite through aiosqlite.

Every statement the engine runs goes through :class:`Store` (one writer connection, one
reader). Two other modules build SQL *conditions* but never run them:
:mod:`acs_engine.expression.sql` (the device search) and :mod:`acs_engine.server.nbi_query`
(GenieACS NBI queries); both hand their fragment and its parameters to the store.
"""

from .db import Store
from .deviceid import make_device_id
from .errors import StoreError
from .genieacs import preset_from_genieacs, preset_to_genieacs
from .model import CommitExtras, DeviceRecord, Param, SessionCommit, SessionRecord, TraceEntry
from .queries import DeviceSummary
from .records import (
    Fault,
    FileRecord,
    Operation,
    Preset,
    Provision,
    Task,
    VirtualParameter,
    fault_id,
    task_channel,
)

__all__ = [
    "CommitExtras",
    "DeviceRecord",
    "DeviceSummary",
    "Fault",
    "FileRecord",
    "Operation",
    "Param",
    "Preset",
    "Provision",
    "SessionCommit",
    "SessionRecord",
    "Store",
    "StoreError",
    "Task",
    "TraceEntry",
    "VirtualParameter",
    "fault_id",
    "make_device_id",
    "preset_from_genieacs",
    "preset_to_genieacs",
    "task_channel",
]
