"""A device's parameter tree as a lazy Qt item model, its filter proxy and its value editor.

:class:`ParamTreeModel` is built from ``store.load_params`` in one pass that only indexes
which paths are children of which object (missing intermediate objects are implied). Tree
nodes are created when a view first asks for a parent's rows, so a 10,000-parameter device
costs the view only what it shows. Values of secret parameters are masked; parameters the
Broadband Forum data models do not know (vendor extensions) are shown in italics and their
values are not checked. Edited values are checked against the data model (type, range,
enumeration, length, pattern) before they are offered for staging.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from acs_engine.datamodel import facts
from acs_engine.store.model import Param
from app.timefmt import ago, exact

_ModelIndex = QModelIndex | QPersistentModelIndex

#: Shown for unknown (vendor) parameters.
UNKNOWN_TIP = "Not in the Broadband Forum data model — value not checked"
#: Shown (muted, italic) for a value never read from the device.
NOT_READ = "(not read yet)"
NOT_READ_TIP = (
    "This value was never read from the device. Right-click › Read value (or Read all values "
    "below the tree), then Commit."
)
#: Shown instead of a secret value.
MASK = "••••••••"

_SECRET_NAME = re.compile(r"(Password|Passphrase|PreSharedKey|WEPKey|KeyPassphrase)$", re.I)


def _fallback_is_secret(path: str) -> bool:
    """Secret by name: the last segment ends in Password, Passphrase, PreSharedKey, ..."""
    return bool(_SECRET_NAME.search(path.rstrip(".").rsplit(".", 1)[-1]))


def _fallback_mask(value: str) -> str:
    return MASK if value else ""


def _secret_functions() -> tuple[Callable[[str], bool], Callable[[str], str]]:
    """``acs_engine.secrets``' rules when that module exists, else masking by name."""
    try:
        from acs_engine import secrets
    except ImportError:
        return _fallback_is_secret, _fallback_mask
    return secrets.is_secret, secrets.mask


is_secret, mask_value = _secret_functions()


def parent_path(path: str) -> str:
    """The object a path belongs to (``"Device.WiFi."`` for ``"Device.WiFi.SSID."``);
    ``""`` for a root object."""
    body = path[:-1] if path.endswith(".") else path
    cut = body.rfind(".")
    return body[: cut + 1] if cut >= 0 else ""


def segment(path: str) -> str:
    """The last segment of a path, without its trailing dot."""
    return path.rstrip(".").rsplit(".", 1)[-1]


def _sort_key(path: str) -> tuple[int, int, str]:
    name = segment(path)
    return (0, int(name), "") if name.isdigit() else (1, 0, name.lower())


def is_instance(path: str) -> bool:
    """True for a table instance path such as ``Device.WiFi.SSID.3.``."""
    return path.endswith(".") and segment(path).isdigit()


class _Node:
    __slots__ = ("children", "parent", "path", "row")

    def __init__(self, path: str, parent: _Node | None, row: int) -> None:
        self.path = path
        self.parent = parent
        self.row = row
        self.children: list[_Node] | None = None


