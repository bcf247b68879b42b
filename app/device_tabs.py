"""The device view's side tabs that only show and pick: tags, stored sessions and faults.

:class:`~app.device_view.DeviceView` builds these, feeds them what it loaded from the store
and acts on their signals (writing tags, opening a session); they hold no engine or store
themselves. The "Changes" tab stays in the device view, which owns the staging.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QRegularExpression, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from acs_engine.store.model import SessionRecord
from acs_engine.store.records import Fault
from app.faults_panel import FaultTableModel
from app.timefmt import exact

#: The fault model's Device and Message columns.
_DEVICE_COLUMN, _MESSAGE_COLUMN = 0, 3


class TagsTab(QWidget):
    """A device's tags, a box to add one and a button to remove the selected ones.

    Signals:
        addRequested(str): a tag was typed and added (Return or "Add"), trimmed, non-empty.
        removeRequested(list): "Remove" was clicked with these tags selected (non-empty).
    """

    addRequested = Signal(str)
    removeRequested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the empty tab; :meth:`show_tags` fills it."""
        super().__init__(parent)
        self.tag_list = QListWidget()
        self.tag_list.setObjectName("tagList")
        self.tag_input = QLineEdit()
        self.tag_input.setObjectName("tagInput")
        self.tag_input.setPlaceholderText("New tag")
        self.tag_input.returnPressed.connect(self._add_tag)
        add = QPushButton("Add")
        add.clicked.connect(self._add_tag)
        self.remove_tag_button = QPushButton("Remove")
        self.remove_tag_button.clicked.connect(self._remove_tags)
        row = QHBoxLayout()
        row.addWidget(self.tag_input, 1)
        row.addWidget(add)
        row.addWidget(self.remove_tag_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 8, 0, 0)
        box.addWidget(self.tag_list, 1)
        box.addLayout(row)

    def show_tags(self, tags: Iterable[str]) -> None:
        """List ``tags``, sorted."""
        self.tag_list.clear()
        for tag in sorted(tags):
            self.tag_list.addItem(QListWidgetItem(tag))

    def _add_tag(self) -> None:
        tag = self.tag_input.text().strip()
        if tag:
            self.tag_input.clear()
            self.addRequested.emit(tag)

    def _remove_tags(self) -> None:
        tags = [item.text() for item in self.tag_list.selectedItems()]
        if tags:
            self.removeRequested.emit(tags)


class SessionList(QTreeWidget):
    """A device's stored sessions, newest first as given.

    Signals:
        sessionChosen(str): a session was double-clicked (its id).
    """

    sessionChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the empty list; :meth:`show_sessions` fills it."""
        super().__init__(parent)
        self.setObjectName("deviceSessions")
        self.setHeaderLabels(["Started", "Outcome", "RPCs", "Events"])
        self.setRootIsDecorated(False)
        self.itemDoubleClicked.connect(self._on_session_item)
        for column in range(3):  # the date and time are never cut off
            self.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

    def show_sessions(self, sessions: Sequence[SessionRecord]) -> None:
        """List ``sessions`` in the order given."""
        self.clear()
        for record in sessions:
            item = QTreeWidgetItem([
                exact(record.started_ms), record.outcome or "running", str(record.rpc_count),
                ", ".join(record.events),
            ])
            item.setData(0, Qt.ItemDataRole.UserRole, record.id)
            item.setToolTip(1, record.detail or record.outcome)
            self.addTopLevelItem(item)

    def _on_session_item(self, item: QTreeWidgetItem, _column: int) -> None:
        session_id = item.data(0, Qt.ItemDataRole.UserRole)
        if session_id:
            self.sessionChosen.emit(str(session_id))


class FaultsTab(QWidget):
    """A device's recorded faults, or "No faults recorded" when there are none.

    The rows are the faults panel's :class:`~app.faults_panel.FaultTableModel` (one row per
    failure, however many channels it was stored on), shown through a
    :class:`QSortFilterProxyModel` that keeps this device's rows; the Device column is hidden.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the empty tab; :meth:`show_faults` fills it."""
        super().__init__(parent)
        self.model = FaultTableModel(parent=self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(_DEVICE_COLUMN)
        self.table = QTreeView()
        self.table.setObjectName("deviceFaults")
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setModel(self.proxy)
        self.table.hideColumn(_DEVICE_COLUMN)
        header = self.table.header()
        for column in range(self.model.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_MESSAGE_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.no_faults = QLabel("No faults recorded")
        self.no_faults.setObjectName("noFaults")
        self.no_faults.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_faults.setStyleSheet("color: #64748b;")
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 8, 0, 0)
        box.addWidget(self.no_faults)
        box.addWidget(self.table, 1)
        self.table.hide()

    def show_faults(
        self, faults: Sequence[Fault], device_id: str = "", retry_delay_ms: int | None = None
    ) -> None:
        """List ``faults`` of ``device_id`` (every device's rows when it is "").

        One failure stored on several channels (GenieACS's model) is one row listing them.
        """
        if retry_delay_ms is not None:
            self.model.retry_delay_ms = retry_delay_ms
        self.proxy.setFilterRegularExpression(
            QRegularExpression(f"^{QRegularExpression.escape(device_id)}$") if device_id
            else QRegularExpression()
        )
        self.model.set_faults(list(faults))
        shown = self.count()
        self.table.setVisible(bool(shown))
        self.no_faults.setVisible(not shown)

    def count(self) -> int:
        """The rows shown (failures, not stored faults)."""
        return self.proxy.rowCount()

    @staticmethod
    def title(count: int) -> str:
        """The tab's title for ``count`` faults."""
        return f"Faults ({count})" if count else "Faults"
