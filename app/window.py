"""The console's main window: a dock-based QMainWindow the later panels grow into.

The overview page (ACS URLs and counters) is the central widget; "Recent activity" is a dock.
Every update arrives through :class:`~app.bridge.EngineBridge` signals; the window reads only
the engine's counters, and only when an event says they changed.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from acs_engine.bus import (
    DeviceUpdated,
    EngineNotice,
    RequestRejected,
    SessionEnded,
    SessionStarted,
)
from acs_engine.console_api import ConsoleEngine, console_engine
from app import APP_NAME
from app.activity import ActivityDescriber, ActivityModel, ActivityView
from app.admin_docks import AdminDocks
from app.bridge import EngineBridge
from app.help import HelpMenu
from app.icons import app_icon
from app.live.docks import LiveDocks
from app.logfile import installed_folder
from app.overview import OverviewPage, merge_urls
from app.security_panel import SecurityDock
from app.workspace import DeviceWorkspace

log = logging.getLogger("fieldacs.app")

_GEOMETRY_KEY = "mainWindow/geometry"
_STATE_KEY = "mainWindow/state"
_STATUS_TIMEOUT_MS = 4000


def plural(count: int, word: str) -> str:
    """``"1 device"``, ``"3 devices"``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


class MainWindow(QMainWindow):
    """FieldACS's main window: where to point a CPE, live counters and recent activity.

    Signals:
        closed(): the window was closed (after its geometry was saved).
        connectRequested(): File → Connect to ACS… (app/remote_ui.py opens the window).
    """

    closed = Signal()
    connectRequested = Signal()

    def __init__(
        self,
        engine: ConsoleEngine,
        bridge: EngineBridge,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """Build the window and connect it to ``bridge``; call :meth:`set_acs_urls` once the
        engine listens.

        Args:
            engine: the ACS.
            bridge: the engine's events as Qt signals.
            settings: where geometry is remembered (default: the application's QSettings).
            parent: usually None.
        """
        super().__init__(parent)
        self._engine = console_engine(engine)
        #: The user chose to close although staged commands were kept (see closeEvent).
        self._closing_anyway = False
        self._bridge = bridge
        self._settings = settings if settings is not None else QSettings()
        self._completed = 0
        self._failed = 0
        self._new_devices = 0
        self._urls: list[str] = []
        self._describer = ActivityDescriber()

        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setObjectName("mainWindow")
        self.setMinimumSize(640, 480)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
        )

        self.overview = OverviewPage()
        self.overview.urls.urlCopied.connect(self._on_url_copied)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("centralTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.overview, "Overview")
        self.setCentralWidget(self.tabs)

        self.activity_model = ActivityModel(parent=self)
        self.activity_view = ActivityView(self.activity_model)
        self.activity_dock = QDockWidget("Recent activity", self)
        self.activity_dock.setObjectName("activityDock")
        self.activity_dock.setStyleSheet(
            "QDockWidget { font-weight: 600; }"
            "QDockWidget::title { text-align: left; padding: 6px 0 4px 16px; }"
        )
        dock_body = QWidget()
        dock_body.setStyleSheet("font-weight: normal;")
        dock_layout = QVBoxLayout(dock_body)
        dock_layout.setContentsMargins(16, 0, 16, 8)
        dock_layout.addWidget(self.activity_view)
        self.activity_dock.setWidget(dock_body)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.activity_dock)

        self._status_urls = QLabel()
        self._status_counts = QLabel()
        self._status_urls.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._status_urls.setContentsMargins(10, 0, 0, 0)
        self._status_counts.setContentsMargins(0, 0, 10, 0)
        self.statusBar().addWidget(self._status_urls, 1)  # a transient message covers it
        self.statusBar().addPermanentWidget(self._status_counts)

        self._build_actions()
        # Devices tab, device tabs, toolbar (Ctrl+R connection request, F5 refresh).
        self.devices = DeviceWorkspace(
            self, self._engine, bridge, self.tabs, lambda: self._urls[0] if self._urls else ""
        )
        # Live session and Dashboard docks, "Step mode" on the toolbar (Ctrl+4, Ctrl+5).
        self.live: LiveDocks | None = None
        self.live = LiveDocks(self, self._engine, bridge, None, self.devices.toolbar)
        self.devices.refresh_action.triggered.connect(self.live.refresh)
        self.devices.sessionChosen.connect(self._open_session)
        # Presets, Scripts, Faults docks (Ctrl+6/7/8) and File > Settings… (Ctrl+Alt+S).
        self.admin: AdminDocks | None = None
        self.admin = AdminDocks(
            self, self._engine, bridge, None, self.file_menu, self.devices.selected_device
        )
        self.admin.faults.deleted.connect(self.devices.fault_deleted)
        self.devices.presetRequested.connect(self.admin.edit_preset)
        # "CPE logins" dock: devices failing CPE authentication (Ctrl+9).
        self.security: SecurityDock | None = None
        self.security = SecurityDock(
            self, self._engine, bridge, None, beside=self.activity_dock
        )
        self._build_view_menu()
        # Help: getting started (F1), keyboard shortcuts (Ctrl+/), log folder, About.
        self.help = HelpMenu(self, installed_folder)
        bridge.sessionStarted.connect(self._on_session_started)
        bridge.sessionEnded.connect(self._on_session_ended)
        bridge.deviceUpdated.connect(self._on_device_updated)
        bridge.requestRejected.connect(self._on_activity)
        bridge.engineNotice.connect(self._on_notice)

        self._restored = self._restore_layout()
        self.refresh_counts()

    # ------------------------------------------------------------------ building
    def _build_actions(self) -> None:
        file_menu = self.file_menu = self.menuBar().addMenu("&File")
        self.connect_action = QAction("&Connect to ACS…", self)
        self.connect_action.setStatusTip("Open a window on a FieldACS engine on another machine")
        self.connect_action.triggered.connect(self.connectRequested)
        file_menu.addAction(self.connect_action)
        file_menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.setStatusTip("Stop the ACS and close FieldACS")
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)
        self.addAction(self.quit_action)

        edit_menu = self.menuBar().addMenu("&Edit")
        self.copy_url_action = QAction("&Copy ACS URL", self)
        self.copy_url_action.setStatusTip("Copy the first ACS URL to the clipboard")
        self.copy_url_action.setEnabled(False)
        self.copy_url_action.triggered.connect(self._copy_first_url)
        edit_menu.addAction(self.copy_url_action)

        self.view_menu = self.menuBar().addMenu("&View")
        self.show_activity_action = QAction("Recent activity", self)
        self.show_activity_action.setObjectName("showActivityAction")
        self.show_activity_action.setShortcut(QKeySequence("Ctrl+3"))
        self.show_activity_action.setStatusTip("Show the recent activity")
        self.show_activity_action.triggered.connect(self._focus_activity)
        self.addAction(self.show_activity_action)
        self.clear_activity_action = QAction("C&lear recent activity", self)
        self.clear_activity_action.triggered.connect(self.activity_model.clear)


    def _build_view_menu(self) -> None:
        """One entry per dock, with its key shown: it shows, raises and focuses the dock
        (a dock's own close button hides it)."""
        menu = self.view_menu
        menu.addAction(self.show_activity_action)
        if self.security is not None:
            menu.addAction(self.security.show_action)
        menu.addAction(self.clear_activity_action)
        if self.live is not None:
            menu.addSeparator()
            menu.addAction(self.live.show_live_action)
            menu.addAction(self.live.show_dashboard_action)
        if self.admin is not None:
            menu.addSeparator()
            for action in self.admin.actions:
                menu.addAction(action)

    def _focus_activity(self) -> None:
        self.activity_dock.show()
        self.activity_dock.raise_()
        self.activity_view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _restore_layout(self) -> bool:
        geometry = self._settings.value(_GEOMETRY_KEY)
        state = self._settings.value(_STATE_KEY)
        restored = isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        if not restored:
            self.resize(1280, 800)
        return bool(restored)

    def showEvent(self, event: QShowEvent) -> None:
        """On the first show without a remembered layout, give the activity dock room."""
        super().showEvent(event)
        if not self._restored:
            self._restored = True
            # A laptop's 800 px: the device tab's parameter tree (the main work) keeps the
            # height; the activity list gets ~6 lines (a larger screen, a little more).
            share = 0.22 if self.height() < 1000 else 0.3
            self.resizeDocks(
                [self.activity_dock], [int(self.height() * share)], Qt.Orientation.Vertical
            )
            if self.live is not None:
                self.resizeDocks(
                    [self.live.live_dock], [int(self.width() * 0.55)], Qt.Orientation.Horizontal
                )

    def _ask_to_close(self, kept: int) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Staged changes not sent",
            f"{kept} staged command{'s' if kept != 1 else ''} could not reach the ACS yet and "
            "would be sent when it is back. Closing this window loses "
            f"{'them' if kept != 1 else 'it'}.",
            QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("keptCommandsBox")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: int) -> None:
            if button == QMessageBox.StandardButton.Close:
                self._closing_anyway = True
                self.close()

        box.finished.connect(answered)
        box.open()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember geometry and dock layout, stop what runs in the window (each part's
        timers and store reads, then any timer left), then announce :attr:`closed`.

        Staged commands kept for an unreachable ACS are lost with the window: it asks first
        (without blocking: the question's answer closes it again)."""
        kept = self._engine.kept_commands()
        if kept and not self._closing_anyway:
            event.ignore()
            self._ask_to_close(kept)
            return
        self.save_layout()
        self.devices.shutdown()
        if self.live is not None:
            self.live.shutdown()
        if self.admin is not None:
            self.admin.shutdown()
        if self.security is not None:
            self.security.shutdown()
        super().closeEvent(event)
        if event.isAccepted():
            self.statusBar().clearMessage()
            for timer in self.findChildren(QTimer):  # any a part's shutdown left running
                timer.stop()
            self.closed.emit()

    def _open_session(self, session_id: str) -> None:
        if self.live is not None:
            self.live.open_session(self.devices.selected_device(), session_id)

    def save_layout(self) -> None:
        """Write the window geometry and dock layout to the settings."""
        self._settings.setValue(_GEOMETRY_KEY, self.saveGeometry())
        self._settings.setValue(_STATE_KEY, self.saveState())
        self._settings.sync()

    # ------------------------------------------------------------------ state shown
    def set_acs_urls(
        self, urls: list[str], tls_fingerprint: str | None = None, tls_kind: str | None = None
    ) -> None:
        """Show the URLs a CPE should be given (the engine is listening), and the HTTPS
        certificate's SHA-256 fingerprint and kind when there are https:// ones."""
        self._urls = list(urls)
        self.devices.start()  # the engine listens, so its store is open
        if self.live is not None:
            self.live.start()
        if self.admin is not None:
            self.admin.start()
        self._show_urls(self._urls, tls_fingerprint, tls_kind)
        self.refresh_counts()  # the engine has read its device count from the database
        fields = self.overview.urls.fields()
        if fields:
            fields[0].setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_urls(
        self, urls: list[str], tls_fingerprint: str | None, tls_kind: str | None = None
    ) -> None:
        self._urls = list(urls)
        self.overview.urls.set_fingerprint(tls_fingerprint, tls_kind)
        self.overview.urls.set_urls(self._urls)
        self.copy_url_action.setEnabled(bool(self._urls))
        if self._urls:
            self._status_urls.setText(f"ACS {self._urls[0]}")
            self._status_urls.setToolTip("\n".join(self._urls))
        else:
            self._status_urls.setText("ACS not listening")
            self._status_urls.setToolTip("")

    def status_text(self) -> str:
        """The status bar's permanent text: the first ACS URL and the counts."""
        return f"{self._status_urls.text()}  {self._status_counts.text()}"

    def acs_urls(self) -> list[str]:
        """The URLs shown."""
        return list(self._urls)

    @property
    def completed_sessions(self) -> int:
        """Sessions ended since the window opened (any outcome)."""
        return self._completed

    @property
    def failed_sessions(self) -> int:
        """Sessions ended with an outcome other than "ok"."""
        return self._failed

    def refresh_counts(self) -> None:
        """Re-read the engine's counters and show them in the tiles and the status bar."""
        in_flight = self._engine.active_session_count()
        devices = self._engine.device_count
        counters = self.overview.counters
        counters.in_flight.set_value(in_flight, "CPEs talking to the ACS now")
        failed = f"{self._failed} not ok" if self._failed else "since FieldACS started"
        counters.completed.set_value(self._completed, failed)
        new = f"{self._new_devices} new since start" if self._new_devices else "in the database"
        counters.devices.set_value(devices, new)
        self._status_counts.setText(
            f"{in_flight} in flight · {self._completed} completed · "
            f"{plural(devices, 'device')}"
        )

    # ------------------------------------------------------------------ events
    def _add_activity(self, event: object) -> None:
        entry = self._describer.describe(event)
        if entry is not None:
            self.activity_model.add(entry)

    @Slot(SessionStarted)
    def _on_session_started(self, event: SessionStarted) -> None:
        self._add_activity(event)
        self.refresh_counts()

    @Slot(SessionEnded)
    def _on_session_ended(self, event: SessionEnded) -> None:
        self._completed += 1
        if event.outcome != "ok":
            self._failed += 1
        self._add_activity(event)
        self.refresh_counts()

    @Slot(DeviceUpdated)
    def _on_device_updated(self, event: DeviceUpdated) -> None:
        if event.created:
            self._new_devices += 1
            self._add_activity(event)
        elif event.deleted:
            self._add_activity(event)
        self.refresh_counts()

    @Slot(RequestRejected)
    def _on_activity(self, event: RequestRejected) -> None:
        self._add_activity(event)

    @Slot(EngineNotice)
    def _on_notice(self, event: EngineNotice) -> None:
        self._add_activity(event)
        data = event.data
        if self._urls and isinstance(data.get("urls"), list):  # new listeners (settings)
            self._show_urls(
                merge_urls(data["urls"], data.get("tls_urls") or []), data.get("tls_fingerprint"),
                data.get("tls_kind"),
            )
        if event.level == "error":
            self.statusBar().showMessage(event.message, _STATUS_TIMEOUT_MS * 2)

    # ------------------------------------------------------------------ actions
    @Slot(str)
    def _on_url_copied(self, url: str) -> None:
        self.statusBar().showMessage(f"Copied {url}", _STATUS_TIMEOUT_MS)

    def _copy_first_url(self) -> None:
        if self._urls:
            QGuiApplication.clipboard().setText(self._urls[0])
            self._on_url_copied(self._urls[0])

