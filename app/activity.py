"""The "Recent activity" log: bus events described in one line each, kept to a fixed number.

:func:`describe` turns an engine event into an :class:`ActivityEntry` (or None for events
that are not activity, such as wire messages); :class:`ActivityModel` holds the newest
entries first and drops the oldest beyond its capacity, so a busy ACS cannot grow it
without bound; :class:`ActivityView` shows it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QDateTime,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QKeyEvent, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView, QWidget

from acs_engine.bus import (
    DeviceUpdated,
    EngineNotice,
    RequestRejected,
    SessionEnded,
    SessionStarted,
)
from app.record_table import Column, RecordTableModel

#: Lines kept in the Recent activity list.
DEFAULT_CAPACITY = 200

#: Colours of the level dots (Tailwind-like: neutral, green, amber, red, blue).
LEVEL_COLOURS: dict[str, str] = {
    "info": "#64748b",
    "ok": "#16a34a",
    "warning": "#d97706",
    "error": "#dc2626",
    "session": "#2563eb",
}

_ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One line of Recent activity.

    Attributes:
        at: wall-clock time of the event (seconds since the epoch).
        level: "session", "ok", "info", "warning" or "error" (picks the dot colour).
        device: the device id, or "" when the event has none.
        text: what happened, in plain words.
    """

    at: float
    level: str
    device: str
    text: str


def format_duration(seconds: float) -> str:
    """A short human duration: ``"850 ms"``, ``"4.2 s"``, ``"2 min 05 s"``."""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


class ActivityDescriber:
    """Turns bus events into :class:`ActivityEntry` lines; remembers session start times.

    Start times are kept only for sessions still open (and at most ``max_open`` of them),
    so the duration of a session can be given when it ends.
    """

    def __init__(self, max_open: int = 10_000) -> None:
        self._started: OrderedDict[str, int] = OrderedDict()  # session -> start, epoch ms
        self._max_open = max_open

    def describe(self, event: object) -> ActivityEntry | None:
        """The activity line for ``event``, or None when it is not shown as activity."""
        if isinstance(event, SessionStarted):
            self._started[event.session_id] = event.at_ms
            while len(self._started) > self._max_open:
                self._started.popitem(last=False)
            events = ", ".join(event.events) or "no events"
            origin = f" from {event.remote}" if event.remote else ""
            return ActivityEntry(
                event.at_ms / 1000,
                "session",
                event.device_id,
                f"Session started{origin} ({events}; CWMP {event.cwmp_version})",
            )
        if isinstance(event, SessionEnded):
            started = self._started.pop(event.session_id, None)
            took = f" after {format_duration((event.at_ms - started) / 1000)}" if started is not None else ""
            rpcs = (
                f", {event.rpc_count} RPC{'s' if event.rpc_count != 1 else ''}"
                if event.rpc_count
                else ""
            )
            detail = f": {event.detail}" if event.detail else ""
            level = "ok" if event.outcome == "ok" else "error"
            return ActivityEntry(
                event.at_ms / 1000,
                level,
                event.device_id,
                f"Session ended {event.outcome}{took}{rpcs}{detail}",
            )
        if isinstance(event, RequestRejected):
            origin = f" from {event.remote}" if event.remote else ""
            return ActivityEntry(
                event.at_ms / 1000,
                "warning",
                event.device_id,
                f"Rejected a request{origin}: HTTP {event.status}, {event.reason}",
            )
        if isinstance(event, EngineNotice):
            level = event.level if event.level in ("warning", "error") else "info"
            return ActivityEntry(event.at_ms / 1000, level, "", event.message)
        if isinstance(event, DeviceUpdated) and event.created:
            return ActivityEntry(event.at_ms / 1000, "info", event.device_id, "New device registered")
        if isinstance(event, DeviceUpdated) and event.deleted:
            return ActivityEntry(event.at_ms / 1000, "info", event.device_id, "Device deleted")
        return None


