"""Generate the simulator's device models from the data-model facts.

Run as ``python -m acs_engine.datamodel.simmodel --bbf /path/to/bbf --out resources/models``
(``--bbf`` may be omitted to use the shipped facts). Writes ``tr098.json`` and ``tr181.json``
in the format the simulator reads::

    {"model": "tr181", "root": "Device.", "device": {...}, "forced_inform": [...],
     "nodes": [[path, writable, type, value], ...],
     "tables": {"Device.WiFi.SSID.": {"writable": true, "template": [[rel, w, type, default]]}}}

Which objects exist, how many instances each table has and the realistic values are in
:mod:`acs_engine.datamodel.simspec`; names, types and writability come only from the facts.
Every generated value is checked against the facts (after substituting sample placeholder
values), so a model that does not fit the data model is never written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from acs_engine.datamodel.facts import DataModel, ObjectFacts, ParamFacts, load
from acs_engine.datamodel.simspec import SimSpec, Value
from acs_engine.datamodel.spec098 import TR098
from acs_engine.datamodel.spec181 import TR181
from acs_engine.datamodel.values import check_facts

#: The two simulated devices, by model key.
SPECS: dict[str, SimSpec] = {"tr098": TR098, "tr181": TR181}

#: Sample values for the placeholders the simulator substitutes per device.
SAMPLE_CONTEXT: dict[str, str] = {
    "serial": "SIM0000001",
    "oui": "F1E1D0",
    "product_class": "SimGW",
    "manufacturer": "FieldACS",
    "ip": "203.0.113.10",
    "mac": "F2:E1:D0:00:00:01",
    "cr_url": "http://203.0.113.10:7547/cr/SIM0000001",
    "cr_username": "cr-SIM0000001",
    "cr_password": "cr-secret",
    "acs_url": "http://192.0.2.1:7547/",
    "now": "2025-01-01T12:00:00Z",
}

Node = list[Any]
UNKNOWN_TIME = "0001-01-01T00:00:00Z"
_LIVE_ENUMS = ("Up", "Enabled", "Connected", "Enabled_Client", "None", "Complete")
_FRESH_ENUMS = ("Down", "Disabled", "None", "Unconfigured", "Error_Misconfigured")


class GenerationError(Exception):
    """A generated or specified value does not fit the data model."""


def render(value: str, context: dict[str, str] | None = None) -> str:
    """Substitute ``{placeholder}`` names in a model value.

    Args:
        value: A value from a simulator model.
        context: Placeholder values; :data:`SAMPLE_CONTEXT` when omitted.

    Returns:
        The value with every known placeholder replaced.
    """
    for name, replacement in (context or SAMPLE_CONTEXT).items():
        value = value.replace("{" + name + "}", replacement)
    return value


def _neutral(facts: ParamFacts, instance: int | None, fresh: bool) -> str | None:
    """A plausible value for a parameter the spec does not mention."""
    name = facts.path.rsplit(".", 1)[-1]
    candidates: list[str] = []
    if facts.default is not None:
        candidates.append(facts.default)
    if name == "Alias" and instance is not None and not fresh:
        table = facts.path.split(".{i}.")[-2].rsplit(".", 1)[-1]
        candidates.insert(0, f"cpe-{table.lower()}-{instance}")
    if facts.enumerations:
        preferred = _FRESH_ENUMS if fresh else _LIVE_ENUMS
        candidates += [v for v in preferred if v in facts.enumerations]
        candidates.append(facts.enumerations[0])
    kind = facts.type
    if kind == "boolean":
        candidates.append("true" if name == "Enable" and not fresh else "false")
    elif kind in ("int", "unsignedInt", "long", "unsignedLong", "decimal"):
        candidates.append("0")
        for low, high, _step in facts.ranges:
            candidates += [str(v) for v in (low, high) if v is not None]
    elif kind == "dateTime":
        candidates.append(UNKNOWN_TIME)
    elif facts.data_type == "UUID" or name.endswith("UUID"):
        candidates.append("f1e1d0a5-0000-4000-8000-000000000001")
    elif kind == "hexBinary":
        candidates.append("00" * (facts.min_length or 0))
    else:
        candidates.append("")
    for candidate in candidates:
        if check_facts(facts, candidate) is None:
            return candidate
    return None


def _spec_value(value: Value, indices: tuple[int, ...]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return value[(indices[-1] - 1) % len(value)]
    return value(indices)


class _Builder:
    """Walks the generic model along the spec and emits nodes and tables."""

    def __init__(self, model: DataModel, spec: SimSpec) -> None:
        self.model = model
        self.spec = spec
        self.included = self._with_ancestors(spec.objects)
        self.nodes: list[Node] = []
        self.tables: dict[str, dict[str, Any]] = {}

    def _with_ancestors(self, objects: tuple[str, ...]) -> set[str]:
        known = set(self.model.object_paths())
        included: set[str] = set()
        for path in objects:
            if path not in known:
                raise GenerationError(f"spec names unknown object {path}")
            parts = path.split(".")
            for end in range(1, len(parts)):
                prefix = ".".join(parts[:end]) + "."
                if prefix in known:
                    included.add(prefix)
        return included

    def _count(self, table: str, indices: tuple[int, ...]) -> int:
        count = self.spec.counts.get(table)
        if count is None:
            facts = self.model.lookup(table)
            minimum = facts.min_entries if isinstance(facts, ObjectFacts) else 0
            return max(1, minimum)
        return count if isinstance(count, int) else count(indices)

    def _param_value(
        self, facts: ParamFacts, indices: tuple[int, ...], counts: dict[str, int], fresh: bool
    ) -> str:
        name = facts.path.rsplit(".", 1)[-1]
        if name in counts:
            value = str(0 if fresh else counts[name])
        elif not fresh and facts.path in self.spec.values:
            value = _spec_value(self.spec.values[facts.path], indices)
        elif fresh and facts.path in self.spec.fresh_values:
            value = self.spec.fresh_values[facts.path]
        else:
            neutral = _neutral(facts, indices[-1] if indices else None, fresh)
            if neutral is None and facts.path in self.spec.values:
                neutral = _spec_value(self.spec.values[facts.path], (*indices[:-1], 1))
            if neutral is None:
                raise GenerationError(f"{facts.path}: no valid value; add one to the spec")
            value = neutral
        reason = check_facts(facts, render(value))
        if reason is not None:
            raise GenerationError(f"{facts.path} = {value!r}: {reason}")
        return value

    def _wanted(self, facts: ParamFacts) -> bool:
        if facts.path in self.spec.skip:
            return False
        return not facts.deprecated or facts.path in self.spec.keep_deprecated

    def walk(
        self, generic: str, concrete: str, indices: tuple[int, ...], fresh: bool, out: list[Node]
    ) -> None:
        """Emit an object and its included subtree (depth first, parameters first)."""
        children = self.model.children(generic)
        counts: dict[str, int] = {}
        for child in children:
            if child.endswith(".{i}.") and child.count(".") == generic.count(".") + 2:
                obj = self.model.lookup(child)
                if isinstance(obj, ObjectFacts) and obj.num_entries_parameter:
                    included = child in self.included
                    counts[obj.num_entries_parameter] = (
                        self._count(child, indices) if included and not fresh else 0
                    )
        for child in children:
            if child.endswith("."):
                continue
            facts = self.model.param(child)
            if facts is not None and self._wanted(facts):
                value = self._param_value(facts, indices, counts, fresh)
                out.append(
                    [concrete + child[len(generic) :], facts.writable, facts.xsd_type, value]
                )
        for child in children:
            if not child.endswith(".") or child not in self.included:
                continue
            rel = child[len(generic) :]
            obj = self.model.lookup(child)
            assert isinstance(obj, ObjectFacts)
            if not rel.endswith(".{i}."):
                out.append([concrete + rel, False, None, None])
                self.walk(child, concrete + rel, indices, fresh, out)
                continue
            table = concrete + rel[: -len("{i}.")]
            out.append([table, obj.writable, None, None])
            if fresh:
                continue
            template: list[Node] = []
            self.walk(child, "", (*indices, 0), True, template)
            self.tables[table] = {"writable": obj.writable, "template": template}
            for number in range(1, self._count(child, indices) + 1):
                instance = f"{table}{number}."
                out.append([instance, obj.writable, None, None])
                self.walk(child, instance, (*indices, number), False, out)


def generate(spec: SimSpec, model: DataModel | None = None) -> dict[str, Any]:
    """Build one simulator model document.

    Args:
        spec: What to instantiate and which values to use.
        model: The facts to follow; the shipped facts of ``spec.key`` when omitted.

    Returns:
        The JSON-ready document.

    Raises:
        GenerationError: When the spec and the facts disagree or a value is invalid.
    """
    model = model or load(spec.key)
    builder = _Builder(model, spec)
    root = model.root
    builder.nodes.append([root, False, None, None])
    builder.walk(root, root, (), False, builder.nodes)
    paths = {node[0] for node in builder.nodes}
    missing = [p for p in spec.forced_inform if p not in paths]
    if missing:
        raise GenerationError(f"forced inform parameters not in the model: {missing}")
    return {
        "model": spec.key,
        "root": root,
        "device": dict(spec.device),
        "forced_inform": list(spec.forced_inform),
        "nodes": builder.nodes,
        "tables": builder.tables,
    }


def dumps(document: dict[str, Any]) -> str:
    """Serialise a model with one node per line (readable diffs, deterministic)."""
    lines = ["{"]
    for key in ("model", "root", "device", "forced_inform"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(document[key])},")
    lines.append('  "nodes": [')
    nodes = document["nodes"]
    lines += [
        f"    {json.dumps(n)}{',' if i < len(nodes) - 1 else ''}" for i, n in enumerate(nodes)
    ]
    lines.append("  ],")
    lines.append('  "tables": {')
    tables = list(document["tables"].items())
    for i, (path, table) in enumerate(tables):
        lines.append(
            f"    {json.dumps(path)}: {json.dumps(table)}{',' if i < len(tables) - 1 else ''}"
        )
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(description="Generate the simulator's device models.")
    parser.add_argument("--bbf", type=Path, help="BBF folder (default: the shipped facts)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    models: dict[str, DataModel] = {}
    if args.bbf is not None:
        from acs_engine.datamodel.build import extract_all

        models = {key: DataModel(key, doc) for key, doc in extract_all(args.bbf).items()}
    args.out.mkdir(parents=True, exist_ok=True)
    for key, spec in SPECS.items():
        document = generate(spec, models.get(key))
        target = args.out / f"{key}.json"
        target.write_text(dumps(document), encoding="utf-8")
        params = sum(1 for node in document["nodes"] if node[2] is not None)
        print(f"{target}: {len(document['nodes'])} nodes, {params} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
