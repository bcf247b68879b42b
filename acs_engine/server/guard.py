"""Connection limits every listener enforces before aiohttp sees a byte (slowloris defence).

aiohttp bounds neither how many connections a listener holds nor how long a client may take
to send a request's headers: a thousand clients trickling headers held every socket (and the
process's file descriptors) for as long as they liked. :class:`ConnectionGuard` sits between
the listening socket and aiohttp's protocol:

- **caps**: at most ``max_connections`` open connections per listener and
  ``max_connections_per_address`` from one source address; a connection over a cap is closed
  as soon as it is accepted (it costs one accept, no parsing);
- **header time**: a request's headers must be complete within ``header_timeout_ms`` of
  its first byte (and a new connection must start its first request within that time);
- **body time**: once the headers are in, the body must keep coming (no pause longer than
  ``header_timeout_ms``) and, where a body limit applies (CWMP), be complete within
  ``body_timeout_ms``;
- an idle keep-alive connection is aiohttp's business (its ``keepalive_timeout``, which
  the runners set, see :func:`keepalive_for`).

To know where a request ends the guard follows HTTP/1.1 framing on the bytes it passes on
(the end of the header block, Content-Length, chunked encoding); it never changes them.
Deadlines are checked by one timer per listener, twice a second.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from acs_engine.config import EngineConfig

try:
    import resource
except ImportError:  # pragma: no cover - Windows has no rlimits; its limit is high
    resource = None  # type: ignore[assignment]

log = logging.getLogger("fieldacs.server.guard")

#: How often deadlines are checked, seconds.
TICK = 0.5
#: A header block larger than this is not HTTP we serve: the connection is closed.
MAX_HEADER_BLOCK = 64 * 1024
_CONTENT_LENGTH_RE = re.compile(rb"\ncontent-length[ \t]*:[ \t]*(\d{1,15})", re.IGNORECASE)
_CHUNKED_RE = re.compile(rb"\ntransfer-encoding[ \t]*:[^\n]*chunked", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Limits:
    """One listener's connection limits (see the module doc)."""

    max_connections: int = 1024
    max_per_address: int = 256
    header_timeout_s: float = 15.0
    #: Total time (s) for a body once its headers are in; None: only pauses are bounded.
    body_timeout_s: float | None = None


def limits_for(config: EngineConfig, name: str) -> Limits:
    """The limits of listener ``name`` (``cwmp``, ``cwmp_tls``, ``fs``, ``fs_tls``, ``nbi``,
    ``nbi_tls``).

    Only CWMP bodies have a total time: file uploads and NBI bodies may be large. The caps
    are lowered so that three busy listeners together stay below the process's open-files
    limit (with room for the database, the scripts and the console): a flood then meets a
    cap, never "Too many open files".
    """
    cap = max(1, config.max_connections)
    fd_limit = open_files_limit()
    if fd_limit:
        cap = min(cap, max(32, (fd_limit - 256) // 3))
    return Limits(
        max_connections=cap,
        max_per_address=max(1, min(cap, config.max_connections_per_address)),
        header_timeout_s=config.header_timeout_ms / 1000,
        body_timeout_s=config.body_timeout_ms / 1000 + 1.0 if name.startswith("cwmp") else None,
    )


def keepalive_for(config: EngineConfig, name: str) -> float:
    """Seconds aiohttp keeps an idle keep-alive connection of listener ``name``.

    A CWMP connection idles between the messages of a session, so it gets the session
    timeout (at least 75 s, aiohttp's old default); the others get 75 s. aiohttp's own
    default (an hour) let idle connections pile up.
    """
    if name.startswith("cwmp"):
        return max(75.0, config.session_timeout_ms / 1000)
    return 75.0


def open_files_limit() -> int:
    """This process's soft limit of open files (0: unknown or unlimited)."""
    if resource is None:  # pragma: no cover
        return 0
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):  # pragma: no cover - not on this platform
        return 0
    return 0 if soft == resource.RLIM_INFINITY else int(soft)


def raise_fd_limit(wanted: int = 8192) -> int:
    """Raise this process's soft limit of open files towards ``wanted`` (never above the
    hard limit, never lowering it); returns the soft limit now."""
    if resource is None:  # pragma: no cover
        return 0
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):  # pragma: no cover - not on this platform
        return 0
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError):
            log.warning("could not raise the open-files limit from %s to %s", soft, target)
    return int(soft)


