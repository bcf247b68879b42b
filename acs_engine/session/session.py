"""One CWMP session with one CPE, as a protocol object (like h11's ``Connection``).

The session drives the state machine, answers the CPE's own requests, keeps the device's tree up
to date from every response and records the wire trace. It neither publishes nor writes: every
event it makes is queued (:meth:`Session.take_events`) and every step returns what happened:

- :meth:`Session.begin` takes the Inform (with the stored values its parameters need, see
  :meth:`Session.inform_reads`); :meth:`Session.inform_response` is the answer;
- :meth:`Session.receive` takes each later message and returns a :data:`Step`: a reply to send
  now, a CPE request to tell the handler of, a response for the handler, or the ACS's turn;
- :meth:`Session.send` takes the handler's next RPC (or None) and returns the reply;
- :meth:`Session.prepare_commit` / :meth:`Session.committed` and :meth:`Session.abort` /
  :meth:`Session.ended` bracket the store's write.

:class:`~acs_engine.session.driver.SessionDriver` does the I/O around it (the store, the
handler, the bus) for the CWMP server and the dry run. The one I/O a session does itself is
``ensure_full_tree``, for its handlers, through the loader it is given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from acs_engine.bus import (
    DeviceUpdated,
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
from acs_engine.session.handler import Outgoing
from acs_engine.session.machine import FINAL_STATES, State, Trigger, next_state
from acs_engine.session.tree import DeviceTree, ancestor_objects
from acs_engine.store.model import (
    CommitExtras,
    DeviceRecord,
    Param,
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


@dataclass(frozen=True, slots=True)
class Answer:
    """Send ``reply`` now; nothing else to do."""

    reply: Reply


@dataclass(frozen=True, slots=True)
class CpeRequest:
    """The CPE sent a request of its own: tell the handler, then send ``reply`` (its answer)."""

    message: rpc.Message
    reply: Reply


@dataclass(frozen=True, slots=True)
class Response:
    """The CPE answered ``request`` (``response`` is an ``rpc.Fault`` when it refused, sent
    something else or gave up with an empty POST): load the whole tree first when
    ``full_tree``, :meth:`Session.apply_response` when ``apply``, tell the handler, then take
    the ACS's turn (unless the session ended meanwhile and not ``gave_up``)."""

    request: rpc.Message
    response: rpc.Message
    full_tree: bool = False
    apply: bool = False
    #: The CPE gave up on the RPC (an empty POST): the turn is taken without that check.
    gave_up: bool = False


@dataclass(frozen=True, slots=True)
class Turn:
    """The ACS's turn: ask the handler for the next RPC and :meth:`Session.send` it."""


#: What :meth:`Session.receive` returns.
Step = Answer | CpeRequest | Response | Turn

TreeLoader = Callable[[], Awaitable[dict[str, Param]]]


async def _no_stored_tree() -> dict[str, Param]:
    return {}


