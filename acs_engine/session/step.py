"""Step-through mode: hold a device's session before each RPC the ACS sends.

:class:`StepGate` wraps the engine's handler (the chain of manual RPCs and provisioning).
For a device in step mode, every time the session asks what to send next the gate takes the
inner handler's answer, publishes :class:`StepPending` and waits for the technician:

- :meth:`StepGate.send`: send the held RPC as it is.
- :meth:`StepGate.skip`: drop the held RPC, tell the inner handler so
  (:meth:`~acs_engine.session.handler.Handler.on_skipped`: provisioning leaves the work that
  asked for it undone in this session, without a fault) and ask it again. Should the inner
  handler offer the very RPC it was just told was skipped, the gate does not hold it again:
  it asks no more in this session (the session's end is held instead), so a skipped RPC is
  never sent.
- :meth:`StepGate.edit`: send another RPC in its place; its response goes to the inner
  handler as the answer to the edited request.
- :meth:`StepGate.insert`: send an ad-hoc RPC (GetParameterValues, SetParameterValues, ...)
  *before* the held one. Its response is kept in :attr:`StepGate.results` and is *not* given
  to the inner handler; the held RPC stays held and is offered again.

While the technician edits the held RPC (:meth:`StepGate.pause`), its countdown stops;
:meth:`StepGate.resume` gives back the seconds that were left (at least
:data:`RESUME_SECONDS`). The CPE's own HTTP timeout still runs meanwhile.

When the inner handler has nothing more (the session would end), the gate holds too, with
``rpc=None``: the technician may still insert RPCs; Send or Skip then ends the session.

A CPE waits only so long for the ACS's reply (its session timeout, ``session.timeout_ms``,
30 s by default) before it gives up on the session. The gate therefore sends the held RPC by
itself (``action="auto"``) at ``session.last_activity_ms + session.timeout_ms - margin``. Every
hold ends with :class:`StepResolved`; a session that ends while held (the engine stops)
resolves its hold with ``action="ended"``.

Install it with :func:`install_step_gate`. The gate lives on the engine's event loop; call its
methods from that loop's thread (the console's qasync loop is that thread).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from acs_engine.bus import EngineNotice, EventBus
from acs_engine.clock import now_ms, to_ms
from acs_engine.cwmp import rpc
from acs_engine.kinds import NoticeLevel, SessionOutcome
from acs_engine.session.handler import Handler, Outgoing

if TYPE_CHECKING:
    from acs_engine.server.controller import Engine
    from acs_engine.session.session import Session

log = logging.getLogger("fieldacs.session.step")

#: Inserted RPCs' (request, response) pairs kept per device.
RESULTS_KEPT = 50
#: Seconds a hold is given at least when its paused countdown resumes.
RESUME_SECONDS = 5.0
#: The longest a held RPC stays paused: then it is sent, as at its deadline. A console that
#: paused it and went away (a remote one's network, a laptop's lid) must not keep the device
#: "already in a session" for ever.
MAX_PAUSE_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class StepPending:
    """A device's session is held before an RPC, waiting for the technician.

    Attributes:
        session_id: the held session.
        device_id: its device.
        rpc: the RPC that would be sent; None when the session would end (nothing more).
        deadline_ms: when the gate sends it anyway (epoch milliseconds), so that the
            CPE's session does not time out.
        hold_requests: whether the RPC goes out with ``cwmp:HoldRequests``.
        paused: the countdown is stopped (the technician is editing the RPC);
            ``deadline_ms`` then says when it would have been sent.
    """

    session_id: str
    device_id: str
    rpc: rpc.Message | None
    deadline_ms: int
    hold_requests: bool = False
    paused: bool = False

    @property
    def ending(self) -> bool:
        """True when the session ends after this hold (the inner handler has nothing more)."""
        return self.rpc is None


@dataclass(frozen=True, slots=True)
class StepResolved:
    """A hold is over.

    Attributes:
        session_id: the session.
        device_id: its device.
        action: "send", "skip", "edit", "insert", "auto" (the deadline came) or "ended"
            (the session ended while held).
        rpc: what was sent to the CPE because of it (None: nothing, or the session ends).
        at_ms: when (epoch milliseconds).
    """

    session_id: str
    device_id: str
    action: str
    rpc: rpc.Message | None
    at_ms: int


class StepError(ValueError):
    """A step command that cannot be carried out (nothing held, not an ACS request, ...)."""


@dataclass(frozen=True, slots=True)
class _Decision:
    action: str
    message: rpc.Message | None = None


@dataclass(slots=True)
class _Steps:
    """What the gate knows about one session in step mode."""

    held: Outgoing | None = None
    has_held: bool = False  # ``held`` is a real RPC taken from the inner handler
    inserted: rpc.Message | None = None  # the ad-hoc RPC awaiting its response
    pending: StepPending | None = None
    decision: asyncio.Future[_Decision] | None = None
    sent: list[rpc.Message] = field(default_factory=list)
    skipped: rpc.Message | None = None  # the RPC skipped last, until another is offered
    given_up: bool = False  # the inner handler insisted on a skipped RPC: ask it no more
    paused_left_s: float | None = None  # seconds left when the countdown was paused
    paused_until_s: float = 0.0  # the gate's clock when a pause ends by itself
    rearm: asyncio.Future[None] | None = None  # set when the deadline or pause changes


def default_margin(timeout: float) -> float:
    """Seconds before the CPE's session timeout at which a held RPC is sent anyway."""
    return max(0.5, min(5.0, timeout * 0.2))


