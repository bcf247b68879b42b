"""Parameter paths: matching, the synthesised device fields, and a ready-made resolver.

A path is split into segments at dots outside ``[...]`` and ``{...}``. When matching a
stored path, a ``*`` segment (or a whole ``{...}`` placeholder segment) matches any one
segment; every other segment must be equal. Object nodes (stored paths ending in ``.``)
never match: only leaf parameters have values.

Special roots, synthesised from the device's own fields as GenieACS does (its ``_deviceId``,
``_lastInform``, ``_lastBoot``, ``_lastBootstrap``, ``_registered`` and ``_tags``):

==========================  ==========================================================
``DeviceID.ID``             the device id
``DeviceID.Manufacturer``   manufacturer (absent when empty)
``DeviceID.OUI``            OUI (absent when empty)
``DeviceID.ProductClass``   product class (absent when empty)
``DeviceID.SerialNumber``   serial number (absent when empty)
``Events.Inform``           last Inform (datetime; absent if never)
``Events.1_BOOT``           last ``1 BOOT`` Inform (datetime; absent if never)
``Events.0_BOOTSTRAP``      last ``0 BOOTSTRAP`` Inform (datetime; absent if never)
``Events.Registered``       first seen (datetime)
``Tags.<name>``             TRUE when the device has the tag, absent otherwise
==========================  ==========================================================

A path whose first segment is ``DeviceID``, ``Events`` or ``Tags`` only ever matches these
fields; every other path (``*.X`` included) only matches stored parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..store.model import DeviceRecord, Param
from .values import ms_to_datetime, param_value

__all__ = [
    "DEVICE_ID_FIELDS",
    "EVENT_FIELDS",
    "SPECIAL_ROOTS",
    "device_fields",
    "has_alias",
    "is_wildcard_segment",
    "make_resolver",
    "match_path",
    "split_path",
]

SPECIAL_ROOTS = frozenset({"DeviceID", "Events", "Tags"})

#: ``DeviceID.<name>`` -> DeviceRecord attribute (and devices table column).
DEVICE_ID_FIELDS: dict[str, str] = {
    "ID": "id",
    "Manufacturer": "manufacturer",
    "OUI": "oui",
    "ProductClass": "product_class",
    "SerialNumber": "serial_number",
}

#: ``Events.<name>`` -> devices table column (epoch ms); the DeviceRecord attribute is the
#: column's name with ``_ms`` (``last_inform`` -> ``last_inform_ms``).
EVENT_FIELDS: dict[str, str] = {
    "0_BOOTSTRAP": "last_bootstrap",
    "1_BOOT": "last_boot",
    "Inform": "last_inform",
    "Registered": "registered",
}


def split_path(path: str) -> list[str]:
    """Split a path at dots that are not inside ``[...]`` or ``{...}``."""
    segments: list[str] = []
    depth = 0
    start = 0
    for i, c in enumerate(path):
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth = max(0, depth - 1)
        elif c == "." and depth == 0:
            segments.append(path[start:i])
            start = i + 1
    segments.append(path[start:])
    return segments


def is_wildcard_segment(segment: str) -> bool:
    """True for ``*`` and for a segment that is one whole ``{...}`` placeholder."""
    return segment == "*" or (segment.startswith("{") and segment.endswith("}"))


def has_alias(path: str) -> bool:
    """True when a segment of ``path`` holds an ``[...]`` alias."""
    return any("[" in segment for segment in split_path(path))


def match_path(pattern: list[str], path: str) -> bool:
    """Whether stored leaf ``path`` matches the split ``pattern``."""
    if path.endswith("."):
        return False
    parts = path.split(".")
    if len(parts) != len(pattern):
        return False
    return all(is_wildcard_segment(p) or p == s for p, s in zip(pattern, parts, strict=True))


def device_fields(device: DeviceRecord) -> dict[str, Any]:
    """The synthesised fields of a device that have a value, ordered by path."""
    fields: dict[str, Any] = {}
    for name, attr in DEVICE_ID_FIELDS.items():
        value = getattr(device, attr)
        if value:
            fields[f"DeviceID.{name}"] = value
    for name, attr in EVENT_FIELDS.items():
        ms = getattr(device, f"{attr}_ms")
        if ms is not None:
            fields[f"Events.{name}"] = ms_to_datetime(ms)
    for tag in sorted(device.tags):
        fields[f"Tags.{tag}"] = True
    return dict(sorted(fields.items()))


def _matches(pattern_text: str, entries: Iterable[tuple[str, Any]]) -> list[Any]:
    pattern = split_path(pattern_text)
    if not any(is_wildcard_segment(p) for p in pattern):
        return [value for path, value in entries if path == pattern_text]
    return [value for path, value in entries if match_path(pattern, path)]


def make_resolver(device: DeviceRecord, params: Mapping[str, Param]) -> Callable[[str], list[Any]]:
    """A ``resolve`` function for :func:`acs_engine.expression.evaluate` over one device.

    Values are those of :func:`~acs_engine.expression.values.param_value` and of
    :func:`device_fields`, ordered by path, exactly as the device search sees them. Alias
    segments (``[...]``) match nothing here.

    Args:
        device: the device's own fields.
        params: its stored parameter nodes by path (objects are skipped).

    Returns:
        A function from a path (possibly with wildcards) to the values of all matches.
    """
    special = list(device_fields(device).items())
    stored = sorted(
        ((path, param_value(p.value, p.type)) for path, p in params.items() if path[-1:] != "."),
        key=lambda item: item[0],
    )
    exact = dict(stored)
    cache: dict[str, list[Any]] = {}

    def resolve(path: str) -> list[Any]:
        hit = cache.get(path)
        if hit is not None:
            return hit
        segments = split_path(path)
        if any("[" in s for s in segments):
            result: list[Any] = []
        elif segments[0] in SPECIAL_ROOTS:
            result = _matches(path, special)
        elif not any(is_wildcard_segment(s) for s in segments):
            result = [exact[path]] if path in exact else []
        else:
            result = _matches(path, stored)
        cache[path] = result
        return result

    return resolve
