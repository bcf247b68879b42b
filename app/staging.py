"""Staged changes of one device: reviewed in a list, committed together, followed to the end.

A technician's edits are :mod:`acs_engine.services.commands` commands. They are *staged*
(nothing is sent), shown in the review list, then committed: :class:`CommandSender` turns
them into RPCs on the engine's manual queue (:func:`~acs_engine.services.commands.plan`);
each command is *pending* until the device's session answers it, then *done* or *faulted*
with the CPE's fault code and text. When tasks run in the engine, only
:meth:`CommandSender.commit` changes (``commands.to_tasks`` + ``store.add_task``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from acs_engine.bus import SessionEnded, WireMessage
from acs_engine.cwmp import rpc
from acs_engine.services import commands as cmd
from acs_engine.services.commands import Command, SetValue
from acs_engine.session.handler import RpcQueue
from acs_engine.store.model import Param
from app.bridge import EngineBridge

log = logging.getLogger("fieldacs.app")

_ModelIndex = QModelIndex | QPersistentModelIndex

STAGED, PENDING, DONE, FAULTED = "staged", "pending", "done", "faulted"

_STATE_COLOURS = {STAGED: "#1d4ed8", PENDING: "#d97706", DONE: "#16a34a", FAULTED: "#dc2626"}
_STATE_WORDS = {STAGED: "Staged", PENDING: "Pending…", DONE: "Done", FAULTED: "Faulted"}


@dataclass(slots=True, eq=False)
class StagedEntry:
    """One command in the review list.

    Attributes:
        command: what to do.
        state: ``"staged"``, ``"pending"``, ``"done"`` or ``"faulted"``.
        message: the outcome in words (empty while staged).
        waiting: ids of the RPCs whose answers are still awaited.
        answers: how many decisive answers arrived.
    """

    command: Command
    state: str = STAGED
    message: str = ""
    waiting: set[int] = field(default_factory=set)
    answers: int = 0


class StagedChanges(QAbstractTableModel):
    """The review list of one device's commands: what, and its state.

    Signals:
        changed(): commands were staged, removed, or changed state.
    """

    changed = Signal()

    COLUMNS = ("Change", "Status")

    def __init__(self, parent: QObject | None = None) -> None:
        """Start empty."""
        super().__init__(parent)
        self._entries: list[StagedEntry] = []

    # ------------------------------------------------------------------ content
    def entries(self) -> list[StagedEntry]:
        """Every entry, in staging order."""
        return list(self._entries)

    def staged_entries(self) -> list[StagedEntry]:
        """Entries not sent yet."""
        return [e for e in self._entries if e.state == STAGED]

    def staged_commands(self) -> list[Command]:
        """The commands not sent yet."""
        return [e.command for e in self.staged_entries()]

    def has_staged(self) -> bool:
        """Whether anything waits for Commit."""
        return any(e.state == STAGED for e in self._entries)

    def has_pending(self) -> bool:
        """Whether anything was sent and is not answered yet."""
        return any(e.state == PENDING for e in self._entries)

    def stage(self, command: Command) -> None:
        """Add a command; a new value for a path replaces its still-staged value, and an
        identical staged command is not added twice."""
        for row, entry in enumerate(self._entries):
            if entry.state != STAGED:
                continue
            same_path = (
                isinstance(command, SetValue)
                and isinstance(entry.command, SetValue)
                and entry.command.path == command.path
            )
            if same_path or entry.command == command:
                entry.command = command
                self.dataChanged.emit(self.index(row, 0), self.index(row, 1))
                self.changed.emit()
                return
        self.beginInsertRows(QModelIndex(), len(self._entries), len(self._entries))
        self._entries.append(StagedEntry(command))
        self.endInsertRows()
        self.changed.emit()

    def remove_rows(self, rows: list[int]) -> None:
        """Remove the given rows (staged or finished ones; pending ones stay)."""
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._entries) and self._entries[row].state != PENDING:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._entries[row]
                self.endRemoveRows()
        self.changed.emit()

    def discard(self) -> None:
        """Remove every staged (unsent) command."""
        self.remove_rows([r for r, e in enumerate(self._entries) if e.state == STAGED])

    def clear_finished(self) -> None:
        """Remove done and faulted commands."""
        self.remove_rows([r for r, e in enumerate(self._entries) if e.state in (DONE, FAULTED)])

    def set_state(self, entry: StagedEntry, state: str, message: str = "") -> None:
        """Move an entry to another state."""
        entry.state = state
        entry.message = message
        if entry in self._entries:
            row = self._entries.index(entry)
            self.dataChanged.emit(self.index(row, 0), self.index(row, 1))
        self.changed.emit()

    def overlay(self) -> dict[str, tuple[str, str]]:
        """Values to show in the tree: path -> (value, "staged" | "pending")."""
        shown: dict[str, tuple[str, str]] = {}
        for entry in self._entries:
            if isinstance(entry.command, SetValue) and entry.state in (STAGED, PENDING):
                shown[entry.command.path] = (entry.command.value, entry.state)
        return shown

    # ------------------------------------------------------------------ model interface
    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """One row per command."""
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Change and status."""
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section] if 0 <= section < len(self.COLUMNS) else None
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The command in words and its state (coloured), with the outcome as tooltip."""
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return cmd.describe(entry.command)
            words = _STATE_WORDS[entry.state]
            return f"{words}: {entry.message}" if entry.message else words
        if role == Qt.ItemDataRole.ToolTipRole:
            return entry.message or cmd.describe(entry.command)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            return QBrush(QColor(_STATE_COLOURS[entry.state]))
        return None


class CommandQueue(Protocol):
    """Where committed RPCs go (the engine's manual queue fits)."""

    results: dict[str, list[tuple[rpc.Message, rpc.Message]]]

    def put(self, device_id: str, message: rpc.Message, *, hold_requests: bool = False) -> None:
        """Queue an RPC for the device's next session."""
        ...

    def pending(self, device_id: str) -> int:
        """RPCs still queued for the device."""
        ...


class CommandSender(QObject):
    """Commits one device's staged commands and follows them until the CPE answered.

    Answers are read from the queue's ``results`` whenever a message of the device's
    session arrives and when the session ends; a session that ends with our RPCs taken
    but unanswered faults them.

    Signals:
        committed(int): this many commands were sent (queued for the next session).
        settled(): every sent command is done or faulted.
    """

    committed = Signal(int)
    settled = Signal()

    def __init__(
        self,
        queue: RpcQueue | CommandQueue,
        device_id: str,
        changes: StagedChanges,
        bridge: EngineBridge,
        parent: QObject | None = None,
    ) -> None:
        """Follow ``device_id``'s sessions through ``bridge``."""
        super().__init__(parent)
        self._queue = queue
        self._device_id = device_id
        self._changes = changes
        self._sent: dict[int, tuple[rpc.Message, list[tuple[StagedEntry, bool]]]] = {}
        self._seen = 0
        self._parameter_keys = 0
        bridge.wireMessage.connect(self._on_wire)
        bridge.sessionEnded.connect(self._on_session_ended)

    @property
    def device_id(self) -> str:
        """The device whose commands are sent."""
        return self._device_id

    def commit(self, params: dict[str, Param]) -> int:
        """Queue the staged commands' RPCs; they are pending from now on.

        Args:
            params: the device's stored parameters (for the values' types).

        Returns:
            How many commands were sent.
        """
        entries = self._changes.staged_entries()
        if not entries:
            return 0
        self._parameter_keys += 1
        planned = cmd.plan([e.command for e in entries], params)
        self._seen = len(self._queue.results.get(self._device_id, []))
        for item in planned:
            targets = [(entries[i], item.follow_up) for i in item.commands]
            self._sent[id(item.message)] = (item.message, targets)
            for entry, follow_up in targets:
                if not follow_up:
                    entry.waiting.add(id(item.message))
            self._queue.put(self._device_id, item.message)
        for entry in entries:
            self._changes.set_state(entry, PENDING, "sent with the next session")
        log.info("device %s: %d command(s) queued as %d RPC(s)",
                 self._device_id, len(entries), len(planned))
        self.committed.emit(len(entries))
        return len(entries)

    def check(self) -> None:
        """Read answers that arrived; settle the commands they decide."""
        results = self._queue.results.get(self._device_id, [])
        if len(results) < self._seen:
            self._seen = 0
        for request, response in results[self._seen :]:
            sent = self._sent.pop(id(request), None)
            if sent is None or sent[0] is not request:
                continue
            for entry, follow_up in sent[1]:
                self._answer(entry, request, response, follow_up)
        self._seen = len(results)
        if not self._sent and not self._changes.has_pending():
            self.settled.emit()

    def _answer(
        self, entry: StagedEntry, request: rpc.Message, response: rpc.Message, follow_up: bool
    ) -> None:
        if entry.state != PENDING or follow_up:
            return
        entry.waiting.discard(id(request))
        result = cmd.outcome(entry.command, request, response)
        if not result.ok:
            entry.waiting.clear()
            self._changes.set_state(entry, FAULTED, result.message)
        elif not entry.waiting:
            self._changes.set_state(entry, DONE, result.message)

    def _on_wire(self, event: WireMessage) -> None:
        if event.device_id == self._device_id and self._sent:
            self.check()

    def _on_session_ended(self, event: SessionEnded) -> None:
        if event.device_id != self._device_id or not self._sent:
            return
        self.check()
        if not self._sent or self._queue.pending(self._device_id):
            return  # answered, or still queued for the next session
        why = event.outcome if not event.detail else f"{event.outcome}: {event.detail}"
        for _, targets in self._sent.values():
            for entry, _ in targets:
                if entry.state == PENDING:
                    self._changes.set_state(
                        entry, FAULTED, f"the session ended ({why}) before the device answered"
                    )
        self._sent.clear()
        self.settled.emit()
