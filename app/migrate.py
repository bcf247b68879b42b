"""Devices list → "Move these devices to another ACS…": the console side of a migration.

:func:`install_move_action` adds the action to the devices table's context menu (and lets the
table select several rows). :class:`MoveDevicesDialog` asks for the new ACS URL (and,
optionally, the new ACS's NBI and token, to confirm arrivals), starts the migration
(:mod:`acs_engine.admin.migrate`: a ManagementServer.URL task per device) and then shows
each device's state, refreshed every few seconds, with the ones that did not move listed
first. All the work is async on the console's loop: the window never waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from acs_engine.admin.migrate import NOT_MOVED, Migration, MigrationError
from acs_engine.console_api import ConsoleEngine
from app.background import Background

__all__ = ["MoveDevicesDialog", "install_move_action"]

log = logging.getLogger("fieldacs.app")

#: Seconds between two status refreshes while the dialog is open.
REFRESH_SECONDS = 5.0
_COLOURS = {"moved": "#16a34a", "switched": "#2563eb", "waiting": "#64748b",
            "failed": "#dc2626", "came back": "#dc2626", "lost": "#dc2626"}
#: The order rows are shown in: what did not move first.
_ORDER = {"failed": 0, "came back": 1, "lost": 2, "waiting": 3, "switched": 4, "moved": 5}


class MoveDevicesDialog(QDialog):
    """Send ``device_ids`` to another ACS and follow them.

    Signals:
        refreshed(): the states were read again (tests wait on it).
    """

    refreshed = Signal()

    def __init__(self, engine: ConsoleEngine, device_ids: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("moveDevicesDialog")
        self.setWindowTitle("Move devices to another ACS")
        self.engine = engine
        self.device_ids = list(dict.fromkeys(device_ids))
        self.migration: Migration | None = None
        self._work = Background("moving devices to another ACS")
        self.url = QLineEdit()
        self.url.setObjectName("newAcsUrl")
        self.url.setPlaceholderText("http://new-acs.example.net:7547/")
        self.nbi = QLineEdit()
        self.nbi.setObjectName("newAcsNbi")
        self.nbi.setPlaceholderText("optional: http://new-acs.example.net:7557 (confirms arrivals)")
        self.token = QLineEdit()
        self.token.setObjectName("newAcsToken")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("its NBI token, if it has one")
        form = QFormLayout()
        form.addRow("New ACS URL:", self.url)
        form.addRow("New ACS NBI:", self.nbi)
        form.addRow("NBI token:", self.token)
        intro = QLabel(
            f"{len(self.device_ids)} device(s) will get the new URL as ManagementServer.URL "
            "at their next session, and then inform the new ACS. Those that do not are "
            "listed first below. To undo, do the same on the new ACS with this ACS's URL."
        )
        intro.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("moveMessage")
        self.message.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("moveTable")
        self.table.setHorizontalHeaderLabels(["Device", "State", "Detail"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.start_button = QPushButton("Move")
        self.start_button.setObjectName("moveStart")
        self.start_button.clicked.connect(self.start)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setEnabled(False)
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.refresh_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(int(REFRESH_SECONDS * 1000))
        self._timer.timeout.connect(self.refresh)
        self.resize(760, 460)

    # ------------------------------------------------------------------ actions
    def start(self) -> None:
        """Queue the URL change for every device (once)."""
        if self.migration is not None:
            return
        self.start_button.setEnabled(False)
        self._work.spawn(self._start(self.url.text()), on_error=self._start_failed)

    def _start_failed(self, exc: BaseException) -> None:
        self.message.setText(f"Could not queue the tasks: {exc}")
        self.message.setStyleSheet("color: #dc2626;")
        self.start_button.setEnabled(self.migration is None)

    async def _start(self, url: str) -> None:
        try:
            self.migration = await self.engine.start_migration(self.device_ids, url)
        except MigrationError as exc:
            self.message.setText(str(exc))
            self.message.setStyleSheet("color: #dc2626;")
            self.start_button.setEnabled(True)
            return
        self.url.setReadOnly(True)
        self.refresh_button.setEnabled(True)
        self._timer.start()
        await self._refresh()

    def refresh(self) -> None:
        """Read the states again (also done every :data:`REFRESH_SECONDS`)."""
        if self.migration is not None:
            self._work.spawn(self._refresh())

    async def _refresh(self) -> None:
        migration = self.migration
        if migration is None:
            return
        problem = ""
        try:
            await self.engine.migration_status(migration, nbi_url=self.nbi.text().strip() or None,
                                   token=self.token.text().strip() or None)
        except MigrationError as exc:
            problem = f" ({exc})"
        except Exception as exc:  # the store is closing: say so, keep the window
            log.warning("migration status failed: %s", exc)
            problem = f" (could not read the states: {exc})"
        self._show(migration, problem)
        self.refreshed.emit()

    def _show(self, migration: Migration, problem: str) -> None:
        moves = sorted(migration.moves, key=lambda m: (_ORDER.get(m.state, 9), m.device_id))
        self.table.setRowCount(len(moves))
        for row, move in enumerate(moves):
            for column, text in enumerate((move.device_id, move.state, move.detail)):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setForeground(QColor(_COLOURS.get(move.state, "#0f172a")))
                self.table.setItem(row, column, item)
        counts = migration.counts()
        not_moved = sum(n for s, n in counts.items() if s in NOT_MOVED)
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda i: _ORDER.get(i[0], 9)))
        self.message.setStyleSheet("color: #dc2626;" if not_moved else "")
        self.message.setText(f"{parts}. Not moved: {not_moved}.{problem}")

    def states(self) -> dict[str, str]:
        """Device id → state as shown (tests)."""
        out: dict[str, str] = {}
        for row in range(self.table.rowCount()):
            device, state = self.table.item(row, 0), self.table.item(row, 1)
            if device is not None and state is not None:
                out[device.text()] = state.text()
        return out

    def done(self, result: int) -> None:
        self._timer.stop()
        self._work.cancel()  # nothing touches the window once it is gone
        super().done(result)


def install_move_action(
    table: QAbstractItemView, engine_of: Callable[[], ConsoleEngine],
    selected_ids: Callable[[], list[str]],
) -> QAction:
    """Add "Move these devices to another ACS…" to ``table``'s context menu.

    Args:
        table: the devices table (it is switched to selecting several rows).
        engine_of: the engine the console works with.
        selected_ids: the selected devices' ids.
    """
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    action = QAction("Move these devices to another ACS…", table)
    action.setObjectName("moveDevicesAction")

    def open_dialog() -> None:
        ids = selected_ids()
        if not ids:
            return
        dialog = MoveDevicesDialog(engine_of(), ids, table.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        table.setProperty("moveDialog", dialog)  # for tests

    action.triggered.connect(open_dialog)
    table.addAction(action)
    return action