class ParamTreeModel(QAbstractItemModel):
    """One device's parameters as a tree: name, value, type, writable, refreshed.

    Signals:
        valueEdited(str, str): a valid new value (path, text) was entered for a writable
            parameter; the owner stages it. The model's own data does not change.
        editRejected(str, str): an entered value (path, reason) failed the data-model check;
            nothing was staged.
    """

    valueEdited = Signal(str, str)
    editRejected = Signal(str, str)

    COLUMNS = ("Parameter", "Value", "Type", "Writable", "Refreshed")
    NAME, VALUE, TYPE, WRITABLE, REFRESHED = range(5)
    #: The node's full path (str).
    PathRole = Qt.ItemDataRole.UserRole + 1
    #: True for unknown (vendor) parameters.
    UnknownRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent: QObject | None = None) -> None:
        """Start empty; call :meth:`set_params`."""
        super().__init__(parent)
        self._params: dict[str, Param] = {}
        self._kids: dict[str, list[str]] = {}
        self._root = _Node("", None, 0)
        self._nodes: dict[str, _Node] = {}
        self._staged: dict[str, tuple[str, str]] = {}
        self._unknown: dict[str, bool] = {}
        self._italic = QFont()
        self._italic.setItalic(True)
        self._muted = QBrush(QColor("#64748b"))
        self._staged_brush = QBrush(QColor("#1d4ed8"))

    # ------------------------------------------------------------------ content
    def set_params(self, params: Mapping[str, Param]) -> None:
        """Replace the tree with ``params`` (``store.load_params``'s result)."""
        self.beginResetModel()
        self._params = dict(params)
        kids: dict[str, list[str]] = {}
        known: set[str] = {""}
        for path in self._params:
            while path not in known:
                known.add(path)
                parent = parent_path(path)
                kids.setdefault(parent, []).append(path)
                path = parent
        self._kids = kids
        self._root = _Node("", None, 0)
        self._nodes = {"": self._root}
        self._unknown = {}
        self.endResetModel()

    def params(self) -> dict[str, Param]:
        """The parameters shown (the caller's copy)."""
        return dict(self._params)

    def param(self, path: str) -> Param | None:
        """The stored node at ``path``, or None (also for implied objects)."""
        return self._params.get(path)

    def node_count(self) -> int:
        """How many tree nodes exist (stored and implied)."""
        return sum(len(children) for children in self._kids.values())

    def created_count(self) -> int:
        """How many nodes the views have asked for so far (the rest do not exist yet)."""
        return len(self._nodes) - 1

    def set_staged(self, staged: Mapping[str, tuple[str, str]]) -> None:
        """Show staged or pending values in place of the stored ones.

        Args:
            staged: path -> (value, state), state being ``"staged"`` or ``"pending"``.
        """
        changed = set(staged.items()) ^ set(self._staged.items())
        self._staged = dict(staged)
        for path in {path for path, _ in changed}:
            node = self._nodes.get(path)
            if node is not None:
                index = self.createIndex(node.row, self.VALUE, node)
                self.dataChanged.emit(index, index)

    # ------------------------------------------------------------------ paths and nodes
    def _children(self, node: _Node) -> list[_Node]:
        if node.children is None:
            paths = sorted(self._kids.get(node.path, ()), key=_sort_key)
            node.children = [_Node(path, node, row) for row, path in enumerate(paths)]
            for child in node.children:
                self._nodes[child.path] = child
        return node.children

    def _node(self, index: _ModelIndex) -> _Node:
        if not index.isValid():
            return self._root
        node = index.internalPointer()
        return node if isinstance(node, _Node) else self._root

    def path(self, index: _ModelIndex) -> str:
        """The full path of an index ("" for the invisible root)."""
        return self._node(index).path

    def index_for_path(self, path: str, column: int = 0) -> QModelIndex:
        """The index of ``path`` (created on demand), or an invalid index if unknown."""
        if path not in self._nodes:
            chain: list[str] = []
            cursor = path
            while cursor and cursor not in self._nodes:
                chain.append(cursor)
                cursor = parent_path(cursor)
            for ancestor in [cursor, *reversed(chain)]:
                node = self._nodes.get(ancestor)
                if node is None:
                    return QModelIndex()
                self._children(node)
        node = self._nodes.get(path)
        if node is None or node is self._root:
            return QModelIndex()
        return self.createIndex(node.row, column, node)

    def children_paths(self, path: str) -> list[str]:
        """The direct children of an object path, in display order."""
        return sorted(self._kids.get(path, ()), key=_sort_key)

    def is_table(self, path: str) -> bool:
        """True for a table object: its children are instances, or the data model says so."""
        if not path.endswith(".") or is_instance(path):
            return False
        kids = self._kids.get(path, ())
        if kids and all(is_instance(k) for k in kids):
            return True
        known = facts.lookup(path)
        return isinstance(known, facts.ObjectFacts) and known.table

    def can_add_instance(self, path: str) -> bool:
        """A table whose stored node (or data model) says AddObject is allowed."""
        return self.is_table(path) and self._object_writable(path)

    def can_delete_instance(self, path: str) -> bool:
        """An instance whose stored node (or data model) says DeleteObject is allowed."""
        return is_instance(path) and self._object_writable(path)

    def _object_writable(self, path: str) -> bool:
        """The object's stored writable flag, else the data model's (False when neither)."""
        stored = self._params.get(path)
        if stored is not None and stored.writable is not None:
            return stored.writable
        known = facts.lookup(path)
        return isinstance(known, facts.ObjectFacts) and known.writable

    def is_unknown(self, path: str) -> bool:
        """True when the path is under a BBF root but not in its data model (a vendor one)."""
        cached = self._unknown.get(path)
        if cached is None:
            cached = facts.model_for_root(path) is not None and facts.lookup(path) is None
            self._unknown[path] = cached
        return cached

    def edit_problem(self, path: str) -> str | None:
        """Why the value at ``path`` cannot be edited (None when it can).

        A parameter whose writability the device never reported (it came in an Inform, or
        the tree was never read) is editable unless the data model says it is read-only.
        """
        stored = self._params.get(path)
        if stored is None or path.endswith("."):
            return "is not a parameter of this device"
        if stored.writable is False:
            return "is read-only on this device"
        if stored.writable is None:
            known = facts.lookup(path)
            if isinstance(known, facts.ParamFacts) and not known.writable:
                return "is read-only in the Broadband Forum data model"
        return None

    def never_read(self, path: str) -> bool:
        """A parameter whose value was never read from the device."""
        stored = self._params.get(path)
        return stored is not None and not path.endswith(".") and stored.value is None

    def never_read_count(self) -> int:
        """How many parameters were never read."""
        return sum(1 for p in self._params.values() if p.value is None and not p.path.endswith("."))

    def validate(self, path: str, text: str) -> str | None:
        """Why ``text`` cannot be written to ``path`` (None when it may be staged).

        Known parameters are checked against the Broadband Forum data model (type, range,
        enumeration, length, pattern, read-only); unknown ones are not checked.
        """
        stored = self._params.get(path)
        if stored is None or path.endswith("."):
            return "is not a parameter of this device"
        if stored.writable is False:
            return "is read-only on this device"
        return facts.check_value(path, text, for_write=True)

    def matching_paths(self, text: str) -> set[str]:
        """Paths whose path or (non-secret) value contains ``text``, with their ancestors."""
        needle = text.strip().lower()
        found: set[str] = set()
        for path, param in self._params.items():
            hit = needle in path.lower()
            if not hit and param.value and not is_secret(path):
                hit = needle in param.value.lower()
            while hit and path and path not in found:
                found.add(path)
                path = parent_path(path)
        return found

    # ------------------------------------------------------------------ model interface
    def index(self, row: int, column: int, parent: _ModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        """The index of a child, creating the parent's child nodes on first use."""
        if column < 0 or column >= len(self.COLUMNS) or row < 0:
            return QModelIndex()
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        children = self._children(self._node(parent))
        if row >= len(children):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: _ModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        """The parent index (invalid for top-level nodes)."""
        if not index.isValid():
            return QModelIndex()
        parent = self._node(index).parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Children of ``parent`` (counted from the index; no nodes are created)."""
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._kids.get(self._node(parent).path, ()))

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """The five columns."""
        return len(self.COLUMNS)

    def hasChildren(self, parent: _ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        """True for objects with children."""
        return self.rowCount(parent) > 0

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.COLUMNS[section]
        return None

    def flags(self, index: _ModelIndex) -> Qt.ItemFlag:
        """Selectable; the value of a writable parameter is editable."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == self.VALUE and self.edit_problem(self._node(index).path) is None:
            base |= Qt.ItemFlag.ItemIsEditable
        if not self.hasChildren(index):
            base |= Qt.ItemFlag.ItemNeverHasChildren
        return base

    def setData(self, index: _ModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Check an entered value; announce it (valueEdited) or the reason (editRejected)."""
        if not index.isValid() or index.column() != self.VALUE or role != Qt.ItemDataRole.EditRole:
            return False
        if not self.flags(index) & Qt.ItemFlag.ItemIsEditable:
            return False
        path = self._node(index).path
        text = "" if value is None else str(value)
        problem = self.validate(path, text)
        if problem is not None:
            self.editRejected.emit(path, problem)
            return False
        self.valueEdited.emit(path, text)
        return True

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Display text, tooltips, fonts and colours of a cell."""
        if not index.isValid():
            return None
        path = self._node(index).path
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(path, column)
        if role == Qt.ItemDataRole.EditRole:
            return self._edit_text(path)
        if role == self.PathRole:
            return path
        if role == self.UnknownRole:
            return self.is_unknown(path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(path, column)
        if role == Qt.ItemDataRole.FontRole:
            staged = column == self.VALUE and path in self._staged
            if staged or (column == self.NAME and self.is_unknown(path)):
                return self._italic
            if column == self.VALUE and self.never_read(path):
                return self._italic
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == self.VALUE and path in self._staged:
                return self._staged_brush
            if column == self.VALUE and self.never_read(path):
                return self._muted
            if column in (self.TYPE, self.WRITABLE, self.REFRESHED) or path.endswith("."):
                return self._muted
            return None
        return None

    # ------------------------------------------------------------------ cell contents
    def _display(self, path: str, column: int) -> str:
        param = self._params.get(path)
        if column == self.NAME:
            return segment(path)
        if column == self.VALUE:
            if path in self._staged:
                value, state = self._staged[path]
                shown = mask_value(value) if is_secret(path) else value
                return f"{shown}  ({state})"
            if path.endswith("."):
                if self.is_table(path):
                    count = len(self._kids.get(path, ()))
                    return f"{count} instance{'' if count == 1 else 's'}"
                return ""
            if param is None:
                return ""
            if param.value is None:
                return NOT_READ
            return mask_value(param.value) if is_secret(path) else param.value
        if column == self.TYPE:
            if path.endswith("."):
                return "table" if self.is_table(path) else "object"
            return (param.type or "").removeprefix("xsd:") if param else ""
        if column == self.WRITABLE:
            if param is None or param.writable is None:
                return ""
            return "yes" if param.writable else "no"
        if column == self.REFRESHED:
            return ago(self._refreshed(param))
        return ""

    @staticmethod
    def _refreshed(param: Param | None) -> int | None:
        if param is None:
            return None
        times = [t for t in (param.value_ts_ms, param.exist_ts_ms, param.writable_ts_ms) if t is not None]
        return max(times) if times else None

    def _edit_text(self, path: str) -> str:
        if is_secret(path):
            return ""
        if path in self._staged:
            return self._staged[path][0]
        param = self._params.get(path)
        return param.value or "" if param else ""

    def _tooltip(self, path: str, column: int) -> str | None:
        param = self._params.get(path)
        if column == self.NAME:
            if self.is_unknown(path):
                return f"{path}\n{UNKNOWN_TIP}"
            known = facts.lookup(path)
            if isinstance(known, facts.ParamFacts) and known.deprecated:
                return f"{path}\n{known.status.capitalize()} in the Broadband Forum data model"
            return path
        if column == self.VALUE and path in self._staged:
            value, state = self._staged[path]
            shown = MASK if is_secret(path) else value
            if state == "staged":
                return f"Staged: {shown!r} will be sent when you commit"
            return f"Pending: {shown!r} was sent; waiting for the device to answer"
        if column == self.VALUE and self.never_read(path):
            return NOT_READ_TIP
        if column == self.VALUE and self.is_unknown(path):
            return UNKNOWN_TIP
        if column == self.REFRESHED and param is not None:
            lines = []
            if param.value_ts_ms is not None:
                lines.append(f"Value read {exact(param.value_ts_ms)}")
            if param.writable_ts_ms is not None:
                lines.append(f"Name and access read {exact(param.writable_ts_ms)}")
            if param.exist_ts_ms is not None:
                lines.append(f"Last seen {exact(param.exist_ts_ms)}")
            return "\n".join(lines) or None
        return None


def expand_paths(paths: Iterable[str]) -> list[str]:
    """``paths`` ordered so that every ancestor comes before its descendants."""
    return sorted(set(paths), key=lambda p: (p.count("."), p))
