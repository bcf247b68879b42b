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
from urllib.parse import quote

from aiohttp import web

from acs_engine.bus import DeviceUpdated, EngineNotice, EventBus
from acs_engine.config import EngineConfig
from acs_engine.scripting import Sandbox
from acs_engine.server.auth import AuthConfigError, CpeAuthenticator
from acs_engine.server.cwmp_http import CwmpServer
from acs_engine.server.nbi import NbiServer, check_nbi_config
from acs_engine.server.tls import TlsError, TlsSetup, prepare_tls, start_site
from acs_engine.services.files import FileStore, file_server_app
from acs_engine.services.provisioning import ProvisioningHandler
from acs_engine.services.wake import ConnectionRequestDone, wake_device
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
        self._custom_handler = None if handler is None or handler is self.manual else handler
        #: The chain of policy handlers (manual RPCs, then provisioning or a custom one).
        self.chain = HandlerChain(self.manual)
        #: What every new session asks: the chain, or a wrapper of it (the console's step gate).
        self.handler: Handler = self.chain
        self.provisioning: ProvisioningHandler | None = None
        self.sandbox: Sandbox | None = None
        self.store: Store | None = None
        self.cwmp: CwmpServer | None = None
        self._runner: web.AppRunner | None = None
        self._fs_runner: web.AppRunner | None = None
        self._cwmp_port: int | None = None
        self._fs_port: int | None = None
        #: The HTTPS listeners' certificate (None when no HTTPS listener is configured).
        self.tls: TlsSetup | None = None
        self._cwmp_tls_port: int | None = None
        self._fs_tls_port: int | None = None
        self.files: FileStore | None = None
        #: The northbound API (None when it is off or its port was busy).
        self.nbi: NbiServer | None = None
        self._device_count = 0
        self._unsubscribe = self.bus.subscribe(self._on_device_updated, DeviceUpdated)

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def cwmp_port(self) -> int:
        """The port the CWMP listener is bound to (the real one when 0 was asked; the HTTPS
        one when plain HTTP is off)."""
        port = self._cwmp_port if self._cwmp_port is not None else self._cwmp_tls_port
        if port is None:
            raise RuntimeError("the engine is not running")
        return port

    @property
    def cwmp_tls_port(self) -> int | None:
        """The HTTPS CWMP listener's port, or None when there is none."""
        return self._cwmp_tls_port

    @property
    def fs_tls_port(self) -> int | None:
        """The HTTPS file server's port, or None when there is none."""
        return self._fs_tls_port

    @property
    def tls_fingerprint(self) -> str | None:
        """SHA-256 fingerprint (``AB:CD:...``) of the HTTPS certificate, or None."""
        return self.tls.fingerprint if self.tls is not None else None

    @property
    def fs_port(self) -> int | None:
        """The file server's port, or None when it is not running."""
        return self._fs_port

    @property
    def nbi_port(self) -> int | None:
        """The NBI's port, or None when it is not running."""
        return self.nbi.port if self.nbi is not None else None

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
        if self._cwmp_port is None:
            return self.cwmp_tls_urls()
        return [f"http://{h}:{port}/" for h in hosts]

    def cwmp_tls_urls(self) -> list[str]:
        """The HTTPS ACS URL(s), one per local address; empty without an HTTPS listener."""
        if self._cwmp_tls_port is None:
            return []
        host = self.config.cwmp_host
        hosts = local_addresses() if host in ("0.0.0.0", "", "::") else [host]
        return [f"https://{h}:{self._cwmp_tls_port}/" for h in hosts]

    def _on_device_updated(self, event: DeviceUpdated) -> None:
        if event.created:
            self._device_count += 1

    # ------------------------------------------------------------------ start / stop
    async def start(self) -> None:
        """Open the database and start listening; raises EngineStartError with the reason."""
        if self.running:
            return
        try:
            CpeAuthenticator(self.config, self.bus)  # the settings must make sense
            self.tls = prepare_tls(self.config, hostnames=local_addresses())
            check_nbi_config(self.config)
        except (AuthConfigError, TlsError, ValueError) as exc:
            raise EngineStartError(str(exc)) from exc
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
        self._install_handlers(self.store)
        self.cwmp = CwmpServer(self.config, self.store, self.handler, self.bus)
        app = web.Application(client_max_size=self.config.max_body_bytes + 1)
        app.router.add_route("*", "/{tail:.*}", self.cwmp.handle)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, auto_decompress=False
        )
        await runner.setup()
        tls_port = self.config.cwmp_tls_port
        try:
            if self.config.cwmp_http_enabled:
                self._cwmp_port = await start_site(
                    runner, self.config.cwmp_host, self.config.cwmp_port
                )
            if self.tls is not None and tls_port is not None:
                self._cwmp_tls_port = await start_site(
                    runner, self.config.cwmp_host, tls_port, self.tls.context
                )
        except OSError as exc:
            failed_tls = self._cwmp_port is not None or not self.config.cwmp_http_enabled
            self._cwmp_port = self._cwmp_tls_port = None
            await runner.cleanup()
            await self.store.close()
            self.store = None
            if failed_tls:
                raise EngineStartError(
                    self._bind_message(exc, port=tls_port, option="--cwmp-tls-port")
                ) from exc
            raise EngineStartError(self._bind_message(exc)) from exc
        self._runner = runner
        self.cwmp.start()
        if self._cwmp_tls_port is not None and self.tls is not None:
            log.info("CWMP over HTTPS on %s:%s (certificate SHA-256 %s)",
                     self.config.cwmp_host, self._cwmp_tls_port, self.tls.fingerprint)
        log.info("CWMP listening on %s:%s", self.config.cwmp_host, self._cwmp_port)
        if self.config.fs_enabled:
            await self._start_file_server()
        if self.config.nbi_enabled:
            await self._start_nbi()
        self.bus.publish(
            EngineNotice(
                time.time(), "info", f"ACS listening on port {self.cwmp_port}",
                {"urls": self.cwmp_urls(), "tls_urls": self.cwmp_tls_urls(),
                 "tls_fingerprint": self.tls_fingerprint},
            )
        )

    def _install_handlers(self, store: Store) -> None:
        """The chain every session asks: manual RPCs, then a custom handler or provisioning."""
        self.chain.handlers = [self.manual]
        self.provisioning = None
        if self._custom_handler is not None:
            self.chain.handlers = [self.manual, self._custom_handler]
            return
        if not self.config.provisioning:
            return
        ext_dir = self.config.ext_dir or (self.config.db_path.parent / "ext")
        self.sandbox = Sandbox(
            timeout_ms=self.config.script_timeout_ms,
            memory_limit_mb=self.config.script_memory_mb,
            ext_dir=ext_dir, ext_timeout_ms=self.config.ext_timeout_ms,
        )
        self.provisioning = ProvisioningHandler(
            store, self.sandbox, self.config, self.bus, file_url=self.file_url
        )
        self.chain.handlers = [self.manual, self.provisioning]

    async def connection_request(
        self, device_id: str, *, wait_for_session: bool = True
    ) -> ConnectionRequestDone:
        """Wake ``device_id`` now (see :func:`acs_engine.services.wake.wake_device`).

        Raises:
            DeviceUnknown: no such device or no ConnectionRequestURL known.
            RuntimeError: the engine is not running.
        """
        if self.store is None:
            raise RuntimeError("the engine is not running")
        in_session = bool(self.cwmp and self.cwmp.session_of_device(device_id))
        return await wake_device(
            self.store, self.bus, self.config, device_id,
            wait_for_session=wait_for_session, in_session=in_session,
        )

    def file_url(self, name: str, host: str = "") -> tuple[str, int]:
        """The URL a CPE downloads ``name`` from, and the file's size (0 when unknown)."""
        size = 0
        if self.files is not None:
            try:
                size = self.files.path_of(name).stat().st_size
            except (OSError, ValueError):
                size = 0
        prefix = self.config.fs_url_prefix
        if not prefix:
            if not host or host in ("0.0.0.0", "::"):
                host = self.config.fs_host if self.config.fs_host not in ("", "0.0.0.0") else "127.0.0.1"
            port = self._fs_port or self.config.fs_port
            prefix = f"http://{host}:{port}/"
        return prefix.rstrip("/") + "/" + quote(name), size

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
        if self.tls is not None and self.config.fs_tls_port is not None:
            try:
                self._fs_tls_port = await start_site(
                    runner, self.config.fs_host, self.config.fs_tls_port, self.tls.context
                )
            except OSError as exc:
                message = self._bind_message(
                    exc, self.config.fs_host, self.config.fs_tls_port, "--fs-tls-port"
                )
                log.warning("HTTPS file server not started: %s", message)
                self.bus.publish(
                    EngineNotice(time.time(), "warning", f"HTTPS file server not started: {message}")
                )
            else:
                log.info("file server over HTTPS on %s:%s", self.config.fs_host, self._fs_tls_port)

    async def _start_nbi(self) -> None:
        """The northbound API; a busy port is a warning, not a failed start."""
        nbi = NbiServer(self)
        host, port = self.config.nbi_host, self.config.nbi_port
        try:
            await nbi.start(host, port)
        except OSError as exc:
            await nbi.stop()
            message = self._bind_message(exc, host, port, "--nbi-port")
            log.warning("NBI not started: %s", message)
            self.bus.publish(EngineNotice(time.time(), "warning", f"NBI not started: {message}"))
            return
        self.nbi = nbi

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
        if self.nbi is not None:
            await self.nbi.stop()
            self.nbi = None
        if self.cwmp is not None:
            await self.cwmp.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._fs_runner is not None:
            await self._fs_runner.cleanup()
            self._fs_runner = None
            self._fs_port = None
            self._fs_tls_port = None
        if self.sandbox is not None:
            await self.sandbox.close()
            self.sandbox = None
        if self.store is not None:
            await self.store.close()
            self.store = None
        self._cwmp_port = None
        self._cwmp_tls_port = None
