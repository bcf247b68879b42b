"""The "CPE logins" dock: devices failing CPE authentication, where from, and what to check.

The engine keeps the latest failed authentication of each device
(:meth:`~acs_engine.server.controller.Engine.auth_failures`: device, source address, the user
name it presented, why it failed, how often, first and last time) and publishes every failure
as a :class:`~acs_engine.bus.RequestRejected` with status 401. The panel re-reads the list on
each such event (through :class:`~app.bridge.EngineBridge`), so a CPE typed with the wrong
password shows up within a moment, with a plain-words hint of what to check. A device that
then logs in is dropped from the engine's list; the panel re-reads it as each session starts.

Attention cue: a new failure puts a message in the main window's status bar, the dock's title
counts the failing devices ("CPE logins (2)"), and the dock appears if it was hidden. "Clear"
hides the devices listed now until they fail again (the engine's list is not changed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from acs_engine.bus import RequestRejected
from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.server.auth import AuthFailure
from app import timefmt
from app.dockutil import make_dock
from app.record_table import ALIGN_RIGHT, Column, RecordTableModel
from app.timefmt import ago, exact

_Index = QModelIndex | QPersistentModelIndex
#: The sort key of a cell (numbers and times sort as such).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: How often "3 min ago" is brought up to date.
TICK_MS = 15_000
#: How long the status-bar message about a new failure stays.
STATUS_MS = 10_000

COLUMNS = ("Device", "Source address", "User name", "Reason", "Count", "First", "Last")
_DEVICE, _REMOTE, _USER, _REASON, _COUNT, _FIRST, _LAST = range(len(COLUMNS))
#: Columns widened to their content as rows come, and how many rows that looks at.
_FITTED = (_DEVICE, _REMOTE, _USER, _COUNT)
FIT_ROWS = 50

SETTINGS_HINT = "Settings → CPE authentication"
GENERAL_HINT = (
    "These CPEs reached the ACS but their log-in was refused, so they are not managed. "
    "Usually the CPE's ManagementServer.Username / ManagementServer.Password don't match the "
    f"ACS's CPE credentials ({SETTINGS_HINT}). If the source address is not a CPE you know, "
    "someone may be guessing passwords."
)


def advice(reason: str) -> str:
    """What to check for a failure ``reason`` (the engine's words), in plain words."""
    text = reason.lower()
    if "wrong password" in text:
        return (
            "The user name is right but the password is not: set the CPE's "
            "ManagementServer.Password to the ACS's CPE password "
            f"({SETTINGS_HINT}), or correct the ACS's."
        )
    if "unknown user" in text:
        return (
            "The CPE presented a user name the ACS does not expect: set the CPE's "
            "ManagementServer.Username (and Password) to the ACS's CPE credentials "
            f"({SETTINGS_HINT})."
        )
    if "no stored credentials" in text:
        return (
            "The ACS's CPE authentication expression reads credentials the ACS has not "
            "stored for this device yet (a device it has never seen, or one whose "
            "ManagementServer.Username / Password the ACS never set). The values a CPE sends "
            "in its own Inform are not trusted. Add a bootstrap alternative, e.g. "
            "AUTH(...) OR AUTH(\"bootstrap-user\", \"bootstrap-secret\"), and let a provision "
            f"set per-device credentials ({SETTINGS_HINT}); see docs/security.md."
        )
    if "without qop" in text:
        return (
            "The CPE uses the old RFC 2069 form of Digest (no qop), which can be replayed, "
            "so the ACS refuses it. Update the CPE's firmware, or allow the old form for old "
            f"CPEs ({SETTINGS_HINT} → \"Accept old Digest (RFC 2069)\")."
        )
    if "no credentials" in text:
        return (
            "The CPE did not answer the ACS's challenge with a user name and password: "
            "its ManagementServer.Username / Password are probably empty. Set them to the "
            f"ACS's CPE credentials ({SETTINGS_HINT})."
        )
    if "basic authentication refused" in text:
        return (
            "The CPE sent its password in the clear (Basic) over plain HTTP, which the ACS "
            "refuses. Give the CPE the https:// ACS URL, or switch it to Digest "
            "authentication."
        )
    if "nonce" in text or "replayed" in text:
        return (
            "The CPE answered an old or foreign challenge. One such failure is harmless "
            "(the CPE retries); many from an unknown address may be a replay attempt."
        )
    if "cwmp_auth" in text:
        return (
            "The ACS's authentication expression failed for this device: check it in "
            f"{SETTINGS_HINT}."
        )
    if "realm" in text or "algorithm" in text or "scheme" in text or "malformed" in text:
        return (
            "The CPE's authentication does not fit what the ACS offers (realm, algorithm or "
            "header format). Check the CPE's firmware, or try Basic over https://."
        )
    return (
        "Check that the CPE's ManagementServer.Username / Password match the ACS's CPE "
        f"credentials ({SETTINGS_HINT})."
    )


class AuthFailureModel(RecordTableModel[AuthFailure]):
    """Devices failing authentication, one row each (in the order they first failed).

    Rows are updated in place when a device fails again; devices the engine no longer lists
    (or that were cleared) are removed; new ones are inserted (never a reset). Sort through a
    proxy on :data:`SORT_ROLE`.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        def text(column: int) -> Callable[[AuthFailure], str]:
            return lambda failure: self._text(failure, column)

        def text_tip(column: int) -> Callable[[AuthFailure], str | None]:
            return lambda failure: self._text(failure, column) or None

        tooltips: dict[int, Callable[[AuthFailure], Any]] = {
            _FIRST: lambda f: exact(f.first_at_ms),
            _LAST: lambda f: exact(f.last_at_ms),
            _REASON: lambda f: f"{f.reason}\n\nWhat to check: {advice(f.reason)}",
        }
        columns = [
            Column(
                header, text(i),
                tooltips.get(i, text_tip(i)),
                ALIGN_RIGHT if i == _COUNT else None,
                (lambda f: QColor("#b91c1c") if f.count > 1 else None) if i == _COUNT else None,
            )
            for i, header in enumerate(COLUMNS)
        ]
        super().__init__(columns, parent)
        #: device id -> the failure count when "Clear" was pressed (hidden until it grows).
        self._cleared: dict[str, int] = {}
        self._now_ms = timefmt.now_ms()

    # ------------------------------------------------------------------ content
    def set_failures(
        self, failures: Sequence[AuthFailure], now_ms: int | None = None
    ) -> list[AuthFailure]:
        """Show ``failures`` (the engine's list); returns those that are new or failed again."""
        self._now_ms = timefmt.now_ms() if now_ms is None else now_ms
        listed = {failure.device_id for failure in failures}
        self._cleared = {dev: count for dev, count in self._cleared.items() if dev in listed}
        wanted: dict[str, AuthFailure] = {}
        for failure in failures:
            cleared = self._cleared.get(failure.device_id)
            if cleared is not None and failure.count <= cleared:
                continue
            wanted[failure.device_id] = failure
        fresh: list[AuthFailure] = []
        rows = self.records()
        for row in range(len(rows) - 1, -1, -1):
            if rows[row].device_id not in wanted:
                self.remove(row)
        for row, old in enumerate(self.records()):
            new = wanted.pop(old.device_id)
            if new != old:
                if new.count > old.count:
                    fresh.append(new)
                self.replace(row, new)
        if wanted:
            self.insert(self.rowCount(), list(wanted.values()))
            fresh.extend(wanted.values())
        return fresh

    def clear(self) -> None:
        """Hide the devices listed now until they fail again."""
        for failure in self.records():
            self._cleared[failure.device_id] = failure.count
        super().clear()

    def tick(self, now_ms: int | None = None) -> None:
        """Bring the "… ago" columns up to date."""
        self._now_ms = timefmt.now_ms() if now_ms is None else now_ms
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, _FIRST), self.index(self.rowCount() - 1, _LAST),
                [Qt.ItemDataRole.DisplayRole],
            )

    def failure(self, row: int) -> AuthFailure | None:
        """The failure shown in ``row``."""
        return self.record(row)

    def failures(self) -> list[AuthFailure]:
        """The failures shown, in row order."""
        return self.records()

    def row_of(self, device_id: str) -> int:
        """The row of ``device_id`` (-1 when not listed)."""
        return self.find(lambda f: f.device_id == device_id)

    # ------------------------------------------------------------------ the model
    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == SORT_ROLE:
            failure = self.failure(index.row()) if index.isValid() else None
            column = index.column()
            if failure is None or not 0 <= column < len(COLUMNS):
                return None
            if column == _COUNT:
                return failure.count
            if column in (_FIRST, _LAST):
                return failure.first_at_ms if column == _FIRST else failure.last_at_ms
            return self._text(failure, column).lower()
        return super().data(index, role)

    def _text(self, failure: AuthFailure, column: int) -> str:
        if column == _DEVICE:
            return failure.device_id or "(unknown device)"
        if column == _REMOTE:
            return failure.remote or "(unknown)"
        if column == _USER:
            return failure.username or "(none)"
        if column == _REASON:
            return failure.reason
        if column == _COUNT:
            return str(failure.count)
        if column == _FIRST:
            return ago(failure.first_at_ms, self._now_ms)
        return ago(failure.last_at_ms, self._now_ms)


