"""The device view's History tab: parameters over time, and the change log beside them.

Choose parameters in the list (those with recorded changes; type to filter); each is drawn
as a step line on a time axis: numbers as they are, booleans as 0/1, anything else
(enumerations) as the index of the value in order of appearance, the value itself in the
hover text. Vertical marks show sessions (grey), boots (amber) and software version changes
(red). Drag to pan, wheel to zoom, "Fit" to see everything. The change log lists the chosen
parameters' changes (every change of the device when none is chosen), newest first.

Every read is a coroutine awaited on the console's loop (the store works on its own
thread); the change log is a Qt model, so a long log costs only the rows on screen.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from acs_engine.cli_history import history_csv
from acs_engine.console_api import ConsoleEngine
from acs_engine.store.history import HistoryRow
from acs_engine.store.schema import SOFTWARE_VERSION_PATHS
from app.background import restart
from app.record_table import Column, RecordTableModel
from app.timefmt import exact, now_ms

__all__ = ["ChangeLogModel", "HistoryTab", "series_of"]

log = logging.getLogger("fieldacs.app")

_COLORS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2")
_LOG_LIMIT = 5000


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    low = value.strip().lower()
    if low in ("true", "false"):
        return 1.0 if low == "true" else 0.0
    try:
        number = float(low)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def series_of(
    rows: Sequence[HistoryRow], current: str | None, now: int, start: int | None = None
) -> tuple[list[float], list[float], list[str | None], dict[str, int]]:
    """One parameter's step series: (times in s, y, values shown, levels of text values).

    Starts at ``start`` (or just before the first change) with the value before the first
    change, ends now with ``current``. A value that is not a number or a boolean gets a
    level (0, 1, 2... in order of appearance).
    """
    points: list[tuple[int, str | None]] = []
    if rows:
        first = rows[0]
        begin = first.at - 1 if start is None else min(start, first.at - 1)
        points.append((begin, None if first.kind == 1 else first.old[0]))
        points.extend((r.at, None if r.kind == 2 else r.new[0]) for r in rows)
    points.append((now, current if not rows else points[-1][1]))
    values = [v for _, v in points]
    numeric = all(_number(v) is not None for v in values if v is not None)
    levels: dict[str, int] = {}
    ys: list[float] = []
    for v in values:
        if v is None:
            ys.append(math.nan)
        elif numeric:
            ys.append(_number(v) or 0.0)
        else:
            ys.append(float(levels.setdefault(v, len(levels))))
    return [t / 1000 for t, _ in points], ys, values, levels


def _log_tooltip(row: HistoryRow) -> str:
    return f"{row.path}\nsession {row.session_id or '—'}\n{row.kind_name}"


def _log_colour(row: HistoryRow) -> QColor | None:
    return None if row.kind == 0 else QColor("#16a34a" if row.kind == 1 else "#dc2626")


def _log_column(header: str, value: Callable[[HistoryRow], str]) -> Column[HistoryRow]:
    return Column(header, value, tooltip=_log_tooltip, colour=_log_colour)


class ChangeLogModel(RecordTableModel[HistoryRow]):
    """History rows as a table: Time, Parameter, Old, New (newest first)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        columns = [
            _log_column("Time", lambda r: exact(r.at)),
            _log_column("Parameter", lambda r: r.path),
            _log_column("Old", lambda r: "(added)" if r.kind == 1 else (r.old[0] or "")),
            _log_column("New", lambda r: "(removed)" if r.kind == 2 else (r.new[0] or "")),
        ]
        super().__init__(columns, parent)

    def set_rows(self, rows: list[HistoryRow]) -> None:
        """Show ``rows`` (newest first)."""
        self.set_records(rows)

    @property
    def rows(self) -> list[HistoryRow]:
        """The rows shown (a copy)."""
        return self.records()


