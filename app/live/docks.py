"""The "Live session" and "Dashboard" docks of the main window, with their actions.

Kept apart from :mod:`app.window` so the window only places it: :class:`LiveDocks` installs
the panels over the console's interface (step mode through its ``step_*`` methods),
builds both docks on the right (tabbed), adds their View menu entries, the toolbar's
"Step mode" toggle and the shortcuts Ctrl+4 (Live session) and Ctrl+5 (Dashboard), and
follows the window's Refresh (F5) and the device tabs' "open this session".
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from acs_engine.console_api import ConsoleEngine
from app.bridge import EngineBridge
from app.dashboard import Dashboard
from app.dockutil import make_dock
from app.live.panel import SessionPanel


class LiveDocks(QObject):
    """The live session panel and the dashboard as docks of ``window``.

    Attributes:
        gate: step mode (the panel's :class:`~app.live.step_bar.StepControl`).
        panel: the live session panel.
        dashboard: the dashboard.
        live_dock: the "Live session" dock (object name ``liveSessionDock``).
        dashboard_dock: the "Dashboard" dock (object name ``dashboardDock``).
    """

    def __init__(
        self,
        window: QMainWindow,
        engine: ConsoleEngine,
        bridge: EngineBridge,
        view_menu: QMenu | None = None,
        toolbar: QToolBar | None = None,
    ) -> None:
        """Build the docks into ``window`` (call before the window restores its layout).

        Args:
            window: the main window.
            engine: the ACS.
            bridge: the engine's events as signals.
            view_menu: where the docks' show/hide entries go (default: none).
            toolbar: where "Step mode" and the panel actions go (default: a new toolbar).
        """
        super().__init__(window)
        self._window = window
        self.panel = SessionPanel(engine, bridge)
        self.gate = self.panel.gate
        self.dashboard = Dashboard(engine, bridge)
        self.live_dock = make_dock(window, "Live session", "liveSessionDock", self.panel)
        self.dashboard_dock = make_dock(window, "Dashboard", "dashboardDock", self.dashboard)
        # The right-hand docks run the window's full height, beside the bottom docks.
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.live_dock)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dashboard_dock)
        window.tabifyDockWidget(self.live_dock, self.dashboard_dock)
        self.live_dock.raise_()
        # Its charts are built when first seen: raised, or left alone when Live closes.
        self.dashboard_dock.visibilityChanged.connect(
            lambda visible: self.dashboard.build_when_seen() if visible else None
        )

        self.show_live_action = QAction("Live session", window)
        self.show_live_action.setObjectName("showLiveSessionAction")
        self.show_live_action.setShortcut(QKeySequence("Ctrl+4"))
        self.show_live_action.setStatusTip("Show the live session: state, messages, step mode")
        self.show_live_action.triggered.connect(self.focus_live)
        self.show_dashboard_action = QAction("Dashboard", window)
        self.show_dashboard_action.setObjectName("showDashboardAction")
        self.show_dashboard_action.setShortcut(QKeySequence("Ctrl+5"))
        self.show_dashboard_action.setStatusTip("Show the dashboard")
        self.show_dashboard_action.triggered.connect(self.focus_dashboard)
        for action in (self.show_live_action, self.show_dashboard_action):
            window.addAction(action)
        self.panel.step_action.setObjectName("stepModeAction")

        if view_menu is not None:
            view_menu.addSeparator()
            view_menu.addAction(self.live_dock.toggleViewAction())
            view_menu.addAction(self.dashboard_dock.toggleViewAction())
            view_menu.addAction(self.show_live_action)
            view_menu.addAction(self.show_dashboard_action)
        if toolbar is None:
            toolbar = QToolBar("Session", window)
            toolbar.setObjectName("sessionToolBar")
            toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        else:
            toolbar.addSeparator()
        toolbar.addAction(self.show_live_action)
        toolbar.addAction(self.show_dashboard_action)
        toolbar.addAction(self.panel.step_action)
        self.toolbar = toolbar

    def focus_live(self) -> None:
        """Show and raise the Live session dock and focus its timeline."""
        self.live_dock.show()
        self.live_dock.raise_()
        self.panel.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_dashboard(self) -> None:
        """Show and raise the Dashboard dock."""
        self.dashboard_dock.show()
        self.dashboard_dock.raise_()
        self.dashboard.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def open_session(self, device_id: str, session_id: str) -> None:
        """Show a (stored or live) session of ``device_id`` in the Live session dock."""
        if device_id:
            self.panel.follow_box.setChecked(False)  # keep it on screen when others inform
            self.panel.show_device(device_id, session_id)
        self.focus_live()

    def refresh(self) -> None:
        """Reload the panel's lists and the dashboard's software versions."""
        self.panel.refresh()
        self.dashboard.refresh_versions(force=True)

    def start(self) -> None:
        """The engine listens: load devices, their sessions and the version chart."""
        self.refresh()

    def shutdown(self) -> None:
        """Stop timers and store reads (the engine is about to stop)."""
        self.panel.shutdown()
        self.dashboard.shutdown()
