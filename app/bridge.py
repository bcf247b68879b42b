"""The engine's event bus, re-emitted as Qt signals on the GUI thread.

The bus calls its subscribers synchronously inside ``publish``; a GUI subscriber must not do
widget work there. :class:`EngineBridge` only queues the event (a queued Qt connection, safe
from any thread) and emits the typed signal on its next event-loop turn, on the thread that
owns the bridge (the GUI thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, SignalInstance, Slot

from acs_engine.bus import (
    DeviceUpdated,
    EngineNotice,
    EventBus,
    RequestRejected,
    SessionEnded,
    SessionStarted,
    SessionStateChanged,
    TaskFinished,
    WireMessage,
)
from acs_engine.console_api import ConnectionRequestDone, StepPending, StepResolved
from acs_engine.remote.errors import StagedCommandSent
from acs_engine.server.step_claim import StepHolderChanged

log = logging.getLogger("fieldacs.app")

#: The bus events the bridge forwards.
BRIDGED_EVENTS: tuple[type, ...] = (
    SessionStarted,
    SessionEnded,
    SessionStateChanged,
    WireMessage,
    DeviceUpdated,
    EngineNotice,
    RequestRejected,
    StepPending,
    StepResolved,
    TaskFinished,
    ConnectionRequestDone,
    StepHolderChanged,
    StagedCommandSent,
)


class EngineBridge(QObject):
    """Subscribes to an :class:`~acs_engine.bus.EventBus` and re-emits events as signals.

    Every signal carries the bus event itself (a frozen dataclass) and is emitted on the
    thread that owns the bridge, one event-loop turn after the engine published it, in
    publication order.

    Signals:
        sessionStarted(SessionStarted): a CPE opened a session (its Inform was accepted).
        sessionEnded(SessionEnded): a session is over, with its outcome.
        sessionStateChanged(SessionStateChanged): a session moved to another state.
        wireMessage(WireMessage): one HTTP message of a session, in or out.
        deviceUpdated(DeviceUpdated): a device's stored data changed or it was registered.
        engineNotice(EngineNotice): an info, warning or error worth showing a user.
        requestRejected(RequestRejected): the CWMP endpoint refused a request.
        stepPending(StepPending): step mode holds a session before an RPC.
        stepResolved(StepResolved): a step-mode hold is over (sent, skipped, ...).
        taskFinished(TaskFinished): a queued task ran (done, or faulted).
        connectionRequestDone(ConnectionRequestDone): a connection request's outcome.
        stepHolderChanged(StepHolderChanged): another console (or this one) claimed or
            released step mode.
        stagedCommandSent(StagedCommandSent): a remote engine accepted (or refused) a staged
            command the console kept while the engine was unreachable.
        eventReceived(object): every bridged event, after its typed signal.
    """

    sessionStarted = Signal(SessionStarted)
    sessionEnded = Signal(SessionEnded)
    sessionStateChanged = Signal(SessionStateChanged)
    wireMessage = Signal(WireMessage)
    deviceUpdated = Signal(DeviceUpdated)
    engineNotice = Signal(EngineNotice)
    requestRejected = Signal(RequestRejected)
    stepPending = Signal(StepPending)
    stepResolved = Signal(StepResolved)
    taskFinished = Signal(TaskFinished)
    connectionRequestDone = Signal(ConnectionRequestDone)
    stepHolderChanged = Signal(StepHolderChanged)
    stagedCommandSent = Signal(StagedCommandSent)
    eventReceived = Signal(object)

    _queued = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        """Subscribe to ``bus`` right away; :meth:`detach` (or destruction) unsubscribes.

        Args:
            bus: the engine's event bus.
            parent: the owning QObject, usually the main window.
        """
        super().__init__(parent)
        self._routes: dict[type, SignalInstance] = {
            SessionStarted: self.sessionStarted,
            SessionEnded: self.sessionEnded,
            SessionStateChanged: self.sessionStateChanged,
            WireMessage: self.wireMessage,
            DeviceUpdated: self.deviceUpdated,
            EngineNotice: self.engineNotice,
            RequestRejected: self.requestRejected,
            StepPending: self.stepPending,
            StepResolved: self.stepResolved,
            TaskFinished: self.taskFinished,
            ConnectionRequestDone: self.connectionRequestDone,
            StepHolderChanged: self.stepHolderChanged,
            StagedCommandSent: self.stagedCommandSent,
        }
        self._queued.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        unsubscribe = bus.subscribe(self._on_bus_event, *BRIDGED_EVENTS)
        self._unsubscribe: Callable[[], None] | None = unsubscribe
        # The closure holds the unsubscribe function, not self (unsubscribing is idempotent).
        self.destroyed.connect(lambda *_: unsubscribe())

    @property
    def attached(self) -> bool:
        """Whether the bridge is still subscribed to the bus."""
        return self._unsubscribe is not None

    def detach(self) -> None:
        """Stop listening to the bus; events already queued are dropped."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_bus_event(self, event: object) -> None:
        # Runs inside EventBus.publish, possibly on another thread: queue and return.
        self._queued.emit(event)

    @Slot(object)
    def _dispatch(self, event: object) -> None:
        if self._unsubscribe is None:
            return
        signal = self._routes.get(type(event))
        if signal is None:
            return
        signal.emit(event)
        self.eventReceived.emit(event)