class SecurityPanel(QWidget):
    """The failing-devices table, a hint of what to check, and "Clear".

    Signals:
        failureSeen(str): a device failed (again); the text is a one-line message for the
            status bar.
        countChanged(int): the number of devices listed changed.
    """

    failureSeen = Signal(str)
    countChanged = Signal(int)

    def __init__(self, engine: ConsoleEngine, bridge: Any | None = None, parent: QWidget | None = None) -> None:
        """Build the panel and read the engine's list.

        Args:
            engine: the engine (``auth_failures()``, ``cpe_auth_enabled``).
            bridge: the engine's events as signals (401 rejections re-read the list).
            parent: the parent widget.
        """
        super().__init__(parent)
        self.setObjectName("securityPanel")
        self._engine = console_engine(engine)
        self.model = AuthFailureModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 0, 16, 8)
        self.state = QLabel()
        self.state.setObjectName("securityState")
        self.state.setWordWrap(True)
        self.hint = QLabel(GENERAL_HINT)
        self.hint.setObjectName("securityHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text);")
        self.table = QTableView()
        self.table.setObjectName("securityTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(_LAST, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        # Device ids are long and end with the serial: one line, shortened in the middle.
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(_REASON, QHeaderView.ResizeMode.Stretch)
        header.setResizeContentsPrecision(FIT_ROWS)
        self.table.setAccessibleName("Devices failing CPE authentication")
        self.check = QLabel()
        self.check.setObjectName("securityCheck")
        self.check.setWordWrap(True)
        self.check.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check, 1)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Hide the devices listed now until they fail again")
        self.clear_button.clicked.connect(self.clear)
        buttons.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.state)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_check())
        self.model.rowsInserted.connect(self._on_rows_changed)
        self.model.rowsRemoved.connect(self._on_rows_changed)
        self.model.modelReset.connect(self._on_rows_changed)
        self.proxy.rowsInserted.connect(lambda *_: self._fit_columns())
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self.model.tick)
        self._ticker.start()
        if bridge is not None:
            bridge.requestRejected.connect(self._on_rejected)
            bridge.sessionStarted.connect(self._on_session_started)
        self.refresh()

    # ------------------------------------------------------------------ reading
    def refresh(self) -> list[AuthFailure]:
        """Re-read the engine's list; returns the devices that are new or failed again."""
        failures = self._engine.auth_failures()
        fresh = self.model.set_failures(failures)
        self._show_state()
        self._show_check()
        return fresh

    @Slot(RequestRejected)
    def _on_rejected(self, event: RequestRejected) -> None:
        if event.status != 401:
            return
        for failure in self.refresh():
            self.failureSeen.emit(
                f"CPE login refused: {failure.device_id or 'unknown device'} from "
                f"{failure.remote or 'an unknown address'} ({failure.reason}, "
                f"{failure.count}×) — see CPE logins"
            )

    def _on_session_started(self, event: object) -> None:
        if self.model.rowCount():  # a listed device may just have logged in
            self.refresh()

    def clear(self) -> None:
        """Hide the devices listed now until they fail again."""
        self.model.clear()
        self._show_check()

    def _fit_columns(self) -> None:
        """Widen the short columns to what they show (the first rows only: stays cheap)."""
        for column in _FITTED:
            self.table.resizeColumnToContents(column)

    def _on_rows_changed(self, *_: object) -> None:
        self.clear_button.setEnabled(self.model.rowCount() > 0)
        self.countChanged.emit(self.model.rowCount())

    def _show_state(self) -> None:
        enabled = self._engine.cpe_auth_enabled
        if self.model.rowCount():
            count = self.model.rowCount()
            self.state.setText(
                f"<b>{count} device{'' if count == 1 else 's'} failing to log in.</b>"
            )
        elif enabled:
            self.state.setText("No failed CPE logins. CPEs must log in to the ACS.")
        else:
            self.state.setText(
                "CPE authentication is off: every CPE is accepted without a password "
                f"({SETTINGS_HINT})."
            )

    def _show_check(self) -> None:
        current = self.table.currentIndex()
        failure = None
        if current.isValid():
            failure = self.model.failure(self.proxy.mapToSource(current).row())
        if failure is None and self.model.rowCount() == 1:
            failure = self.model.failure(0)
        if failure is None:
            self.check.setText("")
            return
        self.check.setText(f"What to check for {failure.device_id or 'this CPE'}: "
                           f"{advice(failure.reason)}")

    def select_device(self, device_id: str) -> bool:
        """Select the row of ``device_id``; False when it is not listed."""
        row = self.model.row_of(device_id)
        if row < 0:
            return False
        self.table.setCurrentIndex(self.proxy.mapFromSource(self.model.index(row, 0)))
        return True

    def shutdown(self) -> None:
        """Stop the clock (the window is closing)."""
        self._ticker.stop()


