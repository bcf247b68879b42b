"""One CWMP session with one CPE: protocol logic without HTTP.

The server hands each parsed envelope (or None for an empty POST) to :meth:`Session.handle` and
sends back the :class:`Reply`. The session drives the state machine, answers the CPE's own
requests, asks its :class:`~acs_engine.session.handler.Handler` for the next RPC, keeps the
device's tree up to date from every response, records the wire trace and writes everything in
one transaction at COMMIT.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from acs_engine.bus import (
    DeviceUpdated,
    EventBus,
    SessionEnded,
    SessionStarted,
    SessionStateChanged,
    WireMessage,
)
from acs_engine.clock import now_ms, to_ms
from acs_engine.config import EngineConfig
from acs_engine.cwmp import faults, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.kinds import Direction, SessionOutcome
from acs_engine.session.handler import Handler, Outgoing
from acs_engine.session.machine import FINAL_STATES, State, Trigger, next_state
from acs_engine.session.tree import DeviceTree, ancestor_objects
from acs_engine.store.db import Store
from acs_engine.store.model import (
    CommitExtras,
    DeviceRecord,
    SessionCommit,
    SessionRecord,
    TraceEntry,
)

log = logging.getLogger("fieldacs.session")

#: A session's wire trace stops growing past this many messages or bytes (a runaway CPE).
TRACE_MAX_ENTRIES = 2000
TRACE_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server sends back: an HTTP status and an envelope (None = empty body)."""

    status: int
    envelope: Envelope | None = None
    close: bool = False


