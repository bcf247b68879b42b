"""The session state machine drawn: seven states, the transitions of machine.py, one lit.

:class:`StateMachineView` paints the states of :mod:`acs_engine.session.machine` as nodes and
its :data:`~acs_engine.session.machine.TRANSITIONS` as arrows (aborts dashed, into FAULTED).
The current state is filled; the transition just taken glows and fades. Every node has a
tooltip, and a text line under the drawing says the state in words (also the widget's
accessible description).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QVariantAnimation, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from acs_engine.bus import SessionStateChanged
from acs_engine.session.machine import TRANSITIONS, State, Trigger

#: Where each state sits, in grid cells (column, row).
POSITIONS: dict[State, tuple[float, float]] = {
    State.INIT: (0, 1),
    State.PROCESS: (1, 1),
    State.PENDING_RPC: (2, 0),
    State.RESPONSE_RECEIVED: (3, 0),
    State.COMMIT: (3, 1),
    State.END: (4, 1),
    State.FAULTED: (2, 2),
}

#: What each state means, for tooltips and the text line.
DESCRIPTIONS: dict[State, str] = {
    State.INIT: "Waiting for the CPE's Inform",
    State.PROCESS: "Inform accepted; the CPE may send its own requests",
    State.PENDING_RPC: "An RPC was sent; waiting for the CPE's response",
    State.RESPONSE_RECEIVED: "The CPE answered; the ACS decides what to send next",
    State.COMMIT: "Nothing more to send; writing the session's changes",
    State.END: "The session ended normally",
    State.FAULTED: "The session broke off (timeout, bad message or error)",
}

ACTIVE_COLOUR = QColor("#2563eb")
END_COLOUR = QColor("#16a34a")
FAULT_COLOUR = QColor("#dc2626")
GLOW_MS = 900


def _edges() -> list[tuple[State, State, Trigger]]:
    return [(src, dst, trig) for (src, trig), dst in TRANSITIONS.items()]


class StateMachineView(QWidget):
    """The state machine of one session, with its current state lit.

    Signals:
        stateShown(str): the state shown changed ("" when none).
    """

    stateShown = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """No session yet: nothing lit."""
        super().__init__(parent)
        self.setObjectName("stateMachineView")
        self._state: State | None = None
        self._previous: State | None = None
        self._glow = 0.0
        self._rects: dict[State, QRectF] = {}
        #: The edges' shapes for the last layout size (they depend on nothing else).
        self._shapes_size: tuple[float, float] | None = None
        #: The label font for a box width and base font (see label_font).
        self._label_font: tuple[tuple[float, str], QFont] | None = None
        self._shapes: dict[tuple[State, State], tuple[QPainterPath, QPointF, QPointF] | None] = {}
        self._animation = QVariantAnimation(self)
        self._animation.setStartValue(1.0)
        self._animation.setEndValue(0.0)
        self._animation.setDuration(GLOW_MS)
        self._animation.valueChanged.connect(self._set_glow)

        self.canvas = _Canvas(self)
        self.label = QLabel()
        self.label.setObjectName("stateText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.label)
        self.setAccessibleName("Session state machine")
        self._update_text("")

    # ------------------------------------------------------------------ state
    def state(self) -> str:
        """The state lit, or "" when none."""
        return self._state.value if self._state is not None else ""

    def previous_state(self) -> str:
        """The state before the last change, or ""."""
        return self._previous.value if self._previous is not None else ""

    def set_state(self, state: str | None, previous: str | None = None, reason: str = "") -> None:
        """Light ``state`` (None or "" for none); ``previous`` makes its arrow glow.

        Args:
            state: a :class:`State` value.
            previous: where the session came from (for the glowing arrow).
            reason: why (shown in the text line).
        """
        new = State(state) if state else None
        old = State(previous) if previous else None
        changed = new != self._state
        self._previous, self._state = old, new
        self._update_text(reason)
        if old is not None and new is not None:
            self._animation.stop()
            self._animation.start()
        else:
            self._glow = 0.0
        self.canvas.update()
        if changed:
            self.stateShown.emit(self.state())

    def apply(self, event: SessionStateChanged) -> None:
        """Show the change ``event`` reports."""
        self.set_state(event.new, event.old, event.reason)

    def reset(self) -> None:
        """Light nothing."""
        self.set_state(None)

    def _set_glow(self, value: object) -> None:
        self._glow = float(value) if isinstance(value, (int, float)) else 0.0
        self.canvas.update()

    def _update_text(self, reason: str) -> None:
        if self._state is None:
            text = "No session selected"
        else:
            text = f"<b>{self._state.value}</b> — {DESCRIPTIONS[self._state]}"
            if reason:
                text += f" <span style='color:palette(placeholder-text)'>({reason})</span>"
        self.label.setText(text)
        plain = "No session" if self._state is None else (
            f"State {self._state.value}: {DESCRIPTIONS[self._state]}"
        )
        self.setAccessibleDescription(plain)
        self.canvas.setToolTip("")

    # ------------------------------------------------------------------ painting
    def node_rect(self, state: str) -> QRectF:
        """Where ``state``'s node was last painted (widget coordinates of the canvas)."""
        return QRectF(self._rects.get(State(state), QRectF()))

    def _layout(self, width: float, height: float) -> None:
        if self._shapes_size == (width, height):
            return
        self._shapes_size = (width, height)
        self._shapes = {}
        cols, rows = 5, 3
        margin = 8.0
        cell_w = (width - 2 * margin) / cols
        cell_h = (height - 2 * margin) / rows
        node_w = min(cell_w * 0.86, 170.0)
        node_h = min(cell_h * 0.52, 34.0)
        self._rects = {}
        for state, (col, row) in POSITIONS.items():
            cx = margin + (col + 0.5) * cell_w
            cy = margin + (row + 0.5) * cell_h
            self._rects[state] = QRectF(cx - node_w / 2, cy - node_h / 2, node_w, node_h)

    def label_font(self) -> QFont:
        """The states' font, shrunk to fit their boxes when the panel is narrow (1280 px with
        the device tab beside it), or "RESPONSE RECEIVED" loses its first and last letters."""
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.92))
        room = (next(iter(self._rects.values())).width() if self._rects else 0.0) - 10
        key = (room, font.key())
        cached = self._label_font
        if cached is not None and cached[0] == key:
            return QFont(cached[1])
        labels = [s.value.replace("_", " ") for s in self._rects]

        def widest() -> float:
            metrics = QFontMetricsF(font)
            return max((metrics.horizontalAdvance(label) for label in labels), default=0.0)

        while room > 0 and font.pointSizeF() > 5.5 and widest() > room:
            font.setPointSizeF(max(5.5, font.pointSizeF() - 0.25))
        self._label_font = (key, QFont(font))  # painted often, sized once per layout
        return font

    def _paint(self, painter: QPainter, width: float, height: float) -> None:
        self._layout(width, height)
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.Text)
        line_colour = palette.color(QPalette.ColorRole.Mid)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        edges = _edges()
        pairs = {(a, b) for a, b, _ in edges}
        for src, dst, trigger in edges:
            lit = (
                self._previous is not None and src == self._previous and dst == self._state
                and self._glow > 0
            )
            colour = QColor(self._state_colour(dst) if lit else line_colour)
            if lit:
                colour.setAlphaF(0.35 + 0.65 * self._glow)
            pen = QPen(colour, 2.6 if lit else 1.2)
            if trigger is Trigger.ABORT:
                pen.setStyle(Qt.PenStyle.DashLine)
                if not lit:
                    colour.setAlphaF(0.55)
                    pen.setColor(colour)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            self._draw_edge(painter, src, dst, bend=(dst, src) in pairs and src != dst)
        painter.setFont(self.label_font())
        for state, rect in self._rects.items():
            current = state == self._state
            fill = self._state_colour(state) if current else palette.color(QPalette.ColorRole.Base)
            border = self._state_colour(state) if current else line_colour
            painter.setPen(QPen(border, 2.0 if current else 1.2))
            painter.setBrush(QBrush(fill))
            painter.drawRoundedRect(rect, 8, 8)
            painter.setPen(QColor("white") if current else text_colour)
            label = state.value.replace("_", " ")
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)

    @staticmethod
    def _state_colour(state: State) -> QColor:
        if state is State.END:
            return END_COLOUR
        if state is State.FAULTED:
            return FAULT_COLOUR
        return ACTIVE_COLOUR

    def _draw_edge(self, painter: QPainter, src: State, dst: State, bend: bool) -> None:
        if (src, dst) not in self._shapes:
            self._shapes[(src, dst)] = self._edge_shape(src, dst, bend)
        shape = self._shapes[(src, dst)]
        if shape is not None:
            path, tail, tip = shape
            painter.drawPath(path)
            self._arrow_head(painter, tail, tip)

    def _edge_shape(
        self, src: State, dst: State, bend: bool
    ) -> tuple[QPainterPath, QPointF, QPointF] | None:
        """The edge's path between the node outlines and its arrow's (tail, tip), or None
        when the nodes overlap."""
        a, b = self._rects[src], self._rects[dst]
        if src == dst:  # a self-loop above the node
            top = QPointF(a.center().x(), a.top())
            path = QPainterPath(QPointF(top.x() - 10, top.y()))
            path.cubicTo(
                QPointF(top.x() - 18, top.y() - 22), QPointF(top.x() + 18, top.y() - 22),
                QPointF(top.x() + 10, top.y()),
            )
            return path, QPointF(top.x() + 14, top.y() - 8), QPointF(top.x() + 10, top.y())
        start, end = a.center(), b.center()
        path = QPainterPath(start)
        if bend:
            mid = (start + end) / 2
            dx, dy = end.x() - start.x(), end.y() - start.y()
            length = max((dx * dx + dy * dy) ** 0.5, 1.0)
            offset = 16.0
            control = QPointF(mid.x() - dy / length * offset, mid.y() + dx / length * offset)
            path.quadTo(control, end)
        else:
            path.lineTo(end)
        t0 = self._exit(path, a, 0.0, 1.0)
        t1 = self._exit(path, b, 1.0, 0.0)
        if t1 <= t0:
            return None
        clipped = QPainterPath(path.pointAtPercent(t0))
        steps = 24
        for i in range(1, steps + 1):
            clipped.lineTo(path.pointAtPercent(t0 + (t1 - t0) * i / steps))
        return clipped, path.pointAtPercent(max(t0, t1 - 0.04)), path.pointAtPercent(t1)

    @staticmethod
    def _exit(path: QPainterPath, rect: QRectF, t_from: float, t_to: float) -> float:
        """The path's parameter where it leaves ``rect`` going from ``t_from`` to ``t_to``."""
        grown = rect.adjusted(-3, -3, 3, 3)
        t = t_from
        step = (t_to - t_from) / 100
        for _ in range(100):
            if not grown.contains(path.pointAtPercent(t)):
                return t
            t += step
        return t_to

    @staticmethod
    def _arrow_head(painter: QPainter, tail: QPointF, tip: QPointF) -> None:
        dx, dy = tip.x() - tail.x(), tip.y() - tail.y()
        length = max((dx * dx + dy * dy) ** 0.5, 0.001)
        ux, uy = dx / length, dy / length
        size = 7.0
        left = QPointF(tip.x() - ux * size - uy * size * 0.5, tip.y() - uy * size + ux * size * 0.5)
        right = QPointF(tip.x() - ux * size + uy * size * 0.5, tip.y() - uy * size - ux * size * 0.5)
        colour = painter.pen().color()
        painter.save()
        painter.setPen(QPen(colour, 1.0))
        painter.setBrush(QBrush(colour))
        painter.drawPolygon(QPolygonF([tip, left, right]))
        painter.restore()

    def _tooltip_at(self, point: QPointF) -> str:
        for state, rect in self._rects.items():
            if rect.contains(point):
                now = " (current)" if state == self._state else ""
                return f"{state.value}{now}: {DESCRIPTIONS[state]}"
        return ""


class _Canvas(QWidget):
    """The drawing surface of a :class:`StateMachineView`."""

    def __init__(self, view: StateMachineView) -> None:
        super().__init__(view)
        self._view = view
        self.setMinimumSize(420, 130)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the machine."""
        painter = QPainter(self)
        try:
            self._view._paint(painter, float(self.width()), float(self.height()))
        finally:
            painter.end()

    def event(self, event: QEvent) -> bool:
        """Tooltips: what the state under the mouse means."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self._view._tooltip_at(QPointF(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def sizeHint(self) -> QSize:
        """Room for three rows of nodes."""
        return QSize(640, 170)
