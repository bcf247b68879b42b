"""Extract compact data-model facts from the Broadband Forum's full XML models.

Run as ``python -m acs_engine.datamodel.build --bbf /path/to/bbf --out resources/datamodels``.
It reads ``tr-098-1-8-0-full.xml`` and ``tr-181-2-17-0-cwmp-full.xml`` (plus
``tr-106-types.xml`` for any named type a model does not define itself) and writes
``tr098.json.gz`` and ``tr181.json.gz``.

Only facts are kept: names, access, base types, sizes, ranges, enumerations, patterns,
list-ness, units and status. Description text is never copied.

Facts file layout (JSON, gzip-compressed)::

    {"format": 1, "model": "Device:2.17", "root": "Device.",
     "objects": {"Device.WiFi.SSID.{i}.": {"w": 1, "min": 0, "max": null, ...}, ...},
     "params": {"Device.WiFi.SSID.{i}.SSID": {"t": "string", "w": 1, "maxl": 32}, ...}}

Object keys: ``w`` AddObject/DeleteObject allowed, ``min``/``max`` entries (``null`` for
unbounded), ``s`` status when not current, ``ne`` NumberOfEntries parameter, ``en``
enable parameter. Parameter keys: ``t`` xsd base type, ``w`` writable, ``dt`` named
TR-106 type, ``minl``/``maxl`` length bounds, ``r`` ranges ``[min, max, step]`` (``null``
for open ends), ``e`` enumeration values, ``ero`` enumeration values that are read-only,
``p`` patterns, ``l`` list facts (``maxl``, ``min``, ``max`` items), ``u`` units, ``s``
status, ``h`` hidden (reads back empty), ``cmd`` command parameter, ``fi`` forced inform,
``an`` activeNotify, ``d`` default value.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

FORMAT_VERSION = 1

#: The xsd base types a CWMP parameter can have.
BASE_TYPES = frozenset(
    {
        "string",
        "int",
        "unsignedInt",
        "long",
        "unsignedLong",
        "boolean",
        "dateTime",
        "base64",
        "hexBinary",
        "decimal",
    }
)

#: Output name -> source file of each root data model.
MODEL_FILES = {
    "tr098": "tr-098-1-8-0-full.xml",
    "tr181": "tr-181-2-17-0-cwmp-full.xml",
}
TYPES_FILE = "tr-106-types.xml"

Facts = dict[str, Any]


class BuildError(Exception):
    """The BBF input is missing or not what the extractor expects."""


def parse_xml(path: Path) -> etree._Element:
    """Parse a BBF XML file with a hardened parser.

    No network access, no external DTD and no external entities; only the internal
    subset's character entities (used by tr-106-types.xml patterns) are expanded.

    Args:
        path: The XML file.

    Returns:
        The document's root element.

    Raises:
        BuildError: When the document refers to an external DTD.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
    )
    tree = etree.parse(str(path), parser)
    if tree.docinfo.system_url or tree.docinfo.public_id:
        raise BuildError(f"{path.name}: external DTD references are not accepted")
    return tree.getroot()


def _int_or_none(text: str | None) -> int | None:
    if text is None or text == "" or text == "unbounded":
        return None
    return int(text)


def _number(text: str | None) -> int | float | None:
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def _children(elem: etree._Element) -> Iterator[etree._Element]:
    for child in elem:
        if isinstance(child.tag, str):
            yield child


