"""The Devices page: every device in a lazily paged table, searched with the expression language.

:class:`DeviceTableModel` loads pages of :data:`PAGE_SIZE` devices as the view scrolls
(``canFetchMore``/``fetchMore``, each page an async query off the loop's critical path),
sorts and filters on the engine's side (:meth:`~acs_engine.console_api.ConsoleEngine.search_devices`), and follows ``DeviceUpdated``
events in batches (one query per burst). The search box takes a GenieACS expression
(``DeviceID.ProductClass = "SimGW-181" AND Tags.lab IS NOT NULL``) or a plain word, matched
against id, product class and serial number; an expression error is underlined where it
is, with the message and column below the box.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from acs_engine.console_api import ConsoleEngine, DeviceFilter, DeviceSummary, console_engine
from app.background import Background
from app.device_search import SYNTAX_HELP, Query, SearchField, SearchProblem, build_query
from app.migrate import install_move_action
from app.record_table import style_record_view
from app.timefmt import ago, exact, now_ms

__all__ = [
    "ONLINE_WINDOW_MS",
    "PAGE_SIZE",
    "DeviceTableModel",
    "DevicesPage",
    "Query",
    "SearchField",
    "SearchProblem",
    "build_query",
]

log = logging.getLogger("fieldacs.app")

_ModelIndex = QModelIndex | QPersistentModelIndex

#: Devices loaded per page.
PAGE_SIZE = 500
#: A device is shown online when its last Inform is this recent (GenieACS's 5 minutes).
ONLINE_WINDOW_MS = 5 * 60 * 1000


class DeviceTableModel(QAbstractTableModel):
    """Every device (or those matching a filter), loaded page by page.

    Signals:
        loaded(): a page (or the count) arrived; for tests and status text.
        loadFailed(str): a query failed (the message is shown to the user).
    """

    loaded = Signal()
    loadFailed = Signal(str)

    COLUMNS = (
        "Device", "Product class", "Software", "IP address", "Last inform", "Online", "Tags",
        "Faults",
    )
    (ID, PRODUCT_CLASS, SOFTWARE, ADDRESS, LAST_INFORM, ONLINE, TAGS, FAULTS) = range(8)
    _SORT_BY = ("id", "product_class", "software_version", "remote_address", "last_inform",
                "last_inform", "tags", "id")
    #: The device id (str).
    DeviceIdRole = Qt.ItemDataRole.UserRole + 1

    def __init__(
        self,
        engine: ConsoleEngine,
        *,
        is_live: Callable[[str], bool] = lambda _id: False,
        page_size: int = PAGE_SIZE,
        parent: QObject | None = None,
    ) -> None:
        """Show the ACS's devices; call :meth:`reload` to load the first page.

        Args:
            engine: the ACS.
            is_live: whether a device has a session right now (shown online).
            page_size: devices per page.
            parent: the owning QObject.
        """
        super().__init__(parent)
        self._engine = console_engine(engine)
        self._is_live = is_live
        self.page_size = page_size
        self.online_window_ms = ONLINE_WINDOW_MS
        #: Open faults per device id; whoever tracks faults fills it (see set_fault_counts).
        self.faults_by_device: dict[str, int] = {}
        self._rows: list[DeviceSummary] = []
        self._row_of: dict[str, int] = {}
        self._total = 0
        self._query = Query()
        self._sort_column = self.ID
        self._descending = False
        self._generation = 0
        self._loading: asyncio.Task[None] | None = None
        self._updated: set[str] = set()
        self._tasks = Background("refreshing devices")
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(200)
        self._update_timer.timeout.connect(self._flush_updates)
        self._muted = QBrush(QColor("#64748b"))
        self._online = QBrush(QColor("#16a34a"))
        self._fault = QBrush(QColor("#dc2626"))

    # ------------------------------------------------------------------ state
    @property
    def total(self) -> int:
        """Devices matching the filter (loaded or not)."""
        return self._total

    @property
    def query(self) -> Query:
        """The filter in force."""
        return self._query

    def loaded_count(self) -> int:
        """Rows loaded so far."""
        return len(self._rows)

    def busy(self) -> bool:
        """Whether a page or count is loading."""
        return self._loading is not None and not self._loading.done()

    async def wait_idle(self) -> None:
        """Wait until no load is in flight."""
        while self._loading is not None and not self._loading.done():
            await asyncio.wait({self._loading})

    def device_at(self, row: int) -> DeviceSummary | None:
        """The device on ``row`` (None outside the loaded rows)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, device_id: str) -> int:
        """The row of a loaded device, or -1."""
        return self._row_of.get(device_id, -1)

    def set_fault_counts(self, counts: dict[str, int]) -> None:
        """Show these open-fault counts (device id -> count)."""
        self.faults_by_device = dict(counts)
        if self._rows:
            self.dataChanged.emit(
                self.index(0, self.FAULTS), self.index(len(self._rows) - 1, self.FAULTS)
            )

    def is_online(self, device: DeviceSummary, now: int | None = None) -> bool:
        """A live session now, or an Inform within :attr:`online_window_ms`."""
        if self._is_live(device.id):
            return True
        if device.last_inform_ms is None:
            return False
        return (now_ms() if now is None else now) - device.last_inform_ms <= self.online_window_ms

    # ------------------------------------------------------------------ loading
    def set_query(self, query: Query) -> None:
        """Show only the devices matching ``query`` (reloads from the first page)."""
        self._query = query
        self.reload()

    @property
    def engine(self) -> ConsoleEngine:
        """The ACS this model shows."""
        return self._engine

    def reload(self) -> None:
        """Drop the loaded rows and load the count and the first page again."""
        self._generation += 1
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self.beginResetModel()
        self._rows = []
        self._row_of = {}
        self._total = 0
        self.endResetModel()
        self._start(self._load_first(self._generation))

    def _start(self, work: Any) -> None:
        self._loading = asyncio.ensure_future(work)
        self._loading.add_done_callback(self._report)

    def _report(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("loading devices failed: %s", exc)
            self.loadFailed.emit(str(exc))

    async def _page(self, offset: int) -> list[DeviceSummary]:
        q = self._query
        return await self._engine.search_devices(
            q.filter, limit=self.page_size, offset=offset,
            order_by=self._SORT_BY[self._sort_column], descending=self._descending,
        )

    async def _load_first(self, generation: int) -> None:
        total = await self._engine.count_devices(self._query.filter)
        rows = await self._page(0)
        if generation != self._generation:
            return
        self._total = max(total, len(rows))
        self._append(rows)
        self.loaded.emit()

    async def _load_more(self, generation: int, offset: int) -> None:
        rows = await self._page(offset)
        if generation != self._generation:
            return
        self._append([r for r in rows if r.id not in self._row_of])
        if len(rows) < self.page_size:
            self._total = len(self._rows)  # the end: devices may have been deleted meanwhile
        self.loaded.emit()

    def _append(self, rows: list[DeviceSummary]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        for row, device in enumerate(rows, first):
            self._row_of[device.id] = row
        self.endInsertRows()

    def canFetchMore(self, parent: _ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        """More devices match than are loaded."""
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: _ModelIndex = QModelIndex()) -> None:  # noqa: B008
        """Load the next page (asynchronously; rows appear when it arrives)."""
        if parent.isValid() or self.busy() or not self.canFetchMore(parent):
            return
        self._start(self._load_more(self._generation, len(self._rows)))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the database by ``column`` and reload."""
        if not 0 <= column < len(self.COLUMNS):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if column == self.ONLINE:
            descending = not descending  # online first = most recent inform first
        if (column, descending) == (self._sort_column, self._descending) and self._rows:
            return
        self._sort_column, self._descending = column, descending
        self.reload()

    def shutdown(self) -> None:
        """Stop loading (the window is closing): the update batch and every store read."""
        self._update_timer.stop()
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self._tasks.cancel()

    # ------------------------------------------------------------------ updates
    def device_updated(self, device_id: str) -> None:
        """A device changed or was registered: refresh it (batched, within 200 ms)."""
        self._updated.add(device_id)
        if not self._update_timer.isActive():
            self._update_timer.start()

    def _flush_updates(self) -> None:
        ids, self._updated = self._updated, set()
        if ids:
            self._tasks.spawn(self._apply_updates(ids, self._generation))

    async def _apply_updates(self, ids: set[str], generation: int) -> None:
        try:
            found = await self._engine.devices_by_id(ids, self._query.filter)
        except Exception as exc:
            log.error("refreshing devices failed: %s", exc)
            return
        if generation != self._generation:
            return
        # Deleted, or no longer matching the search: the row goes.
        gone = sorted((self._row_of[d] for d in ids if d in self._row_of and d not in found),
                      reverse=True)
        for index in gone:
            self.beginRemoveRows(QModelIndex(), index, index)
            del self._rows[index]
            self.endRemoveRows()
        if gone:
            self._row_of = {device.id: index for index, device in enumerate(self._rows)}
            self._total = max(0, self._total - len(gone))
        new: list[DeviceSummary] = []
        for device_id in sorted(ids):
            row = self._row_of.get(device_id)
            device = found.get(device_id)
            if row is not None and device is not None:
                self._rows[row] = device
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))
            elif row is None and device is not None:
                new.append(device)
        if not new:
            if gone:
                self.loaded.emit()  # the count changed
            return
        fully_loaded = len(self._rows) >= self._total
        self._total += len(new)
        if fully_loaded:
            self._append(new)
        self.loaded.emit()

    # ------------------------------------------------------------------ model interface
    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Loaded rows."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """The eight columns."""
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles and their explanations."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == self.ONLINE:
            minutes = self.online_window_ms // 60000
            return f"In a session now, or informed within the last {minutes} min"
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text, tooltips and colours."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        device = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(device, column)
        if role == self.DeviceIdRole:
            return device.id
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.LAST_INFORM:
                return exact(device.last_inform_ms) or "Never informed"
            if column == self.ID:
                return (f"{device.id}\nSerial {device.serial_number} · OUI {device.oui}\n"
                        f"{device.param_count} parameters stored")
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == self.ONLINE:
                return self._online if self.is_online(device) else self._muted
            if column == self.FAULTS and self.faults_by_device.get(device.id):
                return self._fault
            if column in (self.LAST_INFORM, self.TAGS):
                return self._muted
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.FAULTS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, device: DeviceSummary, column: int) -> str:
        if column == self.ID:
            return device.id
        if column == self.PRODUCT_CLASS:
            return device.product_class
        if column == self.SOFTWARE:
            return device.software_version
        if column == self.ADDRESS:
            return device.remote_address
        if column == self.LAST_INFORM:
            return ago(device.last_inform_ms) or "never"
        if column == self.ONLINE:
            return "● online" if self.is_online(device) else "○ offline"
        if column == self.TAGS:
            return ", ".join(sorted(device.tags))
        if column == self.FAULTS:
            return str(self.faults_by_device.get(device.id, 0))
        return ""


class DevicesPage(QWidget):
    """The search box, the device count and the device table.

    Signals:
        deviceActivated(str): a device was double-clicked (or Enter pressed on it).
        currentDeviceChanged(str): the selected device ("" for none).
    """

    deviceActivated = Signal(str)
    currentDeviceChanged = Signal(str)

    def __init__(self, model: DeviceTableModel, parent: QWidget | None = None) -> None:
        """Show ``model``."""
        super().__init__(parent)
        self.setObjectName("devicesPage")
        self.model = model
        self.search = SearchField()
        self.search.setObjectName("deviceSearch")
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText("Search: a word or an expression (syntax: ? button)")
        self.search.returnPressed.connect(self.apply_search)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(350)
        self._debounce.timeout.connect(self.apply_search)
        self.search.textEdited.connect(lambda _text: self._debounce.start())
        self.message = QLabel()
        self.message.setObjectName("searchMessage")
        self.message.setWordWrap(True)
        self.count = QLabel()
        self.count.setObjectName("deviceCount")
        self.count.setStyleSheet("color: #475569;")

        self.table = QTableView()
        self.table.setObjectName("deviceTable")
        self.table.setModel(model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(DeviceTableModel.ID, Qt.SortOrder.AscendingOrder)
        style_record_view(self.table, row_height=26)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((260, 120, 110, 120, 110, 90, 140, 60)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(DeviceTableModel.TAGS, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._on_activated)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        open_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Return), self.table)
        open_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        open_shortcut.activated.connect(lambda: self._on_activated(self.table.currentIndex()))
        # "Move these devices to another ACS…" (app/migrate.py) on the selected rows.
        self.move_action = install_move_action(
            self.table, lambda: model.engine, self.selected_devices
        )

        self.help_button = QToolButton()
        self.help_button.setObjectName("searchHelpButton")
        self.help_button.setText("?")
        self.help_button.setToolTip("Search syntax and examples")
        self.help_button.clicked.connect(self.show_syntax_help)
        self.help_box: QMessageBox | None = None
        self._invalid = False

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.help_button)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        self._set_message("")
        model.loaded.connect(self._update_count)
        model.modelReset.connect(self._update_count)
        model.loadFailed.connect(self._on_load_failed)
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)  # "3 min ago" and online state age
        self._clock.timeout.connect(self.table.viewport().update)
        self._clock.start()

    def current_device(self) -> str:
        """The selected device id ("" for none)."""
        index = self.table.currentIndex()
        if not index.isValid():
            return ""
        return str(index.data(DeviceTableModel.DeviceIdRole) or "")

    def selected_devices(self) -> list[str]:
        """The ids of the selected devices, in table order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [d.id for r in rows if (d := self.model.device_at(r)) is not None]

    def apply_search(self) -> None:
        """Filter by the search box's text (errors are shown, the filter is kept)."""
        self._debounce.stop()
        result = build_query(self.search.text())
        if isinstance(result, SearchProblem):
            self.search.show_error(result.position, result.text)
            self._set_message(result.text, error=True)
            self._invalid = True
            self.count.setText("search not applied")
            return
        self.search.clear_error()
        self._invalid = False
        if result.hint:
            self._set_message(result.hint, error=True)
        elif result.label.startswith("contains"):
            self._set_message(f"Plain text search: id, product class, serial, software, "
                              f"address or tags {result.label}.")
        else:
            self._set_message("")
        if result == self.model.query:
            self._update_count()
        else:
            self.model.set_query(result)

    @Slot(str)
    def _on_load_failed(self, text: str) -> None:
        self._set_message(f"Could not load devices: {text}", error=True)

    def _set_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b91c1c;" if error else "color: #475569;")
        self.message.setVisible(bool(text))

    def show_syntax_help(self) -> None:
        """The search syntax, with examples, in a small non-modal dialog."""
        box = QMessageBox(QMessageBox.Icon.Information, "Searching devices", SYNTAX_HELP,
                          QMessageBox.StandardButton.Close, self)
        box.setObjectName("searchHelp")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        self.help_box = box

    def _update_count(self) -> None:
        if self._invalid:
            return
        model = self.model
        total = model.total
        word = "device" if total == 1 else "devices"
        shown = f"{total} {word}"
        if model.query.filter != DeviceFilter():
            shown += " match"
        if model.loaded_count() < total:
            shown += f" · {model.loaded_count()} loaded"
        self.count.setText(shown)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.deviceActivated.emit(str(index.data(DeviceTableModel.DeviceIdRole)))

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        device = str(current.data(DeviceTableModel.DeviceIdRole) or "") if current.isValid() else ""
        self.currentDeviceChanged.emit(device)
