"""The device database: SQLite through aiosqlite. The only package that writes SQL."""

from .db import Store
from .deviceid import make_device_id
from .errors import StoreError
from .model import DeviceRecord, Param, SessionCommit, SessionRecord, TraceEntry
from .queries import DeviceSummary

__all__ = [
    "DeviceRecord",
    "DeviceSummary",
    "Param",
    "SessionCommit",
    "SessionRecord",
    "Store",
    "StoreError",
    "TraceEntry",
    "make_device_id",
]
