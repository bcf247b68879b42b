"""The engine's controller: opens the store, starts and stops every listener on the caller's loop.

The console (through qasync), ``fieldacs-engine serve`` and the tests all start the engine the
same way::

    engine = Engine(EngineConfig(db_path=...))
    await engine.start()
    ...
    await engine.stop()
"""

from __future__ import annotations

import errno
import logging
import socket
import time

from aiohttp import web

from acs_engine.bus import DeviceUpdated, EngineNotice, EventBus
from acs_engine.config import EngineConfig
from acs_engine.server.cwmp_http import CwmpServer
from acs_engine.services.files import FileStore, file_server_app
from acs_engine.session.handler import Handler, HandlerChain, RpcQueue
from acs_engine.store.db import Store
from acs_engine.store.errors import StoreError

log = logging.getLogger("fieldacs.engine")


class EngineStartError(RuntimeError):
    """The engine could not start; the message says why in plain words and what to do."""


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


class Engine:
    """The ACS: store, CWMP listener and session handler, driven on the running event loop.

    Attributes:
        bus: every engine event is published here.
        manual: RPCs queued by hand (the console, tests), sent before anything else.
        handler: the session policy: a chain of ``manual`` and the given handler.
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        handler: Handler | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.bus = bus or EventBus()
        self.manual = handler if isinstance(handler, RpcQueue) else RpcQueue()
        chain = [self.manual] if handler is None or handler is self.manual else [self.manual, handler]
        self.handler: HandlerChain = HandlerChain(*chain)
        self.store: Store | None = None
        self.cwmp: CwmpServer | None = None
        self._runner: web.AppRunner | None = None
        self._fs_runner: web.AppRunner | None = None
        self._cwmp_port: int | None = None
        self._fs_port: int | None = None
        self.files: FileStore | None = None
        self._device_count = 0
        self._unsubscribe = self.bus.subscribe(self._on_device_updated, DeviceUpdated)

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def cwmp_port(self) -> int:
        """The port the CWMP listener is bound to (the real one when 0 was asked)."""
        if self._cwmp_port is None:
            raise RuntimeError("the engine is not running")
        return self._cwmp_port

    @property
    def fs_port(self) -> int | None:
        """The file server's port, or None when it is not running."""
        return self._fs_port

    @property
    def device_count(self) -> int:
        return self._device_count

    def active_session_count(self) -> int:
        return self.cwmp.active_session_count() if self.cwmp else 0

    def cwmp_urls(self) -> list[str]:
        """The ACS URL(s) to give a CPE: one per local address the listener serves."""
        host = self.config.cwmp_host
        port = self.cwmp_port
        hosts = local_addresses() if host in ("0.0.0.0", "", "::") else [host]
        return [f"http://{h}:{port}/" for h in hosts]

    def _on_device_updated(self, event: DeviceUpdated) -> None:
        if event.created:
            self._device_count += 1

    # ------------------------------------------------------------------ start / stop
    async def start(self) -> None:
        """Open the database and start listening; raises EngineStartError with the reason."""
        if self.running:
            return
        try:
            self.store = await Store.open(
                self.config.db_path,
                trace_sessions_per_device=self.config.trace_sessions_per_device,
            )
        except (StoreError, OSError) as exc:
            raise EngineStartError(
                f"Cannot open the database {self.config.db_path}: {exc}"
            ) from exc
        self._device_count = await self.store.count_devices()
        self.cwmp = CwmpServer(self.config, self.store, self.handler, self.bus)
        app = web.Application(client_max_size=self.config.max_body_bytes + 1)
        app.router.add_route("*", "/{tail:.*}", self.cwmp.handle)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, auto_decompress=False
        )
        await runner.setup()
        site = web.TCPSite(
            runner, self.config.cwmp_host, self.config.cwmp_port, reuse_address=True
        )
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            await self.store.close()
            self.store = None
            raise EngineStartError(self._bind_message(exc)) from exc
        self._runner = runner
        addresses = runner.addresses
        self._cwmp_port = int(addresses[0][1]) if addresses else self.config.cwmp_port
        self.cwmp.start()
        log.info("CWMP listening on %s:%s", self.config.cwmp_host, self._cwmp_port)
        if self.config.fs_enabled:
            await self._start_file_server()
        self.bus.publish(
            EngineNotice(
                time.time(), "info", f"ACS listening on port {self._cwmp_port}",
                {"urls": self.cwmp_urls()},
            )
        )

    async def _start_file_server(self) -> None:
        """Serve firmware and config files; a busy port is a warning, not a failed start."""
        self.files = FileStore.beside_db(self.config.db_path, max_size=self.config.max_file_bytes)
        runner = web.AppRunner(file_server_app(self.files), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.config.fs_host, self.config.fs_port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            message = self._bind_message(exc, self.config.fs_host, self.config.fs_port, "--fs-port")
            log.warning("file server not started: %s", message)
            self.bus.publish(
                EngineNotice(
                    time.time(), "warning",
                    f"File server not started (downloads to CPEs will fail): {message}",
                )
            )
            return
        self._fs_runner = runner
        self._fs_port = int(runner.addresses[0][1]) if runner.addresses else self.config.fs_port
        log.info("file server listening on %s:%s", self.config.fs_host, self._fs_port)

    def _bind_message(
        self, exc: OSError, host: str | None = None, port: int | None = None,
        option: str = "--cwmp-port",
    ) -> str:
        port = self.config.cwmp_port if port is None else port
        host = self.config.cwmp_host if host is None else host
        if exc.errno == errno.EADDRINUSE:
            return (
                f"Port {port} is in use by another program. Close it, or choose another "
                f"port ({option})."
            )
        if exc.errno in (errno.EACCES, errno.EPERM):
            return (
                f"Not allowed to listen on port {port}. Ports below 1024 need administrator "
                f"rights; choose a port above 1024 ({option})."
            )
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"The address {host} is not an address of this computer (--host)."
        return f"Cannot listen on {host}:{port}: {exc.strerror or exc}"

    async def stop(self) -> None:
        """End the sessions in flight (their traces are kept), close listeners and the DB."""
        if self.cwmp is not None:
            await self.cwmp.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._fs_runner is not None:
            await self._fs_runner.cleanup()
            self._fs_runner = None
            self._fs_port = None
        if self.store is not None:
            await self.store.close()
            self.store = None
        self._cwmp_port = None
