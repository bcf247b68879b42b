"""The connection to a remote engine: NBI requests and the event stream, with reconnection.

:class:`Link` owns one aiohttp client session. :meth:`Link.request` makes one NBI request
and turns transport failures into :class:`ConnectionLost`, an HTTPS certificate that does
not verify into :class:`CertificateRejected` and 401 into :class:`Unauthorized`.
:meth:`Link.run_stream` keeps the WebSocket event stream open: when it
drops, it tries again after a growing delay (:func:`backoff`), until the link is closed, the
token is refused or the versions do not match. The token travels only in the
``Authorization`` header, never in a URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from acs_engine.remote.errors import (
    CertificateRejected,
    ConnectionLost,
    RemoteError,
    RemoteStatus,
    Unauthorized,
    VersionMismatch,
)
from acs_engine.server.events_codec import PROTOCOL_VERSION, CodecError, decode

__all__ = ["Link", "backoff"]

log = logging.getLogger("fieldacs.remote")

#: Largest event frame accepted from the engine (a wire message's body is bounded by the
#: engine's body limit; this leaves room for its base64).
MAX_EVENT_FRAME = 64 * 1024 * 1024
#: Seconds the engine has to send its hello.
HELLO_TIMEOUT = 10.0


def backoff(attempt: int, *, first: float = 0.5, longest: float = 15.0) -> float:
    """Seconds to wait before reconnection ``attempt`` (1, 2, ...): doubling, capped,
    with +-20 % jitter so that many consoles do not reconnect in step."""
    base = min(longest, first * (2 ** max(0, attempt - 1)))
    return float(base * random.uniform(0.8, 1.2))


class Link:
    """NBI requests and the event stream of one remote engine.

    Args:
        url: the NBI's base URL (``http://host:7557`` or ``https://...`` behind a proxy).
        token: the NBI bearer token (None: an engine without one, on loopback).
        on_status: called with every :class:`RemoteStatus`.
        protocol: the protocol version this side speaks.
        ssl: passed to aiohttp (an ``ssl.SSLContext`` for a private CA; False: no checks).
        timeout: seconds a request may take.
    """

    def __init__(
        self, url: str, token: str | None, *, on_status: Callable[[RemoteStatus], None],
        protocol: int = PROTOCOL_VERSION, ssl: Any = True, timeout: float = 120.0,
        first_delay: float = 0.5, longest_delay: float = 15.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._on_status = on_status
        self.protocol = protocol
        self._ssl = ssl
        self._timeout = timeout
        self._delays = (first_delay, longest_delay)
        self._session: aiohttp.ClientSession | None = None
        self.connected = False
        self.closed = False
        self.engine_version = ""
        self.attempt = 0

    # ------------------------------------------------------------------ session
    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            self._session = aiohttp.ClientSession(
                headers=headers, timeout=aiohttp.ClientTimeout(total=self._timeout),
                connector=aiohttp.TCPConnector(ssl=self._ssl),
            )
        return self._session

    async def close(self) -> None:
        self.closed = True
        self.connected = False
        if self._session is not None:
            await self._session.close()
            self._session = None

    def status(self, state: str, message: str, retry_in: float = 0.0) -> None:
        self._on_status(RemoteStatus(
            state, message, self.url, self.attempt, retry_in, time.time()))

    # ------------------------------------------------------------------ requests
    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One NBI request; returns (status, decoded JSON body or None).

        Raises:
            ConnectionLost: the engine cannot be reached.
            CertificateRejected: its HTTPS certificate does not verify.
            Unauthorized: the token was refused.
        """
        if self.closed:
            raise ConnectionLost("the console is not connected to an ACS")
        try:
            async with self._client().request(
                method, self.url + path, json=body,
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except aiohttp.ClientConnectorCertificateError as exc:
            raise CertificateRejected(
                f"the HTTPS certificate of the ACS at {self.url} does not verify "
                f"({exc.certificate_error})"
            ) from None
        except (TimeoutError, aiohttp.ClientConnectionError, OSError) as exc:
            raise ConnectionLost(f"the ACS at {self.url} cannot be reached: {exc}") from None
        if status == 401:
            raise Unauthorized(f"the ACS at {self.url} refused the token")
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return status, data

    async def check_version(self) -> None:
        """Ask the engine's versions; raise :class:`VersionMismatch` unless they match."""
        status, data = await self.request("GET", "/fieldacs/v1/version")
        if status == 404 or not isinstance(data, dict) or "protocol" not in data:
            raise VersionMismatch(
                f"{self.url} is not a FieldACS engine this console can attach to "
                f"(no /fieldacs/v1/version; HTTP {status})", None, self.protocol)
        self._check_protocol(data)

    def _check_protocol(self, data: dict[str, Any]) -> None:
        server = data.get("protocol")
        self.engine_version = str(data.get("engine", ""))
        if server != self.protocol:
            raise VersionMismatch(
                f"the ACS (FieldACS {self.engine_version}) speaks console protocol {server}, "
                f"this console speaks {self.protocol}: install the same FieldACS version on "
                "both", server if isinstance(server, int) else None, self.protocol,
                self.engine_version)

    # ------------------------------------------------------------------ event stream
    async def run_stream(
        self, on_event: Callable[[Any], None], on_connected: Callable[[], Awaitable[None]],
    ) -> None:
        """Keep the event stream open until :meth:`close`, a refused token or a version
        mismatch (which end it, after their status)."""
        while not self.closed:
            try:
                await self._stream_once(on_event, on_connected)
                reason = "the ACS closed the event stream"
            except Unauthorized as exc:
                self.connected = False
                self.status("unauthorized", str(exc))
                return
            except VersionMismatch as exc:
                self.connected = False
                self.status("version_mismatch", str(exc))
                return
            except (TimeoutError, aiohttp.ClientError, OSError, RemoteError) as exc:
                reason = str(exc) or type(exc).__name__
            if self.closed:
                return
            self.connected = False
            self.attempt += 1
            delay = backoff(self.attempt, first=self._delays[0], longest=self._delays[1])
            self.status("reconnecting",
                        f"connection to {self.url} lost ({reason}); retrying in {delay:.0f} s",
                        delay)
            await asyncio.sleep(delay)

    async def _stream_once(
        self, on_event: Callable[[Any], None], on_connected: Callable[[], Awaitable[None]],
    ) -> None:
        try:
            ws = await self._client().ws_connect(
                self.url + "/fieldacs/v1/events", heartbeat=20.0, max_msg_size=MAX_EVENT_FRAME,
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise Unauthorized(f"the ACS at {self.url} refused the token") from None
            if exc.status == 404:
                raise VersionMismatch(
                    f"{self.url} has no FieldACS event stream", None, self.protocol) from None
            raise
        async with ws:
            hello = await ws.receive(timeout=HELLO_TIMEOUT)
            if hello.type == aiohttp.WSMsgType.CLOSE and hello.data == 4401:
                raise Unauthorized(f"the ACS at {self.url} refused the token")
            if hello.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionLost("the event stream closed before its hello")
            data = json.loads(hello.data)
            if not isinstance(data, dict) or data.get("type") != "hello":
                raise ConnectionLost("the event stream did not start with a hello")
            self._check_protocol(data)
            self.connected = True
            self.attempt = 0
            await on_connected()
            self.status("connected", f"connected to {self.url} (FieldACS {self.engine_version})")
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(msg.data)
                    if isinstance(message, dict) and message.get("type") == "event":
                        on_event(decode(message.get("event")))
                except (ValueError, CodecError) as exc:
                    log.warning("an event from %s could not be read: %s", self.url, exc)
            if ws.close_code == 4401:
                raise Unauthorized(f"the ACS at {self.url} refused the token")