class ConnectionGuard:
    """Counts and times the connections of one listener.

    Args:
        name: the listener's name (for logs).
        limits: its limits; :attr:`limits` may be replaced while running.

    Attributes:
        refused: connections closed at once because a cap was reached (since start).
        timed_out: connections closed because a request was too slow.
    """

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self.limits = limits
        self.by_address: Counter[str] = Counter()
        self.refused = 0
        self.timed_out = 0
        self._conns: set[_Guarded] = set()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def open(self) -> int:
        """Connections open now."""
        return len(self._conns)

    def wrap(self, factory: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory that guards the protocols ``factory`` makes."""
        return lambda: _Guarded(self, factory())

    # ------------------------------------------------------------------ bookkeeping
    def _admit(self, conn: _Guarded, address: str) -> bool:
        limits = self.limits
        if len(self._conns) >= limits.max_connections:
            self.refused += 1
            log.warning("%s: connection from %s refused: %d connections open (the cap)",
                        self.name, address, limits.max_connections)
            return False
        if self.by_address[address] >= limits.max_per_address:
            self.refused += 1
            log.warning("%s: connection from %s refused: %d connections from that address "
                        "(the cap)", self.name, address, limits.max_per_address)
            return False
        self._conns.add(conn)
        self.by_address[address] += 1
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(TICK, self._tick)
        return True

    def _release(self, conn: _Guarded, address: str) -> None:
        if conn in self._conns:
            self._conns.discard(conn)
            self.by_address[address] -= 1
            if self.by_address[address] <= 0:
                del self.by_address[address]

    def _tick(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for conn in [c for c in self._conns if c.deadline is not None and c.deadline <= now]:
            self.timed_out += 1
            log.info("%s: closed a connection from %s: %s", self.name, conn.address, conn.why)
            self._release(conn, conn.address)
            conn.abort()
        if self._conns:
            self._timer = loop.call_later(TICK, self._tick)

    def close(self) -> None:
        """Stop the deadline timer (the listener is closed; connections end by themselves)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


# Framing states.
_NEW, _IDLE, _HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILER = range(8)


class _Guarded(asyncio.Protocol):
    """One connection: passes everything to aiohttp's protocol and keeps its deadlines."""

    def __init__(self, guard: ConnectionGuard, inner: Any) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.address = ""
        self.admitted = False
        self.deadline: float | None = None
        self.why = ""
        self._state = _NEW
        self._head = bytearray()
        self._remaining = 0
        self._body_end: float | None = None
        self._loop = asyncio.get_running_loop()

    # ------------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self.guard._admit(self, self.address):
            transport.abort()
            return
        self.admitted = True
        self._expect_header("no request", self.guard.limits.header_timeout_s)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        try:
            self._frame(data)
        except _Bad as exc:
            self.guard._release(self, self.address)
            log.info("%s: closed a connection from %s: %s", self.guard.name, self.address, exc)
            self.abort()
            return
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if not self.admitted:
            return None
        result: bool | None = self.inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.admitted:
            return
        self.admitted = False
        self.guard._release(self, self.address)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # ------------------------------------------------------------------ deadlines
    def _expect_header(self, why: str, seconds: float) -> None:
        self.deadline = self._loop.time() + seconds
        self.why = f"{why} within {seconds:g} s"

    def _body_progress(self) -> None:
        """Body bytes arrived: the next pause may last ``header_timeout_ms``, the body as a
        whole no longer than its total time."""
        limits = self.guard.limits
        pause = self._loop.time() + limits.header_timeout_s
        if self._body_end is not None and self._body_end < pause:
            self.deadline, self.why = self._body_end, "body not complete in time"
        else:
            self.deadline, self.why = pause, "body paused too long"

    def _request_done(self) -> None:
        self._state = _IDLE
        self.deadline = None
        self._body_end = None

    # ------------------------------------------------------------------ HTTP/1.1 framing
    def _frame(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state in (_NEW, _IDLE):
                if state == _IDLE:
                    self._expect_header("headers not complete",
                                        self.guard.limits.header_timeout_s)
                self._state = _HEAD
                self._head.clear()
            elif state == _HEAD:
                pos = self._take_head(data, pos)
            elif state == _BODY:
                take = min(self._remaining, end - pos)
                self._remaining -= take
                pos += take
                if self._remaining == 0:
                    self._request_done()
                else:
                    self._body_progress()
            elif state in (_CHUNK_SIZE, _TRAILER):
                nl = data.find(b"\n", pos)
                chunk = data[pos:] if nl < 0 else data[pos:nl]
                self._head += chunk
                if len(self._head) > 4096:
                    raise _Bad("chunk header too long")
                if nl < 0:
                    pos = end
                    self._body_progress()
                    continue
                pos = nl + 1
                line = bytes(self._head).strip()
                self._head.clear()
                if state == _TRAILER:
                    if not line:
                        self._request_done()
                    continue
                try:
                    size = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    raise _Bad("bad chunk size") from None
                if size == 0:
                    self._state = _TRAILER
                else:
                    self._state, self._remaining = _CHUNK_DATA, size
                self._body_progress()
            elif state == _CHUNK_DATA:
                take = min(self._remaining, end - pos)
                self._remaining -= take
                pos += take
                if self._remaining == 0:
                    self._state = _CHUNK_CRLF
                self._body_progress()
            else:  # _CHUNK_CRLF: the line end after a chunk's data
                nl = data.find(b"\n", pos)
                if nl < 0:
                    pos = end
                else:
                    pos = nl + 1
                    self._state = _CHUNK_SIZE
                self._body_progress()

    def _take_head(self, data: bytes, pos: int) -> int:
        """Collect header bytes from ``pos``; returns where the body starts (or the end)."""
        start = len(self._head)
        self._head += data[pos:]
        found = self._head.find(b"\n\r\n", max(0, start - 2))
        gap = 3
        lf = self._head.find(b"\n\n", max(0, start - 1))
        if lf >= 0 and (found < 0 or lf < found):
            found, gap = lf, 2
        if found < 0:
            if len(self._head) > MAX_HEADER_BLOCK:
                raise _Bad("header block too large")
            return len(data)
        head_end = found + gap
        consumed = head_end - start  # bytes of ``data`` that belong to the header block
        block = bytes(self._head[:head_end])
        self._head.clear()
        limits = self.guard.limits
        if _CHUNKED_RE.search(block):
            self._state = _CHUNK_SIZE
        else:
            match = _CONTENT_LENGTH_RE.search(block)
            self._remaining = int(match.group(1)) if match else 0
            self._state = _BODY if self._remaining else _IDLE
        if self._state == _IDLE:
            self._request_done()
        else:
            now = self._loop.time()
            self._body_end = now + limits.body_timeout_s if limits.body_timeout_s else None
            self._body_progress()
        return pos + consumed


class _Bad(Exception):
    """The bytes are not HTTP/1.1 the guard can follow."""


class GuardedSite(web.BaseSite):
    """A TCP (or TLS) site whose connections pass a :class:`ConnectionGuard`.

    Args:
        runner: the application runner (set up).
        host: the address to listen on.
        port: the port (0: a free one).
        guard: the listener's guard.
        ssl_context: TLS when given; the handshake then has ``header_timeout_ms``.
    """

    __slots__ = ("_bound_port", "_guard", "_host", "_port")

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard,
        ssl_context: Any = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host = host
        self._port = port
        self._guard = guard
        self._bound_port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (the asked one before :meth:`start`)."""
        return self._bound_port if self._bound_port is not None else self._port

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host or '0.0.0.0'}:{self.port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_server(
            self._guard.wrap(server), self._host, self._port, ssl=self._ssl_context,
            backlog=self._backlog, reuse_address=True,
            ssl_handshake_timeout=(
                self._guard.limits.header_timeout_s if self._ssl_context else None
            ),
        )
        sockets = self._server.sockets
        self._bound_port = int(sockets[0].getsockname()[1]) if sockets else self._port

    async def stop(self) -> None:
        self._guard.close()
        await super().stop()