class Session:
    """The state of one CWMP session; created by the server for each Inform.

    Attributes:
        id: the session id (also the cookie value).
        device: the device's record, updated by the Inform.
        tree: the session's working copy of the device's parameters.
        state: the current :class:`State`.
    """

    def __init__(
        self,
        *,
        session_id: str,
        inform_envelope: Envelope,
        device: DeviceRecord,
        created: bool,
        namespace: str,
        cwmp_version: str,
        use_cwmp_version: str | None,
        store: Store,
        handler: Handler,
        bus: EventBus,
        config: EngineConfig,
        remote: str = "",
        local_host: str = "",
        secure: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert isinstance(inform_envelope.message, rpc.Inform)
        self.id = session_id
        self.inform: rpc.Inform = inform_envelope.message
        self.inform_envelope = inform_envelope
        self.device = device
        self.created = created
        self.namespace = namespace
        self.cwmp_version = cwmp_version
        self.use_cwmp_version = use_cwmp_version
        self.store = store
        self.handler = handler
        self.bus = bus
        self.config = config
        self.remote = remote
        #: The address of ours the CPE reached (for URLs we hand it, e.g. Download).
        self.local_host = local_host
        #: The Inform came over HTTPS (URLs we hand the CPE then use https when they can).
        self.secure = secure
        self.clock = clock
        self.state = State.INIT
        self.tree = DeviceTree()
        self.started = clock()
        self.last_activity = self.started
        self.timeout = float(inform_envelope.session_timeout or config.session_timeout)
        self.rpc_count = 0
        self.pending: Outgoing | None = None
        self.pending_id: str | None = None
        self.hold_requests_sent = False
        #: Some message of this session told the CPE to hold its requests.
        self.hold_requests_ever = False
        #: While lingering in COMMIT (see machine.py): when to commit at the latest.
        self.linger_until: float | None = None
        self.lingered = False
        self.cpe_no_more_requests = bool(
            inform_envelope.no_more_requests or inform_envelope.hold_requests
        )
        self.outcome = SessionOutcome.NONE
        self.detail = ""
        self.trace: list[TraceEntry] = []
        #: Faults, tasks, operations and preset verdicts the handlers write with this
        #: session's commit.
        self.commit_extras = CommitExtras()
        #: Tags as loaded: the commit writes only what the session added or removed.
        self._tags_at_start = set(device.tags)
        self._trace_bytes = 0
        self._trace_truncated = False

    # ------------------------------------------------------------------ properties
    @property
    def device_id(self) -> str:
        return self.device.id

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.inform.events)

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    # ------------------------------------------------------------------ state machine
    def _fire(self, trigger: Trigger, reason: str = "") -> None:
        old = self.state
        self.state = next_state(old, trigger)
        if old is not self.state or trigger is Trigger.CPE_REQUEST:
            self.bus.publish(
                SessionStateChanged(
                    self.id, self.device_id, old, self.state, self.clock(), reason
                )
            )

    # ------------------------------------------------------------------ wire trace
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
        """Publish one HTTP message of this session and keep it in the session's trace."""
        at = self.clock()
        self.bus.publish(
            WireMessage(
                self.id, self.device_id, direction, at, rpc_name, cwmp_id, status, headers, body,
                self.remote,
            )
        )
        if not self.config.trace_enabled:
            return
        if len(self.trace) >= TRACE_MAX_ENTRIES or self._trace_bytes + len(body) > TRACE_MAX_BYTES:
            if not self._trace_truncated:
                self._trace_truncated = True
                log.warning("session %s: wire trace truncated (too long)", self.id)
            return
        self._trace_bytes += len(body)
        self.trace.append(
            TraceEntry(
                len(self.trace), to_ms(at), direction, rpc_name, cwmp_id, status, headers,
                body,
            )
        )

    # ------------------------------------------------------------------ envelopes
    def envelope(
        self, message: rpc.Message, cwmp_id: str | None, *, hold_requests: bool | None = None
    ) -> Envelope:
        """An envelope for ``message`` in this session's CWMP namespace."""
        return Envelope(
            message=message,
            cwmp_id=cwmp_id,
            namespace=self.namespace,
            hold_requests=hold_requests,
        )

    # ------------------------------------------------------------------ the Inform
    async def start(self) -> Reply:
        """Process the Inform: update the device, load what it needs, answer InformResponse."""
        at_ms = now_ms(self.clock)
        inform = self.inform
        self.device.last_inform = at_ms
        if inform.has_event("1 BOOT"):
            self.device.last_boot = at_ms
        if inform.has_event("0 BOOTSTRAP"):
            self.device.last_bootstrap = at_ms
        self.device.remote_address = self.remote
        self.device.cwmp_version = self.cwmp_version
        if not self.created and inform.parameters:
            names = [pv.name for pv in inform.parameters]
            known = await self.store.load_param_values(
                self.device_id, names + ancestor_objects(names)
            )
            self.tree.merge_loaded(known, full=False)
        elif self.created:
            self.tree.full = True  # a new device has no stored tree
        self.tree.apply_inform(inform, at_ms)
        self._fire(Trigger.INFORM, "Inform " + ", ".join(self.events))
        self.bus.publish(
            SessionStarted(
                self.id, self.device_id, self.started, self.remote, self.events, self.cwmp_version
            )
        )
        await self.handler.on_inform(self)
        response = Envelope(
            message=rpc.InformResponse(max_envelopes=1),
            cwmp_id=self.inform_envelope.cwmp_id,
            namespace=self.namespace,
            use_cwmp_version=self.use_cwmp_version,
        )
        return Reply(200, response)

    async def ensure_full_tree(self) -> DeviceTree:
        """Load the device's whole stored tree into the session (once)."""
        if not self.tree.full:
            stored = await self.store.load_params(self.device_id)
            self.tree.merge_loaded(stored, full=True)
        return self.tree

    # ------------------------------------------------------------------ later messages
    async def handle(self, envelope: Envelope | None) -> Reply:
        """Process one POST after the Inform: a CPE request, a response, a fault or empty."""
        self.last_activity = self.clock()
        if self.state is State.COMMIT and (envelope is None or not type(envelope.message).CPE_REQUEST):
            return Reply(204)  # lingering after our 204: nothing more from the ACS
        if envelope is None:
            return await self._on_empty()
        message = envelope.message
        if isinstance(message, rpc.Inform):  # the server starts a new session instead
            raise RuntimeError("an Inform starts a new session")
        if type(message).CPE_REQUEST:
            return await self._on_cpe_request(envelope)
        if type(message).ACS_REQUEST:
            fault = faults.make_fault(8000, f"{message.METHOD} is not a method of the ACS")
            return Reply(200, self.envelope(fault, envelope.cwmp_id))
        if self.state is State.PENDING_RPC:
            return await self._on_response(envelope)
        # A response or fault nobody asked for.
        reason = f"unexpected {message.METHOD} in state {self.state.value}"
        log.warning("session %s: %s", self.id, reason)
        return Reply(
            200, self.envelope(faults.make_fault(8003, reason), envelope.cwmp_id)
        )

    async def _on_cpe_request(self, envelope: Envelope) -> Reply:
        message = envelope.message
        if self.hold_requests_sent:
            log.warning(
                "session %s: CPE sent %s although HoldRequests was set; answering it",
                self.id, message.METHOD,
            )
        self.linger_until = None
        self._fire(Trigger.CPE_REQUEST, message.METHOD)
        answer = self._answer(message)
        await self.handler.on_cpe_request(self, message)
        return Reply(200, self.envelope(answer, envelope.cwmp_id))

    def _answer(self, message: rpc.Message) -> rpc.Message:
        if isinstance(message, rpc.GetRPCMethods):
            return rpc.GetRPCMethodsResponse(methods=rpc.ACS_METHODS)
        if isinstance(message, rpc.Kicked):
            return rpc.KickedResponse(next_url=message.next)
        name = rpc.RESPONSE_FOR.get(message.METHOD)
        cls = rpc.BY_METHOD.get(name or "")
        if cls is None:
            return faults.make_fault(8000, f"{message.METHOD} is not supported")
        return cls()

    async def _on_response(self, envelope: Envelope) -> Reply:
        assert self.pending is not None
        request = self.pending.message
        response = envelope.message
        expected = request.METHOD + "Response"
        if envelope.cwmp_id is not None and envelope.cwmp_id != self.pending_id:
            log.warning(
                "session %s: response ID %r does not match request ID %r",
                self.id, envelope.cwmp_id, self.pending_id,
            )
        if not isinstance(response, rpc.Fault) and expected != response.METHOD:
            response = faults.make_fault(
                9002, f"invalid response: expected {expected}, got {response.METHOD}"
            )
        self._fire(Trigger.RESPONSE, response.METHOD)
        self.pending = None
        self.pending_id = None
        if not isinstance(response, rpc.Fault):
            if isinstance(response, rpc.GetParameterNamesResponse):
                await self.ensure_full_tree()
            self.tree.apply_response(request, response, now_ms(self.clock))
        await self.handler.on_response(self, request, response)
        if self.finished:
            return Reply(204, close=True)
        return await self._advance()

    async def _on_empty(self) -> Reply:
        if self.state is State.PENDING_RPC and self.pending is not None:
            # The CPE gave up on our RPC without answering it.
            fault = faults.make_fault(9002, "empty POST instead of a response")
            request = self.pending.message
            self._fire(Trigger.RESPONSE, "empty POST")
            self.pending = None
            self.pending_id = None
            await self.handler.on_response(self, request, fault)
        return await self._advance()

    async def _advance(self) -> Reply:
        outgoing = await self.handler.next_rpc(self)
        if self.finished:  # ended (e.g. the ACS was stopped) while the handler worked
            return Reply(204, close=True)
        if outgoing is not None:
            self.rpc_count += 1
            self.pending = outgoing
            self.pending_id = f"{self.id[:8]}.{self.rpc_count}"
            self.hold_requests_sent = outgoing.hold_requests
            self.hold_requests_ever = self.hold_requests_ever or outgoing.hold_requests
            self._fire(Trigger.RPC_SENT, outgoing.message.METHOD)
            return Reply(
                200,
                self.envelope(
                    outgoing.message,
                    self.pending_id,
                    hold_requests=True if outgoing.hold_requests else None,
                ),
            )
        self._fire(Trigger.DONE)
        self.hold_requests_sent = False  # the empty reply lifts HoldRequests
        return Reply(204)

    # ------------------------------------------------------------------ ending
    def _record(self, outcome: SessionOutcome) -> SessionRecord:
        return SessionRecord(
            id=self.id,
            device_id=self.device_id,
            started=to_ms(self.started),
            ended=now_ms(self.clock),
            outcome=outcome,
            detail=self.detail,
            remote=self.remote,
            events=self.events,
            rpc_count=self.rpc_count,
            cwmp_version=self.cwmp_version,
        )

    async def commit(self) -> None:
        """Write the session's changes in one transaction, then END (FAULTED when it fails).

        Call after the reply that ended the session (204) has been recorded in the trace.
        """
        upserts, deletes = self.tree.changes()
        extras = self.commit_extras
        # A session that recorded a fault (a CWMP fault answered by the CPE, a script
        # error...) committed its data but did not do what was asked: its outcome says so.
        outcome = SessionOutcome.FAULT if extras.faults_put else SessionOutcome.OK
        if extras.faults_put and not self.detail:
            first = extras.faults_put[0]
            channels = ", ".join(sorted({f.channel for f in extras.faults_put}))
            self.detail = f"{first.code}: {first.message} (channel {channels})"
        commit = SessionCommit(
            device=self.device,
            upserts=upserts,
            deletes=deletes,
            session=self._record(outcome),
            trace=list(self.trace),
            extras=extras.copy(),
            tags_add=self.device.tags - self._tags_at_start,
            tags_remove=self._tags_at_start - self.device.tags,
            tags_delta=True,
        )
        try:
            await self.store.commit_session(commit)
        except Exception as exc:
            log.exception("session %s: commit failed", self.id)
            await self.abort(SessionOutcome.ERROR, f"commit failed: {exc}")
            return
        self.outcome = outcome
        self._fire(Trigger.COMMITTED)
        self._publish_end()
        await self.handler.on_end(self, outcome)

    async def abort(self, outcome: SessionOutcome, detail: str) -> None:
        """End the session abnormally: keep its record and trace, drop its parameter changes."""
        if self.finished:
            return
        self.outcome = outcome
        self.detail = detail
        self._fire(Trigger.ABORT, detail)
        try:
            await self.store.record_session_only(self.device, self._record(outcome), self.trace)
        except Exception:
            log.exception("session %s: could not record the aborted session", self.id)
        self._publish_end()
        try:
            await self.handler.on_end(self, outcome)
        except Exception:
            log.exception("session %s: handler failed on end", self.id)

    def _publish_end(self) -> None:
        self.bus.publish(DeviceUpdated(self.device_id, self.clock(), self.created))
        self.bus.publish(
            SessionEnded(
                self.id, self.device_id, self.clock(), self.outcome, self.detail, self.rpc_count
            )
        )
