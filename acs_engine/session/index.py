"""A read-only view of what a session knows about a device, for planning and for scripts.

The :class:`~acs_engine.session.tree.DeviceTree` keeps rows as the store has them (objects end
in '.', parents may be missing). The planner needs GenieACS's view instead: every node by its
name (no trailing '.'), parents implied by their children, each attribute with the time it was
learned, and the special roots synthesised from the device record (``DeviceID.*``,
``Events.*``, ``Tags.*``, ``VirtualParameters.*``). :class:`Index` builds that view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from acs_engine.session.coerce import iso_ms, sanitize
from acs_engine.session.tree import DeviceTree
from acs_engine.store.model import DeviceRecord

#: Roots that are not CPE parameters.
SPECIAL_ROOTS = frozenset(
    {"Reboot", "FactoryReset", "Tags", "Downloads", "VirtualParameters", "Events", "DeviceID"}
)


def parent_name(name: str) -> str:
    """The name of the node containing ``name`` ("" for a top-level node)."""
    cut = name.rfind(".")
    return name[:cut] if cut >= 0 else ""


def depth(name: str) -> int:
    """Number of segments of ``name`` (0 for the root)."""
    return name.count(".") + 1 if name else 0


@dataclass(slots=True)
class Node:
    """One node of the view; timestamps are 0 when the attribute was never learned."""

    name: str
    object: bool | None = None
    object_ts: int = 0
    writable: bool | None = None
    writable_ts: int = 0
    value: str | None = None
    type: str | None = None
    value_ts: int = 0
    notification: int | None = None
    access_list: tuple[str, ...] | None = None
    attr_ts: int = 0
    exist_ts: int = 0
    children_ts: int = 0
    special: bool = False
    children: dict[str, None] = field(default_factory=dict)

    def typed(self) -> Any:
        """The value in its typed form (see :func:`~acs_engine.session.coerce.sanitize`)."""
        if self.value is None:
            return None
        return sanitize(self.value, self.type or "xsd:string")


class Index:
    """GenieACS's view of a device: nodes by name, parents implied, special roots added.

    Args:
        tree: the session's tree.
        device: the device record (DeviceID, Events and Tags come from it); None leaves the
            synthesised roots out.
        session_timestamp: the session's start (ms): synthesised nodes are this fresh.
        events: the event codes of the session's Inform (``"1 BOOT"``).
        virtual_parameters: names of the defined virtual parameters.
    """

    def __init__(
        self,
        tree: DeviceTree,
        device: DeviceRecord | None = None,
        session_timestamp: int = 0,
        events: Iterable[str] = (),
        virtual_parameters: Iterable[str] = (),
    ) -> None:
        self.nodes: dict[str, Node] = {"": Node("", object=True)}
        self.nodes[""].children_ts = tree.root_children_ts
        self._order: dict[str, int] | None = None
        self._implicit: set[str] = set()
        self._snapshot: dict[str, dict[str, Any]] | None = None
        #: Where in the tree's history this view is (see :meth:`refresh`).
        self.mark = tree.mark()
        for key, param in tree.params.items():
            if key in ("", "."):
                continue
            is_obj = key.endswith(".")
            name = key[:-1] if is_obj else key
            node = self._node(name)
            self._implicit.discard(name)
            _fill(node, param, is_obj)
            self._link(node)
        #: True when a parameter (not an object row) has children: such a view is rebuilt.
        self._mixed = any(
            node.children for key, node in self.nodes.items() if key and key in tree.params
        )
        #: Nodes made up for the ACS's own roots: they come after the tree's nodes.
        self._synthesised: list[str] = []
        if device is not None:
            before = len(self.nodes)
            self._synthesise(device, session_timestamp, events, virtual_parameters)
            self._synthesised = list(self.nodes)[before:]

    # ------------------------------------------------------------------ catching up
    def refresh(self, tree: DeviceTree) -> bool:
        """Catch up with what changed in ``tree`` since this view was built or refreshed.

        The result is exactly what building a new view would give; when that cannot be
        guaranteed cheaply (a delete or a load since, the ACS's own roots, a parameter that
        also has children, a changed existence time under an implied object) nothing is
        changed and False is returned: build a new view then.
        """
        changed = tree.changed_since(self.mark)
        if changed is None or self._mixed:
            return False
        params = tree.params
        nodes = self.nodes
        implicit = self._implicit
        updates: list[tuple[Node, Any, bool]] = []
        added: list[tuple[str, Any, bool]] = []
        #: Names known to have no implied object above them (this call only).
        explicit: set[str] = set()
        #: New name -> the nearest node above it that is already in the view.
        anchors: dict[str, str] = {}
        for key in dict.fromkeys(changed):
            if key in ("", "."):
                continue
            param = params.get(key)
            if param is None:
                return False
            is_obj = key.endswith(".")
            name = key[:-1] if is_obj else key
            if name.partition(".")[0] in SPECIAL_ROOTS:
                return False
            if (name if is_obj else key + ".") in params:
                return False  # both an object and a parameter: order-dependent
            node = nodes.get(name)
            if node is None or name in implicit:
                if not is_obj and node is not None:
                    return False  # a parameter with children
                up = parent_name(name)
                while up not in nodes:
                    if up in anchors:  # a new object listed before its children
                        up = anchors[up]
                        break
                    up = parent_name(up)
                if not up or nodes[up].object is not True:
                    return False  # a new root, or a parameter turned into an object
                if node is None:
                    anchors[name] = up
                added.append((name, param, is_obj))
                continue
            if not is_obj and node.children:
                return False
            if implicit and node.exist_ts != _exist_ts(param, is_obj):
                # Implied objects above take their existence from their children.
                up = parent_name(name)
                walked: list[str] = []
                while up and up not in explicit:
                    if up in implicit:
                        return False
                    walked.append(up)
                    up = parent_name(up)
                explicit.update(walked)
            updates.append((node, param, is_obj))
        # Nothing changed yet: from here on the catch-up cannot fail.
        nodes[""].children_ts = tree.root_children_ts
        snapshot = self._snapshot
        for node, param, is_obj in updates:
            _refill(node, param, is_obj)
            if snapshot is not None:
                snapshot[node.name] = _entry(node)
        if added:
            self._order = None
            before = len(nodes)
            for name, param, is_obj in added:
                node = self._node(name)
                implicit.discard(name)
                _fill(node, param, is_obj)
                self._link(node)
            if snapshot is not None:
                for name in list(nodes)[before:]:
                    snapshot[name] = _entry(nodes[name])
                for name, _param, _is_obj in added:  # implied objects now in the tree
                    snapshot[name] = _entry(nodes[name])
            for name in self._synthesised:  # keep them last, as a new view has them
                nodes[name] = nodes.pop(name)
                if snapshot is not None:
                    snapshot[name] = snapshot.pop(name)
        self.mark = tree.mark()
        return True

    # ------------------------------------------------------------------ building
    def _node(self, name: str) -> Node:
        node = self.nodes.get(name)
        if node is None:
            node = Node(name)
            self.nodes[name] = node
        return node

    def _link(self, node: Node) -> None:
        """Attach ``node`` to its parents, creating implied objects on the way up."""
        child = node
        while child.name:
            pname = parent_name(child.name)
            parent = self.nodes.get(pname)
            if parent is None:
                parent = Node(pname, object=True)
                self.nodes[pname] = parent
                self._implicit.add(pname)
            elif parent.object is not True:
                parent.object = True
            linked = child.name in parent.children
            if not linked:
                parent.children[child.name] = None
            if pname in self._implicit and child.exist_ts > parent.exist_ts:
                parent.exist_ts = parent.object_ts = child.exist_ts
            elif linked:
                return
            child = parent

    def add_leaf(
        self, name: str, value: str | None, xsd_type: str, ts: int, *, writable: bool = False
    ) -> Node:
        """Add a synthesised parameter (used for the special roots)."""
        node = self._node(name)
        node.object = False
        node.object_ts = ts
        node.writable = writable
        node.writable_ts = ts
        if value is not None:
            node.value, node.type, node.value_ts = value, xsd_type, ts
        node.exist_ts = ts
        node.special = True
        self._link(node)
        return node

    def _synthesise(
        self,
        device: DeviceRecord,
        ts: int,
        events: Iterable[str],
        virtual_parameters: Iterable[str],
    ) -> None:
        ids = {
            "ID": device.id,
            "Manufacturer": device.manufacturer,
            "OUI": device.oui,
            "ProductClass": device.product_class,
            "SerialNumber": device.serial_number,
        }
        for key, text in ids.items():
            self.add_leaf(f"DeviceID.{key}", text, "xsd:string", ts)
        stamps: dict[str, int | None] = {
            "Inform": device.last_inform_ms,
            "1_BOOT": device.last_boot_ms,
            "0_BOOTSTRAP": device.last_bootstrap_ms,
            "Registered": device.registered_ms,
        }
        for code in events:
            stamps["_".join(code.split())] = ts
        for key, when in stamps.items():
            if when is not None:
                self.add_leaf(f"Events.{key}", iso_ms(when), "xsd:dateTime", ts)
        for tag in sorted(device.tags):
            self.add_leaf(f"Tags.{tag}", "true", "xsd:boolean", ts, writable=True)
        for name in virtual_parameters:
            node = self.nodes.get(f"VirtualParameters.{name}")
            if node is None:
                node = self._node(f"VirtualParameters.{name}")
                node.object = False
                node.exist_ts = ts
                node.special = True
                self._link(node)
        for root in ("DeviceID", "Events", "Tags", "VirtualParameters"):
            node = self._node(root)
            node.object = True
            node.special = True
            node.exist_ts = node.object_ts = node.children_ts = max(node.children_ts, ts)
            self.nodes[""].children[root] = None

    # ------------------------------------------------------------------ NodeSource
    def child_names(self, name: str) -> list[str]:
        """Names directly under ``name``."""
        node = self.nodes.get(name)
        return list(node.children) if node is not None else []

    def typed_value(self, name: str) -> tuple[str, str] | None:
        """(value text, type) of a parameter with a known value."""
        node = self.nodes.get(name)
        if node is None or node.value is None:
            return None
        return node.value, node.type or "xsd:string"

    def has(self, name: str) -> bool:
        """True when ``name`` is known to exist."""
        return name in self.nodes

    def get(self, name: str) -> Node | None:
        """The node called ``name``."""
        return self.nodes.get(name)

    # ------------------------------------------------------------------ order
    def position(self, name: str) -> int:
        """Depth-first position of ``name`` (children in the order they became known)."""
        if self._order is None:
            order: dict[str, int] = {}
            stack = [""]
            while stack:
                current = stack.pop()
                order[current] = len(order)
                node = self.nodes[current]
                stack.extend(reversed(node.children))
            self._order = order
        return self._order.get(name, len(self._order))

    # ------------------------------------------------------------------ scripts
    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The device data as the sandbox wants it: name -> known attributes.

        Each entry holds whichever of ``value`` (``[typed value, type]``), ``writable``,
        ``object``, ``notification`` and ``accessList`` are known.
        """
        if self._snapshot is None:
            self._snapshot = {name: _entry(node) for name, node in self.nodes.items() if name}
        return dict(self._snapshot)


