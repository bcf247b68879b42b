"""The faults panel: every open fault, its detail, "Retry now" and "Delete".

A fault belongs to a device and a channel (``default``, a preset's channel, ``task_<id>``).
The table shows device, channel, code, message, retries, when the channel may run again
(:func:`~acs_engine.policy.faults.retry_at` with the engine's retry delay) and when it
happened; the pane below shows the whole fault as JSON (detail, saved provisions).

"Retry now" deletes the fault (so its channel runs in the device's next session) and wakes
the device with a connection request; "Delete" only deletes it, after asking (the fault's
detail is lost). The list is re-read, debounced, when sessions end or devices change. The
status line is elided (the whole message in its tooltip): it never widens the dock.

One failure is one row. The engine, like GenieACS, stores a fault on *every* channel whose
provisions ran together when a CWMP fault came back (a new device's first session runs the
``bootstrap``, ``default`` and ``inform`` channels together, so one refused SetParameterValues
is three stored faults). The table groups the faults of one device with the same code, message
and time into one row whose Channel column lists them all; Delete and Retry act on the group.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
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

from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.policy.faults import retry_at
from acs_engine.store.records import Fault
from app.background import Background
from app.message_label import MessageLabel
from app.record_table import ALIGN_RIGHT, Column, RecordTableModel
from app.timefmt import ago, exact, until

#: Wait this long after the last session end before re-reading the faults.
REFRESH_DELAY_MS = 300


@dataclass(frozen=True, slots=True)
class FaultGroup:
    """The faults one failure left on several channels of a device (one or more).

    Attributes:
        faults: the stored faults, by channel name.
    """

    faults: tuple[Fault, ...]

    @property
    def first(self) -> Fault:
        """The group's representative fault (the first channel by name)."""
        return self.faults[0]

    @property
    def channels(self) -> str:
        """The channels, comma-separated."""
        return ", ".join(f.channel for f in self.faults)


def group_faults(faults: list[Fault]) -> list[FaultGroup]:
    """Faults grouped by (device, code, message, time), newest group first."""
    groups: dict[tuple[str, str, str, int], list[Fault]] = {}
    for fault in faults:
        groups.setdefault((fault.device_id, fault.code, fault.message, fault.timestamp_ms), []).append(
            fault
        )
    found = [FaultGroup(tuple(sorted(g, key=lambda f: f.channel))) for g in groups.values()]
    return sorted(found, key=lambda g: (-g.first.timestamp_ms, g.first.device_id, g.first.code))


class FaultTableModel(RecordTableModel[FaultGroup]):
    """Faults as rows (one row per failure, see :class:`FaultGroup`): device, channel(s), code,
    message, retries, next retry, when."""

    def __init__(self, retry_delay_ms: int = 300_000, parent: QWidget | None = None) -> None:
        super().__init__((
            Column("Device", lambda g: g.first.device_id),
            Column("Channel", lambda g: g.channels, tooltip=self._channels_tooltip),
            Column("Code", lambda g: g.first.code, colour=lambda _g: QColor("#b91c1c")),
            Column(
                "Message", lambda g: g.first.message.splitlines()[0] if g.first.message else "",
                tooltip=lambda g: g.first.message,
            ),
            Column("Retries", lambda g: str(max(f.retries for f in g.faults)),
                   alignment=ALIGN_RIGHT),
            Column("Next retry", lambda g: self._next_retry(g.first),
                   tooltip=lambda g: exact(self._retry_at(g.first))),
            Column(
                "When", lambda g: ago(g.first.timestamp_ms, self._now_ms),
                tooltip=lambda g: exact(g.first.timestamp_ms),
            ),
        ), parent)
        self.retry_delay_ms = retry_delay_ms
        self._now_ms = int(time.time() * 1000)

    def _retry_at(self, fault: Fault) -> int:
        return retry_at(fault, self.retry_delay_ms)

    def _next_retry(self, fault: Fault) -> str:
        if fault.channel.startswith("task_"):
            return "when retried"
        return until(self._retry_at(fault), self._now_ms)

    @staticmethod
    def _channels_tooltip(group: FaultGroup) -> str:
        if len(group.faults) == 1:
            return f"Channel {group.first.channel}"
        return (
            f"One failure, stored on the {len(group.faults)} channels whose provisions ran "
            f"together ({group.channels}), as GenieACS does; each retries on its own."
        )

    def set_faults(self, faults: list[Fault], now_ms: int | None = None) -> None:
        """Show ``faults`` (one row per failure, newest first), judging "next retry" at
        ``now_ms``."""
        self._now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.set_records(group_faults(faults))

    def fault(self, row: int) -> Fault | None:
        """The representative fault of ``row``."""
        group = self.record(row)
        return group.first if group is not None else None

    def group(self, row: int) -> FaultGroup | None:
        """Every fault of ``row``."""
        return self.record(row)

    def row_of(self, fault_id: str) -> int:
        """The row of the fault with ``fault_id`` (-1 when not listed)."""
        return self.find(lambda g: any(f.id == fault_id for f in g.faults))


