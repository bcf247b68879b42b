"""Simulator data models: a parsed, immutable base tree shared by every simulated device.

A model file (``resources/models/tr098.json`` / ``tr181.json``) lists the nodes depth-first as
``[path, writable, type, value]``; objects end in ``.`` and have type/value ``null``. Values may
hold placeholders (``{serial}``, ``{ip}``, ...) substituted per device when read. ``tables``
describes the multi-instance objects and the template an AddObject instantiates.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger("fieldacs.sim")

#: Placeholders a model value may contain.
PLACEHOLDERS: tuple[str, ...] = (
    "serial", "oui", "product_class", "manufacturer", "ip", "mac", "cr_url", "cr_username",
    "cr_password", "acs_url", "now",
)
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_INSTANCE_RE = re.compile(r"\.\d+\.")


class ModelError(ValueError):
    """A model file that does not follow the format."""


class Node(NamedTuple):
    """One node of a tree: an object (``type is None``) or a parameter.

    Attributes:
        writable: for parameters, SetParameterValues allowed; for a table object, AddObject
            allowed; for an instance object, DeleteObject allowed.
        type: the ``xsd:`` type of a parameter, None for objects.
        value: the raw (unsubstituted) value of a parameter, None for objects.
    """

    writable: bool
    type: str | None
    value: str | None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A multi-instance object and the nodes each new instance gets.

    Attributes:
        writable: AddObject allowed on this table.
        template: ``(relative path, node)`` pairs; relative to the new ``Table.N.`` object.
    """

    writable: bool
    template: tuple[tuple[str, Node], ...]


def has_placeholder(value: str | None) -> bool:
    """True when ``value`` contains one of the :data:`PLACEHOLDERS`."""
    return value is not None and "{" in value and _PLACEHOLDER_RE.search(value) is not None


def substitute(value: str, context: Mapping[str, str]) -> str:
    """Replace the placeholders in ``value`` with the entries of ``context`` (missing: kept)."""
    return _PLACEHOLDER_RE.sub(lambda m: context.get(m.group(1), m.group(0)), value)


def generic_path(path: str) -> str:
    """``Device.WiFi.SSID.3.Stats.`` -> ``Device.WiFi.SSID.{i}.Stats.`` (instance numbers out)."""
    prev = None
    while prev != path:
        prev = path
        path = _INSTANCE_RE.sub(".{i}.", path)
    return path


def parent_of(path: str) -> str:
    """The parent object path of a node (``""`` for the root object)."""
    trimmed = path[:-1] if path.endswith(".") else path
    cut = trimmed.rfind(".")
    return trimmed[: cut + 1] if cut >= 0 else ""


class BaseModel:
    """An immutable data model loaded once and shared by every device that uses it.

    Attributes:
        name: the model's name (``tr181``).
        root: the root object (``Device.``).
        manufacturer, oui, product_class: the DeviceId defaults.
        forced_inform: parameters sent in every Inform.
        paths: every node path, depth-first.
        nodes: node by path.
        index: position of each path in :attr:`paths`.
        tables: table specs by path (concrete or generic with ``{i}``).
        templated: paths whose value has a placeholder.
    """

    def __init__(self, data: Mapping[str, Any], *, source: str = "<memory>") -> None:
        try:
            self.name: str = str(data["model"])
            self.root: str = str(data["root"])
            device = data.get("device", {})
            self.manufacturer: str = str(device.get("manufacturer", "FieldACS"))
            self.oui: str = str(device.get("oui", "000000"))
            self.product_class: str = str(device.get("product_class", "SimCPE"))
            self.forced_inform: tuple[str, ...] = tuple(str(p) for p in data.get("forced_inform", ()))
            raw_nodes = data["nodes"]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{source}: missing or malformed key: {exc}") from exc
        paths: list[str] = []
        nodes: dict[str, Node] = {}
        templated: set[str] = set()
        for entry in raw_nodes:
            path, node = _parse_node(entry, source)
            if path in nodes:
                raise ModelError(f"{source}: duplicate node {path}")
            parent = parent_of(path)
            if parent and parent not in nodes:
                raise ModelError(f"{source}: {path} appears before its parent object {parent}")
            if not path.startswith(self.root):
                raise ModelError(f"{source}: {path} is outside the root {self.root}")
            paths.append(path)
            nodes[path] = node
            if has_placeholder(node.value):
                templated.add(path)
        if not paths or paths[0] != self.root:
            raise ModelError(f"{source}: the first node must be the root object {self.root}")
        tables: dict[str, TableSpec] = {}
        for tpath, spec in dict(data.get("tables", {})).items():
            if not tpath.endswith("."):
                raise ModelError(f"{source}: table {tpath} must end in '.'")
            template = tuple(_parse_node(e, source) for e in spec.get("template", ()))
            tables[str(tpath)] = TableSpec(bool(spec.get("writable", False)), template)
        self.paths: tuple[str, ...] = tuple(paths)
        self.nodes: dict[str, Node] = nodes
        self.index: dict[str, int] = {p: i for i, p in enumerate(paths)}
        self.tables: dict[str, TableSpec] = tables
        self.templated: frozenset[str] = frozenset(templated)
        missing = [p for p in self.forced_inform if p not in nodes]
        if missing:
            log.warning("%s: forced inform parameters not in the model: %s", source, missing)
            self.forced_inform = tuple(p for p in self.forced_inform if p in nodes)

    def table(self, path: str) -> TableSpec | None:
        """The table spec for an object path (``X.Y.`` or ``X.3.Y.``), or None if not a table."""
        spec = self.tables.get(path)
        if spec is None and any(ch.isdigit() for ch in path):
            spec = self.tables.get(generic_path(path))
        return spec

    def __repr__(self) -> str:
        return f"<BaseModel {self.name} root={self.root} nodes={len(self.paths)}>"


def _parse_node(entry: Any, source: str) -> tuple[str, Node]:
    try:
        path, writable, typ, value = entry
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{source}: bad node entry {entry!r}") from exc
    path = str(path)
    if path.endswith(".") or path == "":
        return path, Node(bool(writable), None, None)
    if typ is None:
        raise ModelError(f"{source}: parameter {path} has no type")
    typ = str(typ)
    if ":" not in typ:
        typ = "xsd:" + typ
    return path, Node(bool(writable), typ, "" if value is None else str(value))


_CACHE: dict[str, BaseModel] = {}


def _model_file(name: str) -> Path | None:
    candidate = Path(name)
    if candidate.suffix == ".json" and candidate.is_file():
        return candidate
    try:
        res = resources.files("resources").joinpath("models", f"{name}.json")
        if res.is_file():
            return Path(str(res))
    except (ModuleNotFoundError, TypeError):
        pass
    here = Path(__file__).resolve().parents[2] / "resources" / "models" / f"{name}.json"
    return here if here.is_file() else None


def load_model(name: str) -> BaseModel:
    """Load a model by name (``tr098``, ``tr181``) or by a ``.json`` path; cached and shared.

    Args:
        name: a model name under ``resources/models/`` or a path to a model file.

    Returns:
        The shared :class:`BaseModel`.

    Raises:
        ModelError: when the file is missing or malformed.
    """
    cached = _CACHE.get(name)
    if cached is not None:
        return cached
    path = _model_file(name)
    if path is None:
        raise ModelError(f"no simulator model named {name!r}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: {exc}") from exc
    model = BaseModel(data, source=str(path))
    _CACHE[name] = model
    log.debug("loaded model %r from %s", model, path)
    return model
