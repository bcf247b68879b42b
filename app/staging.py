"""Staged changes of one device: reviewed in a list, committed together, followed to the end.

A technician's edits are :mod:`acs_engine.admin.commands` commands. They are *staged*
(nothing is sent), shown in the review list, then committed: :class:`CommandSender` turns
them into GenieACS tasks (:func:`~acs_engine.admin.commands.to_tasks`), queues them with
``store.add_task`` and wakes the device with a connection request. Each command is *pending*
until a session of the device has run its task: *done* when the task is gone from the queue
and its channel (``task_<id>``) has no fault, *faulted* with the fault's code and text when
it has one. A set value that the same session's presets set back is *done* with the words
"Set, then overwritten by preset X" (see :mod:`app.managed`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor

from acs_engine.admin import commands as cmd
from acs_engine.admin.commands import (
    AddInstance,
    Command,
    DeleteInstance,
    RefreshSubtree,
    SetValue,
    StagedState,
)
from acs_engine.bus import TaskFinished
from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.policy.presets import PresetSetting
from acs_engine.remote.errors import CommandQueued, StagedCommandSent
from acs_engine.session.coerce import sanitize
from acs_engine.store.model import Param
from app.background import Background
from app.bridge import EngineBridge

log = logging.getLogger("fieldacs.app")

_ModelIndex = QModelIndex | QPersistentModelIndex

STAGED, PENDING, DONE, FAULTED = (
    StagedState.STAGED, StagedState.PENDING, StagedState.DONE, StagedState.FAULTED
)

_STATE_COLOURS = {STAGED: "#1d4ed8", PENDING: "#d97706", DONE: "#16a34a", FAULTED: "#dc2626"}
_STATE_WORDS = {STAGED: "Staged", PENDING: "Pending…", DONE: "Done", FAULTED: "Faulted"}


@dataclass(slots=True, eq=False)
class StagedEntry:
    """One command in the review list.

    Attributes:
        command: what to do.
        state: a :class:`~acs_engine.admin.commands.StagedState`.
        message: the outcome in words (empty while staged).
        waiting: ids of the queued tasks that carry it and are not finished yet.
        managed_by: the preset that would set this value back (a SetValue only), when
            known (:class:`app.managed.PresetGuard`).
        overwritten: done, but the device's value afterwards is not the one set.
    """

    command: Command
    state: StagedState = STAGED
    message: str = ""
    waiting: set[str] = field(default_factory=set)
    managed_by: PresetSetting | None = None
    overwritten: bool = False


class StagedChanges(QAbstractTableModel):
    """The review list of one device's commands: what, and its state.

    Signals:
        changed(): commands were staged, removed, or changed state.
        managedChanged(): the preset known to set a staged value back changed.
    """

    changed = Signal()
    managedChanged = Signal()

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
                if entry.command != command:
                    entry.managed_by = None  # a new value: checked again
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

    def set_state(self, entry: StagedEntry, state: StagedState, message: str = "") -> None:
        """Move an entry to another state."""
        entry.state = state
        entry.message = message
        if entry in self._entries:
            row = self._entries.index(entry)
            self.dataChanged.emit(self.index(row, 0), self.index(row, 1))
        self.changed.emit()

    def set_managed(self, entry: StagedEntry, setting: PresetSetting | None) -> None:
        """Note the preset that would set ``entry``'s value back (None: none does)."""
        if entry.managed_by == setting:
            return
        entry.managed_by = setting
        if entry in self._entries:
            row = self._entries.index(entry)
            self.dataChanged.emit(self.index(row, 0), self.index(row, 1))
        self.managedChanged.emit()

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
            if entry.state == STAGED and entry.managed_by is not None:
                return f"{words} — ⚠ preset {entry.managed_by.preset} sets it back to " \
                    f"{entry.managed_by.value}"
            return f"{words}: {entry.message}" if entry.message else words
        if role == Qt.ItemDataRole.ToolTipRole:
            if entry.state == STAGED and entry.managed_by is not None:
                return entry.managed_by.words[0].upper() + entry.managed_by.words[1:] + "."
            return entry.message or cmd.describe(entry.command)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            warn = entry.overwritten or (entry.state == STAGED and entry.managed_by is not None)
            return QBrush(QColor("#b45309" if warn else _STATE_COLOURS[entry.state]))
        return None


#: Wakes a device after its tasks were queued (``engine.wake`` by default).
Wake = Callable[[str], Awaitable[Any]]


def _carries(task: dict[str, Any], command: Command) -> bool:
    """Whether the task document ``task`` (of :func:`~commands.to_tasks`) carries ``command``."""
    name = task["name"]
    if name == "setParameterValues":
        return isinstance(command, SetValue)
    target = {
        "addObject": (AddInstance, "table"),
        "deleteObject": (DeleteInstance, "instance"),
        "refreshObject": (RefreshSubtree, "path"),
    }.get(name)
    if target is None or not isinstance(command, target[0]):
        return False
    return str(getattr(command, target[1])).rstrip(".") == task.get("objectName")