def _time_text(entry: ActivityEntry) -> str:
    """When, dated unless it happened today."""
    when = QDateTime.fromMSecsSinceEpoch(int(entry.at * 1000))
    today = when.date() == QDateTime.currentDateTime().date()
    return when.toString("HH:mm:ss" if today else "yyyy-MM-dd HH:mm:ss")


def _line(entry: ActivityEntry) -> str:
    """The whole line, for a tooltip."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.at))
    device = f" [{entry.device}]" if entry.device else ""
    return f"{stamp}{device} {entry.text}"


class ActivityModel(RecordTableModel[ActivityEntry]):
    """The newest activity lines first, at most ``capacity`` of them.

    Columns: Time, Device, Activity. The Activity column carries a coloured dot
    (DecorationRole) for the line's level; every column has the full line as tooltip. A new
    line is a row inserted at the top (and the oldest row removed past capacity), never a
    reset, so the selection and scroll position stay.

    Signals:
        (only those of QAbstractTableModel)
    """

    HEADERS = ("Time", "Device", "Activity")
    COLUMN_TIME, COLUMN_DEVICE, COLUMN_TEXT = range(3)

    def __init__(self, capacity: int = DEFAULT_CAPACITY, parent: QObject | None = None) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        super().__init__(
            [
                Column("Time", _time_text, _line),
                Column("Device", lambda e: e.device, _line),
                Column("Activity", lambda e: e.text, _line),
            ],
            parent,
        )
        self._capacity = capacity
        self._dots: dict[str, QIcon] = {}

    @property
    def capacity(self) -> int:
        """The most lines kept."""
        return self._capacity

    def entries(self) -> list[ActivityEntry]:
        """A copy of the lines, newest first."""
        return self.records()

    def add(self, entry: ActivityEntry) -> None:
        """Insert ``entry`` at the top and drop the oldest line if over capacity."""
        if self.rowCount() >= self._capacity:
            self.remove(self.rowCount() - 1)
        self.insert(0, [entry])

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self.record(index.row()) if index.isValid() else None
        if role == Qt.ItemDataRole.DecorationRole:
            if entry is not None and index.column() == self.COLUMN_TEXT:
                return self._dot(entry.level)
            return None
        if role == Qt.ItemDataRole.UserRole:
            return entry
        return super().data(index, role)

    def _dot(self, level: str) -> QIcon:
        icon = self._dots.get(level)
        if icon is None:
            pixmap = QPixmap(12, 12)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(LEVEL_COLOURS.get(level, LEVEL_COLOURS["info"])))
            painter.drawEllipse(2, 2, 8, 8)
            painter.end()
            icon = self._dots[level] = QIcon(pixmap)
        return icon


class ActivityView(QTreeView):
    """A flat, read-only, multi-select list of activity lines (Ctrl+C copies them)."""

    def __init__(self, model: ActivityModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.header()
        header.setStretchLastSection(True)
        # A fixed width measured once: resizing the column to its contents made the view
        # re-read every row for each new line (benchmarks/gui_responsiveness.py).
        header.setSectionResizeMode(ActivityModel.COLUMN_TIME, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(
            ActivityModel.COLUMN_TIME, self.fontMetrics().horizontalAdvance("00:00:00.000") + 16
        )
        header.resizeSection(ActivityModel.COLUMN_DEVICE, 220)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ctrl+C copies every selected line, not only the current cell."""
        if event.matches(QKeySequence.StandardKey.Copy):
            text = self.selected_text()
            if text:
                QGuiApplication.clipboard().setText(text)
            event.accept()
            return
        super().keyPressEvent(event)

    def selected_text(self) -> str:
        """The selected lines as tab-separated text, oldest first (for the clipboard)."""
        model = self.model()
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        lines = []
        for row in reversed(rows):
            cells = (
                str(model.index(row, column).data() or "") for column in range(model.columnCount())
            )
            lines.append("\t".join(cells))
        return "\n".join(lines)
