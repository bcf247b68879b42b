"""The dashboard: how the ACS is doing, live, in six small charts (pyqtgraph).

:class:`DashboardStats` turns bus events into bounded figures (no Qt): informs and sessions
per minute and faults per minute over the last hour, session durations, RPC round trips
(an ACS request to the CPE's answer) and totals. :class:`Dashboard` draws them, redrawing
at most once a second, and reads devices by software version from the store every
:data:`VERSION_REFRESH_S` seconds in a task on the running loop (only after devices changed).

Export is PNG only (pyqtgraph's SVG exporter crashes on PySide6, see DESIGN.md).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import Counter, deque
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from acs_engine.bus import (
    DeviceUpdated,
    RequestRejected,
    SessionEnded,
    SessionStarted,
    WireMessage,
)
from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.cwmp import rpc
from app.bridge import EngineBridge
from app.fleet_view import FleetPanel

log = logging.getLogger("fieldacs.app.dashboard")

#: Minutes of per-minute history kept and shown.
HISTORY_MINUTES = 60
#: Durations and round trips kept for the histograms.
SAMPLES_KEPT = 5000
#: Sessions whose start (or open request) is remembered at once; beyond, the oldest go.
OPEN_KEPT = 20000
#: Seconds between reads of devices by software version.
VERSION_REFRESH_S = 10.0
#: Devices read for the version chart (pages of the device list).
VERSION_SCAN_LIMIT = 50000
#: Versions shown as their own bar; the rest are summed as "other".
VERSION_BARS = 10

BLUE, GREEN, RED, AMBER, SLATE = "#2563eb", "#16a34a", "#dc2626", "#d97706", "#475569"


class PerMinute:
    """Event counts per wall-clock minute, for the last ``minutes`` minutes."""

    def __init__(self, minutes: int = HISTORY_MINUTES) -> None:
        """Keep ``minutes`` minutes."""
        self._minutes = minutes
        self._counts: dict[int, int] = {}
        self._latest = 0

    def add(self, at: float, count: int = 1) -> None:
        """Count ``count`` events at ``at`` (seconds since the epoch)."""
        minute = int(at // 60)
        self._latest = max(self._latest, minute)
        oldest = self._latest - self._minutes
        if minute <= oldest:
            return
        self._counts[minute] = self._counts.get(minute, 0) + count
        if len(self._counts) > self._minutes + 1:
            for key in [k for k in self._counts if k <= oldest]:
                del self._counts[key]

    def series(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        """(minutes relative to now: -59 .. 0, counts) for the last hour."""
        current = int(now // 60)
        xs = np.arange(-self._minutes + 1, 1, dtype=float)
        ys = np.array([self._counts.get(current + int(x), 0) for x in xs], dtype=float)
        return xs, ys

    def total(self) -> int:
        """Events counted in the kept window."""
        return sum(self._counts.values())


class DashboardStats:
    """Figures from bus events, bounded in memory whatever the traffic.

    Attributes:
        sessions: sessions ended, per minute.
        informs: Informs received (including ones refused as busy), per minute.
        failed: sessions that ended other than "ok", per minute.
        cwmp_faults: SOAP Faults from CPEs, per minute.
        durations: session durations in seconds (the newest :data:`SAMPLES_KEPT`).
        latencies: RPC round trips in milliseconds (the newest :data:`SAMPLES_KEPT`).
        totals: counts since the console started ("sessions", "informs", "failed",
            "faults", "rpcs").
    """

    def __init__(self) -> None:
        """Nothing counted yet."""
        self.sessions = PerMinute()
        self.informs = PerMinute()
        self.failed = PerMinute()
        self.cwmp_faults = PerMinute()
        self.durations: deque[float] = deque(maxlen=SAMPLES_KEPT)
        self.latencies: deque[float] = deque(maxlen=SAMPLES_KEPT)
        self.totals: Counter[str] = Counter()
        self._started: dict[str, float] = {}
        self._open_rpc: dict[str, float] = {}

    def feed(self, event: object) -> bool:
        """Count one bus event; True when it changed a figure."""
        if isinstance(event, WireMessage):
            return self._on_wire(event)
        if isinstance(event, SessionStarted):
            self._remember(self._started, event.session_id, event.at_ms / 1000)
            return False
        if isinstance(event, SessionEnded):
            self._open_rpc.pop(event.session_id, None)
            started = self._started.pop(event.session_id, None)
            if started is not None:
                self.durations.append(max(0.0, event.at_ms / 1000 - started))
            self.sessions.add(event.at_ms / 1000)
            self.totals["sessions"] += 1
            if event.outcome != "ok":
                self.failed.add(event.at_ms / 1000)
                self.totals["failed"] += 1
            return True
        if isinstance(event, RequestRejected) and event.status == 503:
            self.informs.add(event.at_ms / 1000)  # a CPE's Inform refused while its device was busy
            self.totals["informs"] += 1
            return True
        return False

    def _on_wire(self, message: WireMessage) -> bool:
        if message.direction == "out":
            cls = rpc.BY_METHOD.get(message.rpc)
            if cls is not None and cls.ACS_REQUEST:
                self._remember(self._open_rpc, message.session_id, message.at_ms / 1000)
            return False
        changed = False
        if message.rpc == "Inform":
            self.informs.add(message.at_ms / 1000)
            self.totals["informs"] += 1
            changed = True
        if message.rpc == "Fault":
            self.cwmp_faults.add(message.at_ms / 1000)
            self.totals["faults"] += 1
            changed = True
        if message.rpc == "Fault" or message.rpc.endswith("Response"):
            sent = self._open_rpc.pop(message.session_id, None)
            if sent is not None:
                self.latencies.append(max(0.0, message.at_ms - sent * 1000.0))
                self.totals["rpcs"] += 1
                changed = True
        return changed

    @staticmethod
    def _remember(table: dict[str, float], key: str, at: float) -> None:
        table[key] = at
        if len(table) > OPEN_KEPT:  # sessions that never ended: forget the oldest
            del table[next(iter(table))]

    def median_latency(self) -> float | None:
        """The median RPC round trip in ms, or None before the first."""
        return statistics.median(self.latencies) if self.latencies else None


def histogram(values: Iterable[float], bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts) of ``values``; one empty bin for no values."""
    data = np.fromiter(values, dtype=float)
    if data.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0])
    high = float(np.percentile(data, 99)) if data.size > 20 else float(data.max())
    high = max(high, float(data.min()) + 1e-3)
    counts, edges = np.histogram(np.clip(data, None, high), bins=bins, range=(0.0, high))
    return edges, counts.astype(float)


