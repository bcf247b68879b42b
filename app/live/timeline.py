"""The timeline of one session's HTTP exchange: every message in and out, paired.

:class:`Exchange` is one HTTP message, built from a live
:class:`~acs_engine.bus.WireMessage` or from a stored
:class:`~acs_engine.store.model.TraceEntry`. :class:`TimelineModel` shows one session's
messages in order and pairs each request with its response (whichever side asked: the ACS's
RPC and the CPE's answer, or the CPE's Inform and the ACS's InformResponse); the response's
row carries the round trip in milliseconds.
"""

from __future__ import annotations

import http
import time
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from acs_engine.bus import WireMessage
from acs_engine.cwmp import rpc
from acs_engine.store.model import TraceEntry

_ModelIndex = QModelIndex | QPersistentModelIndex

#: A session's timeline stops growing past this many rows (the engine's trace cap).
MAX_ROWS = 2000

COLUMNS: tuple[str, ...] = ("Time", "Direction", "RPC", "cwmp:ID", "Round trip", "HTTP", "Size")
COL_TIME, COL_DIRECTION, COL_RPC, COL_ID, COL_ROUND_TRIP, COL_STATUS, COL_SIZE = range(7)

#: Foreground colours: a SOAP Fault or HTTP error, a 401 challenge, the closing 204.
FAULT_COLOUR = QColor("#dc2626")
CHALLENGE_COLOUR = QColor("#b45309")
CLOSING_COLOUR = QColor("#2563eb")


@dataclass(slots=True)
class Exchange:
    """One HTTP message of a session.

    Attributes:
        at: when it was sent or received (seconds since the epoch).
        direction: "in" (from the CPE) or "out" (to the CPE).
        rpc: the SOAP method in the body, "" for an empty body.
        cwmp_id: the ``cwmp:ID`` header, or None.
        status: the HTTP status of an ACS response; None for a CPE's POST.
        headers: the HTTP headers.
        body: the raw body.
        pair: the row of its request or response once paired, else None.
        round_trip_ms: on a response's row: milliseconds since its request.
    """

    at: float
    direction: str
    rpc: str
    cwmp_id: str | None
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    pair: int | None = None
    round_trip_ms: float | None = None

    @classmethod
    def from_wire(cls, message: WireMessage) -> Exchange:
        """The exchange a live wire message describes."""
        return cls(
            message.at_ms / 1000.0, message.direction, message.rpc, message.cwmp_id, message.status,
            message.headers, message.body,
        )

    @classmethod
    def from_trace(cls, entry: TraceEntry) -> Exchange:
        """The exchange a stored trace entry describes."""
        return cls(
            entry.at_ms / 1000.0, entry.direction, entry.rpc, entry.cwmp_id, entry.status,
            entry.headers, entry.body,
        )

    @property
    def outgoing(self) -> bool:
        """True for a message the ACS sent."""
        return self.direction == "out"

    @property
    def is_request(self) -> bool:
        """True for an RPC request (either side's), as opposed to a response or empty body."""
        cls = rpc.BY_METHOD.get(self.rpc)
        return cls is not None and (cls.ACS_REQUEST or cls.CPE_REQUEST)

    @property
    def is_response(self) -> bool:
        """True for an RPC response or a SOAP Fault."""
        return self.rpc == "Fault" or (self.rpc.endswith("Response") and self.rpc != "")

    @property
    def is_fault(self) -> bool:
        """True for a SOAP Fault or an HTTP error status."""
        return self.rpc == "Fault" or (self.status is not None and self.status >= 400
                                       and self.status != 401)

    def rpc_label(self) -> str:
        """The RPC column's text: the method, or what an empty body means."""
        if self.rpc:
            return self.rpc
        if self.outgoing:
            return "(empty: session ends)" if self.status == 204 else "(empty)"
        return "(empty POST)"

    def direction_label(self) -> str:
        """``"→ CPE"`` for the ACS's messages, ``"← CPE"`` for the CPE's."""
        return "→ CPE" if self.outgoing else "← CPE"

    def status_label(self) -> str:
        """``"200 OK"``, ``"204 No Content"``, ``"401 Unauthorized"``; ``"POST"`` for a CPE's."""
        if self.status is None:
            return "POST" if not self.outgoing else ""
        try:
            return f"{self.status} {http.HTTPStatus(self.status).phrase}"
        except ValueError:
            return str(self.status)


def time_label(at: float) -> str:
    """``"14:03:07.215"``: local wall-clock time with milliseconds."""
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"