def _exist_ts(param: Any, is_obj: bool) -> int:
    """The existence time a node built from ``param`` gets (see :func:`_fill`)."""
    writable_ts = param.writable_ts_ms or 0
    if is_obj:
        return max(param.exist_ts_ms or 0, writable_ts)
    return max(param.exist_ts_ms or 0, param.value_ts_ms or 0, writable_ts)


def _fill(node: Node, param: Any, is_obj: bool) -> None:
    """Set ``node``'s attributes from the tree's row ``param`` (an object row when ``is_obj``)."""
    if is_obj:
        node.object = True
        node.writable = param.writable
        node.writable_ts = param.writable_ts_ms or 0
        node.exist_ts = max(param.exist_ts_ms or 0, node.writable_ts)
        node.object_ts = node.exist_ts
        node.children_ts = param.value_ts_ms or 0
    else:
        node.value = param.value
        node.type = param.type
        node.value_ts = param.value_ts_ms or 0
        node.writable = param.writable
        node.writable_ts = param.writable_ts_ms or 0
        if param.object is False or node.value_ts or node.writable_ts:
            node.object = False
            node.object_ts = max(node.value_ts, node.writable_ts)
        node.exist_ts = max(param.exist_ts_ms or 0, node.value_ts, node.writable_ts)
    node.notification = param.notification
    node.access_list = param.access_list
    node.attr_ts = param.attr_ts_ms or 0


