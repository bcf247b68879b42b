"""Layout checks for the main window: every button of every open dock lies inside the
window, and no dock is wider than the window (issue 18, "Done means")."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QAbstractButton, QDockWidget, QMainWindow, QWidget


def _in_window(window: QMainWindow, widget: QWidget) -> QRect:
    top_left = widget.mapTo(window, QPoint(0, 0))
    return QRect(top_left, widget.size())


def open_docks(window: QMainWindow) -> list[QDockWidget]:
    """The docks shown (not closed, not behind another tab)."""
    return [
        d for d in window.findChildren(QDockWidget)
        if d.isVisible() and not d.visibleRegion().isEmpty()
    ]


def buttons_outside(window: QMainWindow) -> list[str]:
    """The visible buttons of open docks that do not lie wholly inside the window."""
    area = window.rect()
    outside = []
    for dock in open_docks(window):
        for button in dock.findChildren(QAbstractButton):
            if not button.isVisible() or button.width() == 0:
                continue
            rect = _in_window(window, button)
            if not area.contains(rect):
                outside.append(f"{dock.objectName()}: {button.text() or button.objectName()}")
    return outside


def docks_too_wide(window: QMainWindow) -> list[str]:
    """Open docks wider than the window, or whose minimum width is."""
    return [
        f"{d.objectName()}: {d.width()} (minimum {d.minimumSizeHint().width()})"
        for d in open_docks(window)
        if d.width() > window.width() or d.minimumSizeHint().width() > window.width()
    ]


def overlapping_docks(window: QMainWindow) -> list[str]:
    """Pairs of open docks that overlap each other."""
    docks = open_docks(window)
    found = []
    for i, a in enumerate(docks):
        for b in docks[i + 1:]:
            if a.geometry().intersects(b.geometry()):
                found.append(f"{a.objectName()} / {b.objectName()}")
    return found


def describe(window: QMainWindow) -> str:
    """The open docks' geometries and minimum widths (for a failing assertion's message)."""
    lines = [f"window {window.width()}x{window.height()}"]
    for dock in open_docks(window):
        body = dock.widget()
        lines.append(
            f"{dock.objectName()}: {dock.geometry().getRect()} minimum "
            f"{dock.minimumSizeHint().width()} body minimum "
            f"{body.minimumSizeHint().width() if body else 0}"
        )
        if body is not None:
            wide = sorted(
                (w.minimumSizeHint().width(), type(w).__name__, w.objectName())
                for w in body.findChildren(QWidget) if w.isVisible()
            )[-12:]
            lines.append(f"  widest children: {wide}")
    return "\n".join(lines)
