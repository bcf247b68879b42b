"""The engine's event bus: everything the engine does is published here as a frozen dataclass.

The console, the session recorder and the log subscribe; the engine never calls them directly.
Subscribers are plain callables run synchronously inside :meth:`EventBus.publish`, so they must
be quick (a GUI subscriber queues the event for its own loop turn). A subscriber that raises is
logged and never disturbs the engine or the other subscribers.

Every event's ``at_ms`` is when it happened in integer milliseconds since the epoch
(:func:`acs_engine.clock.now_ms`), the unit of the store's records too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acs_engine.store.records import Fault

from acs_engine.kinds import Direction, NoticeLevel, SessionOutcome
from acs_engine.session.machine import State

log = logging.getLogger("fieldacs.bus")


@dataclass(frozen=True, slots=True)
class SessionStateChanged:
    """A session moved from one state of the machine to another (typed: a :class:`State`
    is a ``StrEnum``, so it still compares, prints and serialises as its name)."""

    session_id: str
    device_id: str
    old: State
    new: State
    at_ms: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class WireMessage:
    """One HTTP message of a session, in (from the CPE) or out (to the CPE).

    ``rpc`` is the SOAP method in the body ("" for an empty body); ``cwmp_id`` its header ID.
    """

    session_id: str
    device_id: str
    direction: Direction
    at_ms: int
    rpc: str
    cwmp_id: str | None
    status: int | None  # HTTP status of a response; None for a request
    headers: tuple[tuple[str, str], ...]
    body: bytes
    remote: str = ""


@dataclass(frozen=True, slots=True)
class SessionStarted:
    session_id: str
    device_id: str
    at_ms: int
    remote: str
    events: tuple[str, ...]
    cwmp_version: str


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """A session is over, and how (:class:`~acs_engine.kinds.SessionOutcome`)."""

    session_id: str
    device_id: str
    at_ms: int
    outcome: SessionOutcome
    detail: str = ""
    rpc_count: int = 0


@dataclass(frozen=True, slots=True)
class DeviceUpdated:
    """A device's stored data changed (a session committed, a device was registered or
    deleted)."""

    device_id: str
    at_ms: int
    created: bool = False
    #: The device and all its data were deleted (``DELETE /devices/<id>``).
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class RequestRejected:
    """The CWMP endpoint refused a request (bad XML, too large, busy, ...)."""

    at_ms: int
    remote: str
    status: int
    reason: str
    device_id: str = ""


@dataclass(frozen=True, slots=True)
class EngineNotice:
    """Anything else worth telling a user: listener started, warnings, errors."""

    at_ms: int
    level: NoticeLevel
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """A queued task ran in a device's session (published after the session's commit).

    Attributes:
        device_id: the device.
        task_id: the task's id.
        name: the task's name (``setParameterValues``, ``addObject``, ...).
        fault: the fault it raised on its channel ``task_<id>``; None: it completed (and was
            deleted).
        session_id: the session it ran in.
        at_ms: when (epoch ms).
    """

    device_id: str
    task_id: str
    name: str
    fault: Fault | None
    session_id: str
    at_ms: int

    @property
    def done(self) -> bool:
        """True when the task completed (no fault)."""
        return self.fault is None


Subscriber = Callable[[Any], None]


class EventBus:
    """A synchronous publish/subscribe hub; optionally filtered by event type."""

    def __init__(self) -> None:
        self._subs: list[tuple[Subscriber, tuple[type, ...] | None]] = []

    def subscribe(
        self, callback: Subscriber, *types: type
    ) -> Callable[[], None]:
        """Call ``callback(event)`` for every event (or only those of ``types``).

        Returns a function that unsubscribes.
        """
        entry = (callback, types or None)
        self._subs.append(entry)

        def unsubscribe() -> None:
            try:
                self._subs.remove(entry)
            except ValueError:
                pass

        return unsubscribe

    def publish(self, event: object) -> None:
        """Deliver ``event`` to every matching subscriber."""
        for callback, types in tuple(self._subs):
            if types is not None and not isinstance(event, types):
                continue
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", callback, type(event).__name__)
