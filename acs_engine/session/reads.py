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

    __slots__ = (
        "below", "below_max", "children", "children_max", "end_attrs", "end_stamp", "ends",
        "kids", "wild",
    )

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
        #: The ``ends`` merged (newest timestamp; newest per attribute, in the order the
        #: attributes first appear; None when no declaration here asks for an attribute).
        self.end_stamp = 0
        self.end_attrs: dict[str, int] | None = None
        #: (segment, child, 0 literal / 1 wildcard / 2 alias), in declaration order.
        self.kids: list[tuple[Segment, _Trie, int]] = []

    def seal(self, shared: set[int]) -> None:
        """Compute the summaries once the trie is complete (``shared`` collects the ids of
        the merged attribute dicts, which a pass must copy before changing)."""
        self.below_max = max((st for _p, st in self.below), default=0)
        if self.ends:
            self.end_stamp = max(st for st, _a in self.ends)
            merged: dict[str, int] = {}
            for _st, attrs in self.ends:
                for attr, st in attrs.items():
                    known = merged.get(attr, 0)
                    merged[attr] = st if st > known else known
            if merged:
                self.end_attrs = merged
                shared.add(id(merged))
        for segment, sub in self.children.items():
            sub.seal(shared)
            self.children_max = max(self.children_max, sub.below_max)
            kind = 2 if isinstance(segment, Alias) else 1 if segment == "*" else 0
            if kind:
                self.wild = True
            self.kids.append((segment, sub, kind))


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
        #: Ids of attribute dicts that belong to the trie (see :meth:`_merge`).
        self._shared: set[int] = set()

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
        self._merge(name, current, attrs)

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
        root.seal(self._shared)
        self._visit("", root)

    def _stale_parent(self, name: str, known: int, stale: list[tuple[tuple[str, ...], int]]) -> None:
        d = depth(name)
        if known > 0:
            self.state.add_gpn(name, _segments(name), 1 << d)
            return
        for pattern, _stamp in stale:
            self.state.add_gpn(name, pattern, _bits(d, len(pattern)))

    def _visit(self, name: str, trie: _Trie) -> None:
        node = self.index.nodes[name]
        kids = trie.kids
        if name and trie.ends:
            if trie.end_stamp > node.exist_ts:
                self.state.exist[name] = None
            attrs = trie.end_attrs
            if attrs is not None:  # _need, inlined; ``attrs`` is already normalised
                need = self._attr_need
                current = need.get(name)
                if current is None:
                    need[name] = attrs  # shared until changed (see _merge)
                else:
                    self._merge(name, current, attrs)
        if not kids:
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
        for segment, sub, kind in kids:
            if kind:
                known = node.children_ts
                if sub.below_max > known:
                    self._stale_parent(name, known, [(p, st) for p, st in sub.below if st > known])
                if name:
                    children: Iterable[str] = node.children
                else:  # the ACS's own roots: nothing to read there
                    children = [c for c in node.children if c not in SPECIAL_ROOTS]
                if kind == 2:
                    assert isinstance(segment, Alias)
                    for child_name in children:
                        if alias_holds(self.index, child_name, segment):
                            visit(child_name, sub)
                else:
                    for child_name in children:
                        visit(child_name, sub)
                continue
            literal = f"{name}.{segment}" if name else str(segment)
            if literal in self.index.nodes:
                if name or literal not in SPECIAL_ROOTS:
                    visit(literal, sub)
            else:
                known = node.children_ts
                if sub.below_max > known:
                    self._stale_parent(name, known, [(p, st) for p, st in sub.below if st > known])

    def _merge(self, name: str, current: dict[str, int], attrs: dict[str, int]) -> None:
        """Merge ``attrs`` into what ``name`` needs (newest per attribute)."""
        if id(current) in self._shared:  # a trie's own dict: copy it before changing it
            current = self._attr_need[name] = current.copy()
        for attr, st in attrs.items():
            known = current.get(attr, 0)
            current[attr] = st if st > known else known

    # ------------------------------------------------------------------ attributes
    def _attributes(self) -> None:
        state = self.state
        nodes = self.index.nodes
        values = state.value
        objects = state.object
        writables = state.writable
        # Many names share one attribute dict (a trie's): read its timestamps once.
        specs: dict[int, tuple[int, int, int, int, int]] = {}
        for name, attrs in self._attr_need.items():
            node = nodes.get(name)
            if node is None or not name:
                continue
            root = name.partition(".")[0]
            if root not in SPECIAL_ROOTS:
                spec = specs.get(id(attrs))
                if spec is None:
                    get = attrs.get
                    spec = (
                        get("value", 0), get("object", 0), get("writable", 0),
                        get("notification", 0), get("accessList", 0),
                    )
                    if id(attrs) in self._shared:
                        specs[id(attrs)] = spec
                value_st, object_st, writable_st, notification_st, access_st = spec
                if value_st > node.value_ts:
                    if node.object is None:
                        objects[name] = None
                    elif node.object is False:
                        values[name] = None
                if object_st > node.object_ts:
                    objects[name] = None
                if writable_st > node.writable_ts:
                    writables[name] = None
                if notification_st > node.attr_ts:
                    state.notification[name] = None
                if access_st > node.attr_ts:
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



class LastPass:
    """The passes run over the current view, for a planner that asks the same question again.

    A pass is a function of the view it reads, the session's time and the declarations. The
    planner asks again with all three unchanged when a new preset cycle brings back
    declarations it has already planned over a tree that has not changed since (a bootstrap:
    the first cycle's provisions, then the second cycle's); the earlier work list is the
    answer then. What the planner does with a work list afterwards only adds the
    GetParameterNames its own entries imply (the same entries, in the same order, however
    often it is done), so a work list handed out twice plans the same RPCs.
    """

    #: False: every call runs a new pass (the tests compare both ways).
    enabled = True
    #: Work lists kept per view version (the declaration sets of the provisions and of the
    #: virtual parameters being evaluated alternate).
    KEEP = 4

    __slots__ = ("_index", "_kept", "_key", "reused")

    def __init__(self) -> None:
        self._index: Index | None = None
        self._key: object = None
        self._kept: list[tuple[list[Declaration], SyncState]] = []
        #: How many passes were answered from an earlier one.
        self.reused = 0

    def run(
        self, index: Index, key: object, session_timestamp: int,
        declarations: Sequence[Declaration],
    ) -> SyncState:
        """The work list for ``declarations`` over ``index`` as of ``key`` (its version)."""
        if index is not self._index or key != self._key:
            self._index, self._key, self._kept = index, key, []
        elif self.enabled:
            for kept, state in self._kept:
                if kept == declarations:
                    self.reused += 1
                    return state
        state = Pass(index, session_timestamp).run(declarations)
        if self.enabled:
            self._kept = [*self._kept[-(self.KEEP - 1):], (list(declarations), state)]
        return state
