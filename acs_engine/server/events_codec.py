"""Versioned JSON for the engine's value types: bus events, store records and RPC messages.

The console attached to a remote engine receives the bus's events over a WebSocket
(:mod:`acs_engine.server.events_ws`) and sends RPCs for step mode over the NBI; both travel
as JSON made here. A value is an object with its type's name in ``"$t"`` and its fields::

    {"$t": "SessionEnded", "session_id": "s1", "device_id": "d", "at_ms": 1500,
     "outcome": "ok", "detail": "", "rpc_count": 2}

Tuples are JSON arrays; the few other containers are tagged: bytes ``{"$b": base64}``,
lists ``{"$list": [...]}``, sets ``{"$set": [...]}``, file paths ``{"$path": "..."}``. A dict's keys are strings.
:func:`decode` rebuilds exactly what :func:`encode` was given (a round trip is the identity)
and builds only the registered types (:data:`TYPES`): a peer cannot make the engine
construct anything else. Decoding errors raise :class:`CodecError`.

:data:`PROTOCOL_VERSION` is the version of this format and of the event stream; a console
refuses an engine whose version it does not speak (and says so).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from pathlib import Path, PurePath
from typing import Any

from acs_engine import bus
from acs_engine.admin.migrate import DeviceMove, Migration
from acs_engine.admin.treediff import Point
from acs_engine.config import EngineConfig
from acs_engine.console_api import DeviceFilter
from acs_engine.cwmp import rpc
from acs_engine.inspect import bundle, sessionfile
from acs_engine.policy.dryrun import DryRunResult
from acs_engine.policy.presets import PresetSetting
from acs_engine.reach.connreq import ConnReqResult
from acs_engine.reach.wake import ConnectionRequestDone
from acs_engine.scripting.model import ScriptFault
from acs_engine.server.auth import AuthFailure
from acs_engine.server.step_claim import StepHolderChanged
from acs_engine.session.step import StepPending, StepResolved
from acs_engine.store import model, records
from acs_engine.store.fleet import FleetView
from acs_engine.store.history import HistoryRow, PastTree, Snapshot
from acs_engine.store.queries import DeviceSummary

__all__ = ["PROTOCOL_VERSION", "TYPES", "CodecError", "decode", "dumps", "encode", "loads"]

#: Version of the JSON shapes and of the event stream's messages.
PROTOCOL_VERSION = 2

#: Nesting a decoded value may have (a peer's deeply nested JSON is refused).
MAX_DEPTH = 32


class CodecError(ValueError):
    """A JSON value that is not a valid encoding of a registered type."""


def _dataclasses_of(module: Any) -> list[type]:
    return [
        value for value in vars(module).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value)
        and value.__module__ == module.__name__
    ]


def _registry() -> dict[str, type]:
    found: list[tuple[str, type]] = [
        *(("", cls) for cls in _dataclasses_of(bus)),
        *(("rpc.", cls) for cls in _dataclasses_of(rpc)),
        *(("store.", cls) for cls in _dataclasses_of(records) + _dataclasses_of(model)),
        *(("bundle.", cls) for cls in _dataclasses_of(bundle)),
        *(("session_file.", cls) for cls in _dataclasses_of(sessionfile)),
        *(("", cls) for cls in (
            ConnReqResult, ConnectionRequestDone, DryRunResult, StepPending, StepResolved,
            StepHolderChanged, DeviceFilter, ScriptFault, AuthFailure, EngineConfig,
            PresetSetting, FleetView, HistoryRow, Snapshot, DeviceSummary, Point, PastTree,
            Migration, DeviceMove,
        )),
    ]
    table: dict[str, type] = {}
    for prefix, cls in found:
        name = prefix + cls.__name__
        if name in table:
            raise RuntimeError(f"two value types named {name}")  # pragma: no cover
        table[name] = cls
    return table


#: Type name -> class of every value the codec encodes and decodes: the bus's events by
#: their names, RPC messages as ``rpc.<Name>``, store records as ``store.<Name>``.
TYPES: dict[str, type] = _registry()
_NAMES: dict[type, str] = {cls: name for name, cls in TYPES.items()}


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data (dicts, lists, strings, numbers, booleans, None)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if isinstance(value, PurePath):
        return {"$path": str(value)}
    if isinstance(value, list):
        return {"$list": [encode(item) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(item) for item in sorted(value, key=repr)]}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CodecError(f"dict keys must be strings, not {type(key).__name__}")
            if key.startswith("$"):
                raise CodecError(f"dict key {key!r} is reserved")
            out[key] = encode(item)
        return out
    cls = type(value)
    name = _NAMES.get(cls)
    if name is not None:
        data: dict[str, Any] = {"$t": name}
        for f in dataclasses.fields(value):
            data[f.name] = encode(getattr(value, f.name))
        return data
    raise CodecError(f"cannot encode a {cls.__name__}")


def decode(data: Any, _depth: int = 0) -> Any:
    """The value :func:`encode` turned into ``data``.

    Raises:
        CodecError: an unknown type, a missing or unknown field, bad base64, too deep.
    """
    if _depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return tuple(decode(item, _depth + 1) for item in data)
    if not isinstance(data, dict):
        raise CodecError(f"unexpected JSON {type(data).__name__}")
    if "$t" in data:
        return _decode_dataclass(data, _depth)
    if "$b" in data:
        raw = data["$b"]
        if len(data) != 1 or not isinstance(raw, str):
            raise CodecError("malformed bytes")
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CodecError(f"bad base64: {exc}") from None
    if "$path" in data:
        raw = data["$path"]
        if len(data) != 1 or not isinstance(raw, str):
            raise CodecError("malformed path")
        return Path(raw)
    for tag, build in (("$list", list), ("$set", set)):
        if tag in data:
            items = data[tag]
            if len(data) != 1 or not isinstance(items, list):
                raise CodecError(f"malformed {tag}")
            try:
                return build(decode(item, _depth + 1) for item in items)
            except TypeError as exc:  # an unhashable set member
                raise CodecError(str(exc)) from None
    out = {}
    for key, item in data.items():
        if key.startswith("$"):
            raise CodecError(f"unknown tag {key!r}")
        out[key] = decode(item, _depth + 1)
    return out


def _decode_dataclass(data: dict[str, Any], depth: int) -> Any:
    name = data["$t"]
    cls = TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CodecError(f"unknown type {name!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - set(fields) - {"$t"}
    if unknown:
        raise CodecError(f"{name}: unknown fields {sorted(unknown)}")
    kwargs = {key: decode(value, depth + 1) for key, value in data.items() if key != "$t"}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise CodecError(f"{name}: {exc}") from None


def dumps(value: Any) -> str:
    """``value`` encoded as a JSON text."""
    return json.dumps(encode(value), separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes) -> Any:
    """The value of a JSON text made by :func:`dumps`.

    Raises:
        CodecError: not JSON, or not a valid encoding.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not JSON: {exc}") from None
    return decode(data)
