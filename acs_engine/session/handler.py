"""The policy hook: a session asks its handler what to send next and tells it what came back.

Presets and provisions, tasks, a technician's manual RPCs and the console's step-through mode are
all handlers of this one hook. :class:`RpcQueue` is the simplest: per-device queues of RPCs.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acs_engine.cwmp import rpc
from acs_engine.kinds import SessionOutcome

if TYPE_CHECKING:
    from acs_engine.session.session import Session


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An RPC the handler wants sent, with the ``cwmp:HoldRequests`` flag to send with it."""

    message: rpc.Message
    hold_requests: bool = False


class Handler:
    """Base handler: sends nothing, ignores everything. Subclass and override what you need."""

    async def on_inform(self, session: Session) -> None:
        """The session's Inform was accepted and the device's data loaded."""

    async def next_rpc(self, session: Session) -> Outgoing | None:
        """The next RPC to send, or None to end the session."""
        return None

    async def on_response(
        self, session: Session, request: rpc.Message, response: rpc.Message
    ) -> None:
        """The CPE answered ``request`` with ``response`` (a response or an ``rpc.Fault``)."""

    async def on_cpe_request(self, session: Session, request: rpc.Message) -> None:
        """The CPE sent a request (TransferComplete, RequestDownload, ...); it is answered."""

    async def on_skipped(self, session: Session, request: rpc.Message) -> None:
        """``request``, which :meth:`next_rpc` gave, will not be sent (a technician skipped
        it in step mode): do not wait for its answer."""

    async def on_end(self, session: Session, outcome: SessionOutcome) -> None:
        """The session is over, and how."""


#: Answers to queued RPCs kept per device, newest last.
RESULTS_PER_DEVICE = 50
#: Devices whose answers are kept (those answering least recently are forgotten first).
RESULTS_DEVICES = 1_000


class RpcQueue(Handler):
    """Per-device FIFO queues of RPCs; every queued RPC is sent in the device's next session.

    Responses are kept per device in ``results`` (request, response) for whoever queued them:
    the last :data:`RESULTS_PER_DEVICE` of the last :data:`RESULTS_DEVICES` devices answering,
    so a long-running engine does not keep every answer it was ever given.
    """

    def __init__(self) -> None:
        self._queues: dict[str, deque[Outgoing]] = {}
        self.results: OrderedDict[str, deque[tuple[rpc.Message, rpc.Message]]] = OrderedDict()

    def put(self, device_id: str, message: rpc.Message, *, hold_requests: bool = False) -> None:
        """Queue ``message`` for ``device_id``."""
        self._queues.setdefault(device_id, deque()).append(Outgoing(message, hold_requests))

    def pending(self, device_id: str) -> int:
        """How many RPCs wait for ``device_id``."""
        return len(self._queues.get(device_id, ()))

    async def next_rpc(self, session: Session) -> Outgoing | None:
        queue = self._queues.get(session.device_id)
        if not queue:
            return None
        item = queue.popleft()
        if not queue:
            del self._queues[session.device_id]
        return item

    async def on_response(
        self, session: Session, request: rpc.Message, response: rpc.Message
    ) -> None:
        kept = self.results.get(session.device_id)
        if kept is None:
            kept = self.results[session.device_id] = deque(maxlen=RESULTS_PER_DEVICE)
            while len(self.results) > RESULTS_DEVICES:
                self.results.popitem(last=False)
        else:
            self.results.move_to_end(session.device_id)
        kept.append((request, response))


class HandlerChain(Handler):
    """Several handlers as one: the first that has an RPC to send sends it.

    Responses go back to the handler whose RPC it was; every other callback reaches all of them,
    in order. The engine's chain is: a technician's manual RPCs, then provisioning.
    """

    def __init__(self, *handlers: Handler) -> None:
        self.handlers: list[Handler] = list(handlers)
        self._owner: dict[str, Handler] = {}  # session id -> handler of the RPC in flight

    async def on_inform(self, session: Session) -> None:
        for handler in self.handlers:
            await handler.on_inform(session)

    async def next_rpc(self, session: Session) -> Outgoing | None:
        for handler in self.handlers:
            outgoing = await handler.next_rpc(session)
            if outgoing is not None:
                self._owner[session.id] = handler
                return outgoing
        self._owner.pop(session.id, None)
        return None

    async def on_response(
        self, session: Session, request: rpc.Message, response: rpc.Message
    ) -> None:
        owner = self._owner.pop(session.id, None)
        if owner is not None:
            await owner.on_response(session, request, response)

    async def on_cpe_request(self, session: Session, request: rpc.Message) -> None:
        for handler in self.handlers:
            await handler.on_cpe_request(session, request)

    async def on_skipped(self, session: Session, request: rpc.Message) -> None:
        owner = self._owner.pop(session.id, None)
        if owner is not None:
            await owner.on_skipped(session, request)

    async def on_end(self, session: Session, outcome: SessionOutcome) -> None:
        self._owner.pop(session.id, None)
        for handler in self.handlers:
            await handler.on_end(session, outcome)
