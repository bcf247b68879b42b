"""One device: its header, parameter tree, staged changes, tags, sessions and faults.

Edits in the tree are staged (nothing is sent) and listed under "Changes"; Commit queues
them as tasks (:class:`~app.staging.CommandSender`) and then sends a connection request so
the device picks them up now. The tree reloads when the device's stored data changes, keeping what
was expanded and selected.

The Tags, Sessions and Faults tabs are widgets of :mod:`app.device_tabs`; this view loads their
data and acts on their signals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from acs_engine.admin.commands import AddInstance, DeleteInstance, RefreshSubtree, SetValue
from acs_engine.bus import DeviceUpdated, SessionEnded, SessionStarted
from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.store.model import DeviceRecord, Param, SessionRecord
from acs_engine.store.records import Fault
from app.background import Background
from app.bridge import EngineBridge
from app.connreq_ui import ConnectionRequester, ConnReqButton
from app.device_tabs import FaultsTab, SessionList, TagsTab
from app.diff_view import DiffTab
from app.history_view import HistoryTab
from app.managed import PresetGuard, PresetNotice
from app.param_menu import param_menu
from app.param_views import ParamFilterProxy, ParamValueDelegate
from app.params_model import ParamTreeModel, expand_paths
from app.staging import CommandSender, StagedChanges
from app.timefmt import ago, exact, now_ms
from app.tree_columns import ValueColumnKeeper

log = logging.getLogger("fieldacs.app")

#: Expand every match when a filter leaves at most this many nodes.
_EXPAND_MATCHES = 300
_ONLINE_WINDOW_MS = 5 * 60 * 1000
#: The Name column's width when there is room.
_NAME_WIDTH = 250
#: Below this width the side tabs go under the tree instead of beside it.
_SIDE_BY_SIDE_MIN = 900


class DeviceView(QWidget):
    """Everything about one device, and the place to change it.

    Signals:
        sessionChosen(str): a stored session was double-clicked (its id).
        loaded(): the device's data was (re)loaded and shown.
        message(str): something to tell the user in the status bar.
        tagsChanged(str): the device's tags were changed here (its id).
        presetRequested(str): the user wants to change this preset (it sets a value back).
    """

    sessionChosen = Signal(str)
    loaded = Signal()
    message = Signal(str)
    tagsChanged = Signal(str)
    presetRequested = Signal(str)

    def __init__(
        self,
        engine: ConsoleEngine,
        bridge: EngineBridge,
        requester: ConnectionRequester,
        device_id: str,
        parent: QWidget | None = None,
    ) -> None:
        """Show ``device_id``; its data loads asynchronously (see :meth:`reload`)."""
        super().__init__(parent)
        self.setObjectName("deviceView")
        self.device_id = device_id
        self._engine = console_engine(engine)
        self._requester = requester
        self._device: DeviceRecord | None = None
        self._expanded: set[str] = set()
        self._loading: asyncio.Task[None] | None = None
        self._restoring = False
        self._tasks = Background(f"device {device_id}")

        self.tree_model = ParamTreeModel(self)
        self.proxy = ParamFilterProxy(self)
        self.proxy.setSourceModel(self.tree_model)
        self.changes = StagedChanges(self)
        self.sender_ = CommandSender(
            engine, device_id, self.changes, bridge, self, wake=self._wake
        )
        self.changes.changed.connect(self._on_changes)
        # Staged values a preset would set back: found before Commit, told after it.
        self.guard = PresetGuard(engine, device_id, self.changes, self.tree_model.param, self)
        self.preset_notice = PresetNotice()
        self.preset_notice.changePreset.connect(self.presetRequested)
        for signal in (self.changes.changed, self.changes.managedChanged):
            signal.connect(lambda: self.preset_notice.show_for(self.changes.entries()))
        self.tree_model.valueEdited.connect(self._stage_value)
        self.tree_model.editRejected.connect(self._show_rejection)

        self._build_header()
        self._build_tree()
        self._build_side()
        splitter = self.splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._tree_pane)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([640, 460])
        self.side.setMinimumSize(220, 120)  # its pages' ~440 px left the tree 3 rows at 1280x800
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addWidget(self._header)
        layout.addWidget(self.notice)
        layout.addWidget(self.preset_notice)
        layout.addWidget(splitter, 1)

        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(250)
        self._reload_timer.timeout.connect(self.reload)
        bridge.deviceUpdated.connect(self._on_device_updated)
        bridge.sessionStarted.connect(self._on_session_started)
        bridge.sessionEnded.connect(self._on_session_ended)
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self._tick)
        self._clock.start()

    # ------------------------------------------------------------------ building
    def _build_header(self) -> None:
        self._header = QWidget()
        self.title = QLabel(self.device_id)
        self.title.setObjectName("deviceTitle")
        self.title.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts: dict[str, QLabel] = {}
        form_left = QFormLayout()
        form_right = QFormLayout()
        for form in (form_left, form_right):
            form.setHorizontalSpacing(12)
            form.setVerticalSpacing(2)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        for key, form in (("Product class", form_left), ("Software", form_left),
                          ("IP address", form_left), ("Last inform", form_right),
                          ("Online", form_right), ("Serial", form_right)):
            value = QLabel("—")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts[key] = value
            caption = QLabel(key)
            caption.setStyleSheet("color: #64748b;")
            form.addRow(caption, value)
        self.connreq = ConnReqButton(self._requester, self.device_id)
        self.connreq.setMaximumWidth(460)
        info = QHBoxLayout()
        info.setSpacing(32)
        info.addLayout(form_left)
        info.addLayout(form_right)
        info.addStretch(1)
        info.addWidget(self.connreq, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self._header)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addLayout(info)
        self.notice = QLabel()
        self.notice.setObjectName("deviceNotice")
        self.notice.setWordWrap(True)
        self.notice.hide()

    def _build_tree(self) -> None:
        self._tree_pane = QWidget()
        self.filter = QLineEdit()
        self.filter.setObjectName("paramFilter")
        self.filter.setClearButtonEnabled(True)
        self.filter.setPlaceholderText("Filter parameters by name or value")
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(250)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter.textChanged.connect(lambda _t: self._filter_timer.start())
        self.tree = QTreeView()
        self.tree.setObjectName("paramTree")
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.delegate = ParamValueDelegate(self.tree_model, self.tree)
        self.delegate.rejected.connect(self._show_rejection)
        self.tree.setItemDelegateForColumn(ParamTreeModel.VALUE, self.delegate)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.expanded.connect(lambda i: self._expanded.add(self._path(i)))
        self.tree.collapsed.connect(lambda i: self._expanded.discard(self._path(i)))
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((_NAME_WIDTH, 190, 70, 60, 80)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(ParamTreeModel.VALUE, QHeaderView.ResizeMode.Stretch)
        self.columns = ValueColumnKeeper(  # Value is never squeezed to "Valu"
            self.tree, ParamTreeModel.NAME, ParamTreeModel.VALUE, name_width=_NAME_WIDTH
        )
        self.tree_status = QLabel()
        self.tree_status.setStyleSheet("color: #64748b;")
        self.read_all_button = QPushButton("Read all values")
        self.read_all_button.setObjectName("readAllValues")
        self.read_all_button.setToolTip(
            "Stage a refresh of the whole tree (names, writability, values); Commit sends it"
        )
        self.read_all_button.clicked.connect(self.read_all_values)
        self.read_all_button.hide()
        status_row = QHBoxLayout()
        status_row.addWidget(self.tree_status, 1)
        status_row.addWidget(self.read_all_button)
        layout = QVBoxLayout(self._tree_pane)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addLayout(status_row)

    def _build_side(self) -> None:
        self.side = QTabWidget()
        self.side.setObjectName("deviceSideTabs")
        self.side.setDocumentMode(True)

        changes = QWidget()
        self.changes_view = QTreeView()
        self.changes_view.setObjectName("stagedChanges")
        self.changes_view.setModel(self.changes)
        self.changes_view.setRootIsDecorated(False)
        self.changes_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.changes_view.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.changes_view.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.changes_view.header().setStretchLastSection(False)
        self.commit_button = QPushButton("Commit")
        self.commit_button.setObjectName("commitButton")
        self.commit_button.setToolTip("Send the staged changes and wake the device")
        self.commit_button.clicked.connect(self.commit)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Forget the staged changes")
        self.discard_button.clicked.connect(self.changes.discard)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.changes.clear_finished)
        self.changes_hint = QLabel(
            "Double-click a writable value to change it; right-click an object to add, "
            "delete or refresh instances. Changes wait here until you commit them."
        )
        self.changes_hint.setWordWrap(True)
        self.changes_hint.setStyleSheet("color: #64748b;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.commit_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        box = QVBoxLayout(changes)
        box.setContentsMargins(0, 8, 0, 0)
        box.addWidget(self.changes_hint)
        box.addWidget(self.changes_view, 1)
        box.addLayout(buttons)
        self.side.addTab(changes, "Changes")

        self.tags_tab = TagsTab()
        self.tags_tab.addRequested.connect(self._add_tag)
        self.tags_tab.removeRequested.connect(self._remove_tags)
        self.tag_list = self.tags_tab.tag_list
        self.tag_input = self.tags_tab.tag_input
        self.remove_tag_button = self.tags_tab.remove_tag_button
        self.side.addTab(self.tags_tab, "Tags")

        self.sessions = SessionList()
        self.sessions.sessionChosen.connect(self.sessionChosen)
        self.side.addTab(self.sessions, "Sessions")

        self.faults_tab = FaultsTab()
        self.faults = self.faults_tab.table
        self.no_faults = self.faults_tab.no_faults
        self.side.addTab(self.faults_tab, "Faults")
        # Parameter history and tree diff (app/history_view.py, app/diff_view.py).
        self.history_tab = HistoryTab(lambda: self._engine, self.device_id)
        self.history_tab.message.connect(self.message)
        self.side.addTab(self.history_tab, "History")
        self.diff_tab = DiffTab(lambda: self._engine, self.device_id)
        self.diff_tab.message.connect(self.message)
        self.side.addTab(self.diff_tab, "Diff")
        self._on_changes()

    def shutdown(self) -> None:
        """Stop timers and loads (the view is closing); sent commands keep their state."""
        for timer in (self._reload_timer, self._clock, self._filter_timer):
            timer.stop()
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self._tasks.cancel()
        self.history_tab.shutdown()
        self.diff_tab.shutdown()
        self.sender_.shutdown()
        self.guard.shutdown()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Narrow (docks beside it at 1280 px): the side tabs go below the tree, so the
        tree keeps the whole width and its Value column stays readable."""
        super().resizeEvent(event)
        wanted = (Qt.Orientation.Vertical if event.size().width() < _SIDE_BY_SIDE_MIN
                  else Qt.Orientation.Horizontal)
        if wanted != self.splitter.orientation():
            self.splitter.setOrientation(wanted)
            total = max(self.splitter.height() if wanted == Qt.Orientation.Vertical
                        else self.splitter.width(), 2)
            side = min(170, total // 2) if wanted == Qt.Orientation.Vertical else total * 2 // 5
            self.splitter.setSizes([total - side, side])

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop background work when the view closes."""
        self.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------------ loading
    def reload(self) -> asyncio.Task[None]:
        """Load the device, its parameters, sessions and faults again."""
        if self._loading is not None and not self._loading.done():
            self._reload_timer.start()  # once more after this one
            return self._loading
        self._loading = asyncio.ensure_future(self._load())
        return self._loading

    async def _load(self) -> None:
        acs = self._engine
        if not acs.running:
            return
        device = await acs.get_device(self.device_id)
        params = await acs.load_params(self.device_id)
        sessions = await acs.list_sessions(self.device_id, limit=50)
        faults = await acs.list_faults(self.device_id)
        self._device = device
        self._show_device(device)
        self._show_params(params)
        self._show_tags(device)
        self._show_sessions(sessions)
        self._show_faults(faults)
        self.history_tab.mark_stale()
        self.loaded.emit()

    def _show_device(self, device: DeviceRecord | None) -> None:
        if device is None:
            self.title.setText(f"{self.device_id} (not in the database)")
            return
        software = self.tree_model.param("Device.DeviceInfo.SoftwareVersion") or \
            self.tree_model.param("InternetGatewayDevice.DeviceInfo.SoftwareVersion")
        self.facts["Product class"].setText(device.product_class or "—")
        self.facts["Serial"].setText(device.serial_number or "—")
        self.facts["IP address"].setText(device.remote_address or "—")
        self.facts["Software"].setText((software.value if software else "") or "—")
        self._tick()

    def _tick(self) -> None:
        device = self._device
        if device is None:
            return
        last = self.facts["Last inform"]
        last.setText(ago(device.last_inform_ms) or "never")
        last.setToolTip(exact(device.last_inform_ms))
        live = self._engine.in_session(self.device_id)
        recent = device.last_inform_ms is not None and now_ms() - device.last_inform_ms <= _ONLINE_WINDOW_MS
        online = self.facts["Online"]
        online.setText("● in session now" if live else "● online" if recent else "○ offline")
        online.setStyleSheet(f"color: {'#16a34a' if live or recent else '#64748b'};")
        self.tree.viewport().update()

    def _show_params(self, params: dict[str, Param]) -> None:
        current = self._path(self.tree.currentIndex())
        expanded = set(self._expanded) or {p for p in params if p.count(".") == 1}
        self._restoring = True
        try:
            self.tree_model.set_params(params)
            self.tree_model.set_staged(self.changes.overlay())
            if self.proxy.text:
                self.proxy.refilter()
            self._expanded = set()
            for path in expand_paths(expanded):
                index = self._proxy_index(path)
                if index.isValid():
                    self.tree.expand(index)
            if current:
                index = self._proxy_index(current)
                if index.isValid():
                    self.tree.setCurrentIndex(index)
        finally:
            self._restoring = False
        self._device_param_summary(params)
        device = self._device
        if device is not None:
            self._show_device(device)

    def read_all_values(self) -> None:
        """Stage a refresh of each root of the tree (names, writability and values)."""
        roots = {p.split(".", 1)[0] + "." for p in self.tree_model.params()}
        for root in sorted(roots & {"Device.", "InternetGatewayDevice."}):
            self.stage(RefreshSubtree(root))

    def _device_param_summary(self, params: dict[str, Param]) -> None:
        leaves = sum(1 for p in params if not p.endswith("."))
        unread = self.tree_model.never_read_count()
        self.read_all_button.setVisible(unread > 0)
        text = f"{leaves} parameters"
        if unread:
            text += f" · {unread} never read"
        if self.proxy.text:
            matches = self.proxy.match_count()
            text += f" · {max(matches, 0)} nodes match “{self.proxy.text}”"
        self.tree_status.setText(text)

    def _show_tags(self, device: DeviceRecord | None) -> None:
        self.tags_tab.show_tags(device.tags if device else ())

    def _show_sessions(self, sessions: list[SessionRecord]) -> None:
        self.sessions.show_sessions(sessions)

    def _show_faults(self, faults: list[Fault]) -> None:
        self.faults_tab.show_faults(faults, self.device_id, self._engine.config.retry_delay_ms)
        self.side.setTabText(3, FaultsTab.title(self.faults_tab.count()))

    @Slot(DeviceUpdated)
    def _on_device_updated(self, event: DeviceUpdated) -> None:
        if event.device_id == self.device_id:
            self._reload_timer.start()

    @Slot(SessionStarted)
    def _on_session_started(self, event: SessionStarted) -> None:
        """The device informed: the header says so now, not at the session's commit."""
        if event.device_id == self.device_id and self._device is not None:
            self._device.last_inform_ms = event.at_ms
            self._tick()

    @Slot(SessionEnded)
    def _on_session_ended(self, event: SessionEnded) -> None:
        if event.device_id == self.device_id:
            self._tick()  # no longer "in session now"
            self._reload_timer.start()

    # ------------------------------------------------------------------ tree helpers
    def _path(self, index: QModelIndex) -> str:
        return str(index.data(ParamTreeModel.PathRole) or "") if index.isValid() else ""

    def _proxy_index(self, path: str, column: int = 0) -> QModelIndex:
        return self.proxy.mapFromSource(self.tree_model.index_for_path(path, column))

    def index_of(self, path: str, column: int = 0) -> QModelIndex:
        """The tree view's index of ``path`` (invalid when unknown or filtered out)."""
        return self._proxy_index(path, column)

    def apply_filter(self) -> None:
        """Filter the tree by the filter box's text."""
        self._filter_timer.stop()
        self.proxy.set_text(self.filter.text())
        if self.proxy.text and 0 < self.proxy.match_count() <= _EXPAND_MATCHES:
            self.tree.expandAll()
        self._device_param_summary(self.tree_model.params())

    # ------------------------------------------------------------------ staging
    def stage(self, command: SetValue | AddInstance | DeleteInstance | RefreshSubtree) -> None:
        """Add a command to the review list."""
        self.changes.stage(command)
        self.side.setCurrentIndex(0)

    def edit_value(self, path: str, text: str) -> str | None:
        """Stage a new value after checking it (as the editor does).

        Returns:
            None when staged, else the reason it was refused (also shown).
        """
        problem = self.tree_model.validate(path, text)
        if problem is not None:
            self._show_rejection(path, problem)
            return problem
        self._stage_value(path, text)
        return None

    def _stage_value(self, path: str, text: str) -> None:
        self._hide_notice()
        self.stage(SetValue(path, text))

    def _show_rejection(self, path: str, reason: str) -> None:
        self.notice.setText(f"<b>{path}</b> {reason} — not staged.")
        self.notice.setStyleSheet(
            "background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; "
            "border-radius: 4px; padding: 6px 8px;"
        )
        self.notice.setProperty("plain", f"{path} {reason} — not staged.")
        self.notice.show()

    def _hide_notice(self) -> None:
        self.notice.hide()
        self.notice.setProperty("plain", "")

    def notice_text(self) -> str:
        """The refusal or note shown above the tree ("" when none)."""
        return "" if self.notice.isHidden() else str(self.notice.property("plain") or "")

    def _on_changes(self) -> None:
        staged = self.changes.has_staged()
        self.commit_button.setEnabled(staged)
        self.discard_button.setEnabled(staged)
        count = len(self.changes.staged_entries())
        pending = self.changes.has_pending()
        label = "Changes"
        if count:
            label = f"Changes ({count})"
        elif pending:
            label = "Changes (sending)"
        self.side.setTabText(0, label)
        self.tree_model.set_staged(self.changes.overlay())

    def commit(self) -> int:
        """Send the staged commands and wake the device with a connection request.

        Returns:
            How many commands were sent.
        """
        sent = self.sender_.commit(self.tree_model.params())
        if sent:
            self.message.emit(f"{sent} change(s) sent to {self.device_id}; waking the device")
        return sent

    def _wake(self, device_id: str) -> Any:
        """Wake the device once the sender queued its tasks; the button shows the outcome."""
        return self._requester.request(device_id)

    # ------------------------------------------------------------------ context menu
    def _context_menu(self, position: QPoint) -> None:
        index = self.tree.indexAt(position)
        path = self._path(index)
        if not path:
            return
        menu = self.context_menu(path, index)
        menu.popup(self.tree.viewport().mapToGlobal(position))

    def context_menu(self, path: str, index: QModelIndex | None = None) -> QMenu:
        """The tree's context menu for ``path`` (built, not shown)."""
        menu = param_menu(self.tree, self.tree_model, self.stage, path, index)
        if not path.endswith("."):
            graph = menu.addAction("Show history")
            graph.triggered.connect(lambda: self.show_history(path))
        return menu

    def show_history(self, path: str) -> None:
        """Add ``path`` to the History tab's graph and show that tab."""
        self.side.setCurrentWidget(self.history_tab)
        self.history_tab.add_parameter(path)

    # ------------------------------------------------------------------ tags
    def _add_tag(self, tag: str) -> None:
        self._background(self.set_tags(add=[tag]))

    def _remove_tags(self, tags: list[str]) -> None:
        self._background(self.set_tags(remove=tags))

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        self._tasks.spawn(work)

    async def set_tags(self, add: list[str] | None = None, remove: list[str] | None = None) -> None:
        """Add and remove tags of the device and show the result."""
        acs = self._engine
        if not acs.running:
            return
        tags = await acs.set_tags(self.device_id, add or (), remove or ())
        if self._device is not None:
            self._device.tags = set(tags)
        self._show_tags(self._device)
        self.message.emit(f"Tags of {self.device_id}: {', '.join(sorted(tags)) or 'none'}")
        self.tagsChanged.emit(self.device_id)