def _refill(node: Node, param: Any, is_obj: bool) -> None:
    """Forget ``node``'s attributes (its name, children and ``special`` stay), then
    :func:`_fill` it, in one go."""
    writable_ts = param.writable_ts_ms or 0
    node.writable = param.writable
    node.writable_ts = writable_ts
    node.notification = param.notification
    node.access_list = param.access_list
    node.attr_ts = param.attr_ts_ms or 0
    if is_obj:
        node.object = True
        node.exist_ts = node.object_ts = max(param.exist_ts_ms or 0, writable_ts)
        node.children_ts = param.value_ts_ms or 0
        node.value = node.type = None
        node.value_ts = 0
        return
    value_ts = param.value_ts_ms or 0
    node.value = param.value
    node.type = param.type
    node.value_ts = value_ts
    node.children_ts = 0
    if param.object is False or value_ts or writable_ts:
        node.object = False
        node.object_ts = value_ts if value_ts > writable_ts else writable_ts
    else:
        node.object = None
        node.object_ts = 0
    node.exist_ts = max(param.exist_ts_ms or 0, value_ts, writable_ts)


def _entry(node: Node) -> dict[str, Any]:
    """``node`` as the sandbox wants it (see :meth:`Index.snapshot`)."""
    entry: dict[str, Any] = {}
    if node.object is not None:
        entry["object"] = node.object
    if node.writable is not None:
        entry["writable"] = node.writable
    if node.value is not None:
        entry["value"] = [node.typed(), node.type or "xsd:string"]
    if node.notification is not None:
        entry["notification"] = node.notification
    if node.access_list is not None:
        entry["accessList"] = list(node.access_list)
    return entry
