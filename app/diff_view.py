"""The device view's Diff tab: the parameter tree at two points, compared.

Points are the words of :mod:`acs_engine.admin.treediff` (``before-download``, ``now``,
``session:ID``, ``snapshot:NAME``, ``time:WHEN``); the lists offer the device's sessions and
snapshots. The result is a table (added green, removed red, changed amber) with a filter and
"Only what changed"; "Copy as text" and "Save…" give the plain-text diff a vendor can read.
Snapshots: "Save B as snapshot…" keeps the tree at point B under a name; "Export…" and
"Import…" move a snapshot through a JSON file.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from acs_engine.admin.treediff import (
    DiffEntry,
    Point,
    PointError,
    compare,
    export_snapshot,
    fmt_time,
    import_snapshot,
    render_text,
)
from acs_engine.console_api import ConsoleEngine
from acs_engine.store.errors import StoreError
from acs_engine.store.history import NodeState, Snapshot
from app.background import restart
from app.record_table import Column, RecordTableModel

__all__ = ["DiffModel", "DiffTab"]

log = logging.getLogger("fieldacs.app")

_Index = QModelIndex | QPersistentModelIndex
_KIND_COLORS = {"added": "#dcfce7", "removed": "#fee2e2", "changed": "#fef3c7"}


def _shown(state: NodeState | None, path: str) -> str:
    if state is None:
        return "—"
    if path.endswith("."):
        return "(object)"
    value, xsd, writable = state
    flags = [xsd or "?"]
    if writable is not None:
        flags.append("rw" if writable else "ro")
    shown = "∅" if value is None else (value or '""')
    return f"{shown}  [{', '.join(flags)}]"


def _change(entry: DiffEntry) -> str:
    if entry.kind == "changed":
        return "changed: " + ", ".join(entry.fields)
    return "" if entry.kind == "same" else entry.kind


def _kind_colour(entry: DiffEntry) -> QColor | None:
    colour = _KIND_COLORS.get(entry.kind)
    return None if colour is None else QColor(colour)


def _diff_column(header: str, value: Callable[[DiffEntry], str]) -> Column[DiffEntry]:
    return Column(header, value, background=_kind_colour)


class DiffModel(RecordTableModel[DiffEntry]):
    """Diff entries as a table: Path, Change, A, B."""

    def __init__(self, parent: QWidget | None = None) -> None:
        columns = [
            _diff_column("Path", lambda e: e.path),
            _diff_column("Change", _change),
            _diff_column("A", lambda e: _shown(e.old, e.path)),
            _diff_column("B", lambda e: _shown(e.new, e.path)),
        ]
        super().__init__(columns, parent, value_tooltips=True)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.UserRole:
            entry = self.record(index.row()) if index.isValid() else None
            return None if entry is None else entry.kind
        return super().data(index, role)


class _DiffFilter(QSortFilterProxyModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.changed_only = True
        self.needle = ""

    def set(self, needle: str, changed_only: bool) -> None:
        self.beginFilterChange()
        self.needle, self.changed_only = needle.strip().lower(), changed_only
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: _Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, DiffModel)
        entry = model.record(row)
        if entry is None:
            return False
        if self.changed_only and entry.kind == "same":
            return False
        if not self.needle:
            return True
        text = " ".join(
            [entry.path, _shown(entry.old, entry.path), _shown(entry.new, entry.path)]
        ).lower()
        return self.needle in text


class DiffTab(QWidget):
    """Compare the device's tree at two points (see the module docstring).

    Signals:
        compared(): a comparison was shown.
        message(str): something to tell the user.
    """

    compared = Signal()
    message = Signal(str)

    def __init__(
        self, engine: Callable[[], ConsoleEngine], device_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("diffTab")
        self._engine = engine
        self.device_id = device_id
        self.a: Point | None = None
        self.b: Point | None = None
        self._task: asyncio.Task[Any] | None = None
        self._listed = False

        self.point_a = QComboBox()
        self.point_b = QComboBox()
        for combo, default in ((self.point_a, "before-download"), (self.point_b, "now")):
            combo.setEditable(True)
            combo.addItems(["before-download", "after-download", "now"])
            combo.setCurrentText(default)
            combo.setToolTip("now, before-download, after-download, session:ID, "
                             "snapshot:NAME or time:WHEN (ISO 8601)")
        compare_button = QPushButton("Compare")
        compare_button.setDefault(True)
        compare_button.clicked.connect(self.run_compare)
        form = QFormLayout()
        form.addRow("A", self.point_a)
        form.addRow("B", self.point_b)

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter paths and values…")
        self.filter.setClearButtonEnabled(True)
        self.only_changed = QCheckBox("Only what changed")
        self.only_changed.setChecked(True)
        self.model = DiffModel(self)
        self.proxy = _DiffFilter(self)
        self.proxy.setSourceModel(self.model)
        self.filter.textChanged.connect(self._refilter)
        self.only_changed.toggled.connect(self._refilter)
        self.table = QTableView()
        self.table.setObjectName("diffTable")
        self.table.setModel(self.proxy)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 210)
        header.resizeSection(1, 100)
        header.resizeSection(2, 95)
        header.setStretchLastSection(True)
        self.summary = QLabel("Choose two points and compare.")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: #64748b;")

        copy_button = QPushButton("Copy as text")
        copy_button.clicked.connect(self.copy_text)
        save_button = QPushButton("Save…")
        save_button.clicked.connect(self._ask_save)
        snap_button = QPushButton("Save B as snapshot…")
        snap_button.clicked.connect(self._ask_snapshot)
        export_button = QPushButton("Export snapshot…")
        export_button.clicked.connect(self._ask_export)
        import_button = QPushButton("Import snapshot…")
        import_button.clicked.connect(self._ask_import)
        row1 = QHBoxLayout()
        row1.addWidget(self.filter, 1)
        row1.addWidget(self.only_changed)
        row2 = QHBoxLayout()
        for button in (copy_button, save_button):
            row2.addWidget(button)
        row2.addStretch(1)
        row3 = QHBoxLayout()
        for button in (snap_button, export_button, import_button):
            row3.addWidget(button)
        row3.addStretch(1)
        top = QHBoxLayout()
        top.addLayout(form, 1)
        top.addWidget(compare_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(top)
        layout.addLayout(row1)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addLayout(row2)
        layout.addLayout(row3)

    # ------------------------------------------------------------------ points
    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._listed:
            self.list_points()

    def list_points(self) -> asyncio.Task[None]:
        """Offer the device's snapshots and sessions in the point lists (asynchronously)."""
        self._listed = True
        return asyncio.ensure_future(self._list_points())

    async def _list_points(self) -> None:
        acs = self._engine()
        if not acs.running:
            return
        snapshots = await acs.list_snapshots(self.device_id)
        sessions = await acs.list_sessions(self.device_id, limit=50)
        words = ["before-download", "after-download", "now"]
        words += [f"snapshot:{name}" for name, _, _ in snapshots]
        words += [f"session:{s.id}" for s in sessions]
        for combo in (self.point_a, self.point_b):
            text = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(words)
            for i, s in enumerate(sessions):
                combo.setItemData(3 + len(snapshots) + i,
                                  f"{fmt_time(s.ended_ms or s.started_ms)} {' '.join(s.events)}",
                                  Qt.ItemDataRole.ToolTipRole)
            combo.setCurrentText(text)
            combo.blockSignals(False)

    # ------------------------------------------------------------------ comparing
    def run_compare(self) -> asyncio.Task[None]:
        """Compare the two chosen points (asynchronously)."""
        self._task = restart(
            self._task, self.compare(self.point_a.currentText(), self.point_b.currentText())
        )
        return self._task

    async def compare(self, a: str, b: str) -> None:
        """Compare the points ``a`` and ``b`` and show the result."""
        acs = self._engine()
        if not acs.running:
            return
        self.point_a.setCurrentText(a)
        self.point_b.setCurrentText(b)
        try:
            point_a = await acs.resolve_point(self.device_id, a)
            point_b = await acs.resolve_point(self.device_id, b)
        except PointError as exc:
            self.summary.setText(str(exc))
            self.message.emit(str(exc))
            return
        # Comparing thousands of paths is quick, but not free: give the loop a turn first.
        await asyncio.sleep(0)
        entries = compare(point_a.tree.nodes, point_b.tree.nodes)
        self.a, self.b = point_a, point_b
        self.model.set_records(entries)
        counts = {k: sum(1 for e in entries if e.kind == k) for k in ("changed", "added", "removed")}
        notes = [n for p, n in ((point_a, "A"), (point_b, "B")) if not p.tree.complete]
        self.summary.setText(
            f"A: {point_a.label}\nB: {point_b.label}\n"
            f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed"
            f" of {len(entries)} paths"
            + (f". {' and '.join(notes)} rebuilt from incomplete history." if notes else "")
        )
        self.compared.emit()

    def _refilter(self) -> None:
        self.proxy.set(self.filter.text(), self.only_changed.isChecked())

    def visible_entries(self) -> list[DiffEntry]:
        """The entries the table shows now (filter and "only what changed" applied)."""
        out = []
        for row in range(self.proxy.rowCount()):
            source = self.proxy.mapToSource(self.proxy.index(row, 0))
            entry = self.model.record(source.row())
            if entry is not None:
                out.append(entry)
        return out

    def diff_text(self) -> str:
        """The shown entries as the plain-text diff (empty before a comparison)."""
        if self.a is None or self.b is None:
            return ""
        return render_text(self.visible_entries(), self.device_id, self.a, self.b,
                           changed_only=self.only_changed.isChecked())

    def copy_text(self) -> None:
        text = self.diff_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.message.emit("Diff copied as text")

    def _ask_save(self) -> None:
        text = self.diff_text()
        if not text:
            return
        name, _ = QFileDialog.getSaveFileName(self, "Save diff", "diff.txt", "Text (*.txt)")
        if name:
            try:
                Path(name).write_text(text, encoding="utf-8")
            except OSError as exc:
                self.message.emit(f"Could not write {name}: {exc}")

    # ------------------------------------------------------------------ snapshots
    async def save_snapshot(self, name: str) -> str:
        """Keep the tree at point B under ``name``; returns what happened, for the user."""
        acs = self._engine()
        if not acs.running:
            return "The engine is not running"
        try:
            point = await acs.resolve_point(self.device_id, self.point_b.currentText())
            await acs.save_snapshot(Snapshot(
                self.device_id, name, int(time.time() * 1000), point.label, point.tree.nodes
            ))
        except (PointError, StoreError) as exc:
            return str(exc)
        await self._list_points()
        return f"Snapshot {name!r} saved ({point.label})"

    async def export_file(self, name: str, path: Path) -> str:
        acs = self._engine()
        if not acs.running:
            return "The engine is not running"
        snap = await acs.load_snapshot(self.device_id, name)
        if snap is None:
            return f"No snapshot named {name!r}"
        try:
            path.write_text(export_snapshot(snap), encoding="utf-8")
        except OSError as exc:
            return f"Could not write {path}: {exc}"
        return f"Snapshot {name!r} exported to {path}"

    async def import_file(self, path: Path) -> str:
        acs = self._engine()
        if not acs.running:
            return "The engine is not running"
        try:
            snap = import_snapshot(path.read_bytes(), device_id=self.device_id)
            await acs.save_snapshot(snap)
        except (OSError, ValueError, StoreError) as exc:
            return f"Could not import {path}: {exc}"
        await self._list_points()
        return f"Snapshot {snap.name!r} imported"

    def _run(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        task.add_done_callback(
            lambda t: None if t.cancelled() or t.exception() else self.message.emit(t.result())
        )

    def _ask_snapshot(self) -> None:
        name, ok = QInputDialog.getText(self, "Save snapshot", "Name of the snapshot of B:")
        if ok and name.strip():
            self._run(self.save_snapshot(name.strip()))

    def _ask_export(self) -> None:
        current = self.point_a.currentText()
        default = current[len("snapshot:"):] if current.startswith("snapshot:") else ""
        name, ok = QInputDialog.getText(self, "Export snapshot", "Snapshot name:", text=default)
        if not ok or not name:
            return
        file, _ = QFileDialog.getSaveFileName(self, "Export snapshot", f"{name}.json",
                                              "JSON (*.json)")
        if file:
            self._run(self.export_file(name, Path(file)))

    def _ask_import(self) -> None:
        file, _ = QFileDialog.getOpenFileName(self, "Import snapshot", "", "JSON (*.json)")
        if file:
            self._run(self.import_file(Path(file)))

    def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