class SecurityDock(QObject):
    """The "CPE logins" dock of the main window, with its View-menu entry (Ctrl+9).

    Attributes:
        panel: the :class:`SecurityPanel`.
        dock: its dock (object name ``securityDock``).
        show_action: shows and raises the dock.
    """

    TITLE = "CPE logins"

    def __init__(
        self,
        window: QMainWindow,
        engine: ConsoleEngine,
        bridge: Any,
        view_menu: QMenu | None = None,
        beside: QDockWidget | None = None,
    ) -> None:
        """Build the dock into ``window`` (before the window restores its layout).

        Args:
            window: the main window (its status bar shows new failures).
            engine: the engine.
            bridge: the engine's events as signals.
            view_menu: where the dock's entries go.
            beside: a dock to tabify it with (e.g. "Recent activity").
        """
        super().__init__(window)
        self._window = window
        self.panel = SecurityPanel(engine, bridge)
        self.dock = make_dock(window, self.TITLE, "securityDock", self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        if beside is not None:
            window.tabifyDockWidget(beside, self.dock)
        self.dock.hide()  # appears when a CPE fails to log in; a remembered layout may show it
        self.show_action = QAction(self.TITLE, window)
        self.show_action.setObjectName("showSecurityAction")
        self.show_action.setShortcut(QKeySequence("Ctrl+9"))
        self.show_action.triggered.connect(self.focus)
        window.addAction(self.show_action)
        if view_menu is not None:
            view_menu.addAction(self.dock.toggleViewAction())
        self.panel.failureSeen.connect(self._on_failure)
        self.panel.countChanged.connect(self._set_title)
        self._set_title(self.panel.model.rowCount())

    def focus(self) -> None:
        """Show and raise the dock and focus its table."""
        self.dock.show()
        self.dock.raise_()
        self.panel.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _set_title(self, count: int) -> None:
        self.dock.setWindowTitle(f"{self.TITLE} ({count})" if count else self.TITLE)
        self.show_action.setText(f"{self.TITLE} ({count} failing)" if count else self.TITLE)

    @Slot(str)
    def _on_failure(self, message: str) -> None:
        self._window.statusBar().showMessage(message, STATUS_MS)
        if self.dock.isHidden():  # appear (in front of its tab group), without the focus
            self.dock.show()
            self.dock.raise_()

    def shutdown(self) -> None:
        """Stop the panel's clock."""
        self.panel.shutdown()