def size_label(size: int) -> str:
    """``"0 B"``, ``"812 B"``, ``"3.4 KB"``, ``"1.2 MB"``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


class TimelineModel(QAbstractTableModel):
    """One session's HTTP messages, oldest first, with request/response pairing.

    Fed by :meth:`append` (live wire messages of the shown session) or :meth:`show`
    (a stored trace, or the messages seen so far). Bounded to :data:`MAX_ROWS`.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        """An empty timeline; :meth:`show` picks the session."""
        super().__init__(parent)
        self._rows: list[Exchange] = []
        self._open: dict[str, int] = {}  # direction -> row of its unanswered request
        self._session_id: str | None = None

    # ------------------------------------------------------------------ content
    @property
    def session_id(self) -> str | None:
        """The session shown, or None."""
        return self._session_id

    def show(self, session_id: str | None, exchanges: Iterable[Exchange] = ()) -> None:
        """Show ``session_id`` with ``exchanges`` (pairing is recomputed)."""
        self.beginResetModel()
        self._session_id = session_id
        self._rows = []
        self._open = {}
        for exchange in exchanges:
            if len(self._rows) >= MAX_ROWS:
                break
            exchange.pair = None
            exchange.round_trip_ms = None
            self._rows.append(exchange)
            self._link(len(self._rows) - 1)
        self.endResetModel()

    def clear(self) -> None:
        """Show nothing."""
        self.show(None)

    def append(self, exchange: Exchange) -> bool:
        """Add the next message of the shown session; False when the timeline is full."""
        if len(self._rows) >= MAX_ROWS:
            return False
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(exchange)
        paired = self._link(row)
        self.endInsertRows()
        if paired is not None:
            self.dataChanged.emit(self.index(paired, 0), self.index(paired, len(COLUMNS) - 1))
        return True

    def append_wire(self, message: WireMessage) -> bool:
        """:meth:`append` a live message if it belongs to the shown session."""
        if message.session_id != self._session_id:
            return False
        return self.append(Exchange.from_wire(message))

    def _link(self, row: int) -> int | None:
        """Pair ``row`` with its request; returns the request's row when one was paired."""
        exchange = self._rows[row]
        if exchange.is_request:
            self._open[exchange.direction] = row
            return None
        if not exchange.is_response:
            return None
        asked_by = "in" if exchange.outgoing else "out"
        request_row = self._open.pop(asked_by, None)
        if request_row is None:
            return None
        request = self._rows[request_row]
        request.pair = row
        exchange.pair = request_row
        exchange.round_trip_ms = max(0.0, (exchange.at - request.at) * 1000.0)
        return request_row

    def exchange(self, row: int) -> Exchange:
        """The message at ``row``."""
        return self._rows[row]

    def exchanges(self) -> list[Exchange]:
        """Every message shown, oldest first."""
        return list(self._rows)

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """The number of messages (0 under any valid parent)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """The number of columns (0 under any valid parent)."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_ROUND_TRIP:
                return "From a request to its response, whichever side asked"
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Cell text, colours, alignment and tooltips."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        exchange = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(exchange, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if exchange.is_fault:
                return FAULT_COLOUR
            if exchange.status == 401:
                return CHALLENGE_COLOUR
            if exchange.status == 204:
                return CLOSING_COLOUR
            return None
        if role == Qt.ItemDataRole.FontRole and column == COL_RPC and exchange.is_request:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_ROUND_TRIP, COL_SIZE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(index.row(), exchange)
        return None

    def _text(self, exchange: Exchange, column: int) -> str:
        if column == COL_TIME:
            return time_label(exchange.at)
        if column == COL_DIRECTION:
            return exchange.direction_label()
        if column == COL_RPC:
            return exchange.rpc_label()
        if column == COL_ID:
            return exchange.cwmp_id or ""
        if column == COL_ROUND_TRIP:
            if exchange.round_trip_ms is None:
                return ""
            return f"{exchange.round_trip_ms:,.0f} ms"
        if column == COL_STATUS:
            return exchange.status_label()
        if column == COL_SIZE:
            return size_label(len(exchange.body))
        return ""

    def _tooltip(self, row: int, exchange: Exchange) -> str:
        lines = [f"{exchange.direction_label()}  {exchange.rpc_label()}"]
        if exchange.pair is not None:
            other = self._rows[exchange.pair]
            what = "answers" if exchange.pair < row else "answered by"
            lines.append(f"{what} row {exchange.pair + 1}: {other.rpc_label()}")
        if exchange.status == 401:
            lines.append("Authentication challenge: the CPE must repeat the POST with credentials")
        if exchange.status == 204 and exchange.outgoing:
            lines.append("The ACS has nothing more to send: the session closes")
        lines.extend(f"{name}: {masked_header(name, value)}" for name, value in exchange.headers)
        return "\n".join(lines)


def masked_header(name: str, value: str) -> str:
    """A header value safe to show: credentials keep only their scheme."""
    if name.lower() in ("authorization", "proxy-authorization"):
        scheme = value.split(" ", 1)[0] if value else ""
        return f"{scheme} ********".strip()
    return value
