"""Converting presets between GenieACS's document form and ``Preset`` (pure functions).

A GenieACS database and NBI carry a preset's actions as ``configurations``, a list of typed
entries from before provisions existed (``age``, ``value``, ``add_tag``, ``delete_tag``,
``provision``, ``add_object``, ``delete_object``); newer clients may send ``provisions``
(``[[name, *args]]``) instead. Like GenieACS's CWMP worker, :func:`preset_from_genieacs`
maps each configuration to the built-in provision that does the same thing, and uses
``provisions`` only when there are no ``configurations``. The raw ``configurations`` are
kept so that an exported preset is the one that was imported.

``add_object``/``delete_object`` name an entry of GenieACS's ``objects`` collection; pass
those documents as ``objects`` to expand them (GenieACS skips an unknown object silently,
and so does this module).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .records import Preset

__all__ = ["configurations_to_provisions", "preset_from_genieacs", "preset_to_genieacs"]


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _object_path(base: str, obj: Mapping[str, Any]) -> tuple[str, list[str], dict[str, Any]]:
    """The alias path of an ``objects`` document under ``base``, its key fields, its fields."""
    flat = _flatten(obj)
    keys = flat.get("_keys")
    if not isinstance(keys, list) or not keys:
        keys = [k for k in flat if not k.startswith("_")]
    alias = ",".join(f"{k}:{json.dumps(flat.get(k), ensure_ascii=False)}" for k in keys)
    return f"{base}.[{alias}]", [str(k) for k in keys], flat


def _number(value: Any, what: str) -> int | float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not a number: {value!r}") from exc
    if not math.isfinite(number):
        raise ValueError(f"{what} is not a finite number: {value!r}")
    return int(number) if number.is_integer() else number


def configurations_to_provisions(
    configurations: list[Any], objects: Mapping[str, Mapping[str, Any]] | None = None
) -> list[list[Any]]:
    """The provisions a legacy ``configurations`` list stands for.

    Args:
        configurations: GenieACS ``configurations`` entries.
        objects: GenieACS ``objects`` documents by ``_id``, for ``add_object`` and
            ``delete_object``; entries naming an unknown object produce nothing.

    Returns:
        ``[[name, *args], ...]``.

    Raises:
        ValueError: an entry is not an object, has an unknown type or a bad field.
    """
    objects = objects or {}
    out: list[list[Any]] = []
    for entry in configurations:
        if not isinstance(entry, Mapping):
            raise ValueError(f"a configuration must be an object, not {entry!r}")
        kind = entry.get("type")
        if kind == "age":
            out.append(["refresh", entry.get("name"), _number(entry.get("age"), "age")])
        elif kind == "value":
            out.append(["value", entry.get("name"), entry.get("value")])
        elif kind in ("add_tag", "delete_tag"):
            out.append(["tag", entry.get("tag"), kind == "add_tag"])
        elif kind == "provision":
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError(f"a provision configuration needs a name: {dict(entry)!r}")
            args = entry.get("args") or []
            if not isinstance(args, list):
                raise ValueError(f"provision arguments must be a list: {args!r}")
            out.append([name, *args])
        elif kind in ("add_object", "delete_object"):
            obj = objects.get(str(entry.get("object")))
            if obj is None:
                continue
            path, keys, flat = _object_path(str(entry.get("name")), obj)
            if kind == "delete_object":
                out.append(["instances", path, 0])
                continue
            out.append(["instances", path, 1])
            out.extend(
                ["value", f"{path}.{k}", v]
                for k, v in flat.items()
                if not k.startswith("_") and k not in keys
            )
        else:
            raise ValueError(f"Unknown configuration type {kind!r}")
    return out


def _provisions(value: Any) -> list[list[Any]]:
    if not isinstance(value, list):
        raise ValueError(f"provisions must be a list, not {value!r}")
    out: list[list[Any]] = []
    for item in value:
        if not isinstance(item, list) or not item or not isinstance(item[0], str):
            raise ValueError(f"a provision must be [name, ...args], not {item!r}")
        out.append(list(item))
    return out


def _events(value: Any) -> dict[str, bool]:
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return {str(k): bool(v) for k, v in value.items()}
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list):
        raise ValueError(f"events must be an object, not {value!r}")
    events: dict[str, bool] = {}
    for raw in names:
        name = str(raw).strip()
        if name.startswith("-"):  # the console's "-1 BOOT": the event must be absent
            events[name[1:].strip()] = False
        elif name:
            events[name] = True
    return events


def preset_from_genieacs(
    doc: Mapping[str, Any],
    *,
    preset_id: str | None = None,
    objects: Mapping[str, Mapping[str, Any]] | None = None,
) -> Preset:
    """A ``Preset`` from a GenieACS preset document (database export or NBI body).

    Args:
        doc: the document: ``_id``, ``weight``, ``channel``, ``events``, ``schedule``,
            ``precondition``, and ``configurations`` and/or ``provisions``.
        preset_id: the preset id when the document has no ``_id`` (``PUT /presets/<id>``);
            it wins over ``_id``.
        objects: GenieACS ``objects`` documents by id, for legacy object configurations.

    Returns:
        The preset. A legacy JSON precondition is kept as text (``Preset.legacy_precondition``
        tells the engine to convert it); one given as an object is serialised to that text.

    Raises:
        ValueError: the document is malformed (no id, unknown configuration type, ...).
    """
    found = preset_id if preset_id is not None else doc.get("_id")
    if not isinstance(found, str) or not found:
        raise ValueError("a preset needs an id")
    weight = _number(doc.get("weight") or 0, "weight")
    schedule = doc.get("schedule")
    if schedule is not None and not isinstance(schedule, str):
        raise ValueError(f"schedule must be a string, not {schedule!r}")
    precondition = doc.get("precondition") or ""
    if isinstance(precondition, Mapping):
        precondition = json.dumps(precondition, ensure_ascii=False)
    if not isinstance(precondition, str):
        raise ValueError(f"precondition must be a string, not {precondition!r}")
    raw = doc.get("configurations")
    configurations: list[dict[str, Any]] | None = None
    if raw is not None:
        if not isinstance(raw, list):
            raise ValueError(f"configurations must be a list, not {raw!r}")
        configurations = [dict(c) if isinstance(c, Mapping) else c for c in raw]
        provisions = configurations_to_provisions(configurations, objects)
    else:
        provisions = _provisions(doc.get("provisions") or [])
    return Preset(
        id=found,
        weight=int(weight),
        channel=str(doc.get("channel") or "default"),
        events=_events(doc.get("events")),
        schedule=(schedule.strip() or None) if schedule is not None else None,
        precondition=precondition,
        provisions=provisions,
        configurations=configurations,
    )


def preset_to_genieacs(preset: Preset) -> dict[str, Any]:
    """The GenieACS document of a preset (what the NBI returns and GenieACS can import).

    ``configurations`` are the imported ones when the preset has them; otherwise each
    provision becomes ``{"type": "provision", "name": ..., "args": [...] or None}``, the
    stored form GenieACS itself runs.
    """
    if preset.configurations is not None:
        configurations = [dict(c) for c in preset.configurations]
    else:
        configurations = [
            {"type": "provision", "name": p[0], "args": list(p[1:]) or None}
            for p in preset.provisions
        ]
    doc: dict[str, Any] = {
        "_id": preset.id,
        "weight": preset.weight,
        "channel": preset.channel,
        "events": dict(preset.events),
        "precondition": preset.precondition,
        "configurations": configurations,
    }
    if preset.schedule:
        doc["schedule"] = preset.schedule
    return doc
