"""A read-only table model over a list of records, described by its columns.

Each :class:`Column` says its header and how to read a cell from a record (the text, and
optionally its tooltip, alignment and colour). :class:`RecordTableModel` does the rest:
row and column counts, header data, the roles; a model reset when the records are replaced
wholesale (:meth:`RecordTableModel.set_records`), and row insertion, removal and in-place
change for lists that grow and shrink a line at a time (:meth:`~RecordTableModel.insert`,
:meth:`~RecordTableModel.remove`, :meth:`~RecordTableModel.replace`). The faults panel, the
presets panel, the dry-run dialog, the activity list and the CPE-logins table build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

R = TypeVar("R")
_Index = QModelIndex | QPersistentModelIndex
#: Right-aligned and vertically centred (numbers).
ALIGN_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """One column: its header and how a record shows in it.

    Attributes:
        header: the horizontal header text.
        value: the cell's text (DisplayRole).
        tooltip: the cell's tooltip; None: the model's default (none, or the value).
        alignment: the cell's alignment; None: the view's default.
        colour: the cell's text colour (None from it, or no function: the default).
    """

    header: str
    value: Callable[[R], Any]
    tooltip: Callable[[R], Any] | None = None
    alignment: Qt.AlignmentFlag | None = None
    colour: Callable[[R], QColor | None] | None = None


class RecordTableModel(QAbstractTableModel, Generic[R]):
    """Records as rows, one :class:`Column` a column; flat and read-only."""

    def __init__(
        self,
        columns: Sequence[Column[R]],
        parent: QObject | None = None,
        *,
        value_tooltips: bool = False,
    ) -> None:
        """Make an empty model.

        Args:
            columns: the columns, in order.
            parent: the parent object.
            value_tooltips: a column without a tooltip function shows its value as tooltip.
        """
        super().__init__(parent)
        self.columns: tuple[Column[R], ...] = tuple(columns)
        self._value_tooltips = value_tooltips
        self._records: list[R] = []

    def set_records(self, records: Iterable[R]) -> None:
        """Show ``records`` (in their order), resetting the model."""
        self.beginResetModel()
        self._records = list(records)
        self.endResetModel()

    def insert(self, row: int, records: Sequence[R]) -> None:
        """Insert ``records`` before ``row`` (``row == rowCount()`` appends); no reset."""
        if not records:
            return
        row = max(0, min(row, len(self._records)))
        self.beginInsertRows(QModelIndex(), row, row + len(records) - 1)
        self._records[row:row] = list(records)
        self.endInsertRows()

    def remove(self, row: int, count: int = 1) -> None:
        """Remove ``count`` rows from ``row`` (rows that do not exist are ignored); no reset."""
        last = min(row + count, len(self._records)) - 1
        if row < 0 or last < row:
            return
        self.beginRemoveRows(QModelIndex(), row, last)
        del self._records[row:last + 1]
        self.endRemoveRows()

    def replace(self, row: int, record: R) -> None:
        """Show ``record`` in ``row`` instead (every cell of the row changes)."""
        if 0 <= row < len(self._records):
            self._records[row] = record
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def clear(self) -> None:
        """Remove every row (as a removal, not a reset)."""
        self.remove(0, len(self._records))

    def records(self) -> list[R]:
        """The records shown, in row order (a copy)."""
        return list(self._records)

    def record(self, row: int) -> R | None:
        """The record of ``row`` (None when there is no such row)."""
        return self._records[row] if 0 <= row < len(self._records) else None

    def find(self, predicate: Callable[[R], bool]) -> int:
        """The first row whose record satisfies ``predicate`` (-1 when none does)."""
        return next((i for i, r in enumerate(self._records) if predicate(r)), -1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.columns):
            return self.columns[section].header
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        record = self.record(index.row()) if index.isValid() else None
        if record is None or not 0 <= index.column() < len(self.columns):
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.value(record)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.tooltip is not None:
                return column.tooltip(record)
            return column.value(record) if self._value_tooltips else None
        if role == Qt.ItemDataRole.ForegroundRole and column.colour is not None:
            return column.colour(record)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.alignment is not None:
            return int(column.alignment)
        return None