def fault_json(fault: Fault) -> str:
    """The whole fault as indented JSON (for the detail pane)."""
    return json.dumps(
        {
            "device": fault.device_id, "channel": fault.channel, "code": fault.code,
            "message": fault.message, "retries": fault.retries, "timestamp": exact(fault.timestamp_ms),
            "expiry": exact(fault.expiry_ms) if fault.expiry_ms else None,
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

    def __init__(self, engine: ConsoleEngine, bridge: Any | None = None, parent: QWidget | None = None) -> None:
        """Build the panel; call :meth:`refresh` once the engine's store is open.

        Args:
            engine: the engine (store, config, connection_request).
            bridge: the engine's events as signals (re-read after sessions), or None.
            parent: the parent widget.
        """
        super().__init__(parent)
        self.setObjectName("faultsPanel")
        self._engine = console_engine(engine)
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
        return int(getattr(config, "retry_delay_ms", 300_000))

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
        acs = self._engine
        if not acs.running:
            return
        faults = await acs.list_faults()
        selected = self.selected()
        self.model.retry_delay_ms = self._retry_delay()
        self.model.set_faults(faults)
        count = self.model.rowCount()
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

    def selected_group(self) -> list[Fault]:
        """Every fault of the current row (one failure on one or more channels)."""
        index = self.table.currentIndex()
        group = self.model.group(index.row()) if index.isValid() else None
        return list(group.faults) if group is not None else []

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        group = self.model.group(current.row())
        self.detail.setPlainText(
            "\n".join(fault_json(f) for f in group.faults) if group is not None else ""
        )
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        self.retry_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    # ------------------------------------------------------------------ actions
    def delete_selected(self) -> None:
        """Ask, then delete the selected fault, on every channel it was stored on (each
        channel runs again at the next session)."""
        group = self.selected_group()
        if not group:
            return
        channels = ", ".join(f.channel for f in group)
        box = QMessageBox(
            QMessageBox.Icon.Question, "Delete fault",
            f"Delete the fault of {group[0].device_id} ({channels})?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self,
        )
        box.setObjectName("faultDeleteConfirm")
        box.setInformativeText(
            "Its channel runs again at the device's next session. The fault's detail is lost."
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda: self.delete_faults(group))
        self.confirm_box = box
        box.open()  # window-modal without a nested event loop

    def delete_fault(self, fault: Fault) -> None:
        """Delete ``fault`` without asking."""
        self.delete_faults([fault])

    def delete_faults(self, group: list[Fault]) -> None:
        """Delete the faults of one failure without asking."""
        self._jobs.spawn(self._delete(group))

    async def _delete(self, group: list[Fault]) -> None:
        acs = self._engine
        if not acs.running:
            return
        for fault in group:
            await acs.delete_fault(fault.id)
        channels = ", ".join(f.channel for f in group)
        self.status.setText(f"Deleted the fault of {group[0].device_id} ({channels}).")
        for fault in group:
            self.deleted.emit(fault.id)
        await self._load()

    def retry_selected(self) -> None:
        """Delete the selected fault and wake its device with a connection request."""
        group = self.selected_group()
        if group:
            fault = group[0]
            self.retry_button.setEnabled(False)
            self._jobs.spawn(self._retry(group), on_error=lambda e: self._retry_failed(fault, e))

    async def _retry(self, group: list[Fault]) -> None:
        acs = self._engine
        if not acs.running:
            return
        fault = group[0]
        for each in group:
            await acs.delete_fault(each.id)
            self.deleted.emit(each.id)
        await self._load()
        self.status.setText(f"Waking {fault.device_id}…")
        try:
            done = await self._engine.wake(fault.device_id, wait_for_session=False)
        except Exception as exc:  # DeviceUnknown, no URL, not running: say so
            self._retry_failed(fault, exc)
            return
        result = getattr(done, "result", None)
        if result is not None and not result.ok:
            self._retry_failed(fault, result.message or result.outcome)
            return
        text = "woken" if result is None else (result.message or result.outcome)
        self.status.setText(
            f"{fault.device_id}: {text}. The {', '.join(f.channel for f in group)} "
            f"channel{'s run' if len(group) > 1 else ' runs'} at its next session."
        )
        self.retried.emit(fault.id, str(text))

    def _retry_failed(self, fault: Fault, exc: BaseException | str) -> None:
        text = f"The fault is cleared; the device was not woken: {exc}"
        self.status.setText(text)
        self.retried.emit(fault.id, text)
        self._update_buttons()