class HistoryTab(QWidget):
    """Graphs of chosen parameters over time and their change log (see the module docstring).

    Signals:
        loaded(): the parameter list, the graph and the log were (re)drawn.
        message(str): something to tell the user.
    """

    loaded = Signal()
    message = Signal(str)

    def __init__(
        self, engine: Callable[[], ConsoleEngine], device_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("historyTab")
        self._engine = engine
        self.device_id = device_id
        self.chosen: list[str] = []
        self.rows: dict[str, list[HistoryRow]] = {}
        self.curves: dict[str, tuple[list[float], list[float], list[str | None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stale = True

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter parameters with recorded changes…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.params = QListWidget()
        self.params.setObjectName("historyParams")
        self.params.setMaximumHeight(110)
        self.params.itemChanged.connect(self._on_checked)

        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setObjectName("historyPlot")
        self.plot.setMinimumHeight(180)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMenuEnabled(False)
        self.plot.addLegend(offset=(6, 4))
        self.hover = pg.TextItem(color="#0f172a", fill=pg.mkBrush(255, 255, 255, 220),
                                 anchor=(0, 1))
        self.hover.setZValue(100)
        self.plot.addItem(self.hover, ignoreBounds=True)
        self.hover.hide()
        self.hover_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#94a3b8", width=1))
        self.plot.addItem(self.hover_line, ignoreBounds=True)
        self.hover_line.hide()
        self.plot.scene().sigMouseMoved.connect(self._on_mouse)
        self.marks: list[pg.InfiniteLine] = []
        #: What each of ``marks`` is: ("session" | "boot" | "firmware", time ms, label).
        self.mark_info: list[tuple[str, int, str]] = []

        self.log_model = ChangeLogModel(self)
        self.log_view = QTableView()
        self.log_view.setObjectName("changeLog")
        self.log_view.setModel(self.log_model)
        self.log_view.verticalHeader().hide()
        self.log_view.verticalHeader().setDefaultSectionSize(22)
        self.log_view.setWordWrap(False)
        self.log_view.setTextElideMode(Qt.TextElideMode.ElideLeft)
        header = self.log_view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(1, 190)
        header.setStretchLastSection(True)

        self.summary = QLabel("")
        self.summary.setStyleSheet("color: #64748b;")
        self.summary.setWordWrap(True)
        fit = QPushButton("Fit")
        fit.setToolTip("Show the whole time range (wheel: zoom, drag: pan)")
        fit.clicked.connect(self.fit)
        csv_button = QPushButton("Export CSV…")
        csv_button.clicked.connect(self._ask_csv)
        png_button = QPushButton("Export PNG…")
        png_button.clicked.connect(self._ask_png)
        reload_button = QPushButton("Reload")
        reload_button.clicked.connect(self.reload)
        buttons = QHBoxLayout()
        for button in (fit, csv_button, png_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(reload_button)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.log_view)
        splitter.setSizes([300, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.params)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------ choosing
    def choose(self, paths: Sequence[str]) -> asyncio.Task[None]:
        """Plot ``paths`` (replacing the choice) and reload."""
        self.chosen = list(dict.fromkeys(paths))
        return self.reload()

    def add_parameter(self, path: str) -> asyncio.Task[None]:
        """Add ``path`` to the plotted parameters and reload."""
        return self.choose([*self.chosen, path])

    def _on_checked(self, item: QListWidgetItem) -> None:
        path = item.text()
        checked = item.checkState() == Qt.CheckState.Checked
        if checked and path not in self.chosen:
            self.chosen.append(path)
        elif not checked and path in self.chosen:
            self.chosen.remove(path)
        else:
            return
        self.reload()

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.params.count()):
            item = self.params.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    # ------------------------------------------------------------------ loading
    def mark_stale(self) -> None:
        """The device changed: reload now when shown, else when next shown."""
        self._stale = True
        if self.isVisible():
            self.reload()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale:
            self.reload()

    def reload(self) -> asyncio.Task[None]:
        """Read the history again (asynchronously) and redraw."""
        self._stale = False
        self._task = restart(self._task, self._load())
        return self._task

    async def _load(self) -> None:
        acs = self._engine()
        if not acs.running:
            return
        paths = await acs.history_paths(self.device_id)
        chosen = list(self.chosen)
        rows = {p: await acs.param_history(self.device_id, [p]) for p in chosen}
        current = await acs.load_param_values(self.device_id, chosen) if chosen else {}
        if chosen:
            log_rows = sorted((r for rs in rows.values() for r in rs),
                              key=lambda r: (r.at, r.id), reverse=True)[:_LOG_LIMIT]
        else:
            log_rows = await acs.device_history(self.device_id, limit=_LOG_LIMIT)
        sessions = await acs.list_sessions(self.device_id, limit=200)
        firmware = await acs.param_history(self.device_id, SOFTWARE_VERSION_PATHS)
        self.rows = rows
        self._show_paths(paths)
        now = now_ms()
        starts = [rs[0].at - 1 for rs in rows.values() if rs]
        starts += [s.started_ms for s in sessions]
        self._draw(rows, {p: (c.value if c else None) for p, c in current.items()}, now,
                   min(starts) if starts else None)
        self._draw_marks(
            [(s.ended_ms or s.started_ms, "1 BOOT" in s.events) for s in sessions],
            [(r.at, r.new[0] or "") for r in firmware if r.kind == 0],
        )
        self.log_model.set_rows(log_rows)
        self.summary.setText(
            f"{len(paths)} parameters with recorded changes; "
            f"{len(log_rows)} changes listed"
            + (f" (the newest {_LOG_LIMIT})" if len(log_rows) >= _LOG_LIMIT else "")
            + ". Marks: sessions (grey), boots (amber), software versions (red)."
        )
        self.loaded.emit()

    def _show_paths(self, paths: list[str]) -> None:
        self.params.blockSignals(True)
        self.params.clear()
        # Objects (paths ending '.') appear and disappear, but have no value to draw.
        for path in dict.fromkeys([*self.chosen, *(p for p in paths if not p.endswith("."))]):
            item = QListWidgetItem(path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if path in self.chosen else Qt.CheckState.Unchecked
            )
            self.params.addItem(item)
        self.params.blockSignals(False)
        self._apply_filter(self.filter.text())

    # ------------------------------------------------------------------ drawing
    def _draw(self, rows: dict[str, list[HistoryRow]], current: dict[str, str | None],
              now: int, start: int | None) -> None:
        plot_item = self.plot.getPlotItem()
        for item in list(plot_item.listDataItems()):
            plot_item.removeItem(item)
        legend = plot_item.legend
        if legend is not None:
            legend.clear()
        self.curves = {}
        for i, path in enumerate(self.chosen):
            xs, ys, shown, levels = series_of(rows.get(path, []), current.get(path), now, start)
            self.curves[path] = (xs, ys, shown)
            label = ".".join(path.split(".")[-3:])
            if levels:
                label += " (" + ", ".join(f"{n}={v}" for v, n in list(levels.items())[:4]) + ")"
            color = _COLORS[i % len(_COLORS)]
            self.plot.plot(
                xs, ys, stepMode="right", pen=pg.mkPen(color, width=2), name=label,
                symbol="o", symbolSize=5, symbolBrush=color, symbolPen=None,
                connect="finite",
            )
        self.fit()

    def _draw_marks(self, sessions: list[tuple[int, bool]], firmware: list[tuple[int, str]]) -> None:
        for mark in self.marks:
            self.plot.removeItem(mark)
        self.marks = []
        self.mark_info = []
        styles: list[tuple[int, Any, str | None]] = []
        for at, boot in sessions:
            color = "#f59e0b" if boot else "#cbd5e1"
            styles.append((at, pg.mkPen(color, width=1.5 if boot else 1), None))
            self.mark_info.append(("boot" if boot else "session", at, ""))
        for at, version in firmware:
            styles.append((at, pg.mkPen("#dc2626", width=2, style=Qt.PenStyle.DashLine), version))
            self.mark_info.append(("firmware", at, version))
        for at, pen, label in styles:
            line = pg.InfiniteLine(
                pos=at / 1000, angle=90, pen=pen, movable=False,
                label=label, labelOpts={"position": 0.92, "color": "#dc2626"} if label else None,
            )
            line.setZValue(-10)
            self.plot.addItem(line, ignoreBounds=True)
            self.marks.append(line)

    def fit(self) -> None:
        """Zoom to show every plotted point."""
        self.plot.getPlotItem().enableAutoRange()
        self.plot.autoRange()

    def _on_mouse(self, position: Any) -> None:
        view = self.plot.getPlotItem().vb
        if not self.curves or not self.plot.sceneBoundingRect().contains(position):
            self.hover.hide()
            self.hover_line.hide()
            return
        point = view.mapSceneToView(position)
        self.hover.setText(self.hover_text(point.x()))
        self.hover.setPos(point.x(), point.y())
        self.hover_line.setPos(point.x())
        self.hover.show()
        self.hover_line.show()

    def hover_text(self, x: float) -> str:
        """What the hover shows at time ``x`` (seconds): the time and each value then."""
        lines = [exact(int(x * 1000))]
        for path, (xs, _ys, shown) in self.curves.items():
            value: str | None = None
            for t, v in zip(xs, shown, strict=True):
                if t > x:
                    break
                value = v
            lines.append(f"{path.rsplit('.', 1)[-1]}: {'—' if value is None else value}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ export
    def export_csv(self, path: Path) -> int:
        """Write the chosen parameters' changes (or the listed log) as CSV; returns rows."""
        rows = sorted((r for rs in self.rows.values() for r in rs), key=lambda r: (r.at, r.id))
        if not rows:
            rows = list(reversed(self.log_model.rows))
        path.write_text(history_csv(rows), encoding="utf-8")
        return len(rows)

    def export_png(self, path: Path) -> bool:
        """Save the graph as a PNG image (SVG crashes on PySide6)."""
        return self.plot.grab().save(str(path), "PNG")

    def _ask_csv(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export history as CSV", "history.csv",
                                              "CSV (*.csv)")
        if name:
            try:
                count = self.export_csv(Path(name))
            except OSError as exc:
                self.message.emit(f"Could not write {name}: {exc}")
            else:
                self.message.emit(f"{count} changes written to {name}")

    def _ask_png(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export graph as PNG", "history.png",
                                              "PNG (*.png)")
        if name:
            ok = self.export_png(Path(name))
            self.message.emit(f"Graph saved to {name}" if ok else f"Could not write {name}")

    def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
