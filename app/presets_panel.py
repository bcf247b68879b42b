"""The presets panel: the preset list, the editor, dry runs and "why did it match?".

The table lists every preset by weight (weight, name, channel, events, schedule,
precondition, provisions). Add and Edit open :class:`~app.preset_editor.PresetEditor`
(window-modal, never a nested event loop); saving writes ``store.put_preset`` (a renamed
preset's old name is deleted). "Dry run…" runs the selected preset against a copy of a
device (:class:`~app.dryrun_dialog.DryRunDialog`).

Below, "Why did it match?": for a device, the verdicts of its last committed session, read
from the store in the background (``store.last_verdicts``; they survive a restart), one line
per preset with the reason; refreshed when that device's session ends.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.policy.presets import PresetVerdict
from acs_engine.store.records import Preset, SessionVerdicts
from app.background import Background
from app.dryrun_dialog import DryRunDialog
from app.preset_editor import PresetEditor, format_arguments
from app.record_table import ALIGN_RIGHT, Column, RecordTableModel
from app.timefmt import ago, exact

LISTED_DEVICES = 500


def events_summary(events: dict[str, bool]) -> str:
    """``"1 BOOT, not 0 BOOTSTRAP"`` ("any" when no event matters)."""
    if not events:
        return "any"
    return ", ".join(name if want else f"not {name}" for name, want in events.items())


def provisions_summary(provisions: list[list[Any]]) -> str:
    """``"value(\"Device.X\", 1); reboot()"``."""
    return "; ".join(f"{p[0]}({format_arguments(list(p[1:]))})" for p in provisions if p)


class PresetTableModel(RecordTableModel[Preset]):
    """Presets as rows, in the order the engine applies them (weight, then name)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__((
            Column("Weight", lambda p: str(p.weight), alignment=ALIGN_RIGHT),
            Column("Name", lambda p: p.id),
            Column("Channel", lambda p: p.channel),
            Column("Events", lambda p: events_summary(p.events)),
            Column("Schedule", lambda p: p.schedule or ""),
            Column(
                "Precondition", lambda p: p.precondition or "(every device)",
                colour=lambda p: None if p.precondition else QColor("#64748b"),
            ),
            Column("Provisions", lambda p: provisions_summary(p.provisions)),
        ), parent, value_tooltips=True)

    def set_presets(self, presets: list[Preset]) -> None:
        """Show ``presets``."""
        self.set_records(sorted(presets, key=lambda p: (p.weight, p.id)))

    def preset(self, row: int) -> Preset | None:
        """The preset of ``row``."""
        return self.record(row)

    def row_of(self, preset_id: str) -> int:
        """The row of preset ``preset_id`` (-1 when not listed)."""
        return self.find(lambda p: p.id == preset_id)


