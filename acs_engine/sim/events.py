"""A CPE's undelivered Inform events with TR-069's cumulative and retry rules.

- Numbered events and ``M Reboot`` appear at most once; other ``M`` events once per CommandKey.
- A new ``0 BOOTSTRAP`` drops every other undelivered event.
- ``7 TRANSFER COMPLETE``, ``M Download``, ``M ScheduleDownload`` and ``M Upload`` stay until
  the TransferComplete they announce is acknowledged (across reboots too).
- ``1 BOOT``, ``2 PERIODIC``, ``3 SCHEDULED``, ``4 VALUE CHANGE`` and ``8 DIAGNOSTICS COMPLETE``
  are retried until a reboot, then dropped. ``6 CONNECTION REQUEST`` is never retried.
"""

from __future__ import annotations

from acs_engine.cwmp.rpc import EventStruct

BOOTSTRAP = "0 BOOTSTRAP"
BOOT = "1 BOOT"
PERIODIC = "2 PERIODIC"
SCHEDULED = "3 SCHEDULED"
VALUE_CHANGE = "4 VALUE CHANGE"
CONNECTION_REQUEST = "6 CONNECTION REQUEST"
TRANSFER_COMPLETE = "7 TRANSFER COMPLETE"
M_REBOOT = "M Reboot"
M_SCHEDULE_INFORM = "M ScheduleInform"
M_DOWNLOAD = "M Download"
M_UPLOAD = "M Upload"

#: Kept until the TransferComplete is acknowledged.
_UNTIL_TRANSFER_ACK = frozenset({TRANSFER_COMPLETE, M_DOWNLOAD, M_UPLOAD, "M ScheduleDownload"})
#: Dropped by a reboot when still undelivered.
_UNTIL_REBOOT = frozenset({BOOT, PERIODIC, SCHEDULED, VALUE_CHANGE, "8 DIAGNOSTICS COMPLETE"})
#: Dropped when the session that carried them failed.
_NOT_RETRIED = frozenset({CONNECTION_REQUEST})
#: ``M`` events that may appear several times (once per CommandKey).
_MULTI = frozenset({M_SCHEDULE_INFORM, M_DOWNLOAD, M_UPLOAD, "M ScheduleDownload", "M ChangeDUState"})


class EventQueue:
    """Undelivered events, oldest first."""

    __slots__ = ("_events", "_in_flight")

    def __init__(self) -> None:
        self._events: list[EventStruct] = []
        self._in_flight: tuple[EventStruct, ...] = ()

    def __len__(self) -> int:
        return len(self._events)

    def __bool__(self) -> bool:
        return bool(self._events)

    @property
    def codes(self) -> list[str]:
        """The pending event codes, in order."""
        return [e.code for e in self._events]

    def add(self, code: str, command_key: str = "") -> None:
        """Queue an event, applying the cumulative rules.

        Args:
            code: the EventCode (``"1 BOOT"``, ``"M Download"``).
            command_key: the CommandKey for ``M`` events.
        """
        if code == BOOTSTRAP:
            self._events.clear()
        # events already on their way in the running session's Inform don't count
        flying = {id(e) for e in self._in_flight}
        waiting = [e for e in self._events if id(e) not in flying]
        if code in _MULTI:
            if any(e.code == code and e.command_key == command_key for e in waiting):
                return
        elif any(e.code == code for e in waiting):
            if code != M_REBOOT:
                return
            self._events = [e for e in self._events if e.code != M_REBOOT or id(e) in flying]
        self._events.append(EventStruct(code, command_key if code.startswith("M ") else ""))

    def has(self, code: str) -> bool:
        """True when ``code`` is pending."""
        return any(e.code == code for e in self._events)

    def start_delivery(self) -> tuple[EventStruct, ...]:
        """Snapshot the events for an Inform; later additions wait for the next session."""
        self._in_flight = tuple(self._events)
        return self._in_flight

    def delivered(self) -> None:
        """The InformResponse arrived: drop the delivered events (transfer ones stay)."""
        sent = {id(e) for e in self._in_flight}
        self._events = [
            e for e in self._events if id(e) not in sent or e.code in _UNTIL_TRANSFER_ACK
        ]
        self._in_flight = ()

    def delivery_failed(self) -> None:
        """The session failed: drop what is never retried."""
        sent = {id(e) for e in self._in_flight}
        self._events = [
            e for e in self._events if not (id(e) in sent and e.code in _NOT_RETRIED)
        ]
        self._in_flight = ()

    def transfer_acknowledged(self, method_event: str, command_key: str, remaining: int) -> None:
        """A TransferCompleteResponse arrived for ``command_key``.

        Args:
            method_event: ``M Download`` or ``M Upload``.
            command_key: the transfer's CommandKey.
            remaining: TransferComplete requests still waiting to be sent.
        """
        self._events = [
            e for e in self._events
            if not (e.code == method_event and e.command_key == command_key)
            and not (e.code == TRANSFER_COMPLETE and remaining == 0)
        ]

    def rebooted(self) -> None:
        """A reboot drops the events that are retried only until reboot."""
        self._events = [e for e in self._events if e.code not in _UNTIL_REBOOT]

    def clear(self) -> None:
        """Forget every event."""
        self._events.clear()
        self._in_flight = ()