class Session:
    """The state of one CWMP session; created by the server for each Inform and driven by a
    :class:`~acs_engine.session.driver.SessionDriver`.

    ``load_tree`` reads the device's whole stored tree for :meth:`ensure_full_tree` (by
    default there is none stored: fine for a new device or a test, not for a known device).

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
        config: EngineConfig,
        load_tree: TreeLoader = _no_stored_tree,
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
        self.config = config
        #: Loads the device's whole stored tree (for :meth:`ensure_full_tree`).
        self._load_tree = load_tree
        #: Events made and not yet taken (:meth:`take_events`), oldest first.
        self._events: list[object] = []
        self.remote = remote
        #: The address of ours the CPE reached (for URLs we hand it, e.g. Download).
        self.local_host = local_host
        #: The Inform came over HTTPS (URLs we hand the CPE then use https when they can).
        self.secure = secure
        self.clock = clock
        self.state = State.INIT
        self.tree = DeviceTree()
        #: When the Inform came and the CPE's last message (epoch ms, by ``clock``).
        self.started_ms = now_ms(clock)
        self.last_activity_ms = self.started_ms
        #: Milliseconds of CPE silence before the session is dropped: the CPE's
        #: cwmp:SessionTimeout, else the configured one.
        self.timeout_ms = (
            to_ms(inform_envelope.session_timeout) if inform_envelope.session_timeout
            else config.session_timeout_ms
        )
        self.rpc_count = 0
        self.pending: Outgoing | None = None
        self.pending_id: str | None = None
        self.hold_requests_sent = False
        #: Some message of this session told the CPE to hold its requests.
        self.hold_requests_ever = False
        #: While lingering in COMMIT (see machine.py): when to commit at the latest (epoch ms).
        self.linger_until_ms: int | None = None
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
            self._events.append(
                SessionStateChanged(
                    self.id, self.device_id, old, self.state, now_ms(self.clock), reason
                )
            )

    def take_events(self) -> list[object]:
        """The bus events made since the last call, oldest first (the caller publishes)."""
        events, self._events = self._events, []
        return events

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
        """Queue one HTTP message of this session as an event and keep it in the trace."""
        at_ms = now_ms(self.clock)
        self._events.append(
            WireMessage(
                self.id, self.device_id, direction, at_ms, rpc_name, cwmp_id, status, headers, body,
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
                len(self.trace), at_ms, direction, rpc_name, cwmp_id, status, headers,
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
    def inform_reads(self) -> list[str] | None:
        """The stored values :meth:`begin` needs: the Inform's parameters and their object
        ancestors; None when nothing is to be read (a new device, or no parameters)."""
        if self.created or not self.inform.parameters:
            return None
        names = [pv.name for pv in self.inform.parameters]
        return names + ancestor_objects(names)

    def begin(self, known: dict[str, Param] | None = None) -> None:
        """Process the Inform: update the device and the tree (``known``: the stored values
        of :meth:`inform_reads`), then INIT -> PROCESS. Tell the handler next."""
        at_ms = now_ms(self.clock)
        inform = self.inform
        self.device.last_inform_ms = at_ms
        if inform.has_event("1 BOOT"):
            self.device.last_boot_ms = at_ms
        if inform.has_event("0 BOOTSTRAP"):
            self.device.last_bootstrap_ms = at_ms
        self.device.remote_address = self.remote
        self.device.cwmp_version = self.cwmp_version
        if known is not None:
            self.tree.merge_loaded(known, full=False)
        elif self.created:
            self.tree.full = True  # a new device has no stored tree
        self.tree.apply_inform(inform, at_ms)
        self._fire(Trigger.INFORM, " ".join(["Inform", ", ".join(self.events)]).strip())
        self._events.append(
            SessionStarted(
                self.id, self.device_id, self.started_ms, self.remote, self.events,
                self.cwmp_version,
            )
        )

    def inform_response(self) -> Reply:
        """The InformResponse."""
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
            stored = await self._load_tree()
            self.tree.merge_loaded(stored, full=True)
        return self.tree

    # ------------------------------------------------------------------ later messages
    def receive(self, envelope: Envelope | None) -> Step:
        """Take one POST after the Inform: a CPE request, a response, a fault or empty.

        Raises:
            RemoteProtocolError: the message is not allowed in the session's state.
        """
        self.last_activity_ms = now_ms(self.clock)
        if self.state is State.COMMIT and (envelope is None or not type(envelope.message).CPE_REQUEST):
            return Answer(Reply(204))  # lingering after our 204: nothing more from the ACS
        if envelope is None:
            return self._on_empty()
        message = envelope.message
        if isinstance(message, rpc.Inform):  # the server starts a new session instead
            raise RuntimeError("an Inform starts a new session")
        if type(message).CPE_REQUEST:
            return self._on_cpe_request(envelope)
        if type(message).ACS_REQUEST:
            fault = faults.make_fault(8000, f"{message.METHOD} is not a method of the ACS")
            return Answer(Reply(200, self.envelope(fault, envelope.cwmp_id)))
        if self.state is State.PENDING_RPC:
            return self._on_response(envelope)
        # A response or fault nobody asked for.
        reason = f"unexpected {message.METHOD} in state {self.state.value}"
        log.warning("session %s: %s", self.id, reason)
        return Answer(Reply(
            200, self.envelope(faults.make_fault(8003, reason), envelope.cwmp_id)
        ))

    def _on_cpe_request(self, envelope: Envelope) -> CpeRequest:
        message = envelope.message
        if self.hold_requests_sent:
            log.warning(
                "session %s: CPE sent %s although HoldRequests was set; answering it",
                self.id, message.METHOD,
            )
        self.linger_until_ms = None
        self._fire(Trigger.CPE_REQUEST, message.METHOD)
        answer = self._answer(message)
        return CpeRequest(message, Reply(200, self.envelope(answer, envelope.cwmp_id)))

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

    def _on_response(self, envelope: Envelope) -> Response:
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
        ok = not isinstance(response, rpc.Fault)
        return Response(
            request, response,
            full_tree=ok and isinstance(response, rpc.GetParameterNamesResponse), apply=ok,
        )

    def apply_response(self, request: rpc.Message, response: rpc.Message) -> None:
        """Bring the tree up to date with the CPE's answer to ``request``."""
        self.tree.apply_response(request, response, now_ms(self.clock))

    def _on_empty(self) -> Step:
        if self.state is State.PENDING_RPC and self.pending is not None:
            # The CPE gave up on our RPC without answering it.
            fault = faults.make_fault(9002, "empty POST instead of a response")
            request = self.pending.message
            self._fire(Trigger.RESPONSE, "empty POST")
            self.pending = None
            self.pending_id = None
            return Response(request, fault, gave_up=True)
        return Turn()

    def send(self, outgoing: Outgoing | None) -> Reply:
        """The reply for the ACS's turn: ``outgoing`` (the handler's next RPC) or, when None,
        the empty 204 that ends the ACS's part (-> COMMIT)."""
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
            started_ms=self.started_ms,
            ended_ms=now_ms(self.clock),
            outcome=outcome,
            detail=self.detail,
            remote=self.remote,
            events=self.events,
            rpc_count=self.rpc_count,
            cwmp_version=self.cwmp_version,
        )

    def prepare_commit(self) -> SessionCommit:
        """Everything the session writes, in one :class:`SessionCommit` (its record carries
        the outcome: ``fault`` when a fault was recorded, else ``ok``). Write it, then call
        :meth:`committed`, or :meth:`abort` when the write failed.

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
        return SessionCommit(
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

    def committed(self, outcome: SessionOutcome) -> None:
        """The commit is written: COMMIT -> END, and the session's end events."""
        self.outcome = outcome
        self._fire(Trigger.COMMITTED)
        self.ended()

    def abort(self, outcome: SessionOutcome, detail: str) -> SessionRecord | None:
        """End the session abnormally (-> FAULTED): the record to store with its trace (its
        parameter changes are dropped), then call :meth:`ended`. None: already over."""
        if self.finished:
            return None
        self.outcome = outcome
        self.detail = detail
        self._fire(Trigger.ABORT, detail)
        return self._record(outcome)

    def ended(self) -> None:
        """Queue the end events: the device was updated, the session ended."""
        self._events.append(DeviceUpdated(self.device_id, now_ms(self.clock), self.created))
        self._events.append(
            SessionEnded(
                self.id, self.device_id, now_ms(self.clock), self.outcome, self.detail,
                self.rpc_count,
            )
        )