def _apply_facets(facts: Facts, container: etree._Element) -> None:
    """Overlay the facets found directly in ``container`` onto ``facts``."""
    ranges: list[list[int | float | None]] = []
    enums: list[str] = []
    ro_enums: list[str] = []
    patterns: list[str] = []
    for child in _children(container):
        tag = child.tag
        if tag == "size":
            min_len = _int_or_none(child.get("minLength"))
            max_len = _int_or_none(child.get("maxLength"))
            facts.pop("minl", None)
            facts.pop("maxl", None)
            if min_len:
                facts["minl"] = min_len
            if max_len:  # maxLength="0" in a few TR-106 types means "no stated limit"
                facts["maxl"] = max_len
        elif tag == "range":
            item = [_number(child.get("minInclusive")), _number(child.get("maxInclusive"))]
            step = _number(child.get("step"))
            if step not in (None, 1):
                item.append(step)
            ranges.append(item)
        elif tag == "enumeration":
            if child.get("status") == "deleted":
                continue
            value = child.get("value", "")
            enums.append(value)
            if child.get("access") == "readOnly":
                ro_enums.append(value)
        elif tag == "pattern":
            patterns.append(child.get("value", ""))
        elif tag == "units":
            facts["u"] = child.get("value", "")
    if ranges:
        facts["r"] = ranges
    if enums:
        facts["e"] = enums
        facts.pop("ero", None)
        if ro_enums:
            facts["ero"] = ro_enums
    if patterns:
        facts["p"] = patterns


def _list_facts(elem: etree._Element) -> Facts:
    info: Facts = {}
    min_items = _int_or_none(elem.get("minItems"))
    max_items = _int_or_none(elem.get("maxItems"))
    if min_items:
        info["min"] = min_items
    if max_items is not None:
        info["max"] = max_items
    for child in _children(elem):
        if child.tag == "size":
            max_len = _int_or_none(child.get("maxLength"))
            if max_len:
                info["maxl"] = max_len
    return info


class TypeTable:
    """Named data types (TR-106 and model-local), resolved to base type plus facets."""

    def __init__(self) -> None:
        """Create an empty table."""
        self._elems: dict[str, etree._Element] = {}
        self._resolved: dict[str, Facts] = {}

    def add_from(self, root: etree._Element, *, override: bool) -> None:
        """Register the top-level ``dataType`` definitions of a document.

        Args:
            root: The ``dm:document`` element.
            override: Replace definitions already registered under the same name.
        """
        for child in _children(root):
            if child.tag == "dataType" and child.get("name"):
                name = child.get("name", "")
                if override or name not in self._elems:
                    self._elems[name] = child
                    self._resolved.clear()

    def resolve(self, name: str, _seen: frozenset[str] = frozenset()) -> Facts:
        """Return the facts of a named type (base type ``t``, ``dt`` and facets).

        Args:
            name: The type's name, e.g. ``IPv4Address``.

        Raises:
            BuildError: For an unknown or circular type.
        """
        if name in self._resolved:
            return copy.deepcopy(self._resolved[name])
        if name in _seen or name not in self._elems:
            raise BuildError(f"unknown or circular data type {name!r}")
        elem = self._elems[name]
        base = elem.get("base")
        facts: Facts = self.resolve(base, _seen | {name}) if base else {}
        for child in _children(elem):
            if child.tag == "list":
                facts["l"] = _list_facts(child)
            elif child.tag in BASE_TYPES:
                facts["t"] = child.tag
                _apply_facets(facts, child)
        _apply_facets(facts, elem)  # facets given directly on a derived type
        if "t" not in facts:
            raise BuildError(f"data type {name!r} has no base type")
        facts["dt"] = name
        self._resolved[name] = facts
        return copy.deepcopy(facts)


def _param_facts(param: etree._Element, types: TypeTable) -> Facts | None:
    syntax = next((c for c in _children(param) if c.tag == "syntax"), None)
    if syntax is None:
        return None
    facts: Facts = {}
    default: str | None = None
    for child in _children(syntax):
        tag = child.tag
        if tag == "list":
            facts["l"] = _list_facts(child)
        elif tag == "dataType":
            ref = child.get("ref") or child.get("base")
            if ref:
                named = types.resolve(ref)
                list_info = facts.pop("l", None)
                facts.update(named)
                if list_info is not None:
                    facts["l"] = list_info
            _apply_facets(facts, child)
        elif tag in BASE_TYPES:
            facts["t"] = tag
            _apply_facets(facts, child)
        elif tag == "default" and (
            child.get("type") == "object" or (child.get("type") == "factory" and default is None)
        ):
            default = child.get("value", "")
    if "t" not in facts:
        raise BuildError(f"parameter {param.get('name')!r} has no type")
    if param.get("access", "readOnly") != "readOnly":
        facts["w"] = 1
    status = param.get("status", "current")
    if status != "current":
        facts["s"] = status
    if syntax.get("hidden") == "true" or syntax.get("secured") == "true":
        facts["h"] = 1
    if syntax.get("command") == "true":
        facts["cmd"] = 1
    if param.get("forcedInform") == "true":
        facts["fi"] = 1
    notify = param.get("activeNotify")
    if notify and notify != "normal":
        facts["an"] = notify
    if default is not None:
        facts["d"] = default
    return facts


