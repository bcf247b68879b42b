"""Load the shipped data-model facts and check parameter values against them.

The facts files (``resources/datamodels/tr098.json.gz`` and ``tr181.json.gz``) are made by
:mod:`acs_engine.datamodel.build`. A concrete path such as ``Device.WiFi.SSID.3.SSID`` or
``Device.WiFi.SSID.[guest].SSID`` is mapped to its generic entry
``Device.WiFi.SSID.{i}.SSID``; vendor extensions (``X_...`` names) have no entry.

Example:
    >>> from acs_engine.datamodel import facts
    >>> facts.check_value("Device.Ethernet.VLANTermination.1.VLANID", "5000")
    'must be 1–4094'
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from acs_engine.datamodel.values import check_facts

MODELS = ("tr098", "tr181")
ROOTS = {"tr098": "InternetGatewayDevice.", "tr181": "Device."}

_INSTANCE_SEGMENT = re.compile(r"^(?:\d+|\[[^\[\]]*\]|\{i\})$")

Range = tuple[int | float | None, int | float | None, int | float | None]


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """Facts about an object, a table, or a table's instance.

    Attributes:
        path: Generic path, e.g. ``Device.WiFi.SSID.{i}.`` (instance) or ``Device.WiFi.SSID.``
            (the table itself, when ``table`` is true).
        writable: AddObject (table) / DeleteObject (instance) is allowed.
        multi_instance: The object is an instance of a table (path ends in ``.{i}.``).
        table: The looked-up path named the table object itself.
        status: ``current``, ``deprecated`` or ``obsoleted``.
        min_entries: Minimum number of instances (tables only).
        max_entries: Maximum number of instances, None when unbounded (tables only).
        num_entries_parameter: Name of the parent's NumberOfEntries parameter, if any.
        enable_parameter: Name of the instance's enable parameter, if any.
    """

    path: str
    writable: bool
    multi_instance: bool
    table: bool = False
    status: str = "current"
    min_entries: int = 0
    max_entries: int | None = None
    num_entries_parameter: str | None = None
    enable_parameter: str | None = None


@dataclass(frozen=True, slots=True)
class ListFacts:
    """List facts of a comma-separated list parameter.

    Attributes:
        max_length: Maximum length of the whole list string, if stated.
        min_items: Minimum number of items.
        max_items: Maximum number of items, if stated.
    """

    max_length: int | None = None
    min_items: int = 0
    max_items: int | None = None


@dataclass(frozen=True, slots=True)
class ParamFacts:
    """Facts about a parameter.

    Attributes:
        path: Generic path, e.g. ``Device.WiFi.SSID.{i}.SSID``.
        type: xsd base type without prefix: ``string``, ``int``, ``unsignedInt``, ``long``,
            ``unsignedLong``, ``boolean``, ``dateTime``, ``base64``, ``hexBinary``, ``decimal``.
            For a list parameter it is the item type (the value travels as a string).
        writable: SetParameterValues is allowed.
        data_type: Named TR-106 type, e.g. ``IPv4Address``, if one is used.
        min_length: Minimum length (characters; bytes for hexBinary/base64).
        max_length: Maximum length (characters; bytes for hexBinary/base64).
        ranges: Allowed numeric ranges ``(min, max, step)``; a value must be in one of them.
        enumerations: Allowed values (empty: not enumerated).
        readonly_enumerations: Values only the CPE may set.
        patterns: Regular expressions; a value must fully match one of them.
        list: List facts, or None for a scalar parameter.
        units: Units, e.g. ``seconds``.
        status: ``current``, ``deprecated`` or ``obsoleted``.
        hidden: The CPE returns an empty value when read (passwords, keys).
        command: Setting it triggers an action (e.g. a Reset).
        forced_inform: Sent in every Inform.
        active_notify: BBF activeNotify when not ``normal`` (e.g. ``canDeny``).
        default: Default value of a freshly created object, if stated.
    """

    path: str
    type: str
    writable: bool
    data_type: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    ranges: tuple[Range, ...] = ()
    enumerations: tuple[str, ...] = ()
    readonly_enumerations: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    list: ListFacts | None = None
    units: str | None = None
    status: str = "current"
    hidden: bool = False
    command: bool = False
    forced_inform: bool = False
    active_notify: str | None = None
    default: str | None = None

    @property
    def xsd_type(self) -> str:
        """The ``xsi:type`` the value travels with, e.g. ``xsd:unsignedInt``."""
        return "xsd:string" if self.list is not None else f"xsd:{self.type}"

    @property
    def deprecated(self) -> bool:
        """True when the parameter is deprecated or obsoleted."""
        return self.status in ("deprecated", "obsoleted")


def generic_path(path: str) -> str:
    """Replace instance numbers and ``[alias]`` segments of a path with ``{i}``.

    Args:
        path: A concrete path, e.g. ``Device.IP.Interface.[wan].IPv4Address.1.IPAddress``.

    Returns:
        The generic path, e.g. ``Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress``.
    """
    parts = path.split(".") if "[" not in path else _split_with_aliases(path)
    return ".".join("{i}" if _INSTANCE_SEGMENT.match(p) else p for p in parts)


def _split_with_aliases(path: str) -> list[str]:
    """Split on dots that are not inside ``[...]`` (an alias may contain dots)."""
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(path):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        elif char == "." and depth == 0:
            parts.append(path[start:index])
            start = index + 1
    parts.append(path[start:])
    return parts


def _to_param(path: str, raw: dict[str, Any]) -> ParamFacts:
    list_raw = raw.get("l")
    ranges = tuple((r[0], r[1], r[2] if len(r) > 2 else None) for r in raw.get("r", ()))
    return ParamFacts(
        path=path,
        type=raw["t"],
        writable=bool(raw.get("w")),
        data_type=raw.get("dt"),
        min_length=raw.get("minl"),
        max_length=raw.get("maxl"),
        ranges=ranges,
        enumerations=tuple(raw.get("e", ())),
        readonly_enumerations=tuple(raw.get("ero", ())),
        patterns=tuple(raw.get("p", ())),
        list=(
            None
            if list_raw is None
            else ListFacts(list_raw.get("maxl"), list_raw.get("min", 0), list_raw.get("max"))
        ),
        units=raw.get("u"),
        status=raw.get("s", "current"),
        hidden=bool(raw.get("h")),
        command=bool(raw.get("cmd")),
        forced_inform=bool(raw.get("fi")),
        active_notify=raw.get("an"),
        default=raw.get("d"),
    )


def _to_object(path: str, raw: dict[str, Any], *, table: bool = False) -> ObjectFacts:
    return ObjectFacts(
        path=path[: -len("{i}.")] if table else path,
        writable=bool(raw.get("w")),
        multi_instance=path.endswith(".{i}.") and not table,
        table=table,
        status=raw.get("s", "current"),
        min_entries=raw.get("min", 0),
        max_entries=raw.get("max"),
        num_entries_parameter=raw.get("ne"),
        enable_parameter=raw.get("en"),
    )


class DataModel:
    """The facts of one root data model (TR-098 or TR-181).

    Attributes:
        key: ``tr098`` or ``tr181``.
        name: The model's name and version, e.g. ``Device:2.17``.
        root: The root object, ``InternetGatewayDevice.`` or ``Device.``.
    """

    def __init__(self, key: str, document: dict[str, Any]) -> None:
        """Build the model from a decoded facts document.

        Args:
            key: ``tr098`` or ``tr181``.
            document: The JSON document written by :mod:`acs_engine.datamodel.build`.
        """
        self.key = key
        self.name: str = document["model"]
        self.root: str = document["root"]
        self._objects: dict[str, dict[str, Any]] = document["objects"]
        self._params: dict[str, dict[str, Any]] = document["params"]
        self._cache: dict[str, ParamFacts | ObjectFacts | None] = {}

    def __len__(self) -> int:
        """Number of generic objects and parameters."""
        return len(self._objects) + len(self._params)

    def object_paths(self) -> list[str]:
        """All generic object paths (instances end in ``.{i}.``)."""
        return list(self._objects)

    def param_paths(self) -> list[str]:
        """All generic parameter paths."""
        return list(self._params)

    def children(self, generic_object: str) -> list[str]:
        """Generic paths of the direct parameters and child objects of an object.

        Args:
            generic_object: Generic object path ending in ``.``, e.g. ``Device.WiFi.``.

        Returns:
            Child paths in model order; a child table is named by its ``{i}.`` entry.
        """
        depth = generic_object.count(".")
        out = [p for p in self._params if p.startswith(generic_object) and p.count(".") == depth]
        for obj in self._objects:
            if not obj.startswith(generic_object) or obj == generic_object:
                continue
            rest = obj[len(generic_object) :]
            if rest.count(".") == 1 or (rest.count(".") == 2 and rest.endswith(".{i}.")):
                out.append(obj)
        return out

    def lookup(self, path: str) -> ParamFacts | ObjectFacts | None:
        """Find the facts for a concrete, alias-form or generic path.

        Args:
            path: E.g. ``Device.WiFi.SSID.3.SSID``, ``Device.WiFi.SSID.[wan].``,
                ``Device.WiFi.SSID.`` (the table) or ``Device.WiFi.SSID.{i}.SSID``.

        Returns:
            Parameter or object facts, or None for unknown (e.g. vendor) paths.
        """
        if path in self._cache:
            return self._cache[path]
        generic = generic_path(path)
        found: ParamFacts | ObjectFacts | None = None
        if generic.endswith("."):
            if generic in self._objects:
                found = _to_object(generic, self._objects[generic])
            elif generic + "{i}." in self._objects:
                found = _to_object(generic + "{i}.", self._objects[generic + "{i}."], table=True)
        elif generic in self._params:
            found = _to_param(generic, self._params[generic])
        if len(self._cache) < 50_000:
            self._cache[path] = found
        return found

    def param(self, path: str) -> ParamFacts | None:
        """Like :meth:`lookup`, but only for parameters."""
        found = self.lookup(path)
        return found if isinstance(found, ParamFacts) else None

    def check_value(self, path: str, text: str, *, for_write: bool = False) -> str | None:
        """Check a value for a parameter of this model.

        Args:
            path: The parameter's concrete or generic path.
            text: The value as it travels on the wire.
            for_write: Also refuse read-only parameters and values only the CPE may set.

        Returns:
            None when acceptable (or when the parameter is unknown), else a short reason.
        """
        facts = self.param(path)
        if facts is None:
            if self.lookup(path) is not None:
                return "is an object, not a parameter"
            return None
        return check_facts(facts, text, for_write=for_write)


@cache
def load(model: str) -> DataModel:
    """Load (once) the shipped facts of a model.

    Args:
        model: ``tr098`` or ``tr181``.

    Returns:
        The data model.

    Raises:
        ValueError: For an unknown model key.
    """
    if model not in MODELS:
        raise ValueError(f"unknown data model {model!r}; expected one of {MODELS}")
    resource = resources.files("resources").joinpath("datamodels", f"{model}.json.gz")
    document = json.loads(gzip.decompress(resource.read_bytes()))
    return DataModel(model, document)


def model_for_root(path: str) -> str | None:
    """Return ``tr098``/``tr181`` for a path under ``InternetGatewayDevice.``/``Device.``."""
    for key, root in ROOTS.items():
        if path.startswith(root) or path == root[:-1]:
            return key
    return None


def facts_for_root(path: str) -> DataModel | None:
    """Return the data model a path belongs to, chosen by its root object.

    Args:
        path: Any path, e.g. ``Device.DeviceInfo.UpTime``.

    Returns:
        The TR-098 model for ``InternetGatewayDevice.``, TR-181 for ``Device.``, else None.
    """
    key = model_for_root(path)
    return load(key) if key else None


def lookup(path: str) -> ParamFacts | ObjectFacts | None:
    """Find facts for a path in whichever model its root selects (None if unknown)."""
    model = facts_for_root(path)
    return model.lookup(path) if model else None


def check_value(path: str, text: str, *, for_write: bool = False) -> str | None:
    """Check a value for a parameter, choosing the model by the path's root.

    Args:
        path: Concrete or generic parameter path.
        text: The value as text.
        for_write: Also refuse read-only parameters and CPE-only enumeration values.

    Returns:
        None when acceptable or unknown (vendor parameters), else a short human reason such
        as ``must be one of: Up, Down`` or ``must be 0–4094``.
    """
    model = facts_for_root(path)
    return model.check_value(path, text, for_write=for_write) if model else None
