"""The engine's controller: opens the store, starts and stops every listener on the caller's loop.

The console (through qasync), ``fieldacs-engine serve`` and the tests all start the engine the
same way::

    engine = Engine(EngineConfig(db_path=...))
    await engine.start()
    ...
    await engine.stop()

:meth:`Engine.reconfigure` applies new settings to the running engine (listeners, CPE
authentication, limits) without dropping the store, the handler chain, the bus or the
sessions in flight; see :mod:`acs_engine.server.listeners` for how listeners are swapped.

Which listeners a configuration asks for (:func:`~acs_engine.server.listeners.wanted_listeners`),
bind errors in plain words (:func:`~acs_engine.server.listeners.bind_message`) and this machine's
addresses for the ACS URLs (:func:`~acs_engine.server.listeners.local_addresses`, still importable
from here) live in :mod:`acs_engine.server.listeners`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from acs_engine.admin.history import HistoryPruner
from acs_engine.bus import DeviceUpdated, EngineNotice, EventBus
from acs_engine.clock import now_ms
from acs_engine.config import EngineConfig
from acs_engine.kinds import NoticeLevel
from acs_engine.policy.provisioning import ProvisioningHandler
from acs_engine.reach.device_secret import database_secret, upgrade_seeded_inform
from acs_engine.reach.files import FileStore, file_server_app
from acs_engine.reach.wake import ConnectionRequestDone, wake_device
from acs_engine.reach.xmpp import XmppConnReq
from acs_engine.scripting import Sandbox
from acs_engine.server.auth import AuthConfigError, AuthFailure, CpeAuthenticator
from acs_engine.server.cwmp_http import CwmpServer
from acs_engine.server.drain import draining_middleware, wait_for_sessions
from acs_engine.server.guard import ConnectionGuard, keepalive_for, limits_for, raise_fd_limit
from acs_engine.server.listeners import (
    Listener,
    ListenerSpec,
    bind_message,
    local_addresses,
    open_site,
    wanted_listeners,
)
from acs_engine.server.logfilter import install_repeat_filter
from acs_engine.server.metrics import EngineMetrics
from acs_engine.server.nbi import NbiServer, check_nbi_config
from acs_engine.server.proxy import ProxyServer
from acs_engine.server.reconfigure import RESTART_FIELDS, ReconfigureError, apply_settings
from acs_engine.server.step_claim import StepClaim
from acs_engine.server.tls import TlsError, TlsSetup, prepare_tls
from acs_engine.session.handler import Handler, HandlerChain, RpcQueue
from acs_engine.store.db import Store
from acs_engine.store.errors import StoreError

__all__ = [
    "RESTART_FIELDS",
    "Engine",
    "EngineStartError",
    "ReconfigureError",
    "local_addresses",
]

log = logging.getLogger("fieldacs.engine")


class EngineStartError(RuntimeError):
    """The engine could not start; the message says why in plain words and what to do."""


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
        self.history_pruner: HistoryPruner | None = None
        self.store: Store | None = None
        self.cwmp: CwmpServer | None = None
        self.proxy: ProxyServer | None = None
        self._runner: web.AppRunner | None = None
        self._fs_runner: web.AppRunner | None = None
        self._cwmp_port: int | None = None
        self._fs_port: int | None = None
        #: The HTTPS listeners' certificate (None when no HTTPS listener is configured).
        self.tls: TlsSetup | None = None
        self._cwmp_tls_port: int | None = None
        self._fs_tls_port: int | None = None
        self.files: FileStore | None = None
        #: The northbound API, plain and HTTPS (None when off or its port was busy).
        self.nbi: NbiServer | None = None
        self.nbi_tls: NbiServer | None = None
        #: Who holds step mode, one claim for every NBI listener (made by the first).
        self.step_claim: StepClaim | None = None
        self._device_count = 0
        #: The open listeners by name (``cwmp``, ``cwmp_tls``, ``fs``, ``fs_tls``, ``nbi``,
        #: ``nbi_tls``).
        self._listeners: dict[str, Listener] = {}
        #: The listeners the settings ask for, open or not (a busy file-server or NBI port
        #: at start leaves one closed; it is tried again when its settings change).
        self._asked: dict[str, ListenerSpec] = {}
        self._reconfiguring = asyncio.Lock()
        #: The XMPP client of connection requests (Annex K) and the settings it was made
        #: from; made when first needed, remade when those settings change.
        self._xmpp: XmppConnReq | None = None
        self._xmpp_key: tuple[Any, ...] = ()
        self._unsubscribe = self.bus.subscribe(self._on_device_updated, DeviceUpdated)
        #: Counters for ``/metrics`` (fed by the bus for the engine's whole life).
        self.metrics = EngineMetrics(self.bus)
        #: True while :meth:`drain` runs: new CWMP sessions are refused (503).
        self.draining = False

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
    def tls_kind(self) -> str | None:
        """Which certificate the HTTPS listeners use, in words (see ``TlsSetup.kind``)."""
        return self.tls.kind if self.tls is not None else None

    @property
    def fs_port(self) -> int | None:
        """The file server's port, or None when it is not running."""
        return self._fs_port

    @property
    def nbi_port(self) -> int | None:
        """The NBI's port, or None when it is not running."""
        return self.nbi.port if self.nbi is not None else None

    @property
    def nbi_tls_port(self) -> int | None:
        """The HTTPS NBI's port, or None when it is not running."""
        return self.nbi_tls.port if self.nbi_tls is not None else None

    @property
    def device_count(self) -> int:
        return self._device_count

    def active_session_count(self) -> int:
        return self.cwmp.active_session_count() if self.cwmp else 0

    def connection_guards(self) -> dict[str, ConnectionGuard]:
        """The connection guard of each open listener, by name (see guard.py)."""
        return {n: lis.guard for n, lis in self._listeners.items() if lis.guard is not None}

    def auth_failures(self) -> list[AuthFailure]:
        """Copies of the latest failed CPE authentication of each device, oldest first."""
        if self.cwmp is None:
            return []
        return [dataclasses.replace(f) for f in self.cwmp.auth.failures.values()]

    @property
    def cpe_auth_enabled(self) -> bool:
        """True when CPEs must authenticate (the running settings ask for it)."""
        return self.cwmp.auth.enabled if self.cwmp is not None else False

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
        elif event.deleted:
            self._device_count = max(0, self._device_count - 1)

    # ------------------------------------------------------------------ start / stop
    async def start(self) -> None:
        """Open the database and start listening; raises EngineStartError with the reason."""
        if self.running:
            return
        try:
            CpeAuthenticator(self.config, self.bus)  # the settings must make sense
            self.tls = prepare_tls(self.config, hostnames=local_addresses())
            check_nbi_config(self.config)
            self.proxy = (ProxyServer(self.config, self.bus, lambda: self.handler)
                          if self.config.proxy_upstream else None)
            XmppConnReq.from_config(self.config)
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
        try:
            secret = await database_secret(self.store)
            await upgrade_seeded_inform(self.store)
        except StoreError as exc:
            await self.store.close()
            self.store = None
            raise EngineStartError(
                f"Cannot prepare the database {self.config.db_path}: {exc}"
            ) from exc
        self._install_handlers(self.store)
        if self.provisioning is not None:
            self.provisioning.device_secret = secret
        install_repeat_filter()  # a flood must not fill the log with one line
        raise_fd_limit()  # room for the connection caps (see guard.py)
        self.cwmp = CwmpServer(self.config, self.store, self.handler, self.bus)
        app = web.Application(
            client_max_size=self.config.max_body_bytes + 1,
            middlewares=[draining_middleware(self)],
        )
        app.router.add_route("*", "/{tail:.*}", self._cwmp_handler())
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, auto_decompress=False,
            keepalive_timeout=keepalive_for(self.config, "cwmp"),
        )
        await runner.setup()
        self._runner = runner
        wanted = self._asked = wanted_listeners(self.config, self.tls)
        open_listener = self._opener(self.config, self.tls)
        for name in ("cwmp", "cwmp_tls"):
            if name not in wanted:
                continue
            spec = wanted[name]
            try:
                self._listeners[name] = await open_listener(spec)
            except OSError as exc:
                self._listeners.clear()
                self._runner = None
                await runner.cleanup()
                await self.store.close()
                self.store = None
                raise EngineStartError(
                    bind_message(exc, spec.host, spec.port, spec.option)
                ) from exc
        self._sync_ports()
        self.cwmp.start()
        if self._cwmp_tls_port is not None and self.tls is not None:
            log.info("CWMP over HTTPS on %s:%s (%s, SHA-256 %s)", self.config.cwmp_host,
                     self._cwmp_tls_port, self.tls.kind, self.tls.fingerprint)
        log.info("CWMP listening on %s:%s", self.config.cwmp_host, self._cwmp_port)
        for name in ("fs", "fs_tls", "nbi", "nbi_tls"):
            # A busy file-server or NBI port is a warning, not a failed start.
            if name in wanted and (name != "fs_tls" or "fs" in self._listeners):
                await self._start_optional(wanted[name], open_listener)
        self._sync_ports()
        # Parameter history retention, in the background (started last: a failed start
        # above closes the store).
        self.history_pruner = HistoryPruner(self.store, self.config.history_retention)
        self.history_pruner.start()
        self.draining = False
        self.metrics.start_lag_monitor()
        self.bus.publish(
            EngineNotice(
                now_ms(), NoticeLevel.INFO, f"ACS listening on port {self.cwmp_port}",
                {"urls": self.cwmp_urls(), "tls_urls": self.cwmp_tls_urls(),
                 "tls_fingerprint": self.tls_fingerprint, "tls_kind": self.tls_kind},
            )
        )

    # ------------------------------------------------------------------ new settings
    async def reconfigure(self, config: EngineConfig) -> list[str]:
        """Apply ``config`` to the running engine, without a restart.

        Listeners whose address, port, certificate (or, for the NBI, token and body limit)
        changed are replaced; CPE authentication gets a new authenticator; every other
        setting is assigned on :attr:`config`, which the sessions, the watchdog and the
        services read as they go. The store, the handler chain (and whatever wraps it in
        :attr:`handler`), the bus and :attr:`cwmp` with its sessions are kept. A session in
        flight finishes on the connection it came on, even when its listener was closed
        (closing a listener closes only its listening socket), and under the authentication
        rules it started with; its next session uses the new ones.

        Everything is checked before anything changes: the authentication expression, the
        certificate, the NBI token, ports given twice, then each new port is bound. When any
        of this fails, the listeners are as they were, nothing was assigned, and
        :class:`ReconfigureError` says why.

        Args:
            config: the settings wanted (a new object; :attr:`config` stays the same object
                and takes its values).

        Returns:
            The changed settings of :data:`RESTART_FIELDS`: they are not applied (the
            running engine keeps the old values) and wait for the next start.

        Raises:
            ReconfigureError: the settings were refused; the engine runs on unchanged.
        """
        async with self._reconfiguring:
            return await apply_settings(self, config)

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

    def wrap_handler(self, wrap: Callable[[Handler], Handler]) -> Handler:
        """Replace the engine's handler with ``wrap(current handler)`` and return the new one.

        Every *new* session (now and after a restart) asks the wrapped handler; sessions in
        flight keep theirs. This is how step mode (:func:`~acs_engine.session.step.
        install_step_gate`) puts itself in front of manual RPCs and provisioning.
        """
        self.handler = wrap(self.handler)
        if self.cwmp is not None:
            self.cwmp.handler = self.handler
        return self.handler

    async def connection_request(
        self, device_id: str, *, wait_for_session: bool = True
    ) -> ConnectionRequestDone:
        """Wake ``device_id`` now (see :func:`acs_engine.reach.wake.wake_device`).

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
            xmpp=await self.xmpp_client(),
        )

    async def xmpp_client(self) -> XmppConnReq | None:
        """The XMPP client the current settings ask for (None: XMPP is off).

        Raises:
            ValueError: XMPP settings that cannot work (refused at start and reconfigure).
        """
        c = self.config
        key = (c.xmpp_jid, c.xmpp_password, c.xmpp_server, c.xmpp_tls, c.xmpp_ca_file)
        if key != self._xmpp_key:
            if self._xmpp is not None:
                await self._xmpp.close()
            self._xmpp = XmppConnReq.from_config(c)
            self._xmpp_key = key
        return self._xmpp

    def file_url(self, name: str, host: str = "", secure: bool = False) -> tuple[str, int]:
        """The URL a CPE downloads ``name`` from, and the file's size (0 when unknown).

        Args:
            name: the file's name in the file store.
            host: our address as the CPE reached it ("" or a wildcard: ``fs_host``).
            secure: the CPE's session came over HTTPS. It then already trusts our
                certificate, so it gets an https:// URL when the HTTPS file server runs;
                otherwise http:// when the plain file server runs, https:// when only the
                HTTPS one does. ``fs_url_prefix``, when set, is used as it is.
        """
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
            tls_port = self._fs_tls_port
            if tls_port is not None and (secure or self._fs_port is None):
                prefix = f"https://{host}:{tls_port}/"
            else:
                port = self._fs_port or self.config.fs_port
                prefix = f"http://{host}:{port}/"
        return prefix.rstrip("/") + "/" + quote(name), size

    async def _start_optional(
        self, spec: ListenerSpec, open_listener: Callable[[ListenerSpec], Awaitable[Listener]]
    ) -> None:
        """Open the file server or the NBI; a busy port is a warning, not a failed start."""
        try:
            self._listeners[spec.name] = await open_listener(spec)
        except OSError as exc:
            message = bind_message(exc, spec.host, spec.port, spec.option)
            what = {"fs": "File server", "fs_tls": "HTTPS file server", "nbi": "NBI",
                    "nbi_tls": "HTTPS NBI"}[spec.name]
            log.warning("%s not started: %s", what, message)
            consequence = " (downloads to CPEs will fail)" if spec.name == "fs" else ""
            self.bus.publish(EngineNotice(
                now_ms(), NoticeLevel.WARNING, f"{what} not started{consequence}: {message}"
            ))
            return
        log.info("%s listening on %s:%s", spec.name, spec.host, self._listeners[spec.name].port)

    def _cwmp_handler(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The CWMP port's handler: our ACS, or in proxy mode the pass-through proxy (chosen
        per request, so that a new upstream setting applies without reopening the port)."""
        if self.proxy is not None:
            log.info("proxy mode: forwarding CWMP to %s", self.config.proxy_upstream)

        async def dispatch(request: web.Request) -> web.StreamResponse:
            if self.proxy is not None:
                return await self.proxy.handle(request)
            assert self.cwmp is not None
            return await self.cwmp.handle(request)

        return dispatch

    def _opener(
        self, config: EngineConfig, tls: TlsSetup | None
    ) -> Callable[[ListenerSpec], Awaitable[Listener]]:
        """Opens one listener of :func:`~acs_engine.server.listeners.wanted_listeners` under
        ``config`` (raises OSError)."""

        async def open_listener(spec: ListenerSpec) -> Listener:
            secure = spec.name.endswith("_tls")
            context = tls.context if secure and tls is not None else None
            limits = limits_for(config, spec.name)
            if spec.name in ("cwmp", "cwmp_tls"):
                assert self._runner is not None
                return await open_site(self._runner, spec, context, limits)
            if spec.name in ("fs", "fs_tls"):
                return await open_site(await self._file_runner(), spec, context, limits)
            nbi = NbiServer(self, config=config, name=spec.name)
            try:
                port = await nbi.start(spec.host, spec.port, context)
            except OSError:
                await nbi.stop()
                raise
            return Listener(spec, port, nbi.stop, nbi, nbi.guard)

        return open_listener

    async def _file_runner(self) -> web.AppRunner:
        """The file server's application runner (made on first use)."""
        if self._fs_runner is None:
            if self.files is None:
                self.files = FileStore.beside_db(
                    self.config.db_path, max_size=self.config.max_file_bytes
                )
            runner = web.AppRunner(
                file_server_app(self.files), access_log=None, handle_signals=False,
                keepalive_timeout=keepalive_for(self.config, "fs"),
            )
            await runner.setup()
            self._fs_runner = runner
        return self._fs_runner

    def _sync_ports(self) -> None:
        """Read the bound ports (and the NBI) off the open listeners."""

        def port(name: str) -> int | None:
            listener = self._listeners.get(name)
            return listener.port if listener is not None else None

        self._cwmp_port = port("cwmp")
        self._cwmp_tls_port = port("cwmp_tls")
        self._fs_port = port("fs")
        self._fs_tls_port = port("fs_tls")
        for name in ("nbi", "nbi_tls"):
            nbi = self._listeners.get(name)
            server = nbi.handle if nbi is not None and isinstance(nbi.handle, NbiServer) else None
            setattr(self, name, server)

    async def drain(self, timeout: float, *, abandon: asyncio.Event | None = None) -> bool:
        """Shut down gracefully: refuse new CWMP sessions (503), let those in flight finish
        (at most ``timeout`` seconds, or until ``abandon`` is set), then :meth:`stop` (see
        :mod:`acs_engine.server.drain`).

        Returns:
            True when every session in flight finished before the stop.
        """
        self.draining = True
        in_flight = self.active_session_count()
        if in_flight:
            log.info("shutting down: waiting for %d session(s) in flight (at most %g s)",
                     in_flight, timeout)
        finished = await wait_for_sessions(self, timeout, abandon=abandon)
        if not finished:
            log.warning("shutting down: %d session(s) still in flight after %g s are ended",
                        self.active_session_count(), timeout)
        await self.stop()
        return finished

    async def stop(self) -> None:
        """End the sessions in flight (their traces are kept), close listeners and the DB."""
        await self.metrics.stop_lag_monitor()
        for nbi in (self.nbi, self.nbi_tls):
            if nbi is not None:
                await nbi.stop()
        self.nbi = self.nbi_tls = self.step_claim = None
        if self._xmpp is not None:
            await self._xmpp.close()
            self._xmpp, self._xmpp_key = None, ()
        self._listeners.clear()  # the runners' cleanup below closes their sites
        self._asked = {}
        if self.cwmp is not None:
            await self.cwmp.stop()
        if self.proxy is not None:
            await self.proxy.stop()
            self.proxy = None
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
        if self.history_pruner is not None:
            await self.history_pruner.stop()
            self.history_pruner = None
        if self.store is not None:
            await self.store.close()
            self.store = None
        self._cwmp_port = None
        self._cwmp_tls_port = None
