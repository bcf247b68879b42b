"""Session files from what the engine has: a stored session, live wire messages; and the state
machine a session's messages imply (for a session seen only as messages: a file, a capture,
a proxied conversation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from acs_engine.bus import WireMessage
from acs_engine.cwmp import rpc
from acs_engine.inspect.sessionfile import Message, SessionFile
from acs_engine.session.machine import FINAL_STATES, State, Trigger, allowed, next_state
from acs_engine.store.db import Store
from acs_engine.store.model import SessionRecord, TraceEntry


def message_from_trace(entry: TraceEntry) -> Message:
    """A stored trace entry as a session-file message."""
    return Message(entry.at_ms / 1000.0, entry.direction, entry.rpc, entry.cwmp_id, entry.status,
                   entry.headers, entry.body)


def message_from_wire(message: WireMessage) -> Message:
    """A live wire message as a session-file message."""
    return Message(message.at_ms / 1000.0, message.direction, message.rpc, message.cwmp_id,
                   message.status, message.headers, message.body)


def from_stored(record: SessionRecord, trace: Sequence[TraceEntry]) -> SessionFile:
    """A stored session and its trace as a session file (unmasked: mask when saving)."""
    return SessionFile(
        session_id=record.id, device_id=record.device_id, started=record.started_ms / 1000.0,
        ended=record.ended_ms / 1000.0 if record.ended_ms is not None else None,
        outcome=record.outcome, detail=record.detail, remote=record.remote,
        events=record.events, cwmp_version=record.cwmp_version,
        messages=tuple(message_from_trace(e) for e in trace), source="stored",
    )


def from_live(
    session_id: str, device_id: str, messages: Iterable[Message], *, started: float,
    events: tuple[str, ...] = (), outcome: str = "", remote: str = "",
    cwmp_version: str = "", source: str = "live",
) -> SessionFile:
    """A session the console saw live (or through the proxy) as a session file."""
    items = tuple(messages)
    return SessionFile(
        session_id=session_id, device_id=device_id, started=started, messages=items,
        outcome=outcome, remote=remote, events=events, cwmp_version=cwmp_version,
        source=source, ended=items[-1].at if outcome and items else None,
    )


async def load_stored(store: Store, device_id: str, session_id: str = "") -> SessionFile:
    """The stored session ``session_id`` of ``device_id`` (its newest when ""), with its trace.

    Raises:
        LookupError: no such stored session (or the device has none).
    """
    limit = 10_000 if session_id else 1
    records = await store.list_sessions(device_id, limit=limit)
    record = next((r for r in records if not session_id or r.id == session_id), None)
    if record is None:
        what = f"session {session_id}" if session_id else "any session"
        raise LookupError(f"no stored {what} for device {device_id}")
    return from_stored(record, await store.load_trace(record.id))


# ----------------------------------------------------------------------------- states
@dataclass(frozen=True, slots=True)
class StateStep:
    """One state change the messages imply: after message ``index``, ``old`` -> ``new``."""

    index: int
    old: State
    new: State
    reason: str


def _trigger(message: Message, pending: bool) -> tuple[Trigger, str] | None:
    """What ``message`` does to the session, given whether an ACS RPC awaits its answer."""
    cls = rpc.BY_METHOD.get(message.rpc)
    if message.direction == "in":
        if message.rpc == "Inform":
            return Trigger.INFORM, "Inform received"
        if cls is not None and cls.CPE_REQUEST:
            return Trigger.CPE_REQUEST, f"CPE request {message.rpc}"
        if pending and (message.rpc == "Fault" or message.rpc.endswith("Response")):
            return Trigger.RESPONSE, f"{message.rpc} received"
        return None
    if message.status is not None and message.status >= 400 and message.status != 401:
        return Trigger.ABORT, f"HTTP {message.status}"
    if cls is not None and cls.ACS_REQUEST:
        return Trigger.RPC_SENT, f"{message.rpc} sent"
    if message.status == 204 or (message.status == 200 and not message.body.strip()):
        return Trigger.DONE, "nothing more to send"
    return None


class StateTracker:
    """Follows the state machine through a session's messages as they come (see
    :func:`derive_states`); :meth:`feed` returns the changes one message makes."""

    def __init__(self) -> None:
        """Start in INIT."""
        self.state = State.INIT

    def feed(self, index: int, message: Message) -> list[StateStep]:
        """The state changes ``message`` (the session's ``index``-th) makes."""
        out: list[StateStep] = []
        if self.state in FINAL_STATES:
            if message.rpc != "Inform":
                return out
            self.state = State.INIT  # a new session on the same connection
        if message.direction == "out" and message.status == 401 and self.state == State.PROCESS:
            # An authentication challenge: the session starts again with the repeated Inform.
            out.append(StateStep(index, self.state, State.INIT,
                                 "authentication challenge (401): the Inform comes again"))
            self.state = State.INIT
            return out
        found = _trigger(message, self.state == State.PENDING_RPC)
        if found is None:
            return out
        trigger, reason = found
        if not allowed(self.state, trigger):
            out.append(StateStep(index, self.state, State.FAULTED,
                                 f"{reason}: not allowed in {self.state.value}"))
            self.state = State.FAULTED
            return out
        new = next_state(self.state, trigger)
        out.append(StateStep(index, self.state, new, reason))
        self.state = new
        if trigger is Trigger.DONE:
            out.append(StateStep(index, self.state, State.END, "session closed"))
            self.state = State.END
        return out


def derive_states(messages: Sequence[Message]) -> list[StateStep]:
    """The state machine's path through ``messages``, as far as the messages show it.

    The ACS's closing 204 is taken as ``done`` then ``committed`` (the commit is not on the
    wire). A message the current state does not allow ends the path in FAULTED, with the
    reason; a session whose messages stop before END is left where they stopped.
    """
    tracker = StateTracker()
    out: list[StateStep] = []
    for index, message in enumerate(messages):
        out.extend(tracker.feed(index, message))
    return out
