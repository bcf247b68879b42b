"""The NBI routes a remote console needs that GenieACS's NBI lacks, under ``/fieldacs/v1``.

A console attached to a remote engine (:class:`acs_engine.remote.RemoteEngine`) uses the
same interface as one in the engine's process, :class:`~acs_engine.console_api.ConsoleEngine`.
These routes carry it; values travel in the codec's JSON
(:mod:`acs_engine.server.events_codec`)::

    GET  /fieldacs/v1/version                       {"engine", "protocol"}
    GET  /fieldacs/v1/status                        counters, URLs, settings (no secrets)
    GET  /fieldacs/v1/events                        the live event stream (WebSocket)
    POST /fieldacs/v1/console/{method}              one ConsoleEngine call (see CALLS)
    GET  /fieldacs/v1/step                          holder, devices in step mode, holds
    POST /fieldacs/v1/step/claim                    {"holder", "force"?} -> {"lease"}
    POST /fieldacs/v1/step/release                  {"lease"}
    PUT  /fieldacs/v1/step/devices/{id}             {"lease", "enabled"}
    POST /fieldacs/v1/step/devices/{id}/{action}    send|skip|pause|resume; edit|insert {"rpc"}

``POST /fieldacs/v1/console/{method}`` takes ``{"args": {name: value}}`` (codec values) and
answers ``{"result": value}``; only the methods of :data:`CALLS` exist. A failure is
``{"error": text, "kind": name}``: 404 ``DeviceUnknown`` or ``PointError``, 422
``DryRunError``, 400
``ExpressionError`` or ``ValueError`` (bad arguments), 503 ``EngineUnavailable``.

Step commands need the lease of the console that holds step mode (:mod:`step_claim`); any
other console gets 409 with ``{"error", "holder"}``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from acs_engine import __version__
from acs_engine.admin.migrate import MigrationError
from acs_engine.admin.treediff import PointError
from acs_engine.bus import SessionStarted
from acs_engine.console_api import EngineUnavailable, LocalConsoleEngine
from acs_engine.expression import ExpressionError
from acs_engine.policy.dryrun import DryRunError
from acs_engine.reach.wake import DeviceUnknown
from acs_engine.secrets import mask_url_passwords
from acs_engine.server.events_codec import PROTOCOL_VERSION, CodecError, decode, encode
from acs_engine.server.events_ws import EVENTS_PATH, EventStream
from acs_engine.server.step_claim import StepClaim, StepClaimError
from acs_engine.session.step import StepGate, install_step_gate

if TYPE_CHECKING:
    from acs_engine.config import EngineConfig
    from acs_engine.server.nbi import NbiServer

__all__ = ["CALLS", "PREFIX", "ConsoleRoutes", "add_console_routes", "public_config"]

PREFIX = "/fieldacs/v1"
STEP_ACTIONS: tuple[str, ...] = ("send", "skip", "pause", "resume", "edit", "insert")

#: The ConsoleEngine methods ``POST /fieldacs/v1/console/{method}`` runs (all async).
CALLS: tuple[str, ...] = (
    "list_devices", "search_devices", "count_devices", "devices_by_id", "get_device",
    "load_params", "load_param_values", "set_tags", "add_task", "get_task", "wake",
    "list_presets", "put_preset", "delete_preset", "last_verdicts", "list_provisions",
    "put_provision", "delete_provision", "list_virtual_parameters", "put_virtual_parameter",
    "delete_virtual_parameter", "check_script", "list_faults", "delete_fault", "dry_run",
    "presets_that_set", "list_sessions", "load_trace", "history_paths", "param_history",
    "device_history", "list_snapshots", "load_snapshot", "save_snapshot", "fleet_view",
    "resolve_point", "plan_bundle", "start_migration", "migration_status",
)
#: How many add_task references are remembered (the oldest go first), and their length.
MAX_REFS = 10_000
MAX_REF_CHARS = 64
#: Options of ``dry_run`` a remote console may pass (never ``file_url``, the engine's own).
DRY_RUN_OPTIONS: frozenset[str] = frozenset({
    "presets", "provisions", "scripts_override", "vparams_override", "params_override",
})
#: Exceptions a call may raise -> (HTTP status, kind the client raises again).
ERRORS: tuple[tuple[type[BaseException], int, str], ...] = (
    (DeviceUnknown, 404, "DeviceUnknown"),
    (DryRunError, 422, "DryRunError"),
    (ExpressionError, 400, "ExpressionError"),
    (PointError, 404, "PointError"),
    (EngineUnavailable, 503, "EngineUnavailable"),
    (MigrationError, 400, "MigrationError"),
    (CodecError, 400, "ValueError"),
    (ValueError, 400, "ValueError"),
    (TypeError, 400, "ValueError"),
    (LookupError, 404, "LookupError"),
)


def public_config(config: EngineConfig) -> EngineConfig:
    """``config`` without its secrets: the fields kept out of ``repr`` (passwords, tokens)
    blanked, and a password written into a URL (``http://user:password@host``) masked."""
    blank: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if not f.repr:
            blank[f.name] = f.default if f.default is not dataclasses.MISSING else None
        elif isinstance(value, str) and "@" in value:
            blank[f.name] = mask_url_passwords(value)
    return dataclasses.replace(config, **blank)


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(encode(value), status=status)


def _conflict(exc: StepClaimError) -> web.Response:
    return web.json_response({"error": str(exc), "holder": exc.holder}, status=409)


class ConsoleRoutes:
    """The ``/fieldacs/v1`` routes of one :class:`NbiServer`.

    Attributes:
        claim: who holds step mode.
        events: the WebSocket event stream.
    """

    def __init__(self, nbi: NbiServer) -> None:
        self.nbi = nbi
        self.engine = nbi.engine
        self.local = LocalConsoleEngine(self.engine)
        if self.engine.step_claim is None:  # one claim for the plain and the HTTPS NBI
            self.engine.step_claim = StepClaim(self.engine.bus, on_release=self._step_off)
        self.claim = self.engine.step_claim
        self.events = EventStream(
            self.engine.bus, nbi.token, step_holder=lambda: self.claim.holder
        )
        #: Devices whose session started since the NBI did (status lists those still in one).
        self._seen_in_session: set[str] = set()
        #: add_task by the console's reference, so a command sent again (a lost answer, a
        #: reconnection while it was in flight) makes one task: ref -> its future.
        self._added: OrderedDict[str, asyncio.Future[Any]] = OrderedDict()
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Follow the sessions (the NBI starts listening)."""
        if self._unsubscribe is None:
            self._unsubscribe = self.engine.bus.subscribe(self._on_session, SessionStarted)

    def _on_session(self, event: SessionStarted) -> None:
        self._seen_in_session = {
            d for d in self._seen_in_session if self.local.in_session(d)
        } | {event.device_id}

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.events.close()

    # ------------------------------------------------------------------ helpers
    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    def _gate(self) -> StepGate:
        return install_step_gate(self.engine)

    def _step_off(self) -> None:
        handler = self.engine.handler
        if isinstance(handler, StepGate):
            for device_id in handler.enabled_devices:
                handler.disable(device_id)

    # ------------------------------------------------------------------ status
    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"engine": __version__, "protocol": PROTOCOL_VERSION})

    async def status(self, request: web.Request) -> web.Response:
        engine = self.engine
        in_session = sorted(d for d in self._seen_in_session if self.local.in_session(d))
        return web.json_response({
            "engine": __version__, "protocol": PROTOCOL_VERSION,
            "running": engine.store is not None, "device_count": engine.device_count,
            "in_session": in_session, "cwmp_urls": engine.cwmp_urls(),
            "cwmp_tls_urls": engine.cwmp_tls_urls(), "tls_fingerprint": engine.tls_fingerprint,
            "tls_ca_fingerprint": self.local.tls_ca_fingerprint,
            "provisioning_enabled": self.local.provisioning_enabled,
            "tls_kind": engine.tls_kind, "cpe_auth_enabled": bool(engine.cpe_auth_enabled),
            "proxy_upstream": mask_url_passwords(self.local.proxy_upstream()),
            "auth_failures": encode(tuple(engine.auth_failures())),
            "config": encode(public_config(engine.config)),
            "step_holder": self.claim.holder, "at": time.time(),
        })

    # ------------------------------------------------------------------ console calls
    async def _add_task_once(self, ref: object, args: dict[str, Any]) -> Any:
        """``add_task`` once per reference: a repeat gets the first call's task (or waits for
        it), a failed first call may be tried again."""
        if not isinstance(ref, str) or not 0 < len(ref) <= MAX_REF_CHARS:
            raise ValueError(f"ref must be a string of 1 to {MAX_REF_CHARS} characters")
        known = self._added.get(ref)
        if known is not None:
            return await asyncio.shield(known)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._added[ref] = future
        while len(self._added) > MAX_REFS:
            self._added.popitem(last=False)
        try:
            task = await self.local.add_task(**args)
        except asyncio.CancelledError:
            self._added.pop(ref, None)
            future.cancel()
            raise
        except Exception as exc:
            self._added.pop(ref, None)
            future.set_exception(exc)
            future.exception()  # retrieved: a repeat waiting on it gets it raised
            raise
        future.set_result(task)
        return task

    async def call(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if name not in CALLS:
            return web.json_response(
                {"error": f"no console method {name!r}", "kind": "LookupError"}, status=404)
        body = await self._body(request)
        raw_args = body.get("args", {})
        if not isinstance(raw_args, dict):
            raise ValueError("args must be a JSON object")
        method = getattr(self.local, name)
        try:
            args = {key: decode(value) for key, value in raw_args.items()}
            if args.get("include_secrets"):
                raise ValueError("a remote console gets bundles without secrets")
            if name == "migration_status" and (args.get("nbi_url") or args.get("token")):
                # The engine never fetches a URL a peer names: the console asks the new ACS.
                raise ValueError("migration_status takes no nbi_url here")
            if name == "dry_run":
                extra = set(args) - DRY_RUN_OPTIONS - {"device_id", "events"}
                if extra:
                    raise ValueError(f"dry_run does not take {sorted(extra)}")
            ref = args.pop("ref", None) if name == "add_task" else None
            inspect.signature(method).bind(**args)
            if ref is not None:
                result = await self._add_task_once(ref, args)
            else:
                result = await method(**args)
        except StepClaimError as exc:  # pragma: no cover - no call claims
            return _conflict(exc)
        except Exception as exc:
            for kind, status, label in ERRORS:
                if isinstance(exc, kind):
                    return web.json_response({"error": str(exc), "kind": label}, status=status)
            raise
        return web.json_response({"result": encode(result)})

    # ------------------------------------------------------------------ step mode
    async def step_state(self, request: web.Request) -> web.Response:
        handler = self.engine.handler
        devices: list[str] = []
        pending: list[Any] = []
        if isinstance(handler, StepGate):
            devices = sorted(handler.enabled_devices)
            pending = [p for d in devices if (p := handler.pending(d)) is not None]
        return web.json_response({
            "holder": self.claim.holder, "devices": devices, "pending": encode(tuple(pending)),
        })

    async def step_claim(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            lease = self.claim.claim(body.get("holder"), force=bool(body.get("force")))
        except StepClaimError as exc:
            return _conflict(exc)
        self._gate()
        return web.json_response({"lease": lease, "holder": self.claim.holder})

    async def step_release(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            self.claim.release(body.get("lease"))
        except StepClaimError as exc:
            return _conflict(exc)
        return web.json_response({})

    async def step_device(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            self.claim.check(body.get("lease"))
        except StepClaimError as exc:
            return _conflict(exc)
        self._gate().set_enabled(request.match_info["id"], bool(body.get("enabled")))
        return web.json_response({})

    async def step_action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in STEP_ACTIONS:
            raise web.HTTPNotFound()
        body = await self._body(request)
        try:
            self.claim.check(body.get("lease"))
        except StepClaimError as exc:
            return _conflict(exc)
        gate = self._gate()
        device = request.match_info["id"]
        if action in ("edit", "insert"):
            try:
                message = decode(body.get("rpc"))
            except CodecError as exc:
                raise ValueError(f"rpc: {exc}") from None
            getattr(gate, action)(device, message)
        else:
            getattr(gate, action)(device)
        return web.json_response({})


def add_console_routes(router: web.UrlDispatcher, nbi: NbiServer) -> ConsoleRoutes:
    """Register the ``/fieldacs/v1`` routes of ``nbi``; returns them (close them on stop)."""
    routes = ConsoleRoutes(nbi)
    p = PREFIX
    router.add_get(f"{p}/version", routes.version, allow_head=False)
    router.add_get(f"{p}/status", routes.status, allow_head=False)
    router.add_get(EVENTS_PATH, routes.events.handle, allow_head=False)
    router.add_post(f"{p}/console/{{method}}", routes.call)
    router.add_get(f"{p}/step", routes.step_state, allow_head=False)
    router.add_post(f"{p}/step/claim", routes.step_claim)
    router.add_post(f"{p}/step/release", routes.step_release)
    router.add_put(f"{p}/step/devices/{{id}}", routes.step_device)
    router.add_post(f"{p}/step/devices/{{id}}/{{action}}", routes.step_action)
    return routes
