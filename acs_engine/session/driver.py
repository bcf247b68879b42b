"""The I/O around a :class:`~acs_engine.session.session.Session`: store, handler and bus.

The session is a protocol object: it takes messages and returns what happened, and queues its
events. A :class:`SessionDriver` does the rest, in the order the session's steps ask for:
reads what the Inform needs from the store, asks the handler (the policy hook) at each turn,
publishes the session's events on the bus before each await (so a subscriber, e.g. the step
mode's console, sees a state before the handler holds in it), and writes the session at its
end. The CWMP server runs one driver per session; the dry run runs one over a copy.
"""

from __future__ import annotations

import logging

from acs_engine.bus import EventBus
from acs_engine.cwmp.envelope import Envelope
from acs_engine.kinds import Direction, SessionOutcome
from acs_engine.session.handler import Handler
from acs_engine.session.session import Answer, CpeRequest, Reply, Response, Session
from acs_engine.store.db import Store

__all__ = ["SessionDriver"]

log = logging.getLogger("fieldacs.session")


class SessionDriver:
    """Runs one session's I/O.

    Args:
        session: the session (a protocol object).
        store: where the device's data is read and the session written.
        handler: what to send next (the handler of the moment the session started).
        bus: where the session's events are published.
    """

    def __init__(self, session: Session, store: Store, handler: Handler, bus: EventBus) -> None:
        self.session = session
        self.store = store
        self.handler = handler
        self.bus = bus

    def publish(self) -> None:
        """Publish the events the session made since the last call."""
        for event in self.session.take_events():
            self.bus.publish(event)

    def record(
        self,
        direction: Direction,
        *,
        rpc_name: str,
        cwmp_id: str | None,
        status: int | None,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> None:
        """Keep one HTTP message in the session's trace and publish it."""
        self.session.record(
            direction, rpc_name=rpc_name, cwmp_id=cwmp_id, status=status, headers=headers,
            body=body,
        )
        self.publish()

    async def start(self) -> Reply:
        """The Inform: read the stored values it needs, take it, tell the handler, answer."""
        session = self.session
        names = session.inform_reads()
        known = (
            await self.store.load_param_values(session.device_id, names)
            if names is not None else None
        )
        session.begin(known)
        self.publish()
        await self.handler.on_inform(session)
        return session.inform_response()

    async def handle(self, envelope: Envelope | None) -> Reply:
        """One POST after the Inform (None: empty)."""
        session = self.session
        step = session.receive(envelope)
        self.publish()
        if isinstance(step, Answer):
            return step.reply
        if isinstance(step, CpeRequest):
            await self.handler.on_cpe_request(session, step.message)
            return step.reply
        if isinstance(step, Response):
            if step.full_tree:
                await session.ensure_full_tree()
            if step.apply:
                session.apply_response(step.request, step.response)
            await self.handler.on_response(session, step.request, step.response)
            self.publish()
            if session.finished and not step.gave_up:
                return Reply(204, close=True)
        return await self._turn()

    async def _turn(self) -> Reply:
        outgoing = await self.handler.next_rpc(self.session)
        reply = self.session.send(outgoing)
        self.publish()
        return reply

    async def commit(self) -> None:
        """Write the session's changes in one transaction, then END (FAULTED when it fails).

        Call after the reply that ended the session (204) has been recorded in the trace.
        """
        session = self.session
        commit = session.prepare_commit()
        try:
            await self.store.commit_session(commit)
        except Exception as exc:
            log.exception("session %s: commit failed", session.id)
            await self.abort(SessionOutcome.ERROR, f"commit failed: {exc}")
            return
        assert commit.session is not None
        session.committed(commit.session.outcome)
        self.publish()
        try:  # committed: a failing hook must not turn the CPE's final 204 into a 500
            await self.handler.on_end(session, session.outcome)
        except Exception:
            log.exception("session %s: handler failed on end", session.id)

    async def abort(self, outcome: SessionOutcome, detail: str) -> None:
        """End the session abnormally: keep its record and trace, drop its parameter changes."""
        session = self.session
        record = session.abort(outcome, detail)
        if record is None:
            return
        self.publish()
        try:
            await self.store.record_session_only(session.device, record, session.trace)
        except Exception:
            log.exception("session %s: could not record the aborted session", session.id)
        session.ended()
        self.publish()
        try:
            await self.handler.on_end(session, outcome)
        except Exception:
            log.exception("session %s: handler failed on end", session.id)