async def software_versions(acs: ConsoleEngine, limit: int = VERSION_SCAN_LIMIT) -> Counter[str]:
    """Devices per ``DeviceInfo.SoftwareVersion`` ("unknown" for none)."""
    counts: Counter[str] = Counter()
    page, offset = 1000, 0
    while offset < limit:
        devices = await acs.list_devices(limit=page, offset=offset)
        for device in devices:
            counts[device.software_version or "unknown"] += 1
        if len(devices) < page:
            break
        offset += page
    return counts


def _tile(caption: str) -> tuple[QFrame, QLabel]:
    frame = QFrame()
    frame.setObjectName("dashTile")
    value = QLabel("0")
    value.setObjectName("dashValue")
    label = QLabel(caption)
    label.setObjectName("dashCaption")
    # As tall as its text: the tiles never stretch to fill the dock (the charts do).
    frame.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(12, 8, 12, 8)
    layout.setSpacing(0)
    layout.addWidget(value)
    layout.addWidget(label)
    return frame, value


_STYLE = """
QFrame#dashTile { background: palette(base); border: 1px solid palette(mid); border-radius: 8px; }
QLabel#dashValue { font-size: 17pt; font-weight: 600; }
QLabel#dashCaption { color: palette(placeholder-text); }
"""


class Dashboard(QWidget):
    """Live charts of the ACS's traffic, fed by :class:`~app.bridge.EngineBridge`.

    Signals:
        redrawn(): the charts were redrawn with new figures.
        versionsLoaded(): devices by software version were read from the store.
    """

    redrawn = Signal()
    versionsLoaded = Signal()

    def __init__(
        self, engine: ConsoleEngine | None, bridge: EngineBridge, parent: QWidget | None = None
    ) -> None:
        """Build the charts and follow ``bridge``.

        Args:
            engine: the ACS (None: no version chart data).
            bridge: the engine's events as signals.
            parent: the owner.
        """
        super().__init__(parent)
        self.setObjectName("dashboard")
        self.setStyleSheet(_STYLE)
        self._engine = console_engine(engine) if engine is not None else None
        self.stats = DashboardStats()
        self.versions: Counter[str] = Counter()
        self._dirty = True
        self._versions_dirty = True
        self._task: asyncio.Task[None] | None = None

        tiles = QHBoxLayout()
        tiles.setSpacing(8)
        self.tile_values: dict[str, QLabel] = {}
        for key, caption in (
            ("sessions", "sessions ended"),
            ("informs", "informs"),
            ("failed", "sessions not ok"),
            ("faults", "CWMP faults"),
            ("latency", "median RPC round trip"),
        ):
            frame, value = _tile(caption)
            self.tile_values[key] = value
            tiles.addWidget(frame)

        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 8, 8, 8)
        self._layout.setSpacing(8)
        self._layout.addLayout(tiles)
        self._layout.addStretch(1)  # below the tiles until the charts take the room
        self._plots_built = False  # built on first show: pyqtgraph plots are slow to make

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setInterval(1000)
        self._redraw_timer.timeout.connect(self._tick)
        self._redraw_timer.start()
        self._version_timer = QTimer(self)
        self._version_timer.setInterval(int(VERSION_REFRESH_S * 1000))
        self._version_timer.timeout.connect(self.refresh_versions)
        self._version_timer.start()
        bridge.eventReceived.connect(self._on_event)
        self.redraw()

    # ------------------------------------------------------------------ building
    def _build_plots(self) -> None:
        """Create the charts (once, when the dashboard is first shown)."""
        if self._plots_built:
            return
        self._plots_built = True
        grid = QGridLayout()
        grid.setSpacing(8)
        self.rate_plot = self._plot("Informs and sessions per minute", "minutes ago", "per minute")
        self.fault_plot = self._plot("Faults per minute", "minutes ago", "per minute")
        self.duration_plot = self._plot("Session duration", "seconds", "sessions")
        self.latency_plot = self._plot("RPC round trip", "ms", "RPCs")
        self.version_plot = self._plot("Devices by software version", "", "devices")
        self.rate_plot.addLegend(offset=(8, 4), labelTextColor=SLATE)
        self.fault_plot.addLegend(offset=(8, 4), labelTextColor=SLATE)
        for plot in (self.rate_plot, self.fault_plot):
            plot.setXRange(-HISTORY_MINUTES + 0.5, 0.5, padding=0)
        grid.addWidget(self.rate_plot, 0, 0)
        grid.addWidget(self.fault_plot, 0, 1)
        grid.addWidget(self.duration_plot, 1, 0)
        grid.addWidget(self.latency_plot, 1, 1)
        # The fleet view (app/fleet_view.py) beside the software-version bars, as tabs.
        self.fleet = FleetPanel(lambda: self._engine)
        self.fleet_tabs = QTabWidget()
        self.fleet_tabs.setDocumentMode(True)
        self.fleet_tabs.addTab(self.version_plot, "Software versions")
        self.fleet_tabs.addTab(self.fleet, "Fleet view")
        grid.addWidget(self.fleet_tabs, 2, 0, 1, 2)

        self._informs = pg.BarGraphItem(
            x=[], height=[], width=0.8, brush=QColor(BLUE).lighter(150), pen=pg.mkPen(None),
            name="informs",
        )
        self.rate_plot.addItem(self._informs)
        self._sessions = self.rate_plot.plot(
            [], [], pen=pg.mkPen(BLUE, width=2), name="sessions ended"
        )
        self._failed = self.fault_plot.plot(
            [], [], pen=pg.mkPen(RED, width=2), name="sessions not ok"
        )
        self._faults = self.fault_plot.plot(
            [], [], pen=pg.mkPen(AMBER, width=2, style=Qt.PenStyle.DashLine),
            name="CWMP faults",
        )
        self._durations = self.duration_plot.plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=QColor(22, 163, 74, 60),
            pen=pg.mkPen(GREEN, width=1.5),
        )
        self._latency = self.latency_plot.plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=QColor(37, 99, 235, 55),
            pen=pg.mkPen(BLUE, width=1.5),
        )
        self._version_bars = pg.BarGraphItem(
            x=[], height=[], width=0.6, brush=QColor(71, 85, 105, 90), pen=pg.mkPen(SLATE)
        )
        self.version_plot.addItem(self._version_bars)

        stretch = self._layout.takeAt(self._layout.count() - 1)  # the charts take the room
        del stretch
        self._layout.addLayout(grid, 1)
        self._draw_versions()

    def _plot(self, title: str, x_label: str, y_label: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(background="w")
        plot.setObjectName("dashPlot")
        plot.setMinimumHeight(150)
        plot.setTitle(title, color="#0f172a", size="10pt")
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.showGrid(x=False, y=True, alpha=0.15)
        font = QFont()
        font.setPointSizeF(8.5)
        for side, text in (("bottom", x_label), ("left", y_label)):
            axis = plot.getAxis(side)
            axis.setPen(pg.mkPen("#cbd5e1"))
            axis.setTextPen(pg.mkPen(SLATE))
            axis.setStyle(tickFont=font)
            if text:
                axis.setLabel(text, color=SLATE, **{"font-size": "8.5pt"})
        plot.getViewBox().setLimits(yMin=0)
        return plot

    # ------------------------------------------------------------------ events
    def _on_event(self, event: object) -> None:
        if self.stats.feed(event):
            self._dirty = True
        if isinstance(event, DeviceUpdated):
            self._versions_dirty = True

    def _tick(self) -> None:
        # The per-minute charts move with the clock even when nothing happens.
        if self._dirty or int(time.time()) % 60 == 0:
            self.redraw()

    # ------------------------------------------------------------------ drawing
    def showEvent(self, event: QShowEvent) -> None:
        """Build the charts the first time the dashboard is seen (a turn later: a dock
        tabbed behind another is shown for a moment when the window first appears)."""
        super().showEvent(event)
        if not self._plots_built:
            QTimer.singleShot(0, self._build_if_seen)

    def build_when_seen(self) -> None:
        """Build the charts a turn later if the dashboard is on screen by then (its dock was
        raised, or the dock tabbed in front of it was closed)."""
        if not self._plots_built:
            QTimer.singleShot(0, self._build_if_seen)

    def _build_if_seen(self) -> None:
        if not self._plots_built and self.isVisible() and not self.visibleRegion().isEmpty():
            self._build_plots()
            self.redraw()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A dashboard given room for the first time (its dock laid out anew) builds too."""
        super().resizeEvent(event)
        self.build_when_seen()

    @property
    def plots_built(self) -> bool:
        """Whether the charts exist yet (they are made on first show)."""
        return self._plots_built

    def redraw(self) -> None:
        """Draw the current figures (the tiles only, before the charts exist)."""
        self._dirty = False
        stats = self.stats
        now = time.time()
        totals = stats.totals
        for key in ("sessions", "informs", "failed", "faults"):
            self.tile_values[key].setText(f"{totals[key]:,}")
        median = stats.median_latency()
        self.tile_values["latency"].setText("—" if median is None else f"{median:,.0f} ms")
        if not self._plots_built:
            return
        xs, informs = stats.informs.series(now)
        self._informs.setOpts(x=xs, height=informs, width=0.8)
        self._sessions.setData(*stats.sessions.series(now))
        self._failed.setData(*stats.failed.series(now))
        self._faults.setData(*stats.cwmp_faults.series(now))
        edges, counts = histogram(stats.durations)
        self._durations.setData(edges, counts)
        edges, counts = histogram(stats.latencies)
        self._latency.setData(edges, counts)
        self.redrawn.emit()

    def _draw_versions(self) -> None:
        if not self._plots_built:
            return
        ranked = self.versions.most_common()
        shown = ranked[:VERSION_BARS]
        rest = sum(count for _, count in ranked[VERSION_BARS:])
        if rest:
            shown.append(("other", rest))
        xs = list(range(len(shown)))
        self._version_bars.setOpts(x=xs, height=[c for _, c in shown], width=0.6)
        self.version_plot.getAxis("bottom").setTicks(
            [[(i, name if len(name) <= 18 else name[:17] + "…") for i, (name, _) in enumerate(shown)]]
        )
        if shown:  # room for a few bars, so that one version is not one wide slab
            self.version_plot.setXRange(-0.6, max(len(shown), 6) - 0.4, padding=0)

    # ------------------------------------------------------------------ versions
    def refresh_versions(self, force: bool = False) -> None:
        """Re-read devices by software version (skipped when no device changed)."""
        if not (force or self._versions_dirty):
            return
        if self._engine is None or not self._engine.running:
            return
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop is running (yet): try again on the next tick
            return
        self._task = loop.create_task(self._load_versions())

    async def _load_versions(self) -> None:
        acs = self._engine
        if acs is None or not acs.running:
            return
        self._versions_dirty = False
        try:
            self.versions = await software_versions(acs)
        except Exception as exc:  # the store closing under us, a locked database
            log.warning("could not read software versions: %s", exc)
            self._versions_dirty = True
            return
        self._draw_versions()
        self.versionsLoaded.emit()

    def shutdown(self) -> None:
        """Stop the timers and the store read in flight."""
        self._redraw_timer.stop()
        self._version_timer.stop()
        if self._task is not None:
            self._task.cancel()
        if self._plots_built:
            self.fleet.shutdown()

    def export_png(self, path: Path) -> bool:
        """Save the dashboard as a PNG image (never SVG: it crashes on PySide6)."""
        return self.grab().save(str(path), "PNG")
