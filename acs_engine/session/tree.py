"""A session's working copy of one device's parameter tree, and what the session changed.

The tree starts with what the session needs (the Inform's parameters, or the whole stored tree
once an RPC needs it) and records every change so COMMIT can write them in one transaction:
``dirty`` paths are upserted, ``deleted`` paths (a path ending in '.' is a whole subtree) are
removed first.
"""

from __future__ import annotations

from collections.abc import Iterable

from acs_engine.cwmp import rpc
from acs_engine.store.model import Param

#: Roots the ACS keeps itself (GenieACS's special roots); a root GetParameterNames never
#: prunes them.
ACS_ROOTS = frozenset(
    {"Reboot", "FactoryReset", "Tags", "Downloads", "VirtualParameters", "Events", "DeviceID"}
)


def parent_of(path: str) -> str:
    """The object path containing ``path`` ("" for a root object)."""
    trimmed = path[:-1] if path.endswith(".") else path
    cut = trimmed.rfind(".")
    return trimmed[: cut + 1] if cut >= 0 else ""


def ancestor_objects(paths: Iterable[str]) -> list[str]:
    """The objects (ending '.') containing ``paths``, shortest first, without duplicates."""
    found: dict[str, None] = {}
    for path in paths:
        trimmed = path.rstrip(".")
        cut = trimmed.find(".")
        while cut >= 0:
            found[trimmed[: cut + 1]] = None
            cut = trimmed.find(".", cut + 1)
    return sorted(found, key=len)


