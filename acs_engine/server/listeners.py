"""The engine's listening sockets, and swapping them for new settings in one step.

A :class:`ListenerSpec` says what a listener should be (address, port, and whatever else
makes two listeners different: the TLS certificate, the NBI token); a :class:`Listener` is
one that is open. :func:`swap` turns the open set into the wanted one:

- a listener whose spec did not change is kept as it is (its port stays, even a free port);
- new listeners are opened *before* the old ones close, except where a new one wants the
  port an old one holds: that old one is closed first (a short gap on that port only);
- closing a listener closes its listening socket only: connections already accepted stay
  open and are served to the end, so a CPE in session finishes its session on the old port;
- if any new listener cannot be opened, the ones opened are closed, the ones closed are
  opened again on the port they had, and :class:`ListenerError` says which and why. The
  caller then changes nothing else: no half-applied settings.

Which listeners the engine's settings ask for is :func:`wanted_listeners`; a bind error in
plain words is :func:`bind_message`; the addresses a CPE could reach this machine on (for the
ACS URLs and a self-signed certificate) are :func:`local_addresses`. These three were helpers of
:class:`~acs_engine.server.controller.Engine`, which opens and swaps the listeners with them.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import logging
import socket
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass

from aiohttp import web

from acs_engine.config import EngineConfig
from acs_engine.server.guard import ConnectionGuard, GuardedSite, Limits
from acs_engine.server.tls import TlsSetup

log = logging.getLogger("fieldacs.engine")


@dataclass(frozen=True, slots=True)
class ListenerSpec:
    """What a listener should be.

    Attributes:
        name: which listener (``cwmp``, ``cwmp_tls``, ``fs``, ``fs_tls``, ``nbi``,
            ``nbi_tls``).
        host: the address to listen on.
        port: the port asked for (0: a free port).
        option: the command-line option that sets the port (for messages).
        identity: anything else that, when changed, needs a new listener.
    """

    name: str
    host: str
    port: int
    option: str = ""
    identity: Hashable = ()


@dataclass(slots=True)
class Listener:
    """An open listener: its spec, the port it is bound to, how to close it, the object
    that serves it when it has one of its own (the NBI server), and the guard that caps and
    times its connections."""

    spec: ListenerSpec
    port: int
    close: Callable[[], Awaitable[None]]
    handle: object = None
    guard: ConnectionGuard | None = None


#: Opens a listener for a spec; raises OSError when the address cannot be bound.
Opener = Callable[[ListenerSpec], Awaitable[Listener]]


class ListenerError(RuntimeError):
    """A listener could not be opened; the old ones were put back.

    Attributes:
        spec: the listener that failed.
        error: the bind error.
        lost: old listeners that could not be opened again (rare: their port was taken in
            the moment it was free); they are closed.
        problems: why, one line per lost listener.
    """

    def __init__(
        self, spec: ListenerSpec, error: OSError, lost: list[str], problems: list[str]
    ) -> None:
        super().__init__(
            "; ".join([f"cannot listen on {spec.host}:{spec.port}: {error}", *problems])
        )
        self.spec = spec
        self.error = error
        self.lost = lost
        self.problems = problems


#: What each listener's port is called in messages.
PORT_LABELS = {
    "cwmp": "CWMP port", "cwmp_tls": "HTTPS CWMP port", "fs": "file server port",
    "fs_tls": "HTTPS file server port", "nbi": "NBI port", "nbi_tls": "HTTPS NBI port",
}


def check_ports(wanted: Mapping[str, ListenerSpec]) -> None:
    """Raise ValueError when a port is out of range or given to two listeners."""
    seen: dict[int, str] = {}
    for name, spec in wanted.items():
        label = PORT_LABELS.get(name, name)
        if not 0 <= spec.port <= 65535:
            raise ValueError(f"The {label} {spec.port} is not a port (0 to 65535).")
        if spec.port and spec.port in seen:
            raise ValueError(
                f"The {label} and the {seen[spec.port]} are both {spec.port}; "
                "each listener needs a port of its own."
            )
        seen[spec.port] = label


def wanted_listeners(config: EngineConfig, tls: TlsSetup | None) -> dict[str, ListenerSpec]:
    """The listeners ``config`` asks for (the HTTPS ones only with a certificate)."""
    tls_id = (str(tls.cert_path), str(tls.key_path), tls.fingerprint) if tls else ()
    out: dict[str, ListenerSpec] = {}
    if config.cwmp_http_enabled:
        out["cwmp"] = ListenerSpec("cwmp", config.cwmp_host, config.cwmp_port, "--cwmp-port")
    if tls is not None and config.cwmp_tls_port is not None:
        out["cwmp_tls"] = ListenerSpec(
            "cwmp_tls", config.cwmp_host, config.cwmp_tls_port, "--cwmp-tls-port", tls_id
        )
    if config.fs_enabled:
        out["fs"] = ListenerSpec("fs", config.fs_host, config.fs_port, "--fs-port")
        if tls is not None and config.fs_tls_port is not None:
            out["fs_tls"] = ListenerSpec(
                "fs_tls", config.fs_host, config.fs_tls_port, "--fs-tls-port", tls_id
            )
    if config.nbi_enabled:
        token = config.nbi_token
        token_id = hashlib.sha256(token.encode()).hexdigest() if token is not None else None
        out["nbi"] = ListenerSpec(
            "nbi", config.nbi_host, config.nbi_port, "--nbi-port",
            (token_id, config.max_body_bytes),
        )
        if tls is not None and config.nbi_tls_port is not None:
            out["nbi_tls"] = ListenerSpec(
                "nbi_tls", config.nbi_host, config.nbi_tls_port, "--nbi-tls-port",
                (token_id, config.max_body_bytes, tls_id),
            )
    return out


def bind_message(exc: OSError, host: str, port: int, option: str = "") -> str:
    """The bind error ``exc`` of ``host``:``port`` in plain words.

    Args:
        exc: what binding raised.
        host: the address asked for.
        port: the port asked for.
        option: the command-line option that sets the port ("" for none: no hint).
    """
    hint = f" ({option})" if option else ""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} is in use by another program. Close it, or choose another "
            f"port{hint}."
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"Not allowed to listen on port {port}. Ports below 1024 need administrator "
            f"rights; choose a port above 1024{hint}."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"The address {host} is not an address of this computer"
            f"{' (--host)' if option else ''}."
        )
    return f"Cannot listen on {host}:{port}: {exc.strerror or exc}"


def local_addresses() -> list[str]:
    """IPv4 addresses of this machine a CPE could reach, best guess first, loopback last.

    Uses the host name's addresses and the route the OS would pick for an outside address (a UDP
    ``connect`` sends nothing).
    """
    found: list[str] = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1; no packet is sent
        found.append(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addr = str(info[4][0])
            if addr not in found:
                found.append(addr)
    except OSError:
        pass
    found = [a for a in found if not a.startswith("127.") and a != "0.0.0.0"]
    found.append("127.0.0.1")
    return found


async def open_site(
    runner: web.BaseRunner, spec: ListenerSpec, context: object | None = None,
    limits: Limits | None = None,
) -> Listener:
    """A TCP (with ``context``: TLS) site of ``runner`` for ``spec``, its connections
    capped and timed by a :class:`~acs_engine.server.guard.ConnectionGuard` with ``limits``.

    Raises:
        OSError: the address cannot be bound (the runner is left as it was).
    """
    guard = ConnectionGuard(spec.name, limits or Limits())
    site = GuardedSite(runner, spec.host, spec.port, guard, ssl_context=context)
    try:
        await site.start()
    except OSError:
        await site.stop()  # a failed site stays registered with its runner otherwise
        raise
    return Listener(spec, int(site.port), site.stop, guard=guard)


async def swap(
    current: Mapping[str, Listener],
    wanted: Mapping[str, ListenerSpec],
    open_listener: Opener,
) -> dict[str, Listener]:
    """The open listeners after changing ``current`` into ``wanted`` (see the module doc).

    Args:
        current: the open listeners by name.
        wanted: the listeners there should be, by name.
        open_listener: opens one listener.

    Returns:
        The open listeners by name (kept ones are the same objects).

    Raises:
        ListenerError: a new listener could not be opened; ``current`` is open again.
    """
    keep = {n for n, listener in current.items() if wanted.get(n) == listener.spec}
    going = [n for n in current if n not in keep]
    coming = [n for n in wanted if n not in keep]
    held = {current[n].port: n for n in going}

    def blocked(name: str) -> bool:
        port = wanted[name].port
        return port != 0 and port in held

    opened: dict[str, Listener] = {}
    closed: dict[str, Listener] = {}
    try:
        for name in [n for n in coming if not blocked(n)] + [n for n in coming if blocked(n)]:
            if blocked(name):
                old = held[wanted[name].port]
                if old not in closed:
                    await current[old].close()
                    closed[old] = current[old]
            opened[name] = await open_listener(wanted[name])
    except OSError as exc:
        failed = wanted[name]
        for listener in opened.values():
            await listener.close()
        lost, problems = await _reopen(closed, open_listener)
        raise ListenerError(failed, exc, lost, problems) from exc
    for name in going:
        if name not in closed:
            await current[name].close()
    out = {n: current[n] for n in keep}
    out.update(opened)
    return out


async def _closed() -> None:
    return None


async def _reopen(
    closed: dict[str, Listener], open_listener: Opener
) -> tuple[list[str], list[str]]:
    """Open ``closed`` listeners again on the ports they had (updated in place).

    Returns:
        The names of those that could not be reopened, and why.
    """
    lost: list[str] = []
    problems: list[str] = []
    for name, listener in closed.items():
        spec = listener.spec
        try:
            again = await open_listener(dataclasses.replace(spec, port=listener.port))
        except OSError as exc:
            log.error("could not reopen %s on %s:%s: %s", spec.name, spec.host, listener.port, exc)
            problems.append(
                f"the {spec.name} listener on port {listener.port} could not be reopened ({exc})"
            )
            listener.close, listener.handle = _closed, None
            lost.append(name)
            continue
        listener.close, listener.handle = again.close, again.handle
    return lost, problems
