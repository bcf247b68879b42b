"""The "Recent activity" log: bus events described in one line each, kept to a fixed number.

:func:`describe` turns an engine event into an :class:`ActivityEntry` (or None for events
that are not activity, such as wire messages); :class:`ActivityModel` holds the newest
entries first and drops the oldest beyond its capacity, so a busy ACS cannot grow it
without bound; :class:`ActivityView` shows it.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
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
        self._started: OrderedDict[str, float] = OrderedDict()
        self._max_open = max_open

    def describe(self, event: object) -> ActivityEntry | None:
        """The activity line for ``event``, or None when it is not shown as activity."""
        if isinstance(event, SessionStarted):
            self._started[event.session_id] = event.at
            while len(self._started) > self._max_open:
                self._started.popitem(last=False)
            events = ", ".join(event.events) or "no events"
            origin = f" from {event.remote}" if event.remote else ""
            return ActivityEntry(
                event.at,
                "session",
                event.device_id,
                f"Session started{origin} ({events}; CWMP {event.cwmp_version})",
            )
        if isinstance(event, SessionEnded):
            started = self._started.pop(event.session_id, None)
            took = f" after {format_duration(event.at - started)}" if started is not None else ""
            rpcs = (
                f", {event.rpc_count} RPC{'s' if event.rpc_count != 1 else ''}"
                if event.rpc_count
                else ""
            )
            detail = f": {event.detail}" if event.detail else ""
            level = "ok" if event.outcome == "ok" else "error"
            return ActivityEntry(
                event.at,
                level,
                event.device_id,
                f"Session ended {event.outcome}{took}{rpcs}{detail}",
            )
        if isinstance(event, RequestRejected):
            origin = f" from {event.remote}" if event.remote else ""
            return ActivityEntry(
                event.at,
                "warning",
                event.device_id,
                f"Rejected a request{origin}: HTTP {event.status}, {event.reason}",
            )
        if isinstance(event, EngineNotice):
            level = event.level if event.level in ("warning", "error") else "info"
            return ActivityEntry(event.at, level, "", event.message)
        if isinstance(event, DeviceUpdated) and event.created:
            return ActivityEntry(event.at, "info", event.device_id, "New device registered")
        return None


class ActivityModel(QAbstractTableModel):
    """The newest activity lines first, at most ``capacity`` of them.

    Columns: Time, Device, Activity. The Activity column carries a coloured dot
    (DecorationRole) for the line's level; every column has the full line as tooltip.

    Signals:
        (only those of QAbstractTableModel)
    """

    HEADERS = ("Time", "Device", "Activity")
    COLUMN_TIME, COLUMN_DEVICE, COLUMN_TEXT = range(3)

    def __init__(self, capacity: int = DEFAULT_CAPACITY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._entries: deque[ActivityEntry] = deque()  # index 0 = newest
        self._dots: dict[str, QIcon] = {}

    @property
    def capacity(self) -> int:
        """The most lines kept."""
        return self._capacity

    def entries(self) -> list[ActivityEntry]:
        """A copy of the lines, newest first."""
        return list(self._entries)

    def add(self, entry: ActivityEntry) -> None:
        """Insert ``entry`` at the top and drop the oldest line if over capacity."""
        if len(self._entries) >= self._capacity:
            last = len(self._entries) - 1
            self.beginRemoveRows(QModelIndex(), last, last)
            self._entries.pop()
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._entries.appendleft(entry)
        self.endInsertRows()

    def clear(self) -> None:
        """Remove every line."""
        self.beginResetModel()
        self._entries.clear()
        self.endResetModel()

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._entries):
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.COLUMN_TIME:  # dated unless it happened today
                when = QDateTime.fromMSecsSinceEpoch(int(entry.at * 1000))
                today = when.date() == QDateTime.currentDateTime().date()
                return when.toString("HH:mm:ss" if today else "yyyy-MM-dd HH:mm:ss")
            if column == self.COLUMN_DEVICE:
                return entry.device
            if column == self.COLUMN_TEXT:
                return entry.text
        elif role == Qt.ItemDataRole.ToolTipRole:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.at))
            device = f" [{entry.device}]" if entry.device else ""
            return f"{stamp}{device} {entry.text}"
        elif role == Qt.ItemDataRole.DecorationRole and column == self.COLUMN_TEXT:
            return self._dot(entry.level)
        elif role == Qt.ItemDataRole.UserRole:
            return entry
        return None

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
