"""The live session panel: pick a device and one of its sessions, watch it unfold.

Top to bottom: the device and session pickers (live sessions and the device's stored ones,
newest first) with "Follow new sessions" and "Step mode"; the state machine; the step-mode
bar; the timeline of HTTP messages above the SOAP viewer of the selected one.

Live data comes from :class:`~app.bridge.EngineBridge` signals and is kept in a bounded
:class:`~app.live.cache.LiveSessions`; stored sessions are read with the store's async
``list_sessions`` / ``load_trace`` in tasks on the running loop (the GUI never waits on them).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from acs_engine.bus import SessionEnded, SessionStarted, SessionStateChanged, WireMessage
from acs_engine.console_api import ConsoleEngine, StepPending, StepResolved, console_engine
from acs_engine.inspect.sessionfile import SessionFile
from acs_engine.inspect.sources import from_live, from_stored
from acs_engine.server.step_claim import StepHolderChanged
from acs_engine.store.model import SessionRecord
from app.background import Background
from app.bridge import EngineBridge
from app.live.bundle_dialog import BundleDialog
from app.live.cache import LiveSession, LiveSessions
from app.live.files import SessionFiles, messages_of
from app.live.lint_view import LintView
from app.live.machine_view import StateMachineView
from app.live.pickers import fit_popup, session_label
from app.live.proxy_banner import ProxyBanner
from app.live.soap import SoapViewer
from app.live.step_bar import StepBar, StepControl, StepHolderLabel
from app.live.timeline import COL_RPC, Exchange, TimelineModel, size_label
from app.record_table import style_record_view

log = logging.getLogger("fieldacs.app.live")

#: Stored sessions listed per device.
STORED_SESSIONS = 50
#: Devices offered in the device picker from the store.
LISTED_DEVICES = 500


class SessionPanel(QWidget):
    """The live session view with step mode.

    Signals:
        sessionShown(str): the session shown changed (its id, "" for none).
        traceLoaded(str): a stored session's trace finished loading (its id).
    """

    sessionShown = Signal(str)
    traceLoaded = Signal(str)

    def __init__(
        self, engine: ConsoleEngine, bridge: EngineBridge, gate: object = None,
        parent: QWidget | None = None,
    ) -> None:
        """Build the panel and follow ``bridge``'s events.

        Args:
            engine: the ACS (stored sessions, traces, step mode).
            bridge: the engine's events as signals.
            gate: unused (step mode goes through ``engine``); kept for old callers.
            parent: the owner.
        """
        super().__init__(parent)
        self.setObjectName("sessionPanel")
        self._engine = console_engine(engine)
        self._gate = StepControl(self._engine)
        self.live = LiveSessions()
        self._device_id = ""
        self._session_id = ""
        self._stored: dict[str, SessionRecord] = {}
        self._tasks = Background("reading the store")
        self._generation = 0
        self._filling = False

        self.device_combo = QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setMinimumContentsLength(8)
        self.device_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.device_combo.setPlaceholderText("No device yet")
        self.device_combo.setAccessibleName("Device")
        self.session_combo = QComboBox()
        self.session_combo.setObjectName("sessionCombo")
        self.session_combo.setMinimumContentsLength(8)
        self.session_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.session_combo.setPlaceholderText("No session")
        self.session_combo.setAccessibleName("Session")
        self.follow_box = QCheckBox("Follow")
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("Follow new sessions: show each one as soon as a CPE informs")
        self.step_action = QAction("Step mode", self)
        self.step_action.setCheckable(True)
        self.step_action.setEnabled(False)
        self.step_action.setShortcut(QKeySequence("Ctrl+T"))
        self.step_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.step_action.setToolTip(
            "Hold this device's sessions before each RPC: send, skip, edit or insert (Ctrl+T)"
        )
        self.step_action.toggled.connect(self._on_step_toggled)
        step_button = QToolButton()
        step_button.setObjectName("stepModeButton")
        step_button.setDefaultAction(self.step_action)
        step_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        # No F5 of its own: the window's Refresh (F5) calls refresh() too.
        self.refresh_action = QAction("Reload", self)
        self.refresh_action.setToolTip("Reload devices and stored sessions (F5)")
        self.refresh_action.triggered.connect(self.refresh)
        self.addAction(self.step_action)
        refresh_button = QToolButton()
        refresh_button.setDefaultAction(self.refresh_action)
        self.files = SessionFiles(self, self.current_session_file,
                                  lambda: self._engine.config.db_path, self._bundle_dialog)
        self.files.opened.connect(self._on_file_opened)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(QLabel("Device"))
        header.addWidget(self.device_combo, 2)
        header.addSpacing(8)
        header.addWidget(QLabel("Session"))
        header.addWidget(self.session_combo, 2)
        header.addSpacing(8)
        header.addWidget(self.follow_box)
        header.addWidget(step_button)
        self.step_holder = StepHolderLabel(self._engine)
        header.addWidget(self.step_holder)
        header.addWidget(refresh_button)

        self.machine = StateMachineView()
        self.step_bar = StepBar(self._gate)
        self.timeline = TimelineModel(self)
        self.table = QTableView()
        self.table.setObjectName("timelineView")
        self.table.setModel(self.timeline)
        style_record_view(self.table)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(COL_RPC, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Session timeline")
        self.soap = SoapViewer()
        self.lint = LintView(self.timeline)
        self.lint.rowActivated.connect(self._show_linted_row)
        self.lint.countsChanged.connect(self._on_lint_counts)
        self.details = QTabWidget()
        self.details.setObjectName("liveDetails")
        self.details.setDocumentMode(True)
        self.details.addTab(self.soap, "SOAP")
        self.details.addTab(self.lint, "Lint")
        self.details.setCornerWidget(self.files.button, Qt.Corner.TopRightCorner)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("liveSplitter")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        self.splitter = splitter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        self.proxy_banner = ProxyBanner(self._engine)
        bridge.engineNotice.connect(self.proxy_banner.refresh)
        layout.addWidget(self.proxy_banner)
        layout.addWidget(self.machine)
        layout.addWidget(self.step_bar)
        layout.addWidget(splitter, 1)

        self.device_combo.currentIndexChanged.connect(self._on_device_picked)
        self.session_combo.currentIndexChanged.connect(self._on_session_picked)
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        bridge.wireMessage.connect(self._on_wire)
        bridge.sessionStarted.connect(self._on_started)
        bridge.sessionStateChanged.connect(self._on_state)
        bridge.sessionEnded.connect(self._on_ended)
        bridge.stepPending.connect(self._on_step_event)
        bridge.stepResolved.connect(self._on_step_event)
        bridge.stepHolderChanged.connect(self._on_step_holder)

    # ------------------------------------------------------------------ public
    @property
    def device_id(self) -> str:
        """The device shown ("" for none)."""
        return self._device_id

    @property
    def session_id(self) -> str:
        """The session shown ("" for none)."""
        return self._session_id

    @property
    def gate(self) -> StepControl:
        """Step mode, as the panel drives it."""
        return self._gate

    def show_device(self, device_id: str, session_id: str = "") -> None:
        """Show ``device_id``: ``session_id`` (live or stored), else its newest session."""
        index = self.device_combo.findData(device_id)
        if index < 0:
            self.device_combo.addItem(device_id, device_id)
            index = self.device_combo.count() - 1
        if index == self.device_combo.currentIndex():
            self._set_device(device_id)
        else:
            self.device_combo.setCurrentIndex(index)
        if session_id:
            self.show_session(session_id)

    def show_session(self, session_id: str) -> None:
        """Show ``session_id`` of the current device (live or stored)."""
        index = self.session_combo.findData(session_id)
        if index >= 0 and index != self.session_combo.currentIndex():
            self.session_combo.setCurrentIndex(index)
        else:
            self._set_session(session_id)

    def refresh(self) -> None:
        """Reload the device list and the current device's stored sessions."""
        self._spawn(self._load_devices())
        if self._device_id:
            self._spawn(self._load_sessions(self._device_id, keep=self._session_id))

    def pending_tasks(self) -> int:
        """Store reads still running (tests wait for 0)."""
        return len(self._tasks)

    def shutdown(self) -> None:
        """Cancel the store reads in flight."""
        self._tasks.cancel()
        self.lint.shutdown()

    # ------------------------------------------------------------------ tasks
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._tasks.spawn(coro)  # no loop running (yet): nothing can be read now

    async def _load_devices(self) -> None:
        acs = self._engine
        if not acs.running:
            return
        devices = await acs.list_devices(limit=LISTED_DEVICES)
        for device in devices:
            if self.device_combo.findData(device.id) < 0:
                self.device_combo.addItem(device.id, device.id)
        fit_popup(self.device_combo)
        self._device_placeholder()

    def _device_placeholder(self) -> None:
        """"No device yet" only while the list is empty; otherwise ask for a choice."""
        has = self.device_combo.count() > 0
        self.device_combo.setPlaceholderText("Choose a device" if has else "No device yet")

    async def _load_sessions(self, device_id: str, keep: str = "") -> None:
        acs = self._engine
        if not acs.running:
            return
        generation = self._generation
        records = await acs.list_sessions(device_id, limit=STORED_SESSIONS)
        if device_id != self._device_id or generation != self._generation:
            return
        self._stored = {r.id: r for r in records}
        self._fill_sessions(keep or self._session_id)
        record = self._stored.get(self._session_id)
        if record is not None and self.live.get(record.id) is None:
            self._show_stored_state(record)

    async def _load_trace(self, session_id: str) -> None:
        acs = self._engine
        if not acs.running:
            return
        entries = await acs.load_trace(session_id)
        if session_id != self._session_id or self.live.get(session_id) is not None:
            return
        self.timeline.show(session_id, [Exchange.from_trace(e) for e in entries])
        self._select_row(0)
        self.traceLoaded.emit(session_id)

    # ------------------------------------------------------------------ pickers
    def _fill_sessions(self, keep: str) -> None:
        """Rebuild the session picker: live and stored sessions, newest first."""
        rows: dict[str, tuple[float, str]] = {}
        for record in self._stored.values():
            rows[record.id] = (
                record.started_ms / 1000.0,
                session_label(record.started_ms / 1000.0, record.events, record.outcome or "?",
                              record.rpc_count),
            )
        for live in self.live.of_device(self._device_id):
            rows[live.session_id] = (
                live.started, session_label(live.started, live.events, live.outcome)
            )
        for opened in self.files.of_device(self._device_id):
            rows[opened.key] = (opened.session.started, opened.label())
        if self._session_id and self._session_id not in rows and self._device_id:
            # Chosen elsewhere (a device tab) but older than the stored sessions listed.
            rows[self._session_id] = (0.0, f"{self._session_id} (stored)")
        ordered = sorted(rows.items(), key=lambda item: item[1][0], reverse=True)
        self._filling = True
        try:
            self.session_combo.clear()
            for session_id, (_, label) in ordered:
                self.session_combo.addItem(label, session_id)
        finally:
            self._filling = False
        fit_popup(self.session_combo)
        if not ordered:
            self._set_session("")
            return
        index = self.session_combo.findData(keep) if keep else -1
        self.session_combo.setCurrentIndex(max(index, 0))
        self._set_session(str(self.session_combo.currentData()))

    @Slot(int)
    def _on_device_picked(self, index: int) -> None:
        data = self.device_combo.itemData(index) if index >= 0 else None
        self._set_device(str(data) if data else "")

    def _set_device(self, device_id: str) -> None:
        changed = device_id != self._device_id
        self._device_id = device_id
        self._generation += 1
        if changed:
            self._stored = {}
            self._session_id = ""
        self.step_holder.sync(self.step_action, self._device_id, self._gate)
        self._fill_sessions(self._session_id)
        if device_id:
            self._spawn(self._load_sessions(device_id))
        self._update_step_bar()

    @Slot(int)
    def _on_session_picked(self, index: int) -> None:
        self.session_combo.setToolTip(self.session_combo.currentText())
        if self._filling:
            return
        data = self.session_combo.itemData(index) if index >= 0 else None
        self._set_session(str(data) if data else "")

    def _set_session(self, session_id: str) -> None:
        if session_id == self._session_id and self.timeline.session_id == (session_id or None):
            return
        self._session_id = session_id
        self.soap.clear()
        live = self.live.get(session_id) if session_id else None
        self.files.set_can_save(bool(session_id))
        opened = self.files.get(session_id)
        self.lint.set_masked(opened is not None and opened.session.secrets_masked)
        self.lint.set_first_contact(None)
        if opened is None and session_id:
            self._spawn(self._judge_first_contact(session_id))
        if opened is not None:
            self.timeline.show(session_id, opened.exchanges())
            last = opened.steps[-1] if opened.steps else None
            self.machine.set_state(last.new if last else "INIT", last.old if last else None,
                                   reason=f"from file: {last.reason if last else 'no messages'}")
            self._select_row(0)
        elif live is not None:
            self.timeline.show(session_id, list(live.exchanges))
            self._show_state(live)
            self._select_row(self.timeline.rowCount() - 1)
        elif session_id:
            record = self._stored.get(session_id)
            self.timeline.show(session_id)
            if record is not None:
                self._show_stored_state(record)
            else:
                self.machine.reset()
            self._spawn(self._load_trace(session_id))
        else:
            self.timeline.clear()
            self.machine.reset()
        self.sessionShown.emit(session_id)

    async def _judge_first_contact(self, session_id: str) -> None:
        """Tell the Lint tab whether ``session_id`` was its device's first session here: the
        device was registered (its first session committed) during this session, or is not
        stored yet while it runs."""
        acs = self._engine
        device_id = self._device_id
        if not acs.running or not device_id or device_id.startswith("("):
            return
        live = self.live.get(session_id)
        record = self._stored.get(session_id)
        if session_id.startswith("proxy-") or (live is None and record is None):
            return  # another ACS's session, or one not known here
        device = await acs.get_device(device_id)
        if session_id != self._session_id:
            return
        if record is not None:
            started, ended = record.started_ms, record.ended_ms or record.started_ms + 600_000
        else:
            assert live is not None
            started, ended = int(live.started * 1000), None
        if device is None:
            first = ended is None  # running, and the device is not stored yet: it is new
        else:
            first = started <= device.registered_ms <= (ended or device.registered_ms) + 1000
        self.lint.set_first_contact(first)

    def _show_linted_row(self, row: int) -> None:
        self._select_row(row)
        self.details.setCurrentWidget(self.soap)

    def _on_lint_counts(self, errors: int, warnings: int) -> None:
        index = self.details.indexOf(self.lint)
        parts = [f"{n} {word}{'s' if n != 1 else ''}"
                 for n, word in ((errors, "error"), (warnings, "warning")) if n]
        self.details.setTabText(index, "Lint" + (f" ({', '.join(parts)})" if parts else ""))

    async def _bundle_dialog(self) -> BundleDialog | None:
        acs = self._engine
        if not self._device_id or not acs.running:
            return None
        records = await acs.list_sessions(self._device_id, limit=STORED_SESSIONS)
        if not records:
            return None
        return BundleDialog(self._engine, self._device_id, records, self._session_id, self)

    @Slot(str)
    def _on_file_opened(self, key: str) -> None:
        opened = self.files.get(key)
        if opened is not None:
            self.show_device(opened.device_id, key)

    async def current_session_file(self) -> SessionFile | None:
        """The shown session as a session file (unmasked), None when none is shown."""
        session_id = self._session_id
        if not session_id or self.timeline.session_id != session_id:
            return None
        opened = self.files.get(session_id)
        if opened is not None:
            return opened.session
        messages = messages_of(self.timeline.exchanges())
        live = self.live.get(session_id)
        if live is not None:
            return from_live(session_id, live.device_id, messages, started=live.started,
                             events=live.events, outcome=live.outcome,
                             source="proxy" if session_id.startswith("proxy-") else "live")
        record = self._stored.get(session_id)
        acs = self._engine
        if record is None or not acs.running:
            return None
        return from_stored(record, await acs.load_trace(session_id))

    def _show_stored_state(self, record: SessionRecord) -> None:
        final = "END" if record.outcome == "ok" else "FAULTED"
        self.machine.set_state(final, reason=f"stored session: {record.outcome or 'unknown'}")

    def _show_state(self, live: LiveSession) -> None:
        if live.state:
            self.machine.set_state(live.state, reason=live.reason)
        else:
            self.machine.set_state("INIT")

    # ------------------------------------------------------------------ timeline rows
    def _select_row(self, row: int) -> None:
        if 0 <= row < self.timeline.rowCount():
            index = self.timeline.index(row, 0)
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.table.scrollTo(index)

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.soap.clear()
            return
        exchange = self.timeline.exchange(current.row())
        parts = [f"<b>{exchange.direction_label()}</b>", exchange.rpc_label()]
        if exchange.cwmp_id:
            parts.append(f"cwmp:ID {exchange.cwmp_id}")
        if exchange.status_label():
            parts.append(exchange.status_label())
        parts.append(size_label(len(exchange.body)))
        if exchange.round_trip_ms is not None:
            parts.append(f"{exchange.round_trip_ms:,.0f} ms")
        self.soap.set_body(exchange.body, " · ".join(parts))

    # ------------------------------------------------------------------ live events
    def _following_tail(self) -> bool:
        current = self.table.selectionModel().currentIndex()
        return not current.isValid() or current.row() >= self.timeline.rowCount() - 1

    @Slot(WireMessage)
    def _on_wire(self, message: WireMessage) -> None:
        exchange = self.live.on_wire(message)
        if exchange is None or message.session_id != self._session_id:
            if message.rpc == "Inform" and self.follow_box.isChecked():
                self._follow(message.device_id, message.session_id)
            return
        tail = self._following_tail()
        if self.timeline.append(exchange) and tail:
            self._select_row(self.timeline.rowCount() - 1)

    def _follow(self, device_id: str, session_id: str) -> None:
        if device_id != self._device_id:
            if self._device_id and self._gate.pending(self._device_id) is not None:
                return  # a held session waits for the technician: it stays in view
            self.show_device(device_id)
        self._fill_sessions(session_id)

    @Slot(SessionStarted)
    def _on_started(self, event: SessionStarted) -> None:
        self.live.on_started(event)
        if event.device_id == self._device_id:
            self._relabel(event.session_id)
        if self.device_combo.findData(event.device_id) < 0:
            self.device_combo.addItem(event.device_id, event.device_id)
            self._device_placeholder()

    @Slot(SessionStateChanged)
    def _on_state(self, event: SessionStateChanged) -> None:
        self.live.on_state(event)
        if event.session_id == self._session_id:
            self.machine.apply(event)

    @Slot(SessionEnded)
    def _on_ended(self, event: SessionEnded) -> None:
        self.live.on_ended(event)
        if event.device_id == self._device_id:
            self._relabel(event.session_id)
        self._update_step_bar()

    def _relabel(self, session_id: str) -> None:
        live = self.live.get(session_id)
        index = self.session_combo.findData(session_id)
        if live is None:
            return
        label = session_label(live.started, live.events, live.outcome)
        if index >= 0:
            self.session_combo.setItemText(index, label)
            fit_popup(self.session_combo)
        else:
            self._fill_sessions(self._session_id)

    # ------------------------------------------------------------------ step mode
    @Slot(bool)
    def _on_step_toggled(self, on: bool) -> None:
        if self._device_id:
            self._gate.set_enabled(self._device_id, on)
        self._update_step_bar()

    def _on_step_holder(self, event: StepHolderChanged) -> None:
        self.step_holder.set_holder(event.holder)
        self.step_holder.sync(self.step_action, self._device_id, self._gate)
        self._update_step_bar()

    def _on_step_event(self, event: StepPending | StepResolved) -> None:
        if (
            isinstance(event, StepPending) and event.device_id != self._device_id
            and self.follow_box.isChecked()
            and not (self._device_id and self._gate.pending(self._device_id) is not None)
        ):
            self.show_device(event.device_id, event.session_id)  # show what waits
            return
        if event.device_id == self._device_id:
            self._update_step_bar()
            if isinstance(event, StepPending) and event.session_id != self._session_id:
                self.show_session(event.session_id)

    def _update_step_bar(self) -> None:
        root = "Device."
        sessions = self.live.of_device(self._device_id) if self._device_id else []
        if sessions:
            root = sessions[0].root
        self.step_bar.set_device(self._device_id, root)
