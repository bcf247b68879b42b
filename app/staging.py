"""Staged changes of one device: reviewed in a list, committed together, followed to the end.

A technician's edits are :mod:`acs_engine.services.commands` commands. They are *staged*
(nothing is sent), shown in the review list, then committed: :class:`CommandSender` turns
them into GenieACS tasks (:func:`~acs_engine.services.commands.to_tasks`), queues them with
``store.add_task`` and wakes the device with a connection request. Each command is *pending*
until a session of the device has run its task: *done* when the task is gone from the queue
and its channel (``task_<id>``) has no fault, *faulted* with the fault's code and text when
it has one. A set value that the same session's presets set back is *done* with the words
"Set, then overwritten by preset X" (see :mod:`app.managed`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
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

from acs_engine.bus import SessionEnded
from acs_engine.services import commands as cmd
from acs_engine.services.commands import (
    AddInstance,
    Command,
    DeleteInstance,
    RefreshSubtree,
    SetValue,
    StagedState,
)
from acs_engine.services.presets import PresetSetting
from acs_engine.session.coerce import sanitize
from acs_engine.store.db import Store
from acs_engine.store.model import Param
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
        state: a :class:`~acs_engine.services.commands.StagedState`.
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


class TaskEngine(Protocol):
    """What :class:`CommandSender` uses of the engine: its store and connection requests."""

    store: Store | None

    async def connection_request(self, device_id: str, *, wait_for_session: bool = True) -> Any:
        """Wake the device now."""
        ...


#: Wakes a device after its tasks were queued (``engine.connection_request`` by default).
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

    After each session of the device, every task still followed is looked up: gone from the
    queue with no fault on its channel means done; a fault on ``task_<id>`` means faulted
    (the task stays queued, as in GenieACS, until the fault is retried or deleted).

    Signals:
        committed(int): this many commands were sent (queued as tasks).
        settled(): every sent command is done or faulted.
    """

    committed = Signal(int)
    settled = Signal()

    def __init__(
        self,
        engine: TaskEngine,
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
            bridge: the engine's events (session ends).
            parent: the owning QObject.
            wake: how to wake the device once its tasks are queued (default:
                ``engine.connection_request``); the device view passes its
                connection-request button's requester so the outcome is shown.
        """
        super().__init__(parent)
        self._engine = engine
        self._device_id = device_id
        self._changes = changes
        self._wake = wake
        # task id -> (task document, the entries it carries)
        self._sent: dict[str, tuple[dict[str, Any], list[StagedEntry]]] = {}
        self._before: dict[str, set[int]] = {}  # table -> instances when committed
        self._faulted: list[str] = []
        self._queueing = 0
        self._checking: asyncio.Task[None] | None = None
        self._recheck = False
        self._tasks: set[asyncio.Future[Any]] = set()
        bridge.sessionEnded.connect(self._on_session_ended)

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
        for task in list(self._tasks):
            task.cancel()

    # ------------------------------------------------------------------ background work
    def _spawn(self, work: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _queue(self, planned: list[tuple[dict[str, Any], list[StagedEntry]]]) -> None:
        store = self._engine.store
        try:
            for document, carried in planned:
                if store is None:
                    raise RuntimeError("the ACS is not running")
                args = {k: v for k, v in document.items() if k != "name"}
                task = await store.add_task(self._device_id, document["name"], args)
                self._sent[task.id] = (document, carried)
                for entry in carried:
                    entry.waiting.add(task.id)
                    if entry.state == PENDING:
                        self._changes.set_state(entry, PENDING, "sent with the next session")
        except Exception as exc:
            log.warning("device %s: queueing tasks failed: %s", self._device_id, exc)
            for _, carried in planned:
                for entry in carried:
                    if entry.state == PENDING and not entry.waiting:
                        self._changes.set_state(entry, FAULTED, f"not queued: {exc}")
        finally:
            self._queueing -= 1
        if not self._sent:
            self._finish()
            return
        try:
            if self._wake is not None:
                await self._wake(self._device_id)
            else:
                await self._engine.connection_request(self._device_id)
        except Exception as exc:
            log.info("device %s: connection request failed: %s", self._device_id, exc)
        self.check()

    def check(self) -> asyncio.Task[None]:
        """Look the followed tasks up now; settle the commands whose tasks ran."""
        if self._checking is not None and not self._checking.done():
            self._recheck = True
            return self._checking
        self._checking = self._spawn(self._check())
        return self._checking

    async def _check(self) -> None:
        store = self._engine.store
        while True:
            self._recheck = False
            if store is None or not self._sent:
                break
            faults = {f.channel: f for f in await store.list_faults(self._device_id)}
            for task_id in list(self._sent):
                fault = faults.get(f"task_{task_id}")
                if fault is None and await store.get_task(task_id) is not None:
                    continue  # not run yet
                _document, carried = self._sent.pop(task_id)
                if fault is not None:
                    self._faulted.append(task_id)
                    words = fault_words(fault.code, fault.message)
                    for entry in carried:
                        entry.waiting.clear()
                        if entry.state == PENDING:
                            self._changes.set_state(entry, FAULTED, words)
                    continue
                for entry in carried:
                    entry.waiting.discard(task_id)
                    if entry.state == PENDING and not entry.waiting:
                        message = await self._done_words(store, entry)
                        self._changes.set_state(entry, DONE, message)
            if not self._recheck:
                break
        self._finish()

    async def _done_words(self, store: Store, entry: StagedEntry) -> str:
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
        if not self._sent and not self._queueing and not self._changes.has_pending():
            self.settled.emit()

    def _on_session_ended(self, event: SessionEnded) -> None:
        if event.device_id == self._device_id and self._sent:
            self.check()
