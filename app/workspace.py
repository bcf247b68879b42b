"""The device workspace of the main window: the Devices tab, device tabs, and the toolbar's
"Connection request" (Ctrl+R) and "Refresh" (F5).

Kept apart from :mod:`app.window` so the window only places it: the workspace builds its
pages once the engine's store is open (:meth:`DeviceWorkspace.start`), opens a device in a
tab of its own on double-click, and reports connection requests in the status bar (with a
dialog saying what to check when one started from the toolbar fails).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QProgressBar, QTabWidget, QToolBar

from acs_engine.bus import DeviceUpdated, SessionEnded
from acs_engine.console_api import ConsoleEngine, console_engine
from app.background import Background
from app.bridge import EngineBridge
from app.connreq_ui import ConnectionRequester, ConnReqReport
from app.device_view import DeviceView
from app.devices import DevicesPage, DeviceTableModel

log = logging.getLogger("fieldacs.app")

_STATUS_MS = 10_000


class DeviceWorkspace(QObject):
    """Devices and device tabs in the window's central tabs, with their actions.

    Signals:
        sessionChosen(str): a stored session was chosen in a device tab (its id), for the
            live-session panel.
        deviceOpened(str): a device tab was opened or raised.
        presetRequested(str): a device tab asks to change this preset.
    """

    sessionChosen = Signal(str)
    deviceOpened = Signal(str)
    presetRequested = Signal(str)

    def __init__(
        self,
        window: QMainWindow,
        engine: ConsoleEngine,
        bridge: EngineBridge,
        tabs: QTabWidget,
        acs_url: Callable[[], str],
    ) -> None:
        """Add the actions to ``window``; the pages come with :meth:`start`.

        Args:
            window: the main window (toolbar, menu and status bar).
            engine: the engine (store, manual queue, bus, config, cwmp).
            bridge: the engine's events as signals.
            tabs: the window's central tabs.
            acs_url: the ACS URL to give devices (for hints).
        """
        super().__init__(window)
        self._window = window
        self._engine = console_engine(engine)
        self._bridge = bridge
        self._tabs = tabs
        self.model: DeviceTableModel | None = None
        self.page: DevicesPage | None = None
        self.views: dict[str, DeviceView] = {}
        self._from_toolbar: set[str] = set()
        self._tasks = Background("the device workspace")
        self.requester = ConnectionRequester(engine, acs_url, self)
        self.requester.started.connect(self._on_cr_started)
        self.requester.progress.connect(self._on_cr_progress)
        self.requester.finished.connect(self._on_cr_finished)

        self._placeholder = QLabel("The device list appears when the ACS has started.")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet("color: #64748b;")
        tabs.addTab(self._placeholder, "Devices")
        tabs.setTabsClosable(True)
        tabs.tabCloseRequested.connect(self._close_tab)
        for index in range(tabs.count()):  # the fixed pages cannot be closed
            self._hide_close_button(index)
        tabs.currentChanged.connect(lambda _i: self._update_actions())

        self.connreq_action = QAction("Connection request", window)
        self.connreq_action.setObjectName("connReqAction")
        self.connreq_action.setShortcut(QKeySequence("Ctrl+R"))
        self.connreq_action.setStatusTip("Ask the selected device to open a session now")
        self.connreq_action.triggered.connect(self.request_connection)
        self.refresh_action = QAction("Refresh", window)
        self.refresh_action.setObjectName("refreshAction")
        self.refresh_action.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.refresh_action.setStatusTip("Reload the device list or the open device")
        self.refresh_action.triggered.connect(self.refresh)
        self.toolbar = QToolBar("Main toolbar", window)
        self.toolbar.setObjectName("mainToolBar")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toolbar.addAction(self.connreq_action)
        self.toolbar.addAction(self.refresh_action)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        menu = window.menuBar().addMenu("&Device")
        menu.addAction(self.connreq_action)
        menu.addAction(self.refresh_action)
        window.addAction(self.connreq_action)
        window.addAction(self.refresh_action)

        self._busy = QProgressBar()
        self._busy.setRange(0, 0)
        self._busy.setTextVisible(False)
        self._busy.setFixedSize(64, 8)
        self._busy.hide()
        window.statusBar().addPermanentWidget(self._busy)
        self._fault_timer = QTimer(self)
        self._fault_timer.setSingleShot(True)
        self._fault_timer.setInterval(1000)
        self._fault_timer.timeout.connect(lambda: self._background(self.refresh_fault_counts()))
        self._update_actions()

    # ------------------------------------------------------------------ pages
    def start(self) -> None:
        """Build the Devices page over the engine's open store (once)."""
        if self.page is not None or not self._engine.running:
            return
        self.model = DeviceTableModel(self._engine, is_live=self._engine.in_session, parent=self)
        self.page = DevicesPage(self.model)
        self.page.deviceActivated.connect(self.open_device)
        self.page.currentDeviceChanged.connect(lambda _d: self._update_actions())
        index = self._tabs.indexOf(self._placeholder)
        self._tabs.removeTab(index)
        self._tabs.insertTab(index, self.page, "Devices")
        self._hide_close_button(index)
        self._placeholder.deleteLater()
        self._bridge.deviceUpdated.connect(self._on_device_updated)
        self._bridge.sessionEnded.connect(self._on_session_ended)
        self._fault_timer.start()
        self._update_actions()

    def open_device(self, device_id: str) -> DeviceView:
        """Show a device in its own tab (raised if already open) and load it."""
        view = self.views.get(device_id)
        if view is None:
            view = DeviceView(self._engine, self._bridge, self.requester, device_id)
            view.sessionChosen.connect(self.sessionChosen)
            view.presetRequested.connect(self.presetRequested)
            view.message.connect(lambda text: self._window.statusBar().showMessage(text, _STATUS_MS))
            view.tagsChanged.connect(self._on_tags_changed)
            self.views[device_id] = view
            self._tabs.addTab(view, device_id)
            view.reload()
        self._tabs.setCurrentWidget(view)
        self.deviceOpened.emit(device_id)
        return view

    def _close_tab(self, index: int) -> None:
        widget = self._tabs.widget(index)
        if isinstance(widget, DeviceView):
            self.views.pop(widget.device_id, None)
            self._tabs.removeTab(index)
            widget.shutdown()
            widget.deleteLater()

    def shutdown(self) -> None:
        """The window is closing: stop every open device view (timers, loads, senders), the
        device list's loads and the fault counts."""
        for view in list(self.views.values()):
            view.shutdown()
        if self.model is not None:
            self.model.shutdown()
        self._fault_timer.stop()
        self._tasks.cancel()

    def _hide_close_button(self, index: int) -> None:
        bar = self._tabs.tabBar()
        for side in (bar.ButtonPosition.RightSide, bar.ButtonPosition.LeftSide):
            button = bar.tabButton(index, side)
            if button is not None:
                button.resize(0, 0)
                button.hide()

    # ------------------------------------------------------------------ actions
    def selected_device(self) -> str:
        """The device the toolbar acts on: the current device tab's, else the list's
        selection ("" for none)."""
        current = self._tabs.currentWidget()
        if isinstance(current, DeviceView):
            return current.device_id
        if self.page is not None and current is self.page:
            return self.page.current_device()
        return ""

    def _update_actions(self) -> None:
        device = self.selected_device()
        self.connreq_action.setEnabled(bool(device) and not self.requester.busy(device))
        self.connreq_action.setToolTip(
            f"Connection request to {device} (Ctrl+R)" if device
            else "Select a device to send it a connection request (Ctrl+R)"
        )
        self.refresh_action.setEnabled(self.page is not None)

    def request_connection(self) -> asyncio.Task[ConnReqReport] | None:
        """Send a connection request to the selected device."""
        device = self.selected_device()
        if not device:
            return None
        self._from_toolbar.add(device)
        return self.requester.request(device)

    def refresh(self) -> None:
        """Reload the current device tab, or the device list."""
        current = self._tabs.currentWidget()
        if isinstance(current, DeviceView):
            current.reload()
        elif self.model is not None:
            self.model.reload()
            self._fault_timer.start()

    async def refresh_fault_counts(self) -> None:
        """Count open faults per device."""
        if not self._engine.running or self.model is None:
            return
        faults = await self._engine.list_faults()
        self.model.set_fault_counts(dict(Counter(f.device_id for f in faults)))

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        self._tasks.spawn(work)

    # ------------------------------------------------------------------ events
    @Slot(DeviceUpdated)
    def _on_device_updated(self, event: DeviceUpdated) -> None:
        if self.model is not None:
            self.model.device_updated(event.device_id)

    def fault_deleted(self, fault_id: str) -> None:
        """A fault (``<device id>:<channel>``) was deleted: its device's tab and the
        device list's fault counts are re-read."""
        for device_id, view in self.views.items():
            if fault_id.startswith(f"{device_id}:"):
                view.reload()
        if not self._fault_timer.isActive():
            self._fault_timer.start()

    @Slot(SessionEnded)
    def _on_session_ended(self, _event: SessionEnded) -> None:
        if not self._fault_timer.isActive():
            self._fault_timer.start()

    @Slot(str)
    def _on_tags_changed(self, device_id: str) -> None:
        if self.model is not None:
            self.model.device_updated(device_id)

    @Slot(str)
    def _on_cr_started(self, device_id: str) -> None:
        self._busy.show()
        self._window.statusBar().showMessage(f"Connection request to {device_id}…")
        self._update_actions()

    def _on_cr_progress(self, device_id: str, text: str) -> None:
        self._window.statusBar().showMessage(f"{device_id}: {text}")

    def _on_cr_finished(self, report: object) -> None:
        if not isinstance(report, ConnReqReport):
            return
        if not any(self.requester.busy(d) for d in self.views) and not self.requester.busy(
            report.device_id
        ):
            self._busy.hide()
        self._window.statusBar().showMessage(f"{report.device_id}: {report.text}", _STATUS_MS)
        from_toolbar = report.device_id in self._from_toolbar
        self._from_toolbar.discard(report.device_id)
        shown_inline = self._tabs.currentWidget() is self.views.get(report.device_id)
        if from_toolbar and not report.ok and not shown_inline:
            self._explain(report)
        self._update_actions()

    def _explain(self, report: ConnReqReport) -> None:
        box = QMessageBox(self._window)
        box.setObjectName("connReqDialog")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Connection request")
        box.setText(f"{report.device_id}: {report.headline}")
        box.setInformativeText(report.detail)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal without a nested event loop