class StepGate(Handler):
    """Holds the sessions of devices in step mode before each outgoing RPC.

    Attributes:
        inner: the wrapped handler (the engine's chain).
        results: per device, the (request, response) pairs of RPCs inserted by hand,
            newest last (at most :data:`RESULTS_KEPT`).
    """

    def __init__(
        self,
        inner: Handler,
        bus: EventBus,
        *,
        margin: Callable[[float], float] | float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Wrap ``inner``; nothing is held until a device is :meth:`enable`-d.

        Args:
            inner: the handler to ask for RPCs (the engine's HandlerChain).
            bus: where :class:`StepPending` and :class:`StepResolved` are published.
            margin: seconds before the session timeout at which a hold is sent anyway;
                a number, or a function of the session timeout (default
                :func:`default_margin`).
            clock: the wall clock (``time.time``), the session's own clock.
        """
        self.inner = inner
        self.bus = bus
        self._margin = margin
        self._clock = clock
        self._enabled: set[str] = set()
        self._steps: dict[str, _Steps] = {}  # session id -> its step state
        self._session_of: dict[str, str] = {}  # device id -> session id in step state
        self.results: dict[str, deque[tuple[rpc.Message, rpc.Message]]] = {}

    # ------------------------------------------------------------------ step mode on/off
    def enable(self, device_id: str) -> None:
        """Hold ``device_id``'s sessions before each RPC, from its next RPC on."""
        self._enabled.add(device_id)

    def disable(self, device_id: str) -> None:
        """Stop holding ``device_id``; an RPC held right now is sent."""
        self._enabled.discard(device_id)
        steps = self._held_steps(device_id)
        if steps is not None:
            self._decide(steps, _Decision("send"))

    def set_enabled(self, device_id: str, enabled: bool) -> None:
        """:meth:`enable` or :meth:`disable` ``device_id``."""
        if enabled:
            self.enable(device_id)
        else:
            self.disable(device_id)

    def is_enabled(self, device_id: str) -> bool:
        """Whether ``device_id`` is in step mode."""
        return device_id in self._enabled

    @property
    def enabled_devices(self) -> frozenset[str]:
        """The devices in step mode."""
        return frozenset(self._enabled)

    def pending(self, device_id: str) -> StepPending | None:
        """The hold ``device_id``'s session waits in, or None."""
        steps = self._held_steps(device_id)
        return steps.pending if steps is not None else None

    # ------------------------------------------------------------------ decisions
    def send(self, device_id: str) -> None:
        """Send the held RPC (or end the session when nothing more is held)."""
        self._decide(self._require(device_id), _Decision("send"))

    def skip(self, device_id: str) -> None:
        """Drop the held RPC and ask the inner handler again (ends the session at the end)."""
        self._decide(self._require(device_id), _Decision("skip"))

    def edit(self, device_id: str, message: rpc.Message) -> None:
        """Send ``message`` instead of the held RPC.

        Raises:
            StepError: nothing is held, the session is about to end (insert instead), or
                ``message`` is not an RPC an ACS sends.
        """
        steps = self._require(device_id)
        _check_request(message)
        if steps.pending is not None and steps.pending.ending:
            raise StepError("the session is about to end: insert an RPC instead of editing")
        self._decide(steps, _Decision("edit", message))

    def insert(self, device_id: str, message: rpc.Message) -> None:
        """Send ``message`` first; the held RPC stays held and is offered again after it.

        The response is kept in :attr:`results`, not given to the inner handler.

        Raises:
            StepError: nothing is held, or ``message`` is not an RPC an ACS sends.
        """
        steps = self._require(device_id)
        _check_request(message)
        self._decide(steps, _Decision("insert", message))

    def pause(self, device_id: str) -> None:
        """Stop the held RPC's countdown (the technician is editing it); a no-op when
        nothing is held or it is paused already."""
        steps = self._held_steps(device_id)
        if steps is None or steps.pending is None or steps.paused_left_s is not None:
            return
        steps.paused_left_s = self._left_s(steps.pending.deadline_ms)
        steps.paused_until_s = self._clock() + MAX_PAUSE_SECONDS
        self._republish(steps, steps.pending.deadline_ms, paused=True)

    def resume(self, device_id: str) -> None:
        """Restart a paused countdown with the seconds it had left (at least
        :data:`RESUME_SECONDS`)."""
        steps = self._held_steps(device_id)
        if steps is None or steps.pending is None or steps.paused_left_s is None:
            return
        left_s = max(steps.paused_left_s, RESUME_SECONDS)
        steps.paused_left_s = None
        self._republish(steps, to_ms(self._clock() + left_s), paused=False)

    def _left_s(self, deadline_ms: int) -> float:
        """Seconds from the gate's clock to ``deadline_ms`` (0 when it has passed)."""
        return max(0.0, deadline_ms / 1000 - self._clock())

    def _republish(self, steps: _Steps, deadline_ms: int, *, paused: bool) -> None:
        assert steps.pending is not None
        steps.pending = replace(steps.pending, deadline_ms=deadline_ms, paused=paused)
        if steps.rearm is not None and not steps.rearm.done():
            steps.rearm.set_result(None)
        self.bus.publish(steps.pending)

    async def hold_external(
        self, session_id: str, device_id: str, message: rpc.Message | None, deadline_ms: int
    ) -> str:
        """Hold a message this gate does not send itself — the proxy's ACS->CPE answer
        (:mod:`acs_engine.server.proxy`) — until the technician sends it or ``deadline_ms``
        (epoch milliseconds).

        Only Send applies: the conversation is another ACS's, so Skip, Edit and Insert are
        refused with a notice and the hold goes on. Returns ``"send"`` or ``"auto"``.
        """
        steps = _Steps(pending=StepPending(session_id, device_id, message, deadline_ms))
        self._steps[session_id] = steps
        self._session_of[device_id] = session_id
        action = "auto"
        try:
            while True:
                steps.decision = asyncio.get_running_loop().create_future()
                self.bus.publish(steps.pending)
                left_s = self._left_s(deadline_ms)
                try:
                    decision = await asyncio.wait_for(asyncio.shield(steps.decision), left_s)
                except TimeoutError:
                    break
                if decision.action == "send":
                    action = "send"
                    break
                self.bus.publish(EngineNotice(
                    now_ms(self._clock), NoticeLevel.WARNING,
                    f"Proxy mode: {decision.action} is off (the session is another ACS's); "
                    "only Send passes the held message on"))
        finally:
            steps.decision = None
            self._steps.pop(session_id, None)
            if self._session_of.get(device_id) == session_id:
                self._session_of.pop(device_id, None)
        self.bus.publish(
            StepResolved(session_id, device_id, action, message, now_ms(self._clock)))
        return action

    def _held_steps(self, device_id: str) -> _Steps | None:
        session_id = self._session_of.get(device_id)
        steps = self._steps.get(session_id) if session_id else None
        if steps is None or steps.decision is None or steps.decision.done():
            return None
        return steps

    def _require(self, device_id: str) -> _Steps:
        steps = self._held_steps(device_id)
        if steps is None:
            raise StepError(f"no session of {device_id} is held")
        return steps

    @staticmethod
    def _decide(steps: _Steps, decision: _Decision) -> None:
        if steps.decision is not None and not steps.decision.done():
            steps.decision.set_result(decision)

    # ------------------------------------------------------------------ the hook
    async def on_inform(self, session: Session) -> None:
        await self.inner.on_inform(session)

    async def on_cpe_request(self, session: Session, request: rpc.Message) -> None:
        await self.inner.on_cpe_request(session, request)

    async def on_response(
        self, session: Session, request: rpc.Message, response: rpc.Message
    ) -> None:
        steps = self._steps.get(session.id)
        if steps is not None and steps.inserted is not None:
            steps.inserted = None
            kept = self.results.setdefault(session.device_id, deque(maxlen=RESULTS_KEPT))
            kept.append((request, response))
            return
        await self.inner.on_response(session, request, response)

    async def on_end(self, session: Session, outcome: SessionOutcome) -> None:
        steps = self._steps.pop(session.id, None)
        if self._session_of.get(session.device_id) == session.id:
            del self._session_of[session.device_id]
        if steps is not None:
            self._decide(steps, _Decision("ended"))
        await self.inner.on_end(session, outcome)

    async def next_rpc(self, session: Session) -> Outgoing | None:
        steps = self._steps.get(session.id)
        if session.device_id not in self._enabled:
            if steps is not None and steps.has_held:
                # Step mode was switched off after an insert: the held RPC still goes out.
                return self._take_held(steps)
            return await self.inner.next_rpc(session)
        if steps is None:
            steps = self._steps[session.id] = _Steps()
            self._session_of[session.device_id] = session.id
        while True:
            if not steps.has_held and not steps.given_up:
                steps.held = await self.inner.next_rpc(session)
                steps.has_held = steps.held is not None
                if steps.held is not None and steps.held.message == steps.skipped:
                    # The inner handler still wants what was skipped: end its work here.
                    log.info(
                        "session %s: %s was skipped; asking the handler for no more RPCs",
                        session.id, steps.held.message.METHOD,
                    )
                    steps.given_up = True
                    steps.held = None
                    steps.has_held = False
                steps.skipped = None
            if session.finished:
                return None
            decision = await self._hold(session, steps)
            if decision.action == "ended":  # the session ended while held
                self._take_held(steps)
                self._resolved(session, "ended", None)
                return None
            if decision.action in ("send", "auto"):
                outgoing = self._take_held(steps)
                self._resolved(session, decision.action, outgoing)
                return outgoing
            if decision.action == "edit" and decision.message is not None:
                hold_requests = steps.held.hold_requests if steps.held is not None else False
                self._take_held(steps)
                outgoing = Outgoing(decision.message, hold_requests)
                self._resolved(session, "edit", outgoing)
                return outgoing
            if decision.action == "insert" and decision.message is not None:
                steps.inserted = decision.message
                outgoing = Outgoing(decision.message)
                self._resolved(session, "insert", outgoing)
                return outgoing
            # skip: forget the held RPC (its owner is told); the session ends when there was
            # none.
            ending = not steps.has_held
            skipped = self._take_held(steps)
            self._resolved(session, "skip", None)
            if ending:
                return None
            if skipped is not None:
                steps.skipped = skipped.message
                await self.inner.on_skipped(session, skipped.message)

    @staticmethod
    def _take_held(steps: _Steps) -> Outgoing | None:
        outgoing = steps.held if steps.has_held else None
        steps.held = None
        steps.has_held = False
        return outgoing

    def margin_for(self, timeout: float) -> float:
        """Seconds before a session's timeout at which its hold is sent anyway."""
        if self._margin is None:
            return default_margin(timeout)
        if callable(self._margin):
            return float(self._margin(timeout))
        return float(self._margin)

    async def _hold(self, session: Session, steps: _Steps) -> _Decision:
        held = steps.held if steps.has_held else None
        margin_ms = to_ms(self.margin_for(session.timeout_ms / 1000))
        deadline_ms = session.last_activity_ms + session.timeout_ms - margin_ms
        pending = StepPending(
            session.id,
            session.device_id,
            held.message if held is not None else None,
            deadline_ms,
            held.hold_requests if held is not None else False,
        )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Decision] = loop.create_future()
        steps.pending = pending
        steps.decision = future
        steps.paused_left_s = None
        self.bus.publish(pending)
        try:
            while True:
                rearm: asyncio.Future[None] = loop.create_future()
                steps.rearm = rearm
                current = steps.pending
                assert current is not None
                timeout = (max(0.0, steps.paused_until_s - self._clock()) if current.paused
                           else self._left_s(current.deadline_ms))
                waiting: set[asyncio.Future[Any]] = {future, rearm}
                done, _ = await asyncio.wait(
                    waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if future in done:
                    return future.result()
                if rearm not in done:
                    break
            log.info(
                "session %s: step hold %s; sending %s", session.id,
                "stayed paused too long" if current.paused else "reached its deadline",
                held.message.METHOD if held else "the end of the session",
            )
            return _Decision("auto")
        finally:
            if steps.rearm is not None and not steps.rearm.done():
                steps.rearm.cancel()
            steps.rearm = None
            steps.pending = None
            steps.decision = None
            steps.paused_left_s = None

    def _resolved(self, session: Session, action: str, outgoing: Outgoing | None) -> None:
        self.bus.publish(
            StepResolved(
                session.id,
                session.device_id,
                action,
                outgoing.message if outgoing is not None else None,
                now_ms(self._clock),
            )
        )


def _check_request(message: rpc.Message) -> None:
    if not isinstance(message, rpc.Message) or not type(message).ACS_REQUEST:
        name = getattr(message, "METHOD", type(message).__name__)
        raise StepError(f"{name} is not an RPC the ACS can send")


def install_step_gate(engine: Engine, **options: Any) -> StepGate:
    """Wrap ``engine.handler`` in a :class:`StepGate` (once) and return the gate.

    Call it before or after :meth:`Engine.start`: the CWMP server's handler is replaced too,
    so every *new* session goes through the gate (sessions already running keep theirs).
    Calling it again returns the installed gate.

    Args:
        engine: the engine.
        **options: keyword arguments for :class:`StepGate` (``margin``, ``clock``).

    Returns:
        The gate: enable devices on it and answer its holds.
    """
    current: Handler = engine.handler
    if isinstance(current, StepGate):
        return current
    gate = StepGate(current, engine.bus, **options)
    engine.wrap_handler(lambda _inner: gate)
    return gate
