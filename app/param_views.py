"""The views' side of the parameter tree: the filter proxy and the value editor.

:class:`ParamFilterProxy` shows the parameters whose path or value contains a text, with
their ancestors (the matches are :meth:`~app.params_model.ParamTreeModel.matching_paths`).
:class:`ParamValueDelegate` edits a value (a list for booleans and enumerations, a line
otherwise) and checks it with :meth:`~app.params_model.ParamTreeModel.validate` first.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from acs_engine.datamodel import facts
from app.params_model import ParamTreeModel, is_secret

_ModelIndex = QModelIndex | QPersistentModelIndex


class ParamFilterProxy(QSortFilterProxyModel):
    """Shows only the parameters whose path or value contains a text, with their ancestors."""

    def __init__(self, parent: QObject | None = None) -> None:
        """Start unfiltered."""
        super().__init__(parent)
        self._visible: set[str] | None = None
        self._text = ""

    @property
    def text(self) -> str:
        """The current filter text."""
        return self._text

    def match_count(self) -> int:
        """How many nodes match (with ancestors); -1 when unfiltered."""
        return -1 if self._visible is None else len(self._visible)

    def set_text(self, text: str) -> None:
        """Filter by ``text`` (empty: show everything)."""
        source = self.sourceModel()
        self._text = text.strip()
        self.beginFilterChange()
        if not self._text or not isinstance(source, ParamTreeModel):
            self._visible = None
        else:
            self._visible = source.matching_paths(self._text)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def refilter(self) -> None:
        """Recompute the matches (after the source's content changed)."""
        self.set_text(self._text)

    def filterAcceptsRow(self, source_row: int, source_parent: _ModelIndex) -> bool:
        """Rows in the match set (everything when unfiltered)."""
        if self._visible is None:
            return True
        source = self.sourceModel()
        index = source.index(source_row, 0, source_parent)
        return str(index.data(ParamTreeModel.PathRole)) in self._visible


class ParamValueDelegate(QStyledItemDelegate):
    """Edits a parameter value: a list for booleans and enumerations, a line otherwise.

    Checks the value with :meth:`ParamTreeModel.validate` before it reaches the model; a
    refused value is announced and not staged.

    Signals:
        rejected(str, str): (path, reason) an entered value failed the check.
    """

    rejected = Signal(str, str)

    def __init__(self, tree: ParamTreeModel, parent: QObject | None = None) -> None:
        """Check values against ``tree``'s parameters."""
        super().__init__(parent)
        self._tree = tree

    @staticmethod
    def choices(path: str) -> list[str]:
        """The values to pick from for ``path`` (empty: free text)."""
        known = facts.lookup(path)
        if not isinstance(known, facts.ParamFacts) or known.list is not None:
            return []
        if known.type == "boolean":
            return ["true", "false"]
        hidden = set(known.readonly_enumerations)
        return [value for value in known.enumerations if value not in hidden]

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: _ModelIndex
    ) -> QWidget:
        """A combo box for enumerations and booleans, else a line edit."""
        path = str(index.data(ParamTreeModel.PathRole))
        options = self.choices(path)
        if options:
            combo = QComboBox(parent)
            combo.setObjectName("paramValueEditor")
            combo.addItems(options)
            return combo
        line = QLineEdit(parent)
        line.setObjectName("paramValueEditor")
        if is_secret(path):
            line.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
            line.setPlaceholderText("new secret")
        return line

    def setEditorData(self, editor: QWidget, index: _ModelIndex) -> None:
        """Start from the current (or staged) value."""
        text = str(index.data(Qt.ItemDataRole.EditRole) or "")
        if isinstance(editor, QComboBox):
            found = editor.findText(text)
            editor.setCurrentIndex(max(found, 0))
        elif isinstance(editor, QLineEdit):
            editor.setText(text)
            editor.selectAll()

    def setModelData(
        self, editor: QWidget, model: QAbstractItemModel, index: _ModelIndex
    ) -> None:
        """Hand a valid value to the model; announce an invalid one instead."""
        if isinstance(editor, QComboBox):
            text = editor.currentText()
        elif isinstance(editor, QLineEdit):
            text = editor.text()
        else:
            return
        path = str(index.data(ParamTreeModel.PathRole))
        if text == str(index.data(Qt.ItemDataRole.EditRole) or "") and not is_secret(path):
            return  # unchanged
        problem = self._tree.validate(path, text)
        if problem is not None:
            self.rejected.emit(path, problem)
            return
        model.setData(index, text, Qt.ItemDataRole.EditRole)
