"""The escalation bundle dialog: choose sessions, type notes, see what is inside, save.

:class:`BundleDialog` lists the device's stored sessions (the one shown ticked), a notes box
and an "Include secrets" box (off). Every change plans the bundle again
(:func:`acs_engine.inspect.bundle.plan`, on the loop) and lists its files — name, size, what
it is, and "SECRETS IN CLEAR" where they are — so nothing leaves unseen. Save writes the zip
in a worker thread. A bundle opened again (:meth:`BundleDialog.opened`) shows the same list
and the notes, read-only; its sessions open in the panel "from file".
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.inspect import bundle
from acs_engine.store.model import SessionRecord

SECRET_COLOUR = QColor("#b91c1c")


class BundleDialog(QDialog):
    """Make (or show) an escalation bundle.

    Signals:
        planned(): the file list is up to date with the choices.
        saved(str): the bundle was written (its path).
    """

    planned = Signal()
    saved = Signal(str)

    def __init__(self, engine: ConsoleEngine | None, device_id: str,
                 sessions: list[SessionRecord], chosen: str = "",
                 parent: QWidget | None = None) -> None:
        """Offer ``sessions`` of ``device_id`` (``chosen`` ticked)."""
        super().__init__(parent)
        self.setObjectName("bundleDialog")
        self.setWindowTitle(f"Escalation bundle — {device_id}")
        self._engine = console_engine(engine) if engine is not None else None
        self._device_id = device_id
        self.bundle: bundle.Bundle | None = None
        self._task: asyncio.Task[Any] | None = None
        self.sessions = QListWidget()
        self.sessions.setObjectName("bundleSessions")
        for record in sessions:
            item = QListWidgetItem(f"{record.id} — {record.outcome or '?'}, "
                                   f"{', '.join(record.events) or 'no events'}")
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if record.id == chosen or (
                not chosen and record is sessions[0]) else Qt.CheckState.Unchecked)
            self.sessions.addItem(item)
        self.sessions.itemChanged.connect(self.replan)
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("bundleNotes")
        self.notes.setPlaceholderText("What the customer sees, what you tried, what you ask "
                                      "the vendor…")
        self.notes.textChanged.connect(self.replan)
        self.secrets = QCheckBox("Include secrets (passwords and keys in clear)")
        self.secrets.setObjectName("bundleSecrets")
        self.secrets.toggled.connect(self.replan)
        self.files = QTableWidget(0, 3)
        self.files.setObjectName("bundleFiles")
        self.files.setHorizontalHeaderLabels(["File", "Size", "What"])
        self.files.verticalHeader().hide()
        self.files.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.files.horizontalHeader().setStretchLastSection(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.save_button = QPushButton("Save bundle…")
        self.save_button.setObjectName("saveBundle")
        self.save_button.clicked.connect(self._ask_save)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        self.sessions_label = QLabel("Sessions")
        layout.addWidget(self.sessions_label)
        layout.addWidget(self.sessions, 1)
        layout.addWidget(QLabel("Notes"))
        layout.addWidget(self.notes, 1)
        layout.addWidget(self.secrets)
        layout.addWidget(QLabel("Inside the bundle"))
        layout.addWidget(self.files, 2)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(780, 620)

    # ------------------------------------------------------------------ choices
    def chosen(self) -> list[str]:
        """The ticked sessions, newest first."""
        return [str(self.sessions.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.sessions.count())
                if self.sessions.item(i).checkState() == Qt.CheckState.Checked]

    def busy(self) -> bool:
        """True while the bundle is being planned or written."""
        return self._task is not None and not self._task.done()

    def replan(self, *_args: object) -> None:
        """Plan the bundle again for the current choices."""
        if self._engine is None:
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(self._plan())

    async def _plan(self) -> None:
        acs = self._engine
        if acs is None or not acs.running or not self.chosen():
            self.bundle = None
            self._show([], "Tick at least one session.")
            return
        try:
            made = await acs.plan_bundle(self._device_id, self.chosen(),
                                         self.notes.toPlainText(),
                                         include_secrets=self.secrets.isChecked())
        except LookupError as exc:
            self.bundle = None
            self._show([], str(exc))
            return
        self.bundle = made
        warning = ("Secrets are in clear in the files marked red." if self.secrets.isChecked()
                   else "Secrets are masked; the settings never carry them.")
        self._show(made.items, warning)

    def _show(self, items: list[bundle.Item], text: str) -> None:
        self.files.setRowCount(len(items))
        for row, item in enumerate(items):
            what = item.what + ("  — SECRETS IN CLEAR" if item.secrets else "")
            for column, value in enumerate((item.name, f"{len(item.data):,} B", what)):
                cell = QTableWidgetItem(value)
                if item.secrets:
                    cell.setForeground(SECRET_COLOUR)
                self.files.setItem(row, column, cell)
        self.status.setText(text)
        self.save_button.setEnabled(self.bundle is not None and self._engine is not None)
        self.planned.emit()

    # ------------------------------------------------------------------ saving
    async def save_to(self, path: Path) -> None:
        """Write the planned bundle to ``path`` (in a worker thread)."""
        if self.bundle is None:
            return
        await asyncio.to_thread(bundle.write, path, self.bundle)
        self.status.setText(f"Saved {path}")
        self.saved.emit(str(path))

    def _ask_save(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save escalation bundle",
                                              f"{self._device_id}-bundle.zip",
                                              "Zip (*.zip);;All files (*)")
        if name:
            self._task = asyncio.get_running_loop().create_task(self.save_to(Path(name)))

    # ------------------------------------------------------------------ opening
    @classmethod
    def opened(cls, made: bundle.Bundle, parent: QWidget | None = None) -> BundleDialog:
        """A read-only dialog showing a bundle opened from a file."""
        dialog = cls(None, made.device_id, [], parent=parent)
        dialog.setWindowTitle(f"Escalation bundle — {made.device_id} (opened)")
        dialog.bundle = made
        for session in made.sessions:
            item = QListWidgetItem(f"{session.session_id} — {session.outcome or '?'}, "
                                   f"{', '.join(session.events) or 'no events'}")
            dialog.sessions.addItem(item)
        dialog.notes.setPlainText(made.notes)
        dialog.notes.setReadOnly(True)
        dialog.secrets.setChecked(bool(made.manifest.get("secrets_included")))
        dialog.secrets.setEnabled(False)
        dialog._show(made.items, f"Made {made.manifest.get('created', '?')} by FieldACS "
                                 f"{made.manifest.get('fieldacs_version', '?')}; its sessions "
                                 "are open in the live panel.")
        dialog.save_button.setEnabled(False)
        return dialog