def extract_model(path: Path, types_path: Path | None = None) -> Facts:
    """Extract the facts of one full root data model.

    Args:
        path: A BBF ``*-full.xml`` file.
        types_path: ``tr-106-types.xml``, used for named types the model lacks.

    Returns:
        The facts document (see the module docstring).

    Raises:
        BuildError: When the file has no ``model`` element or uses an unknown type.
    """
    root = parse_xml(path)
    types = TypeTable()
    if types_path is not None and types_path.exists():
        types.add_from(parse_xml(types_path), override=True)
    types.add_from(root, override=True)
    model = next((c for c in _children(root) if c.tag == "model"), None)
    if model is None:
        raise BuildError(f"{path.name}: no model element")
    objects: dict[str, Facts] = {}
    params: dict[str, Facts] = {}
    for obj in _children(model):
        if obj.tag != "object" or not obj.get("name"):
            continue
        if obj.get("status") == "deleted":
            continue
        name = obj.get("name", "")
        ofacts: Facts = {}
        if obj.get("access", "readOnly") != "readOnly":
            ofacts["w"] = 1
        if name.endswith(".{i}."):
            ofacts["min"] = _int_or_none(obj.get("minEntries")) or 0
            ofacts["max"] = _int_or_none(obj.get("maxEntries"))
        status = obj.get("status", "current")
        if status != "current":
            ofacts["s"] = status
        for attr, key in (("numEntriesParameter", "ne"), ("enableParameter", "en")):
            if obj.get(attr):
                ofacts[key] = obj.get(attr)
        objects[name] = ofacts
        for param in _children(obj):
            if param.tag != "parameter" or param.get("status") == "deleted":
                continue
            pfacts = _param_facts(param, types)
            if pfacts is not None:
                # A few BBF names carry stray whitespace (TR-098 "UPnPQoSDevice "); CPEs and
                # the wire (names are trimmed) do not.
                params[name + param.get("name", "").strip()] = pfacts
    roots = [n for n in objects if n.count(".") == 1]
    if len(roots) != 1:
        raise BuildError(f"{path.name}: expected one root object, found {roots}")
    return {
        "format": FORMAT_VERSION,
        "model": model.get("name", ""),
        "root": roots[0],
        "objects": objects,
        "params": params,
    }


def extract_all(bbf_dir: Path) -> dict[str, Facts]:
    """Extract both root models from a BBF folder.

    Args:
        bbf_dir: Folder holding the full XML models and tr-106-types.xml.

    Returns:
        ``{"tr098": facts, "tr181": facts}``.

    Raises:
        BuildError: When a model file is missing.
    """
    result: dict[str, Facts] = {}
    for key, filename in MODEL_FILES.items():
        path = bbf_dir / filename
        if not path.exists():
            raise BuildError(f"missing {path}")
        result[key] = extract_model(path, bbf_dir / TYPES_FILE)
    return result


def encode(facts: Facts) -> bytes:
    """Serialise facts as deterministic gzip-compressed JSON (no timestamp in the header)."""
    raw = json.dumps(facts, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bbf", type=Path, required=True, help="folder with the BBF XML files")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for key, facts in extract_all(args.bbf).items():
        data = encode(facts)
        target = args.out / f"{key}.json.gz"
        target.write_bytes(data)
        print(
            f"{target}: {len(facts['objects'])} objects, {len(facts['params'])} parameters, "
            f"{len(data)} bytes"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
