"""The live event stream: the engine's bus over a WebSocket on the NBI listener.

``GET /fieldacs/v1/events`` upgrades to a WebSocket. A console attached to a remote engine
(:mod:`acs_engine.remote`) gets every event the bus publishes, as it happens.

Authentication, when the NBI has a token, is the NBI's bearer token, either

- in the ``Authorization: Bearer <token>`` header of the upgrade request (a wrong token
  there is answered 401 before any upgrade), or
- in the first message, ``{"type": "auth", "token": "..."}``, within
  :data:`AUTH_TIMEOUT` seconds, for clients that cannot set headers (web browsers).

Never in the URL (URLs land in logs). A wrong or missing first-message token closes the
socket with code 4401. The messages, all JSON text frames:

- ``{"type": "hello", "protocol": 1, "engine": "<version>", "step_holder": "..."}``: first,
  after authentication. A client that does not speak ``protocol`` closes (it tells its
  user: a version mismatch).
- ``{"type": "event", "seq": N, "event": <codec value>}``: one bus event
  (:mod:`acs_engine.server.events_codec`); ``seq`` counts from 1 on each connection.
- ``{"type": "ping"}`` from the client is answered ``{"type": "pong"}``. Other client
  messages are ignored.

Each client has a bounded queue (:data:`QUEUE_SIZE` events): a client that does not read
fast enough is disconnected (the connection is cut: its buffers are full, no close frame
would get through) rather than let memory grow; it reconnects and reloads. Client frames larger than :data:`MAX_CLIENT_FRAME` bytes close the socket (1009),
more than :data:`MAX_CLIENT_MESSAGES_PER_S` messages a second close it (4029), and at most
:data:`MAX_CLIENTS` streams are open at once (503 beyond). None of this touches the CWMP
listener, which serves CPEs whatever the consoles do.

The NBI is plain HTTP: for a console on another machine, put the NBI behind a TLS reverse
proxy (``wss://``), or reach it through an SSH tunnel (docs/remote-console.md).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from acs_engine import __version__
from acs_engine.bus import EventBus
from acs_engine.server.events_codec import PROTOCOL_VERSION, CodecError, encode

__all__ = [
    "AUTH_TIMEOUT", "EVENTS_PATH", "MAX_CLIENTS", "MAX_CLIENT_FRAME", "QUEUE_SIZE",
    "EventStream",
]

log = logging.getLogger("fieldacs.nbi.events")

EVENTS_PATH = "/fieldacs/v1/events"
#: Seconds a client has to send its token as its first message.
AUTH_TIMEOUT = 5.0
#: Events queued for one client before it is disconnected as too slow.
QUEUE_SIZE = 1000
#: Largest frame a client may send (its messages are tiny: auth, ping).
MAX_CLIENT_FRAME = 4096
#: Client messages a second beyond which it is disconnected.
MAX_CLIENT_MESSAGES_PER_S = 50
#: Event streams open at once.
MAX_CLIENTS = 32

CLOSE_UNAUTHORIZED = 4401
CLOSE_FLOOD = 4029


class _Client:
    __slots__ = ("dropped", "queue", "request", "sender", "ws")

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, size: int) -> None:
        self.request = request
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=size)
        self.dropped = False
        self.sender: asyncio.Task[None] | None = None

    def drop(self) -> None:
        """Disconnect a client too slow to read. Its socket buffers are full, so no close
        frame would get through: the connection is cut (the client sees 1006)."""
        if self.sender is not None:
            self.sender.cancel()
        transport = self.request.transport
        if transport is not None and not transport.is_closing():
            transport.abort()


class EventStream:
    """Serves the bus's events to WebSocket clients.

    Args:
        bus: the engine's bus.
        token: the NBI's bearer token (None: no authentication, loopback only).
        step_holder: gives who holds step mode now (for the hello).
        queue_size: events queued per client before it is dropped (default
            :data:`QUEUE_SIZE`).
    """

    def __init__(
        self, bus: EventBus, token: str | None,
        step_holder: Callable[[], str] = lambda: "", *, queue_size: int | None = None,
    ) -> None:
        self._bus = bus
        self._token = token.encode("utf-8") if token else None
        self._step_holder = step_holder
        self._queue_size = queue_size or QUEUE_SIZE
        self._clients: set[_Client] = set()
        #: Sockets waiting for their first-message token (bounded like the streams).
        self._pending_auth = 0
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def _token_ok(self, presented: object) -> bool:
        if self._token is None:
            return True
        if not isinstance(presented, str):
            return False
        return hmac.compare_digest(presented.encode("utf-8", "replace"), self._token)

    def _on_event(self, event: Any) -> None:
        if not self._clients:
            return
        try:
            data = encode(event)
        except CodecError:
            log.debug("event %s is not streamed (no codec)", type(event).__name__)
            return
        for client in tuple(self._clients):
            if client.dropped:
                continue
            try:
                client.queue.put_nowait(json.dumps(
                    {"type": "event", "seq": 0, "event": data}, separators=(",", ":")))
            except asyncio.QueueFull:
                client.dropped = True
                log.warning("event stream client too slow: disconnected")
                asyncio.get_running_loop().call_soon(client.drop)
            except ValueError:  # NaN in an event: not JSON
                log.debug("event %s is not JSON", type(event).__name__)

    def _subscribe(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self._bus.subscribe(self._on_event)

    async def close(self) -> None:
        """Close every stream (the engine stops)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for client in tuple(self._clients):
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"engine stopping")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The ``GET /fieldacs/v1/events`` route."""
        header = request.headers.get("Authorization")
        header_ok = False
        if header is not None and self._token is not None:
            scheme, _, presented = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not self._token_ok(presented.strip()):
                # the bearer middleware answers this before we get here; kept for safety
                raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"})
            header_ok = True
        if len(self._clients) >= MAX_CLIENTS or self._pending_auth >= MAX_CLIENTS:
            raise web.HTTPServiceUnavailable(reason="Too many event streams")
        ws = web.WebSocketResponse(
            heartbeat=20.0, max_msg_size=MAX_CLIENT_FRAME, autoping=True,
        )
        await ws.prepare(request)
        if not header_ok and self._token is not None:
            self._pending_auth += 1
            try:
                if not await self._first_message_auth(ws):
                    return ws
            finally:
                self._pending_auth -= 1
        client = _Client(request, ws, self._queue_size)
        self._subscribe()
        self._clients.add(client)
        sender = client.sender = asyncio.create_task(
            self._send_loop(client), name="events-ws-send")
        try:
            await ws.send_str(json.dumps({
                "type": "hello", "protocol": PROTOCOL_VERSION, "engine": __version__,
                "step_holder": self._step_holder(),
            }))
            await self._read_loop(client)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(client)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            if not ws.closed:
                await ws.close()
        return ws

    async def _first_message_auth(self, ws: web.WebSocketResponse) -> bool:
        try:
            msg = await ws.receive(timeout=AUTH_TIMEOUT)
        except TimeoutError:
            await ws.close(code=CLOSE_UNAUTHORIZED, message=b"no token")
            return False
        token: object = None
        if msg.type == WSMsgType.TEXT:
            try:
                data = json.loads(msg.data)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("type") == "auth":
                token = data.get("token")
        if token is None or not self._token_ok(token):
            log.warning("event stream with a missing or wrong token")
            if not ws.closed:
                await ws.close(code=CLOSE_UNAUTHORIZED, message=b"invalid token")
            return False
        return True

    async def _read_loop(self, client: _Client) -> None:
        ws = client.ws
        window_start, count = time.monotonic(), 0
        async for msg in ws:
            now = time.monotonic()  # every frame counts, binary ones too
            if now - window_start >= 1.0:
                window_start, count = now, 0
            count += 1
            if count > MAX_CLIENT_MESSAGES_PER_S:
                log.warning("event stream client floods: disconnected")
                await ws.close(code=CLOSE_FLOOD, message=b"too many messages")
                return
            if msg.type != WSMsgType.TEXT:
                continue  # binary frames are ignored; errors end the iteration
            try:
                data = json.loads(msg.data)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("type") == "ping":
                await ws.send_str('{"type":"pong"}')

    async def _send_loop(self, client: _Client) -> None:
        ws = client.ws
        seq = 0
        while True:
            text = await client.queue.get()
            seq += 1
            # "seq":0 -> this connection's counter, without re-encoding the event
            await ws.send_str(text.replace('"seq":0', f'"seq":{seq}', 1))
