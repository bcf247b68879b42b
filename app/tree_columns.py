"""Keep a tree's value column readable when its view gets narrow.

The device view's parameter tree has a wide Name column and a stretching Value column; in a
1280-px window with docks, Value was squeezed to "Valu"/"3…". :class:`ValueColumnKeeper`
narrows the Name column (down to a floor) whenever the viewport is resized, so Value keeps
a minimum width; the user can still drag the columns.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QTreeView


class ValueColumnKeeper(QObject):
    """Resizes ``name_column`` of ``tree`` so ``value_column`` keeps ``value_min`` pixels."""

    def __init__(
        self, tree: QTreeView, name_column: int, value_column: int,
        *, name_width: int = 250, name_min: int = 140, value_min: int = 180,
    ) -> None:
        """Watch ``tree``'s viewport (the keeper is parented to the tree)."""
        super().__init__(tree)
        self._tree = tree
        self._name, self._value = name_column, value_column
        self._name_width, self._name_min, self._value_min = name_width, name_min, value_min
        tree.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Fit the columns when the viewport is resized."""
        if event.type() == QEvent.Type.Resize and watched is self._tree.viewport():
            self.fit()
        return False

    def fit(self) -> None:
        """Narrow (or widen back) the Name column so Value keeps its minimum."""
        header = self._tree.header()
        others = sum(header.sectionSize(c) for c in range(header.count())
                     if c not in (self._name, self._value))
        room = self._tree.viewport().width() - others - self._value_min
        wanted = max(self._name_min, min(self._name_width, room))
        if wanted != header.sectionSize(self._name):
            header.resizeSection(self._name, wanted)
