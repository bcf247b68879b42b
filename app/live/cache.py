"""What the console remembers of the sessions it has seen live (bounded).

The engine keeps traces in the store once a session ends; while it runs, and for the
sessions seen since the console started, :class:`LiveSessions` keeps each session's wire
messages, its state and its outcome, so that switching between sessions never waits for the
database. The oldest sessions are dropped beyond :data:`MAX_SESSIONS`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from acs_engine.bus import SessionEnded, SessionStarted, SessionStateChanged, WireMessage
from app.live.timeline import MAX_ROWS, Exchange

#: Sessions remembered (live ones are never dropped while they run).
MAX_SESSIONS = 100


@dataclass(slots=True)
class LiveSession:
    """One session seen live.

    Attributes:
        session_id: the session.
        device_id: its device.
        started: when its first message arrived (seconds since the epoch).
        events: the Inform's event codes (once started).
        state: the latest state ("" before the first change).
        previous: the state before it.
        reason: why the latest change happened.
        outcome: "" while it runs, then the SessionEnded outcome.
        exchanges: its HTTP messages (at most MAX_ROWS).
        root: "Device." or "InternetGatewayDevice." as the Inform suggests.
    """

    session_id: str
    device_id: str
    started: float
    events: tuple[str, ...] = ()
    state: str = ""
    previous: str = ""
    reason: str = ""
    outcome: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    root: str = "Device."

    @property
    def running(self) -> bool:
        """True until the session ended."""
        return not self.outcome


class LiveSessions:
    """Sessions seen live, by id, oldest first; bounded."""

    def __init__(self, capacity: int = MAX_SESSIONS) -> None:
        """Remember at most ``capacity`` sessions."""
        self._capacity = capacity
        self._sessions: OrderedDict[str, LiveSession] = OrderedDict()

    def get(self, session_id: str) -> LiveSession | None:
        """The session, or None when never seen (or forgotten)."""
        return self._sessions.get(session_id)

    def of_device(self, device_id: str) -> list[LiveSession]:
        """``device_id``'s sessions, newest first."""
        found = [s for s in self._sessions.values() if s.device_id == device_id]
        return sorted(found, key=lambda s: s.started, reverse=True)

    def devices(self) -> list[str]:
        """Devices with a remembered session, most recent first."""
        seen: dict[str, None] = {}
        for session in reversed(self._sessions.values()):
            seen.setdefault(session.device_id, None)
        return list(seen)

    def __len__(self) -> int:
        return len(self._sessions)

    def _entry(self, session_id: str, device_id: str, at: float) -> LiveSession:
        session = self._sessions.get(session_id)
        if session is None:
            session = LiveSession(session_id, device_id, at)
            self._sessions[session_id] = session
            self._trim()
        return session

    def _trim(self) -> None:
        while len(self._sessions) > self._capacity:
            victim = next((k for k, s in self._sessions.items() if not s.running), None)
            if victim is None:
                victim = next(iter(self._sessions))
            del self._sessions[victim]

    def on_wire(self, message: WireMessage) -> Exchange | None:
        """Remember a wire message; returns its exchange (None when the session is full)."""
        session = self._entry(message.session_id, message.device_id, message.at_ms / 1000)
        if len(session.exchanges) >= MAX_ROWS:
            return None
        exchange = Exchange.from_wire(message)
        session.exchanges.append(exchange)
        if message.rpc == "Inform" and b"InternetGatewayDevice." in message.body:
            session.root = "InternetGatewayDevice."
        return exchange

    def on_started(self, event: SessionStarted) -> LiveSession:
        """Remember a session's start."""
        session = self._entry(event.session_id, event.device_id, event.at_ms / 1000)
        session.events = event.events
        return session

    def on_state(self, event: SessionStateChanged) -> LiveSession:
        """Remember a state change."""
        session = self._entry(event.session_id, event.device_id, event.at_ms / 1000)
        session.previous, session.state, session.reason = event.old, event.new, event.reason
        return session

    def on_ended(self, event: SessionEnded) -> LiveSession:
        """Remember a session's end."""
        session = self._entry(event.session_id, event.device_id, event.at_ms / 1000)
        session.outcome = event.outcome
        return session