class PresetsPanel(QWidget):
    """Presets with add, edit, delete, dry run, and the last session's verdicts.

    Signals:
        reloaded(): the presets were re-read.
        saved(str): a preset was saved (its name).
        deleted(str): a preset was deleted (its name).
        editorOpened(PresetEditor): the editor dialog was opened (the :class:`PresetEditor`).
    """

    reloaded = Signal()
    saved = Signal(str)
    deleted = Signal(str)
    editorOpened = Signal(PresetEditor)

    def __init__(self, engine: ConsoleEngine, bridge: Any | None = None, parent: QWidget | None = None) -> None:
        """Build the panel; call :meth:`refresh` once the engine's store is open.

        Args:
            engine: the engine (store, provisioning, sandbox, config).
            bridge: the engine's events as signals (verdicts refresh after sessions).
            parent: the parent widget.
        """
        super().__init__(parent)
        self.setObjectName("presetsPanel")
        self._engine = console_engine(engine)
        self._jobs = Background("the presets panel")
        self._provision_names: list[str] = []
        self._device = ""
        self.editor: PresetEditor | None = None
        self.dialog: DryRunDialog | None = None

        self.model = PresetTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("presetsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 60), (1, 140), (2, 90), (3, 160), (4, 110), (5, 230)):
            self.table.setColumnWidth(column, width)
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self.add)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._confirm_delete)
        self.dry_run_button = QPushButton("Dry run…")
        self.dry_run_button.setToolTip("Run the selected preset against a copy of a device")
        self.dry_run_button.clicked.connect(self.dry_run_selected)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.delete_button, self.dry_run_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())

        self.device_combo = QComboBox()
        self.device_combo.setObjectName("verdictDevice")
        self.device_combo.setEditable(True)
        self.device_combo.setMinimumContentsLength(30)
        self.device_combo.currentTextChanged.connect(self.show_verdicts)
        self.verdicts = QTableWidget(0, 3)
        self.verdicts.setObjectName("verdictsTable")
        self.verdicts.setHorizontalHeaderLabels(["Preset", "Applied", "Why"])
        self.verdicts.verticalHeader().hide()
        self.verdicts.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.verdicts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verdict_note = QLabel("")
        self.verdict_note.setObjectName("verdictNote")
        self.verdict_note.setStyleSheet("color: #64748b;")
        self.verdict_note.setWordWrap(True)  # never widens the Presets dock
        why = QGroupBox("Why did it match? (the device's last session)")
        why_layout = QVBoxLayout(why)
        row = QHBoxLayout()
        row.addWidget(QLabel("Device"))
        row.addWidget(self.device_combo, 1)
        why_layout.addLayout(row)
        why_layout.addWidget(self.verdicts, 1)
        why_layout.addWidget(self.verdict_note)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(why)
        split.setSizes([300, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(split)
        if bridge is not None:
            bridge.sessionEnded.connect(self._on_session_ended)
        self._update_buttons()

    def pending(self) -> int:
        """Store work still running (tests wait for 0)."""
        return len(self._jobs)

    def shutdown(self) -> None:
        """Cancel store work (the engine is stopping)."""
        self._jobs.cancel()

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        """Re-read presets, provision names and devices."""
        self._jobs.spawn(self._load())

    async def _load(self) -> None:
        acs = self._engine
        if not acs.running:
            return
        selected = self.selected()
        presets = await acs.list_presets()
        self._provision_names = [p.id for p in await acs.list_provisions()]
        if self.editor is not None:
            self.editor.set_provision_names(self._provision_names)
        self.model.set_presets(presets)
        row = self.model.row_of(selected.id) if selected is not None else -1
        if row < 0 and presets:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        current = self.device_combo.currentText()
        self.device_combo.blockSignals(True)
        for device in await acs.list_devices(limit=LISTED_DEVICES):
            if self.device_combo.findText(device.id) < 0:
                self.device_combo.addItem(device.id)
        self.device_combo.setCurrentText(current or self._device)
        self.device_combo.blockSignals(False)
        self.show_verdicts(self.device_combo.currentText())
        self._update_buttons()
        self.reloaded.emit()

    def selected(self) -> Preset | None:
        """The preset of the current row."""
        index = self.table.currentIndex()
        return self.model.preset(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        for button in (self.edit_button, self.delete_button, self.dry_run_button):
            button.setEnabled(has)

    # ------------------------------------------------------------------ verdicts
    def set_device(self, device_id: str) -> None:
        """Show the verdicts of ``device_id`` (the console's selected device)."""
        self._device = device_id
        if device_id:
            self.device_combo.setCurrentText(device_id)

    def _on_session_ended(self, event: Any) -> None:
        if getattr(event, "device_id", None) == self.device_combo.currentText():
            self.show_verdicts(event.device_id)

    def show_verdicts(self, device_id: str) -> None:
        """Read the stored verdicts of ``device_id`` in the background, then fill the table."""
        self._jobs.spawn(self._load_verdicts(device_id))

    async def _load_verdicts(self, device_id: str) -> None:
        acs = self._engine
        stored = await acs.last_verdicts(device_id) if acs.running and device_id else None
        if device_id == self.device_combo.currentText():  # else a newer read fills the table
            self._fill_verdicts(device_id, stored)

    def _fill_verdicts(self, device_id: str, stored: SessionVerdicts | None) -> None:
        verdicts: list[PresetVerdict] = list(stored.verdicts) if stored is not None else []
        self.verdicts.setRowCount(len(verdicts))
        for row, v in enumerate(verdicts):
            applied = QTableWidgetItem("✔ yes" if v.matched else "✘ no")
            applied.setForeground(QColor("#15803d" if v.matched else "#b91c1c"))
            self.verdicts.setItem(row, 0, QTableWidgetItem(f"{v.preset} [{v.channel}]"))
            self.verdicts.setItem(row, 1, applied)
            why = "; ".join((v.reason, *(f"⚠ {note}" for note in v.notes)))
            reason = QTableWidgetItem(why)
            reason.setToolTip("\n".join((v.reason, *(f"⚠ {note}" for note in v.notes))))
            if v.notes:
                reason.setForeground(QColor("#b45309"))
            self.verdicts.setItem(row, 2, reason)
        self.verdicts.resizeColumnToContents(0)
        self.verdict_note.setToolTip(f"Session {stored.session_id}" if stored is not None else "")
        if not device_id:
            self.verdict_note.setText("Choose a device.")
        elif stored is None:
            self.verdict_note.setText(
                "No session of this device was stored with provisioning on. "
                "Use Dry run to see what would match now."
            )
        else:
            self.verdict_note.setText(
                f"{sum(v.matched for v in verdicts)} of {len(verdicts)} applied in the session "
                f"of {exact(stored.at_ms)} ({ago(stored.at_ms)})."
            )

    # ------------------------------------------------------------------ editing
    def add(self) -> PresetEditor:
        """Open the editor for a new preset."""
        return self._open_editor(None)

    def edit_preset(self, preset_id: str) -> None:
        """Select ``preset_id`` and open its editor (after a re-read of the presets)."""
        self._jobs.spawn(self._edit_preset(preset_id))

    async def _edit_preset(self, preset_id: str) -> None:
        await self._load()
        row = self.model.row_of(preset_id)
        if row >= 0:
            self.table.selectRow(row)
            self.edit_selected()

    def edit_selected(self) -> PresetEditor | None:
        """Open the editor for the selected preset."""
        preset = self.selected()
        return self._open_editor(preset) if preset is not None else None

    def _open_editor(self, preset: Preset | None) -> PresetEditor:
        editor = PresetEditor(preset, self._provision_names, self)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.accepted.connect(lambda: self._save_from(editor))
        editor.dryRunRequested.connect(self.open_dry_run)
        editor.destroyed.connect(lambda *_: setattr(self, "editor", None))
        self.editor = editor
        editor.open()
        self.editorOpened.emit(editor)
        return editor

    def _save_from(self, editor: PresetEditor) -> None:
        preset = editor.preset()
        if preset is not None:
            old = editor.original.id if editor.original is not None else None
            self._jobs.spawn(self.save(preset, replaces=old))

    async def save(self, preset: Preset, replaces: str | None = None) -> None:
        """Store ``preset`` (deleting ``replaces`` when it was renamed) and reload."""
        acs = self._engine
        if not acs.running:
            return
        await acs.put_preset(preset)
        if replaces and replaces != preset.id:
            await acs.delete_preset(replaces)
        self.saved.emit(preset.id)
        await self._load()
        row = self.model.row_of(preset.id)
        if row >= 0:
            self.table.selectRow(row)

    def _confirm_delete(self) -> None:
        preset = self.selected()
        if preset is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question, "Delete preset", f"Delete the preset {preset.id!r}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda r: self.delete(preset.id) if r == QMessageBox.StandardButton.Yes else None
        )
        box.open()

    def delete(self, preset_id: str) -> None:
        """Delete ``preset_id`` (no question asked)."""
        self._jobs.spawn(self._delete(preset_id))

    async def _delete(self, preset_id: str) -> None:
        acs = self._engine
        if not acs.running:
            return
        await acs.delete_preset(preset_id)
        self.deleted.emit(preset_id)
        await self._load()

    # ------------------------------------------------------------------ dry run
    def dry_run_selected(self) -> DryRunDialog | None:
        """Dry-run the selected preset."""
        preset = self.selected()
        return self.open_dry_run(preset) if preset is not None else None

    def open_dry_run(self, preset: Preset) -> DryRunDialog:
        """Open the dry-run dialog for ``preset`` (saved or as edited)."""
        parent: QWidget = self.editor if isinstance(self.editor, QDialog) else self
        dialog = DryRunDialog(
            self._engine, device_id=self.device_combo.currentText() or self._device,
            presets=[preset], what=f"preset {preset.id}", parent=parent,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog
