"""The faults panel: every open fault, its detail, "Retry now" and "Delete".

A fault belongs to a device and a channel (``default``, a preset's channel, ``task_<id>``).
The table shows device, channel, code, message, retries, when the channel may run again
(:func:`~acs_engine.services.faults.retry_at` with the engine's retry delay) and when it
happened; the pane below shows the whole fault as JSON (detail, saved provisions).

"Retry now" deletes the fault (so its channel runs in the device's next session) and wakes
the device with a connection request; "Delete" only deletes it, after asking (the fault's
detail is lost). The list is re-read, debounced, when sessions end or devices change. The
status line is elided (the whole message in its tooltip): it never widens the dock.
"""

from __future__ import annotations

import json
import time
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from acs_engine.services.faults import retry_at
from acs_engine.store.records import Fault
from app.background import Background
from app.message_label import MessageLabel
from app.record_table import ALIGN_RIGHT, Column, RecordTableModel
from app.timefmt import ago, exact

#: Wait this long after the last session end before re-reading the faults.
REFRESH_DELAY_MS = 300


def _until(ms: int, now_ms: int) -> str:
    seconds = (ms - now_ms) // 1000
    if seconds <= 0:
        return "due now"
    if seconds < 60:
        return f"in {seconds} s"
    if seconds < 3600:
        return f"in {seconds // 60} min"
    if seconds < 86400:
        return f"in {seconds // 3600} h"
    return f"in {seconds // 86400} d"


class FaultTableModel(RecordTableModel[Fault]):
    """Faults as rows: device, channel, code, message, retries, next retry, when."""

    def __init__(self, retry_delay_s: int = 300, parent: QWidget | None = None) -> None:
        super().__init__((
            Column("Device", lambda f: f.device_id),
            Column("Channel", lambda f: f.channel),
            Column("Code", lambda f: f.code, colour=lambda _f: QColor("#b91c1c")),
            Column(
                "Message", lambda f: f.message.splitlines()[0] if f.message else "",
                tooltip=lambda f: f.message,
            ),
            Column("Retries", lambda f: str(f.retries), alignment=ALIGN_RIGHT),
            Column("Next retry", self._next_retry, tooltip=lambda f: exact(self._retry_at(f))),
            Column(
                "When", lambda f: ago(f.timestamp, self._now_ms), tooltip=lambda f: exact(f.timestamp)
            ),
        ), parent)
        self.retry_delay_s = retry_delay_s
        self._now_ms = int(time.time() * 1000)

    def _retry_at(self, fault: Fault) -> int:
        return retry_at(fault, self.retry_delay_s)

    def _next_retry(self, fault: Fault) -> str:
        if fault.channel.startswith("task_"):
            return "when retried"
        return _until(self._retry_at(fault), self._now_ms)

    def set_faults(self, faults: list[Fault], now_ms: int | None = None) -> None:
        """Show ``faults`` (newest first), judging "next retry" at ``now_ms``."""
        self._now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.set_records(sorted(faults, key=lambda f: f.timestamp, reverse=True))

    def fault(self, row: int) -> Fault | None:
        """The fault of ``row``."""
        return self.record(row)

    def row_of(self, fault_id: str) -> int:
        """The row of the fault with ``fault_id`` (-1 when not listed)."""
        return self.find(lambda f: f.id == fault_id)


def fault_json(fault: Fault) -> str:
    """The whole fault as indented JSON (for the detail pane)."""
    return json.dumps(
        {
            "device": fault.device_id, "channel": fault.channel, "code": fault.code,
            "message": fault.message, "retries": fault.retries, "timestamp": exact(fault.timestamp),
            "expiry": exact(fault.expiry) if fault.expiry else None,
            "detail": fault.detail, "provisions": fault.provisions,
            "precondition": fault.precondition,
        },
        indent=2, ensure_ascii=False, default=str,
    )


class FaultsPanel(QWidget):
    """The faults table with its detail and actions.

    Signals:
        reloaded(): the faults were re-read from the store.
        retried(str, str): "Retry now" finished for a fault (its id, what happened).
        deleted(str): a fault was deleted (its id).
    """

    reloaded = Signal()
    retried = Signal(str, str)
    deleted = Signal(str)

    def __init__(self, engine: Any, bridge: Any | None = None, parent: QWidget | None = None) -> None:
        """Build the panel; call :meth:`refresh` once the engine's store is open.

        Args:
            engine: the engine (store, config, connection_request).
            bridge: the engine's events as signals (re-read after sessions), or None.
            parent: the parent widget.
        """
        super().__init__(parent)
        self.setObjectName("faultsPanel")
        self._engine = engine
        self._jobs = Background("the faults panel")
        self._stale = False
        self.model = FaultTableModel(self._retry_delay(), self)
        self.table = QTableView()
        self.table.setObjectName("faultsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 220), (1, 90), (2, 150), (4, 60), (5, 90), (6, 90)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.detail = QPlainTextEdit(readOnly=True)
        self.detail.setObjectName("faultDetail")
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setPlaceholderText("Select a fault to see its detail.")
        self.retry_button = QPushButton("Retry now")
        self.retry_button.setObjectName("faultRetry")
        self.retry_button.setToolTip(
            "Clear the fault so its channel runs again, and wake the device (connection request)"
        )
        self.retry_button.clicked.connect(self.retry_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("faultDelete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.confirm_box: QMessageBox | None = None
        self.count_label = QLabel("")
        self.status = MessageLabel("")  # elided, never widening the dock
        self.status.setObjectName("faultStatus")
        self.status.setStyleSheet("color: #475569;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.retry_button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setSizes([260, 140])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.setInterval(REFRESH_DELAY_MS)
        self.refresh_timer.timeout.connect(self.refresh)
        if bridge is not None:
            bridge.sessionEnded.connect(self._schedule_refresh)
            bridge.deviceUpdated.connect(self._schedule_refresh)
        self._update_buttons()

    def _retry_delay(self) -> int:
        config = getattr(self._engine, "config", None)
        return int(getattr(config, "retry_delay", 300))

    def pending(self) -> int:
        """Store work still running or scheduled (tests wait for 0)."""
        return len(self._jobs) + (1 if self.refresh_timer.isActive() else 0)

    def shutdown(self) -> None:
        """Stop timers and store work (the engine is stopping)."""
        self.refresh_timer.stop()
        self._jobs.cancel()

    # ------------------------------------------------------------------ loading
    def _schedule_refresh(self, _event: object = None) -> None:
        if self.isVisible():  # a hidden panel re-reads when it is shown again
            self.refresh_timer.start()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        """Re-read the faults if sessions ended while the panel was hidden."""
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.refresh()

    def refresh(self) -> None:
        """Re-read every fault."""
        self.refresh_timer.stop()
        self._jobs.spawn(self._load())

    async def _load(self) -> None:
        store = self._engine.store
        if store is None:
            return
        faults = await store.list_faults()
        selected = self.selected()
        self.model.retry_delay_s = self._retry_delay()
        self.model.set_faults(faults)
        count = len(faults)
        self.count_label.setText(f"{count} fault{'s' if count != 1 else ''}")
        row = self.model.row_of(selected.id) if selected is not None else -1
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.detail.clear()
        self._update_buttons()
        self.reloaded.emit()

    # ------------------------------------------------------------------ selection
    def selected(self) -> Fault | None:
        """The fault of the current row."""
        index = self.table.currentIndex()
        return self.model.fault(index.row()) if index.isValid() else None

    def select_fault(self, fault_id: str) -> bool:
        """Make ``fault_id`` the current row; False when it is not listed."""
        row = self.model.row_of(fault_id)
        if row >= 0:
            self.table.selectRow(row)
        return row >= 0

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        fault = self.model.fault(current.row())
        self.detail.setPlainText(fault_json(fault) if fault is not None else "")
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        self.retry_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    # ------------------------------------------------------------------ actions
    def delete_selected(self) -> None:
        """Ask, then delete the selected fault (its channel runs again at the next session)."""
        fault = self.selected()
        if fault is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question, "Delete fault",
            f"Delete the fault of {fault.device_id} ({fault.channel})?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self,
        )
        box.setObjectName("faultDeleteConfirm")
        box.setInformativeText(
            "Its channel runs again at the device's next session. The fault's detail is lost."
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda: self.delete_fault(fault))
        self.confirm_box = box
        box.open()  # window-modal without a nested event loop

    def delete_fault(self, fault: Fault) -> None:
        """Delete ``fault`` without asking."""
        self._jobs.spawn(self._delete(fault))

    async def _delete(self, fault: Fault) -> None:
        store = self._engine.store
        if store is None:
            return
        await store.delete_fault(fault.id)
        self.status.setText(f"Deleted the fault of {fault.device_id} ({fault.channel}).")
        self.deleted.emit(fault.id)
        await self._load()

    def retry_selected(self) -> None:
        """Delete the selected fault and wake its device with a connection request."""
        fault = self.selected()
        if fault is not None:
            self.retry_button.setEnabled(False)
            self._jobs.spawn(self._retry(fault), on_error=lambda e: self._retry_failed(fault, e))

    async def _retry(self, fault: Fault) -> None:
        store = self._engine.store
        if store is None:
            return
        await store.delete_fault(fault.id)
        self.deleted.emit(fault.id)
        await self._load()
        self.status.setText(f"Waking {fault.device_id}…")
        try:
            done = await self._engine.connection_request(fault.device_id, wait_for_session=False)
        except Exception as exc:  # DeviceUnknown, no URL, not running: say so
            self._retry_failed(fault, exc)
            return
        result = getattr(done, "result", None)
        if result is not None and not result.ok:
            self._retry_failed(fault, result.message or result.outcome)
            return
        text = "woken" if result is None else (result.message or result.outcome)
        self.status.setText(
            f"{fault.device_id}: {text}. The {fault.channel} channel runs at its next session."
        )
        self.retried.emit(fault.id, str(text))

    def _retry_failed(self, fault: Fault, exc: BaseException | str) -> None:
        text = f"The fault is cleared; the device was not woken: {exc}"
        self.status.setText(text)
        self.retried.emit(fault.id, text)
        self._update_buttons()
