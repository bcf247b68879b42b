"""Docks of the main window, all made the same way (titled, named for saveState)."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

_DOCK_STYLE = (
    "QDockWidget { font-weight: 600; }"
    "QDockWidget::title { text-align: left; padding: 6px 0 4px 16px; }"
)


def make_dock(window: QMainWindow, title: str, name: str, body: QWidget) -> QDockWidget:
    """A dock of ``window`` holding ``body``; ``name`` is what saveState/restoreState use."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setStyleSheet(_DOCK_STYLE)
    body.setStyleSheet(body.styleSheet() + "font-weight: normal;")
    dock.setWidget(body)
    return dock
