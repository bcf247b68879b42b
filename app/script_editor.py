"""The script editor: provisions and virtual parameters, checked as you type, dry-run.

Left, the stored scripts of one kind (provisions or virtual parameters); right, a
:class:`~app.code_editor.CodeEditor` with line numbers, JavaScript highlighting and undo.
A pause in typing (:data:`CHECK_DELAY_MS`) compiles the text in the engine's V8 sandbox
(``Sandbox.check_syntax`` off the loop, via :func:`asyncio.to_thread`): an error marks its
line (red band, gutter marker) and is described under the editor; fixing it clears the mark.
"Save" writes the script with ``store.put_provision`` / ``put_virtual_parameter``;
"Dry run…" runs the text as it is (saved or not) against a copy of a device.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.scripting import ScriptFault
from acs_engine.store.records import Provision, VirtualParameter
from app.background import Background
from app.code_editor import CodeEditor
from app.dryrun_dialog import DryRunDialog

log = logging.getLogger("fieldacs.app")

#: Pause in typing before the text is compiled.
CHECK_DELAY_MS = 400
PROVISIONS = "provisions"
VIRTUAL_PARAMETERS = "virtual parameters"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_NEW_PROVISION = 'const now = Date.now();\n\n// declare("Device.DeviceInfo.SoftwareVersion", {value: 1});\n'
_NEW_VPARAM = (
    "// A virtual parameter returns {writable, value: [value, type]}.\n"
    'const v = declare("Device.DeviceInfo.SoftwareVersion", {value: 1});\n'
    'return {writable: false, value: [v.value[0], "xsd:string"]};\n'
)


class ScriptEditor(QWidget):
    """Edit, check, save and dry-run provision and virtual-parameter scripts.

    Signals:
        checked(object): a compile check finished: None (the text compiles) or the
            :class:`~acs_engine.scripting.ScriptFault`.
        saved(str, str): a script was saved (kind, name).
        deleted(str, str): a script was deleted (kind, name).
        loaded(): the list of scripts was (re)loaded.
    """

    checked = Signal(ScriptFault)  # or None: no error
    saved = Signal(str, str)
    deleted = Signal(str, str)
    loaded = Signal()

    def __init__(self, engine: ConsoleEngine, parent: QWidget | None = None) -> None:
        """Build the editor; :meth:`reload` reads the stored scripts.

        Args:
            engine: the engine (store, sandbox, config).
            parent: the parent widget.
        """
        super().__init__(parent)
        self.setObjectName("scriptEditor")
        self._engine = console_engine(engine)
        self._jobs = Background("the script editor")
        self._scripts: dict[str, str] = {}
        self._check_generation = 0
        self._current_device = ""
        self.dialog: DryRunDialog | None = None
        self._after_save: Any = None

        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("scriptKind")
        self.kind_combo.addItem("Provisions", PROVISIONS)
        self.kind_combo.addItem("Virtual parameters", VIRTUAL_PARAMETERS)
        self.kind_combo.currentIndexChanged.connect(self._on_kind)
        self._kind_index = 0
        self.list = QListWidget()
        self.list.setObjectName("scriptList")
        self.list.currentItemChanged.connect(self._on_current)
        self.new_button = QPushButton("New")
        self.new_button.clicked.connect(lambda: self._unless_unsaved(self.new_script))
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._confirm_delete)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.kind_combo)
        left_layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addWidget(self.delete_button)
        left_layout.addLayout(row)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("scriptName")
        self.name_edit.setPlaceholderText("name (letters, digits, _ . -)")
        self.editor = CodeEditor()
        self.editor.setObjectName("scriptText")
        self.editor.textChanged.connect(self._schedule_check)
        self.editor.document().modificationChanged.connect(self._show_modified)
        #: The "unsaved changes" question while it is open (tests answer it).
        self.unsaved_box: QMessageBox | None = None
        self.saved_label = QLabel("")
        self.saved_label.setObjectName("scriptSaved")
        self.problem = QLabel("")
        self.problem.setObjectName("scriptProblem")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("scriptSave")
        self.save_button.clicked.connect(self.save)
        self.dry_run_button = QPushButton("Dry run…")
        self.dry_run_button.setObjectName("scriptDryRun")
        self.dry_run_button.setToolTip(
            "Run this text against a simulated copy of a device and list the RPCs it would send"
        )
        self.dry_run_button.clicked.connect(self.open_dry_run)
        self.save_action = QAction("Save script", self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.save_action.triggered.connect(self.save)
        self.addAction(self.save_action)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Name"))
        top.addWidget(self.name_edit, 1)
        right_layout.addLayout(top)
        right_layout.addWidget(self.editor, 1)
        right_layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addWidget(self.saved_label, 1)
        buttons.addWidget(self.dry_run_button)
        buttons.addWidget(self.save_button)
        right_layout.addLayout(buttons)

        self.check_timer = QTimer(self)
        self.check_timer.setSingleShot(True)
        self.check_timer.setInterval(CHECK_DELAY_MS)
        self.check_timer.timeout.connect(self.check_now)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([200, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(split)
        self._set_problem(None)

    # ------------------------------------------------------------------ state
    @property
    def kind(self) -> str:
        """:data:`PROVISIONS` or :data:`VIRTUAL_PARAMETERS`."""
        return str(self.kind_combo.currentData())

    def pending(self) -> int:
        """Store reads, writes and checks still running."""
        return len(self._jobs) + (1 if self.check_timer.isActive() else 0)

    def set_device(self, device_id: str) -> None:
        """The device a dry run starts with (the console's selected device)."""
        self._current_device = device_id

    def shutdown(self) -> None:
        """Stop checks and store work (the engine is stopping)."""
        self.check_timer.stop()
        self._jobs.cancel()

    # ------------------------------------------------------------------ loading
    def reload(self) -> None:
        """Re-read the stored scripts of the current kind."""
        self._jobs.spawn(self._load())

    async def _load(self) -> None:
        acs = self._engine
        if not acs.running:
            return
        if self.kind == PROVISIONS:
            rows: list[Provision] | list[VirtualParameter] = await acs.list_provisions()
        else:
            rows = await acs.list_virtual_parameters()
        current = self.name_edit.text()
        self._scripts = {r.id: r.script for r in rows}
        self.list.blockSignals(True)
        self.list.clear()
        for name in sorted(self._scripts):
            self.list.addItem(QListWidgetItem(name))
        self.list.blockSignals(False)
        matches = self.list.findItems(current, Qt.MatchFlag.MatchExactly) if current else []
        if matches:
            self.list.setCurrentItem(matches[0])
        elif self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.new_script()
        self.loaded.emit()

    def _on_current(self, item: QListWidgetItem | None, previous: QListWidgetItem | None) -> None:
        if item is None:
            return
        if previous is not None and self.editor.document().isModified():
            self.list.blockSignals(True)
            self.list.setCurrentItem(previous)  # stay until the user answers
            self.list.blockSignals(False)
            name = item.text()

            def switch() -> None:
                matches = self.list.findItems(name, Qt.MatchFlag.MatchExactly)
                self.list.blockSignals(True)
                if matches:
                    self.list.setCurrentItem(matches[0])
                self.list.blockSignals(False)
                self.open_script(name)

            self._unless_unsaved(switch)
            return
        self.open_script(item.text())

    @Slot(int)
    def _on_kind(self, index: int) -> None:
        if index == self._kind_index:
            return
        if self.editor.document().isModified():
            self.kind_combo.blockSignals(True)
            self.kind_combo.setCurrentIndex(self._kind_index)
            self.kind_combo.blockSignals(False)

            def switch() -> None:
                self.kind_combo.blockSignals(True)
                self.kind_combo.setCurrentIndex(index)
                self.kind_combo.blockSignals(False)
                self._kind_index = index
                self.editor.document().setModified(False)
                self.name_edit.clear()
                self.reload()

            self._unless_unsaved(switch)
            return
        self._kind_index = index
        self.reload()

    def _unless_unsaved(self, then: Any) -> None:
        """Run ``then`` now, or after asking what to do with unsaved edits (Save first,
        Discard them, or Cancel and stay)."""
        if not self.editor.document().isModified():
            then()
            return
        name = self.name_edit.text().strip() or "the new script"
        box = QMessageBox(
            QMessageBox.Icon.Question, "Unsaved changes",
            f"{name} has changes that are not saved.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, self,
        )
        box.setObjectName("scriptUnsaved")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(result: int) -> None:
            self.unsaved_box = None
            if result == QMessageBox.StandardButton.Discard:
                self.editor.document().setModified(False)
                then()
            elif result == QMessageBox.StandardButton.Save and self.save():
                self._after_save = then

        box.finished.connect(answered)
        self.unsaved_box = box
        box.open()

    def _show_modified(self, modified: bool) -> None:
        if modified:
            self.saved_label.setText("● Unsaved changes")
            self.saved_label.setStyleSheet("color: #b45309;")

    def open_script(self, name: str) -> None:
        """Show the stored script ``name`` of the current kind."""
        self.name_edit.setText(name)
        self.editor.setPlainText(self._scripts.get(name, ""))
        self.editor.document().setModified(False)
        self.saved_label.setText("")

    def new_script(self) -> None:
        """Start a new script of the current kind."""
        self.list.clearSelection()
        self.name_edit.clear()
        self.name_edit.setFocus()
        self.editor.setPlainText(_NEW_PROVISION if self.kind == PROVISIONS else _NEW_VPARAM)
        self.editor.document().setModified(False)
        self.saved_label.setText("")

    # ------------------------------------------------------------------ checking
    def _schedule_check(self) -> None:
        self._check_generation += 1
        self.check_timer.start()

    def check_now(self) -> None:
        """Compile the text now (off the loop); the result arrives via :attr:`checked`."""
        self.check_timer.stop()
        if not self._engine.provisioning_enabled:
            self._set_problem(None, "Provisioning is off: scripts are not checked.")
            return
        self._jobs.spawn(self._check(self.editor.toPlainText(), self._check_generation))

    async def _check(self, text: str, generation: int) -> None:
        fault: ScriptFault | None = await self._engine.check_script(text)
        if generation != self._check_generation:
            return  # the text changed meanwhile; a newer check is coming
        self._set_problem(fault)
        self.checked.emit(fault)

    def _set_problem(self, fault: ScriptFault | None, note: str = "") -> None:
        if fault is None:
            self.editor.clear_error()
            self.problem.setText(note or "✔ The script compiles.")
            self.problem.setStyleSheet("color: #15803d;" if not note else "color: #64748b;")
            return
        line = int(fault.detail.get("line") or 1)
        column = int(fault.detail.get("column") or 1)
        self.editor.mark_error(line, fault.message)
        self.problem.setText(f"✘ Line {line}, column {column}: {fault.message}")
        self.problem.setStyleSheet("color: #b91c1c;")

    # ------------------------------------------------------------------ saving
    def save(self) -> bool:
        """Save the text under the name given (checked first: a broken script is not saved).

        Returns:
            False when the name is not valid (nothing is saved; the user is told).
        """
        name = self.name_edit.text().strip()
        if not _NAME_RE.match(name):
            self.problem.setText("✘ Give the script a name: letters, digits, _ . -")
            self.problem.setStyleSheet("color: #b91c1c;")
            self.saved_label.setText("✘ Not saved: the script needs a name")
            self.saved_label.setStyleSheet("color: #b91c1c;")
            self.name_edit.setFocus()
            return False
        self.saved_label.setText(f"Saving {name}…")
        self._jobs.spawn(self._save(self.kind, name, self.editor.toPlainText()))
        return True

    async def _save(self, kind: str, name: str, text: str) -> None:
        acs = self._engine
        if not acs.running:
            return
        if acs.provisioning_enabled:
            fault = await acs.check_script(text)
            if fault is not None:
                self._set_problem(fault)
                self.problem.setText(self.problem.text() + " — not saved.")
                self.saved_label.setText("✘ Not saved: the script does not compile")
                self.saved_label.setStyleSheet("color: #b91c1c;")
                self._after_save = None
                return
        if kind == PROVISIONS:
            await acs.put_provision(Provision(name, text))
        else:
            await acs.put_virtual_parameter(VirtualParameter(name, text))
        self.editor.document().setModified(False)
        self.problem.setText(f"✔ Saved {name}.")
        self.problem.setStyleSheet("color: #15803d;")
        self.saved.emit(kind, name)
        await self._load()
        then, self._after_save = self._after_save, None
        if then is not None:
            then()
        # After the reload (which re-opens the script): the feedback stays until the next edit.
        self.saved_label.setText(f"✔ Saved {name} at {time.strftime('%H:%M:%S')}")
        self.saved_label.setStyleSheet("color: #15803d;")

    def _confirm_delete(self) -> None:
        name = self.name_edit.text().strip()
        if name not in self._scripts:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question, "Delete script",
            f"Delete the {self.kind[:-1]} {name!r}? Presets that use it will skip it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda result: self.delete(name) if result == QMessageBox.StandardButton.Yes else None
        )
        box.open()

    def delete(self, name: str) -> None:
        """Delete the stored script ``name`` of the current kind (no question asked)."""
        self._jobs.spawn(self._delete(self.kind, name))

    async def _delete(self, kind: str, name: str) -> None:
        acs = self._engine
        if not acs.running:
            return
        if kind == PROVISIONS:
            await acs.delete_provision(name)
        else:
            await acs.delete_virtual_parameter(name)
        self.name_edit.clear()
        self.deleted.emit(kind, name)
        await self._load()

    # ------------------------------------------------------------------ dry run
    def open_dry_run(self) -> DryRunDialog:
        """Open the dry-run dialog for the text as it is now."""
        name = self.name_edit.text().strip() or "draft"
        text = self.editor.toPlainText()
        if self.kind == PROVISIONS:
            dialog = DryRunDialog(
                self._engine, device_id=self._current_device, provisions=[[name]],
                scripts_override={name: text}, what=f"provision {name}", parent=self,
            )
        else:
            dialog = DryRunDialog(
                self._engine, device_id=self._current_device,
                provisions=[["refresh", f"VirtualParameters.{name}"]],
                vparams_override={name: text}, what=f"virtual parameter {name}", parent=self,
            )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog
