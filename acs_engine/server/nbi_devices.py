"""Device documents in GenieACS's shape, and the NBI documents of the other collections.

A device document (behaviour reference §10) carries ``_id``, ``_deviceId``, the dates
``_lastInform _lastBoot _lastBootstrap _registered`` (ISO 8601 strings), ``_tags``, and the
parameter tree nested by path, where every node may carry ``_object``, ``_writable``,
``_timestamp``, ``_value`` + ``_type`` (leaves), ``_notification``, ``_accessList`` and
``_attributesTimestamp``. Values are typed as GenieACS stores them: numbers for the integer
and float types, booleans for ``xsd:boolean``, ISO strings for ``xsd:dateTime``.

``projection`` (``a,b,c``) is MongoDB's inclusion projection on dotted paths (``_id`` is
always kept); :func:`load_device_documents` reads only the parameter subtrees it names.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from acs_engine.expression.values import FLOAT_TYPES, INT_TYPES
from acs_engine.server.nbi_query import parse_date
from acs_engine.store.db import Store
from acs_engine.store.genieacs import preset_to_genieacs
from acs_engine.store.model import DeviceRecord, Param
from acs_engine.store.records import Preset

__all__ = [
    "collection_document",
    "device_document",
    "iso",
    "iter_device_documents",
    "load_device_documents",
    "project",
    "typed_value",
]


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as GenieACS's JSON dates (``2026-01-01T10:00:00.000Z``)."""
    if ms is None:
        return None
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def typed_value(value: str, xsd_type: str | None) -> Any:
    """A stored value as GenieACS keeps it in ``_value`` (falls back to the text)."""
    text = value.strip()
    try:
        if xsd_type in INT_TYPES:
            return int(text)
        if xsd_type in FLOAT_TYPES:
            return float(text)
    except ValueError:
        return value
    if xsd_type == "xsd:boolean":
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        return value
    if xsd_type == "xsd:dateTime":
        ms = parse_date(text)
        return iso(ms) if ms is not None else value
    return value


def _node(param: Param) -> dict[str, Any]:
    node: dict[str, Any] = {}
    if param.object is not None:
        node["_object"] = param.object
    if param.writable is not None:
        node["_writable"] = param.writable
    # GenieACS's _timestamp is the value's refresh time on a leaf and the time the children
    # were listed on an object: a node known only from GetParameterNames has none.
    if param.value_ts_ms is not None:
        node["_timestamp"] = iso(param.value_ts_ms)
    if param.value is not None and not param.path.endswith("."):
        node["_value"] = typed_value(param.value, param.type)
        node["_type"] = param.type or "xsd:string"
    if param.notification is not None:
        node["_notification"] = param.notification
    if param.access_list is not None:
        node["_accessList"] = list(param.access_list)
    if param.attr_ts_ms is not None:
        node["_attributesTimestamp"] = iso(param.attr_ts_ms)
    return node


def device_document(device: DeviceRecord, params: Iterable[Param] = ()) -> dict[str, Any]:
    """A device and (some of) its parameters as a GenieACS ``devices`` document."""
    doc: dict[str, Any] = {
        "_id": device.id,
        "_deviceId": {
            "_Manufacturer": device.manufacturer,
            "_OUI": device.oui,
            "_ProductClass": device.product_class,
            "_SerialNumber": device.serial_number,
        },
        "_registered": iso(device.registered_ms),
    }
    for key, ms in (
        ("_lastInform", device.last_inform_ms),
        ("_lastBoot", device.last_boot_ms),
        ("_lastBootstrap", device.last_bootstrap_ms),
    ):
        if ms is not None:
            doc[key] = iso(ms)
    if device.tags:
        doc["_tags"] = sorted(device.tags)
    for param in params:
        segments = param.path.rstrip(".").split(".")
        if not all(segments):
            continue
        _put(doc, segments, _node(param))
    return doc


