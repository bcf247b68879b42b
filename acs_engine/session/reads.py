"""One pass over the declarations: what is stale, what must be read, what must be written.

This is GenieACS's ``runDeclarations`` + ``processDeclarations`` + ``processInstances``:
wildcards and aliases are expanded against what is known, timestamps are merged (maximum per
attribute) and compared with the time each attribute was learned, declared values are merged
(the last declaration wins) and instance counts become instances to create or delete. The
result is a :class:`~acs_engine.session.sync.SyncState`; the planner turns it into RPCs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from acs_engine.session.coerce import sanitize
from acs_engine.session.declarations import Declaration
from acs_engine.session.index import SPECIAL_ROOTS, Index, depth
from acs_engine.session.paths import (
    Alias,
    Path,
    PathError,
    Segment,
    alias_declarations,
    alias_holds,
    match_source,
    parse,
)
from acs_engine.session.sync import SyncState

log = logging.getLogger("fieldacs.sync")


def split_value(raw: Any) -> tuple[Any, str | None]:
    """A declared ``value`` as (value, type or None): accepts ``v``, ``[v]``, ``(v, type)``."""
    if isinstance(raw, list | tuple):
        if not raw:
            return None, None
        kind = raw[1] if len(raw) > 1 and raw[1] else None
        return raw[0], kind
    return raw, None


def _bits(start: int, end: int) -> int:
    """Flags with bits ``start`` .. ``end - 1`` set."""
    return ((1 << end) - 1) ^ ((1 << start) - 1) if end > start else 0


def _pattern(path: Path) -> tuple[str, ...]:
    return tuple("*" if isinstance(s, Alias) else str(s) for s in path.segments)


def _segments(name: str) -> tuple[str, ...]:
    return tuple(name.split(".")) if name else ()


class _Trie:
    """Declared patterns sharing their leading segments."""

    __slots__ = ("below", "below_max", "children", "children_max", "ends", "wild")

    def __init__(self) -> None:
        self.children: dict[Segment, _Trie] = {}
        #: (timestamp, attribute timestamps) of the declarations ending here.
        self.ends: list[tuple[int, dict[str, int]]] = []
        #: (pattern, timestamp) of every declaration through here.
        self.below: list[tuple[tuple[str, ...], int]] = []
        #: Filled in by :meth:`seal`: the newest timestamp in ``below``, the newest in the
        #: children's ``below``, and whether a child segment is a wildcard or an alias.
        self.below_max = 0
        self.children_max = 0
        self.wild = False

    def seal(self) -> None:
        """Compute the summaries once the trie is complete."""
        self.below_max = max((st for _p, st in self.below), default=0)
        for segment, sub in self.children.items():
            sub.seal()
            self.children_max = max(self.children_max, sub.below_max)
            if isinstance(segment, Alias) or segment == "*":
                self.wild = True


class Pass:
    """The analysis of one pass (build it, call :meth:`run`, read :attr:`state`).

    Args:
        index: what is known about the device.
        session_timestamp: declared timestamps are capped at this (ms).
    """

    def __init__(self, index: Index, session_timestamp: int) -> None:
        self.index = index
        self.now = session_timestamp
        self.state = SyncState()
        self._reads: list[tuple[Path, int, dict[str, int]]] = []
        self._attr_need: dict[str, dict[str, int]] = {}
        self._values: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ entry point
    def run(self, declarations: Sequence[Declaration]) -> SyncState:
        """Analyse ``declarations`` and return the work list."""
        for declaration in declarations:
            self._declaration(declaration)
        self._traverse()
        self._attributes()
        self._assign_values()
        return self.state

    def _cap(self, stamp: int | None) -> int:
        return min(max(int(stamp or 1), 1), self.now) if self.now else max(int(stamp or 1), 1)

    def _need(self, name: str, attrs: dict[str, int]) -> None:
        current = self._attr_need.get(name)
        if current is None:
            self._attr_need[name] = {a: st if st > 0 else 0 for a, st in attrs.items()}
            return
        for attr, stamp in attrs.items():
            known = current.get(attr, 0)
            current[attr] = stamp if stamp > known else known

    # ------------------------------------------------------------------ merging
    def _declaration(self, declaration: Declaration) -> None:
        try:
            path = parse(declaration.path)
        except PathError as exc:
            log.warning("declaration ignored: %s", exc)
            return
        path_get = self._cap(declaration.path_get)
        attr_get = {k: self._cap(v) for k, v in declaration.attr_get.items() if v and v >= 1}
        if path.has_alias:
            for extra in alias_declarations(path, path_get):
                self._reads.append((parse(extra.path), extra.path_get or 1, dict(extra.attr_get)))
        self._reads.append((path, path_get, attr_get))
        targets: list[str] | None = None
        if declaration.attr_set:
            targets = match_source(path, self.index) if path.is_pattern else [str(path)]
            for name in targets:
                current = self._values.get(name)
                if current is None:
                    if not declaration.defer:
                        self._values[name] = dict(declaration.attr_set)
                else:
                    current.update(declaration.attr_set)
                self._need(name, {"writable": 1})
        if declaration.path_set is not None:
            self._instances(path, declaration.path_set, declaration.defer)

    def _instances(self, path: Path, path_set: int | tuple[int, int], defer: bool) -> None:
        if isinstance(path_set, list | tuple):
            low, high = int(path_set[0]), int(path_set[1])
        else:
            low = high = int(path_set)
        last = path.segments[-1]
        keys: dict[str, str] | None
        if isinstance(last, Alias):
            keys = {str(k): v for k, v in last.conditions}
        elif last == "*":
            keys = {}
        else:
            keys = None
        parent_path = path.slice(0, -1)
        if not parent_path.segments:
            return
        if parent_path.is_pattern:
            parents = match_source(parent_path, self.index)
        else:
            parents = [str(parent_path)]
        tail = Path((last,))
        for parent in parents:
            found = match_source(tail, self.index, parent) if self.index.has(parent) else []
            if self.index.has(parent):
                self._need(parent, {"writable": 1})
            for name in found:
                self._need(name, {"writable": 1})
            self._count(parent, found, keys, low, high, defer)

    def _count(
        self,
        parent: str,
        found: list[str],
        keys: dict[str, str] | None,
        low: int,
        high: int,
        defer: bool,
    ) -> None:
        state = self.state
        if parent.split(".", 1)[0] == "Downloads":
            if depth(parent) != 1:
                return
            to_delete = state.downloads_to_delete
            to_create = state.downloads_to_create
        else:
            to_delete = state.instances_to_delete.setdefault(parent, {})
            to_create = state.instances_to_create.setdefault(parent, [])
        if defer and not to_create and not to_delete:
            return
        counter = 0
        for name in found:
            counter += 1
            if counter > high:
                to_delete[name] = None
            elif counter <= low:
                to_delete.pop(name, None)
        if keys is None:
            return
        kept: list[dict[str, str]] = []
        for pending in to_create:
            covers = all(pending.get(k) == v for k, v in keys.items())
            if covers:
                counter += 1
                if counter > high:
                    continue
            kept.append(pending)
        to_create[:] = kept
        while counter < low:
            counter += 1
            to_create.append(dict(keys))

    # ------------------------------------------------------------------ existence
    def _traverse(self) -> None:
        """Walk every read declaration over the known tree at once (a trie of patterns)."""
        root = _Trie()
        for path, stamp, attrs in self._reads:
            if path.root in SPECIAL_ROOTS:
                for name in match_source(path, self.index):
                    if attrs:
                        self._need(name, attrs)
                continue
            trie = root
            pattern = _pattern(path)
            trie.below.append((pattern, stamp))
            for segment in path.segments:
                trie = trie.children.setdefault(segment, _Trie())
                trie.below.append((pattern, stamp))
            # Normalised as _need does, once here rather than once per node visited.
            trie.ends.append((stamp, {a: st if st > 0 else 0 for a, st in attrs.items()}))
        root.seal()
        self._visit("", root)

    def _stale_parent(self, name: str, known: int, stale: list[tuple[tuple[str, ...], int]]) -> None:
        d = depth(name)
        if known > 0:
            self.state.add_gpn(name, _segments(name), 1 << d)
            return
        for pattern, _stamp in stale:
            self.state.add_gpn(name, pattern, _bits(d, len(pattern)))

    def _visit(self, name: str, trie: _Trie) -> None:
        index = self.index
        nodes = index.nodes
        node = nodes[name]
        if name:
            ends = trie.ends
            if ends:
                exist_ts = node.exist_ts
                need = self._attr_need
                for stamp, attrs in ends:
                    if stamp > exist_ts:
                        self.state.exist[name] = None
                    if attrs:  # _need, inlined; ``attrs`` is already normalised
                        current = need.get(name)
                        if current is None:
                            need[name] = attrs.copy()
                        else:
                            for attr, st in attrs.items():
                                known = current.get(attr, 0)
                                current[attr] = st if st > known else known
        elif not trie.children:
            return
        if not trie.children:
            return
        if node.object is not True:
            if node.object is None or trie.children_max > node.object_ts:
                self.state.object[name] = None
                if node.object is None:
                    for sub in trie.children.values():
                        for pattern, _stamp in sub.below:
                            self.state.gpn_patterns[pattern] = self.state.gpn_patterns.get(
                                pattern, 0
                            ) | _bits(depth(name), len(pattern))
            return
        visit = self._visit
        for segment, sub in trie.children.items():
            if isinstance(segment, Alias) or segment == "*":
                known = node.children_ts
                if sub.below_max > known:
                    self._stale_parent(name, known, [(p, st) for p, st in sub.below if st > known])
                if name:
                    children: Iterable[str] = node.children
                else:  # the ACS's own roots: nothing to read there
                    children = [c for c in node.children if c not in SPECIAL_ROOTS]
                if isinstance(segment, Alias):
                    for child_name in children:
                        if alias_holds(index, child_name, segment):
                            visit(child_name, sub)
                else:
                    for child_name in children:
                        visit(child_name, sub)
                continue
            literal = f"{name}.{segment}" if name else str(segment)
            if literal in nodes:
                if name or literal not in SPECIAL_ROOTS:
                    visit(literal, sub)
            else:
                known = node.children_ts
                if sub.below_max > known:
                    self._stale_parent(name, known, [(p, st) for p, st in sub.below if st > known])

    # ------------------------------------------------------------------ attributes
    def _attributes(self) -> None:
        state = self.state
        nodes = self.index.nodes
        values = state.value
        objects = state.object
        for name, attrs in self._attr_need.items():
            node = nodes.get(name)
            if node is None or not name:
                continue
            root = name.partition(".")[0]
            if root not in SPECIAL_ROOTS:
                for attr, stamp in attrs.items():
                    if attr == "value":
                        if stamp <= node.value_ts:
                            continue
                        if node.object is None:
                            objects[name] = None
                        elif node.object is False:
                            values[name] = None
                    elif attr == "object":
                        if stamp > node.object_ts:
                            objects[name] = None
                    elif attr == "writable":
                        if stamp > node.writable_ts:
                            state.writable[name] = None
                    elif attr == "notification":
                        if stamp > node.attr_ts:
                            state.notification[name] = None
                    elif attr == "accessList" and stamp > node.attr_ts:
                        state.access_list[name] = None
                continue
            if root == "VirtualParameters":
                if depth(name) == 2:
                    for attr in ("value", "writable"):
                        asked = attrs.get(attr)
                        known = node.value_ts if attr == "value" else node.writable_ts
                        if asked and asked > known:
                            state.vparam_get.setdefault(name.split(".", 1)[1], {})[attr] = asked
                continue

    def _assign_values(self) -> None:
        state = self.state
        for name, attrs in self._values.items():
            root = name.split(".", 1)[0]
            d = depth(name)
            if "value" in attrs and attrs["value"] is not None:
                value, kind = split_value(attrs["value"])
                if root in ("Reboot", "FactoryReset") and d == 1:
                    when = sanitize(value, "xsd:dateTime")
                    stamp = when if isinstance(when, int) else 0
                    if root == "Reboot":
                        state.reboot = stamp
                    else:
                        state.factory_reset = stamp
                    continue
                if root == "Tags":
                    if d == 2:
                        flag = sanitize(value, "xsd:boolean")
                        state.tags[name] = flag is True
                    continue
                if root == "Downloads":
                    if d == 3:
                        if name.rsplit(".", 1)[1] == "Download":
                            when = sanitize(value, "xsd:dateTime")
                            state.downloads_download[name] = when if isinstance(when, int) else 0
                        else:
                            state.downloads_values[name] = value
                    continue
                if root == "VirtualParameters":
                    if d == 2:
                        state.vparam_set[name.split(".", 1)[1]] = (value, kind)
                    continue
            if root in SPECIAL_ROOTS or not self.index.has(name):
                continue
            if "value" in attrs and attrs["value"] is not None:
                state.spv[name] = split_value(attrs["value"])
            if attrs.get("notification") is not None:
                state.spa.setdefault(name, {"notification": None, "accessList": None})[
                    "notification"
                ] = int(attrs["notification"])
            if attrs.get("accessList") is not None:
                state.spa.setdefault(name, {"notification": None, "accessList": None})[
                    "accessList"
                ] = tuple(str(a) for a in attrs["accessList"])