class DeviceTree:
    """Parameters known to a session, keyed by path, plus the changes to commit."""

    def __init__(self, params: dict[str, Param] | None = None, *, full: bool = False) -> None:
        self.params: dict[str, Param] = dict(params or {})
        #: True when ``params`` holds the device's whole stored tree.
        self.full = full
        self.dirty: set[str] = set()
        self.deleted: set[str] = set()
        #: When the root's children were last enumerated (a GetParameterNames on "").
        self._root_children_ts: int = 0
        #: Bumped on every change, so views built from the tree (the planner's index) know
        #: when to rebuild.
        self.version = 0
        #: Paths touched (created or changed in place) since the last structural change, in
        #: order, so a view can catch up with :meth:`changed_since` instead of rebuilding.
        self._journal: list[str] = []
        #: Bumped on every structural change (a delete, a load from the store): a view older
        #: than that must rebuild.
        self._epoch = 0
        #: Root objects ("Device.") the CPE reported parameters under in this session's
        #: Inform: a root GetParameterNames that leaves one out never prunes it.
        self.inform_roots: set[str] = set()
        #: What a CPE answered that contradicts itself, in words, for the session's handler
        #: to record as a fault (taken with :meth:`take_anomalies`).
        self.anomalies: list[str] = []

    # ------------------------------------------------------------------ reading
    def get(self, path: str) -> Param | None:
        return self.params.get(path)

    def __len__(self) -> int:
        return len(self.params)

    def under(self, prefix: str) -> list[str]:
        """Paths strictly below the object ``prefix`` ("" = everything)."""
        return [p for p in self.params if p != prefix and p.startswith(prefix)]

    def children(self, prefix: str) -> list[str]:
        """Paths directly below the object ``prefix``."""
        return [p for p in self.under(prefix) if parent_of(p) == prefix]

    # ------------------------------------------------------------------ writing
    @property
    def root_children_ts(self) -> int:
        """When the root's children were last listed (ms)."""
        return self._root_children_ts

    @root_children_ts.setter
    def root_children_ts(self, ts: int) -> None:
        self._root_children_ts = ts
        self.version += 1

    def mark(self) -> tuple[int, int]:
        """A bookmark for :meth:`changed_since`: the state of the tree now."""
        return self._epoch, len(self._journal)

    def changed_since(self, mark: tuple[int, int]) -> list[str] | None:
        """Paths touched since ``mark`` (in the order first touched, repeats possible), or
        None when something was deleted or loaded since then (a view must rebuild)."""
        epoch, position = mark
        if epoch != self._epoch:
            return None
        return self._journal[position:]

    def note_change(self, path: str) -> None:
        """Record that the node at ``path`` was changed in place by its caller.

        Unlike :meth:`touch` this does not bump :attr:`version`: views see the change the
        next time the tree changes (as they did when they were rebuilt from scratch).
        """
        self._journal.append(path)

    def _structural(self) -> None:
        self.version += 1
        self._epoch += 1
        self._journal = []

    def merge_loaded(self, params: dict[str, Param], *, full: bool) -> None:
        """Add nodes read from the store; nodes this session already changed win."""
        self._structural()
        for path, param in params.items():
            if path in self.dirty or self._is_deleted(path):
                continue
            self.params[path] = param
        self.full = self.full or full

    def _is_deleted(self, path: str) -> bool:
        if path in self.deleted:
            return True
        return any(d.endswith(".") and path.startswith(d) for d in self.deleted)

    def touch(self, path: str) -> Param:
        """The node at ``path``, created when missing, marked to be written."""
        self.version += 1
        self._journal.append(path)
        param = self.params.get(path)
        if param is None:
            param = Param(path=path, object=path.endswith(".") or None)
            self.params[path] = param
        self.dirty.add(path)
        return param

    def set_value(self, path: str, value: str, xsd_type: str, ts: int) -> None:
        param = self.touch(path)
        param.value = value
        param.type = xsd_type
        param.value_ts_ms = ts
        param.object = False
        param.exist_ts_ms = ts

    def set_info(self, path: str, writable: bool, ts: int) -> None:
        param = self.touch(path)
        param.object = path.endswith(".")
        param.writable = writable
        param.writable_ts_ms = ts
        param.exist_ts_ms = ts

    def set_attributes(
        self, path: str, notification: int | None, access_list: tuple[str, ...] | None, ts: int
    ) -> None:
        param = self.touch(path)
        if notification is not None:
            param.notification = notification
        if access_list is not None:
            param.access_list = access_list
        param.attr_ts_ms = ts

    def delete(self, path: str) -> None:
        """Forget ``path``; an object path (ending '.') takes its whole subtree."""
        self._structural()
        if path.endswith("."):
            doomed = [p for p in self.params if p.startswith(path)]
            self.deleted = {d for d in self.deleted if not d.startswith(path)}
            self.dirty = {d for d in self.dirty if not d.startswith(path)}
        else:
            doomed = [path] if path in self.params else []
            self.dirty.discard(path)
        for p in doomed:
            del self.params[p]
        self.deleted.add(path)

    # ------------------------------------------------------------------ planner bookkeeping
    def children_ts(self, obj: str) -> int:
        """When the children of the object ``obj`` (ending '.', "" = root) were last listed.

        An object has no value, so its ``value_ts_ms`` records this (GenieACS's ``<obj>.*``
        timestamp, stored as the object's ``_timestamp``).
        """
        if obj == "":
            return self.root_children_ts
        param = self.params.get(obj)
        return (param.value_ts_ms or 0) if param is not None else 0

    def set_children_ts(self, obj: str, ts: int) -> None:
        """Record that the children of ``obj`` (ending '.', "" = root) were listed at ``ts``."""
        if obj == "":
            self.root_children_ts = max(self.root_children_ts, ts)
            return
        param = self.touch(obj)
        param.object = True
        param.value_ts_ms = max(param.value_ts_ms or 0, ts)
        param.exist_ts_ms = max(param.exist_ts_ms or 0, ts)

    def forget_children_ts(self, obj: str) -> None:
        """Forget when the children of ``obj`` (ending '.', "" = root) were listed."""
        if obj == "":
            self.root_children_ts = 0
            return
        param = self.params.get(obj)
        if param is not None and param.value_ts_ms:
            param = self.touch(obj)
            param.value_ts_ms = None

    def ensure_object(self, obj: str, ts: int) -> None:
        """Record that the object ``obj`` (ending '.') exists, creating its node when missing."""
        param = self.params.get(obj)
        if param is None:
            param = self.touch(obj)
            param.object = True
            param.exist_ts_ms = ts

    def set_special(
        self, path: str, value: str, xsd_type: str, ts: int, *, writable: bool = False
    ) -> None:
        """Store a value the ACS owns (``Reboot``, ``Downloads.1.FileName``, ...)."""
        self.set_value(path, value, xsd_type, ts)
        param = self.params[path]
        param.writable = writable
        param.writable_ts_ms = ts

    # ------------------------------------------------------------------ protocol updates
    def apply_inform(self, inform: rpc.Inform, ts: int) -> None:
        """Store the Inform's values; their parents become known objects (GenieACS stores
        ``Device``, ``Device.DeviceInfo``, ... with ``_object: true`` after an Inform). The
        caller has loaded those parents, so a stored object is never overwritten."""
        for pv in inform.parameters:
            self.set_value(pv.name, pv.value, pv.type, ts)
        for obj in ancestor_objects(pv.name for pv in inform.parameters):
            self.ensure_object(obj, ts)
            if obj.count(".") == 1:
                self.inform_roots.add(obj)

    def take_anomalies(self) -> list[str]:
        """The anomalies noted since the last call (and forget them)."""
        taken, self.anomalies = self.anomalies, []
        return taken

    def apply_response(self, request: rpc.Message, response: rpc.Message, ts: int) -> None:
        """Update the tree from the CPE's successful ``response`` to ``request``.

        A GetParameterNames response prunes stored nodes the CPE no longer reports, so the
        caller must have loaded the whole tree (``full``) before applying one.
        """
        if isinstance(response, rpc.GetParameterValuesResponse):
            for pv in response.parameters:
                self.set_value(pv.name, pv.value, pv.type, ts)
        elif isinstance(response, rpc.GetParameterNamesResponse) and isinstance(
            request, rpc.GetParameterNames
        ):
            self._apply_gpn(request, response, ts)
        elif isinstance(response, rpc.SetParameterValuesResponse) and isinstance(
            request, rpc.SetParameterValues
        ):
            for pv in request.parameters:
                self.set_value(pv.name, pv.value, pv.type, ts)
        elif isinstance(response, rpc.GetParameterAttributesResponse):
            for attr in response.parameters:
                self.set_attributes(attr.name, attr.notification, attr.access_list, ts)
        elif isinstance(response, rpc.SetParameterAttributesResponse) and isinstance(
            request, rpc.SetParameterAttributes
        ):
            self._apply_spa(request, ts)
        elif isinstance(response, rpc.AddObjectResponse) and isinstance(request, rpc.AddObject):
            instance = self.touch(f"{request.object_name}{response.instance_number}.")
            instance.object = True
            instance.exist_ts_ms = ts
        elif isinstance(response, rpc.DeleteObjectResponse) and isinstance(
            request, rpc.DeleteObject
        ):
            self.delete(request.object_name)

    def _apply_gpn(
        self, request: rpc.GetParameterNames, response: rpc.GetParameterNamesResponse, ts: int
    ) -> None:
        base = request.parameter_path
        reported = {info.name for info in response.parameters}
        for info in response.parameters:
            self.set_info(info.name, info.writable, ts)
        if base and not base.endswith("."):
            return  # a single parameter: nothing to prune
        stale: Iterable[str]
        if request.next_level:
            stale = [p for p in self.children(base) if p not in reported]
        else:
            stale = [p for p in self.under(base) if p not in reported]
        if not base:  # the ACS's own roots are not the CPE's to list
            stale = [p for p in stale if p.split(".", 1)[0] not in ACS_ROOTS]
            missing = sorted(
                root for root in self.inform_roots
                if root not in reported and not any(r.startswith(root) for r in reported)
            )
            if missing:  # the CPE contradicts its own Inform: keep what we know
                names = ", ".join(missing)
                self.anomalies.append(
                    f'The CPE answered GetParameterNames("") with {len(reported)} names, '
                    f"leaving out {names}, which it reported in this session's Inform; "
                    f"the stored parameters under {names} were kept"
                )
                stale = [p for p in stale if not any(p.startswith(r) for r in missing)]
        for path in sorted(stale, key=len):
            if path in self.params:
                self.delete(path)

    def _apply_spa(self, request: rpc.SetParameterAttributes, ts: int) -> None:
        for entry in request.parameters:
            notification = entry.notification if entry.notification_change else None
            access = entry.access_list if entry.access_list_change else None
            targets = self.under(entry.name) if entry.name.endswith(".") else [entry.name]
            for path in targets:
                if not path.endswith("."):
                    self.set_attributes(path, notification, access, ts)

    # ------------------------------------------------------------------ commit
    def changes(self) -> tuple[list[Param], list[str]]:
        """(nodes to upsert, paths to delete) — deletes are applied before upserts."""
        upserts = [self.params[p] for p in sorted(self.dirty) if p in self.params]
        return upserts, sorted(self.deleted)
