"""The dashboard's fleet view: one parameter across every device, now and over time.

The software version comes first; type any parameter path to see another. Left: how many
devices have each value now (the most common ``TOP`` values, the rest as "other"). Right:
the same values over the chosen period, rebuilt from the parameter history. The query runs
on the engine's side (``ConsoleEngine.fleet_view``); the console's loop only awaits it, and the
time it took is shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from acs_engine.console_api import ConsoleEngine
from acs_engine.store.fleet import FleetView
from acs_engine.store.schema import SOFTWARE_VERSION_PATHS

__all__ = ["SOFTWARE_VERSION", "FleetPanel"]

log = logging.getLogger("fieldacs.app")

SOFTWARE_VERSION = "Software version"
TOP = 6
_COLORS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#94a3b8")
_PERIODS = (("last hour", 1), ("last 24 hours", 24), ("last 7 days", 168), ("last 30 days", 720))


def top_values(view: FleetView, top: int = TOP) -> list[tuple[str, list[int]]]:
    """The ``top`` values most common now with their series, then "other" for the rest."""
    ranked = [v for v, _ in view.now]
    ranked += sorted(v for v in view.series if v not in set(ranked))
    keep = ranked[:top]
    out = [(v, view.series[v]) for v in keep]
    rest = [view.series[v] for v in ranked[top:]]
    if rest:
        out.append(("other", [sum(col) for col in zip(*rest, strict=True)]))
    return out


class FleetPanel(QWidget):
    """A parameter's distribution across the fleet (see the module docstring).

    Signals:
        loaded(): the view was queried and drawn.
    """

    loaded = Signal()

    def __init__(self, engine: Callable[[], ConsoleEngine | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fleetPanel")
        self._engine = engine
        self._task: asyncio.Task[None] | None = None
        self.view: FleetView | None = None

        self.parameter = QComboBox()
        self.parameter.setEditable(True)
        self.parameter.addItems([
            SOFTWARE_VERSION, "Device.DeviceInfo.HardwareVersion",
            "InternetGatewayDevice.DeviceInfo.HardwareVersion",
        ])
        self.parameter.setToolTip("Software version, or any parameter path")
        self.parameter.setMinimumWidth(300)
        self.period = QComboBox()
        for label, hours in _PERIODS:
            self.period.addItem(label, hours)
        self.period.setCurrentIndex(2)
        show = QPushButton("Show")
        show.clicked.connect(self.refresh)
        line = self.parameter.lineEdit()
        if line is not None:  # editable, so it has one
            line.returnPressed.connect(self.refresh)
        self.period.currentIndexChanged.connect(self.refresh)
        self.timing = QLabel("")
        self.timing.setStyleSheet("color: #64748b;")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Parameter"))
        controls.addWidget(self.parameter, 1)
        controls.addWidget(self.period)
        controls.addWidget(show)
        controls.addWidget(self.timing)

        self.now_plot = pg.PlotWidget(background="w")
        self.now_plot.setObjectName("fleetNow")
        self.now_plot.setTitle("Devices by value now", color="#0f172a", size="10pt")
        self.now_plot.setMenuEnabled(False)
        self.now_plot.setMouseEnabled(x=False, y=False)
        self.now_plot.hideButtons()
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=QColor(37, 99, 235, 120))
        self.now_plot.addItem(self.bars)
        self.time_plot = pg.PlotWidget(background="w", axisItems={"bottom": pg.DateAxisItem()})
        self.time_plot.setObjectName("fleetOverTime")
        self.time_plot.setTitle("Devices by value over time", color="#0f172a", size="10pt")
        self.time_plot.setMenuEnabled(False)
        self.time_plot.addLegend(offset=(6, 4))
        self.time_plot.showGrid(x=True, y=True, alpha=0.15)
        for plot in (self.now_plot, self.time_plot):
            plot.setMinimumHeight(160)
        plots = QHBoxLayout()
        plots.addWidget(self.now_plot, 2)
        plots.addWidget(self.time_plot, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(controls)
        layout.addLayout(plots, 1)

    def paths(self) -> tuple[str, ...]:
        """The paths of the chosen parameter."""
        text = self.parameter.currentText().strip()
        if not text or text == SOFTWARE_VERSION:
            return SOFTWARE_VERSION_PATHS
        return (text,)

    def refresh(self) -> asyncio.Task[None]:
        """Query and draw again (asynchronously; a query in flight is dropped)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.ensure_future(self._load())
        return self._task

    async def _load(self) -> None:
        acs = self._engine()
        if acs is None or not acs.running:
            return
        hours = int(self.period.currentData() or 168)
        now_ms = int(time.time() * 1000)
        try:
            view = await acs.fleet_view(
                self.paths(), since=now_ms - hours * 3_600_000, points=60, now=now_ms
            )
        except Exception as exc:  # the store closing under us, a locked database
            log.warning("fleet view failed: %s", exc)
            self.timing.setText(f"could not read the fleet: {exc}")
            return
        self.show_view(view)

    def show_view(self, view: FleetView) -> None:
        """Draw ``view``."""
        self.view = view
        series = top_values(view)
        now_values = [(v, s[-1]) for v, s in series]
        self.bars.setOpts(
            x=list(range(len(now_values))), height=[c for _, c in now_values], width=0.6
        )
        axis = self.now_plot.getAxis("bottom")
        axis.setTicks([[(i, self._short(v)) for i, (v, _) in enumerate(now_values)]])
        self.now_plot.autoRange()
        plot_item = self.time_plot.getPlotItem()
        for item in list(plot_item.listDataItems()):
            plot_item.removeItem(item)
        if plot_item.legend is not None:
            plot_item.legend.clear()
        xs = [t / 1000 for t in view.times]
        for i, (value, counts) in enumerate(series):
            color = _COLORS[min(i, len(_COLORS) - 1)]
            self.time_plot.plot(xs, counts, pen=pg.mkPen(color, width=2),
                                name=self._short(value))
        self.time_plot.autoRange()
        self.timing.setText(
            f"{view.devices:,} devices, {len(view.series)} values; "
            f"queried in {view.elapsed_ms:.0f} ms"
        )
        self.loaded.emit()

    @staticmethod
    def _short(value: str) -> str:
        return value if len(value) <= 18 else value[:17] + "…"

    def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.view is None:
            self.refresh()