def project(doc: Mapping[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """MongoDB's inclusion projection: only the dotted ``fields`` (and ``_id``) of ``doc``."""
    if fields is None:
        return dict(doc)
    out: dict[str, Any] = {}
    if "_id" in doc:
        out["_id"] = doc["_id"]
    for path in fields:
        parts = path.split(".")
        found: Any = doc
        for part in parts:
            if not isinstance(found, Mapping) or part not in found:
                break
            found = found[part]
        else:
            _put(out, parts, copy.deepcopy(found))
    return out


def _put(root: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Put ``value`` at the dotted ``path`` of the document ``root``, making the objects on
    the way (a non-object there is replaced); an object already there is merged into."""
    parent = root
    for segment in path[:-1]:
        child = parent.get(segment)
        if not isinstance(child, dict):
            child = parent[segment] = {}
        parent = child
    existing = parent.get(path[-1])
    if isinstance(existing, dict) and isinstance(value, Mapping):
        existing.update(value)
    else:
        parent[path[-1]] = value


def _param_prefixes(fields: Sequence[str]) -> list[str]:
    """The parameter paths a projection needs (attribute suffixes dropped, duplicates and
    paths inside another one removed)."""
    paths: list[str] = []
    for field in fields:
        if field.startswith("_") or not field:
            continue
        parts = field.split(".")
        while len(parts) > 1 and parts[-1].startswith("_"):
            parts.pop()
        paths.append(".".join(parts))
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path == k or path.startswith(k + ".") for k in kept):
            kept.append(path)
    return kept


async def iter_device_documents(
    store: Store, ids: Sequence[str], fields: Sequence[str] | None = None
) -> AsyncIterator[dict[str, Any]]:
    """The documents of ``ids`` one by one (in that order; vanished devices skipped),
    projected. Only the parameter subtrees named by ``fields`` are read from the store; with
    no projection every parameter is."""
    prefixes = None if fields is None else _param_prefixes(fields)
    for device_id in ids:
        device = await store.get_device(device_id)
        if device is None:
            continue
        params: list[Param] = []
        if prefixes is None:
            params = list((await store.load_params(device_id)).values())
        else:
            for prefix in prefixes:
                loaded = await store.load_params(device_id, prefix)
                params.extend(
                    p for path, p in loaded.items()
                    if path in (prefix, prefix + ".") or path.startswith(prefix + ".")
                )
        yield project(device_document(device, params), fields)


async def load_device_documents(
    store: Store, ids: Sequence[str], fields: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """All of :func:`iter_device_documents` in a list."""
    return [doc async for doc in iter_device_documents(store, ids, fields)]


# --------------------------------------------------------------------------- other collections

def _task_document(row: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": row["id"], "name": row["name"], "device": row["device_id"]}
    args = row.get("args")
    if isinstance(args, Mapping):
        for key, value in args.items():
            doc.setdefault(str(key), value)
    doc["timestamp"] = iso(row["timestamp"])
    if row.get("expiry") is not None:
        doc["expiry"] = iso(row["expiry"])
    return doc


def _fault_document(row: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": row["id"], "device": row["device_id"], "channel": row["channel"],
        "timestamp": iso(row["timestamp"]), "code": row["code"], "message": row["message"],
        "detail": row.get("detail"), "retries": row["retries"],
        # GenieACS keeps a fault's provisions as a JSON string
        "provisions": json.dumps(row.get("provisions") or [], ensure_ascii=False),
    }
    if row.get("expiry") is not None:
        doc["expiry"] = iso(row["expiry"])
    return doc


def _preset_document(row: Mapping[str, Any]) -> dict[str, Any]:
    preset = Preset(
        id=row["id"], weight=int(row["weight"]), channel=row["channel"],
        events=dict(row.get("events") or {}), schedule=row.get("schedule"),
        precondition=row.get("precondition") or "",
        provisions=list(row.get("provisions") or []), configurations=row.get("configurations"),
    )
    return preset_to_genieacs(preset)


def _file_document(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "_id": row["name"], "filename": row["name"], "length": row["size"], "md5": row["md5"],
        "uploadDate": iso(row["uploaded"]),
        "metadata": {
            "fileType": row["file_type"], "oui": row["oui"],
            "productClass": row["product_class"], "version": row["version"],
        },
    }


def collection_document(name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``Store.query_collection`` row of ``name`` as GenieACS's document of it."""
    if name == "tasks":
        return _task_document(row)
    if name == "faults":
        return _fault_document(row)
    if name == "presets":
        return _preset_document(row)
    if name == "files":
        return _file_document(row)
    if name == "objects":
        body = row.get("doc")
        return {"_id": row["id"], **(body if isinstance(body, Mapping) else {})}
    return {"_id": row["id"], "script": row["script"]}  # provisions, virtual_parameters