def _same(stored: str, sent: str, xsd_type: str | None) -> bool:
    """The stored value is the one sent (``true`` and ``1`` alike for a boolean...)."""
    try:
        return bool(sanitize(stored, xsd_type or "xsd:string") == sanitize(sent, xsd_type or "xsd:string"))
    except (TypeError, ValueError):
        return stored == sent


def fault_words(code: str, message: str) -> str:
    """A stored fault in words: ``cwmp.9005`` becomes "CPE fault 9005: <text>"."""
    if code.startswith("cwmp."):
        code = f"CPE fault {code.removeprefix('cwmp.')}"
    return f"{code}: {message}" if message else code


def _instances(params: dict[str, Param], table: str) -> set[int]:
    """The instance numbers of ``table`` (``"Device.WiFi.SSID."``) in ``params``."""
    found: set[int] = set()
    for path in params:
        if path.startswith(table):
            head = path[len(table):].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return found


class CommandSender(QObject):
    """Commits one device's staged commands as tasks and follows them until they ran.

    The engine says when each task ran (:class:`~acs_engine.bus.TaskFinished`, after the
    session's commit): no fault means done; a fault on ``task_<id>`` means faulted (the task
    stays queued, as in GenieACS, until the fault is retried or deleted).

    Signals:
        committed(int): this many commands were sent (queued as tasks).
        settled(): every sent command is done or faulted.
    """

    committed = Signal(int)
    settled = Signal()

    def __init__(
        self,
        engine: ConsoleEngine,
        device_id: str,
        changes: StagedChanges,
        bridge: EngineBridge,
        parent: QObject | None = None,
        *,
        wake: Wake | None = None,
    ) -> None:
        """Follow ``device_id``'s sessions through ``bridge``.

        Args:
            engine: where tasks are queued (its store) and how the device is woken.
            device_id: the device.
            changes: the review list whose staged commands are sent.
            bridge: the engine's events (tasks finished).
            parent: the owning QObject.
            wake: how to wake the device once its tasks are queued (default:
                ``engine.wake``); the device view passes its
                connection-request button's requester so the outcome is shown.
        """
        super().__init__(parent)
        self._engine = console_engine(engine)
        self._device_id = device_id
        self._changes = changes
        self._wake = wake
        # task id -> (task document, the entries it carries)
        self._sent: dict[str, tuple[dict[str, Any], list[StagedEntry]]] = {}
        self._before: dict[str, set[int]] = {}  # table -> instances when committed
        self._faulted: list[str] = []
        self._queueing = 0
        self._tasks = Background(f"sending commands to {device_id}")
        #: Outcomes that arrived before their task id was known (a very quick session).
        self._early: dict[str, TaskFinished] = {}
        #: Tasks a remote engine could not be sent now, kept by it and sent when it is
        #: back (:class:`~acs_engine.remote.errors.CommandQueued`): ref -> (document,
        #: the entries it carries).
        self._kept: dict[str, tuple[dict[str, Any], list[StagedEntry]]] = {}
        bridge.taskFinished.connect(self._on_task_finished)
        bridge.stagedCommandSent.connect(self._on_kept_sent)

    @property
    def device_id(self) -> str:
        """The device whose commands are sent."""
        return self._device_id

    def task_ids(self) -> list[str]:
        """The queued tasks still followed."""
        return list(self._sent)

    def faulted_task_ids(self) -> list[str]:
        """The tasks that faulted (they stay queued, with their fault, until retried)."""
        return list(self._faulted)

    def commit(self, params: dict[str, Param]) -> int:
        """Queue the staged commands as tasks, then wake the device; they are pending now.

        The tasks are written and the connection request sent in the background (the store
        is async); the commands show "pending" at once.

        Args:
            params: the device's stored parameters (for the values' types).

        Returns:
            How many commands were sent.
        """
        entries = self._changes.staged_entries()
        if not entries:
            return 0
        documents = cmd.to_tasks([e.command for e in entries], params)
        planned = [(doc, [e for e in entries if _carries(doc, e.command)]) for doc in documents]
        for entry in entries:
            if isinstance(entry.command, AddInstance):
                table = entry.command.table
                self._before[table] = _instances(params, table)
                # Then re-read the table, so the new instance's parameters are known.
                refresh = {"name": "refreshObject", "objectName": table.rstrip(".")}
                planned.append((refresh, [entry]))
            self._changes.set_state(entry, PENDING, "queued as a task; waking the device")
        self._queueing += 1
        self._spawn(self._queue(planned))
        log.info("device %s: %d command(s) queued as %d task(s)",
                 self._device_id, len(entries), len(documents))
        self.committed.emit(len(entries))
        return len(entries)

    def shutdown(self) -> None:
        """Stop background work (the view is closing); queued tasks stay queued."""
        self._tasks.cancel()

    # ------------------------------------------------------------------ background work
    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        self._tasks.spawn(work)

    async def _queue(self, planned: list[tuple[dict[str, Any], list[StagedEntry]]]) -> None:
        engine = self._engine
        try:
            for document, carried in planned:
                args = {k: v for k, v in document.items() if k != "name"}
                try:
                    task = await engine.add_task(self._device_id, document["name"], args)
                except CommandQueued as queued:  # a remote engine out of reach: sent later
                    self._kept[queued.ref] = (document, carried)
                    for entry in carried:
                        if entry.state == PENDING:
                            self._changes.set_state(
                                entry, PENDING, "kept: sent when the ACS is reachable again")
                    continue
                self._sent[task.id] = (document, carried)
                for entry in carried:
                    entry.waiting.add(task.id)
                    if entry.state == PENDING:
                        self._changes.set_state(entry, PENDING, "sent with the next session")
        except Exception as exc:
            log.warning("device %s: queueing tasks failed: %s", self._device_id, exc)
            kept = {id(e) for _, entries in self._kept.values() for e in entries}
            for _, carried in planned:
                for entry in carried:
                    if entry.state == PENDING and not entry.waiting and id(entry) not in kept:
                        self._changes.set_state(entry, FAULTED, f"not queued: {exc}")
        finally:
            self._queueing -= 1
        for task_id in [t for t in self._early if t in self._sent]:
            await self._settle(self._early.pop(task_id))
        if not self._sent:
            self._finish()
            return
        if self._kept:
            return  # the device is woken once the kept ones are sent too
        await self._wake_device()

    async def _wake_device(self) -> None:
        try:
            if self._wake is not None:
                await self._wake(self._device_id)
            else:
                await self._engine.wake(self._device_id)
        except Exception as exc:
            log.info("device %s: connection request failed: %s", self._device_id, exc)

    def kept_count(self) -> int:
        """Tasks a remote engine keeps until it is reachable again."""
        return len(self._kept)

    @Slot(StagedCommandSent)
    def _on_kept_sent(self, event: StagedCommandSent) -> None:
        """A kept task reached the engine (or was refused by it): follow it from here."""
        kept = self._kept.pop(event.ref, None)
        if kept is None:
            return
        document, carried = kept
        if not event.task_id:
            for entry in carried:
                if entry.state == PENDING:
                    self._changes.set_state(entry, FAULTED,
                                            f"refused by the ACS: {event.error}")
        else:
            self._sent[event.task_id] = (document, carried)
            for entry in carried:
                entry.waiting.add(event.task_id)
                if entry.state == PENDING:
                    self._changes.set_state(entry, PENDING, "sent with the next session")
            early = self._early.pop(event.task_id, None)
            if early is not None:
                self._spawn(self._settle(early))
        if not self._kept:
            if self._sent:
                self._spawn(self._wake_device())
            else:
                self._finish()

    @Slot(TaskFinished)
    def _on_task_finished(self, event: TaskFinished) -> None:
        if event.device_id != self._device_id:
            return
        if event.task_id not in self._sent:
            if self._queueing or self._kept:
                self._early[event.task_id] = event
            return
        self._spawn(self._settle(event))

    async def _settle(self, event: TaskFinished) -> None:
        """Settle the commands the finished task carried."""
        sent = self._sent.pop(event.task_id, None)
        if sent is None:
            return
        _document, carried = sent
        fault = event.fault
        if fault is not None:
            self._faulted.append(event.task_id)
            words = fault_words(fault.code, fault.message)
            for entry in carried:
                entry.waiting.clear()
                if entry.state == PENDING:
                    self._changes.set_state(entry, FAULTED, words)
        else:
            for entry in carried:
                entry.waiting.discard(event.task_id)
                if entry.state == PENDING and not entry.waiting:
                    message = await self._done_words(entry)
                    self._changes.set_state(entry, DONE, message)
        self._finish()

    async def _done_words(self, entry: StagedEntry) -> str:
        store = self._engine
        command = entry.command
        if isinstance(command, SetValue):
            now = (await store.load_param_values(self._device_id, [command.path])).get(
                command.path
            )
            if now is None or now.value is None or _same(now.value, command.value, now.type):
                return "Set"
            entry.overwritten = True
            setting = entry.managed_by
            if setting is not None and setting.value == now.value:
                return f"Set, then overwritten by preset {setting.preset} (now {now.value})"
            return f"Set, then changed to {now.value} in the same session"
        if isinstance(command, AddInstance):
            table = command.table
            after = _instances(await store.load_params(self._device_id, table), table)
            new = sorted(after - self._before.get(table, set()))
            return f"Added {table}{new[-1]}." if new else f"Added to {table}"
        if isinstance(command, DeleteInstance):
            return "Deleted"
        return "Refreshed"

    def _finish(self) -> None:
        if (not self._sent and not self._queueing and not self._kept
                and not self._changes.has_pending()):
            self.settled.emit()
