"""The NBI routes a remote console needs that GenieACS's NBI lacks, under ``/fieldacs/v1``.

Values travel in the codec's JSON (:mod:`acs_engine.server.events_codec`)::

    GET  /fieldacs/v1/version                      engine and protocol versions
    GET  /fieldacs/v1/events                       the live event stream (WebSocket)
    GET  /fieldacs/v1/sessions?device=ID[&limit=N] a device's stored sessions, newest first
    GET  /fieldacs/v1/sessions/{id}/trace          a stored session's wire trace
    GET  /fieldacs/v1/devices/{id}/session         the device's session in progress, or null
    GET  /fieldacs/v1/devices/{id}/verdicts        presets' verdicts of its last session
    POST /fieldacs/v1/devices/{id}/wake            a connection request (answer: its outcome)
    POST /fieldacs/v1/dryrun                       a dry run of a device's next session
    POST /fieldacs/v1/scripts/check                does a provision script compile
    GET  /fieldacs/v1/step                         holder, devices in step mode, holds
    POST /fieldacs/v1/step/claim                   {"holder", "force"?} -> {"lease"}
    POST /fieldacs/v1/step/release                 {"lease"}
    PUT  /fieldacs/v1/step/devices/{id}            {"lease", "enabled"}
    POST /fieldacs/v1/step/devices/{id}/{action}   send|skip|pause|resume, edit|insert {"rpc"}

Step commands need the lease of the console that holds step mode (:mod:`step_claim`); any
other console gets 409 with ``{"error", "holder"}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from acs_engine import __version__
from acs_engine.server.events_codec import PROTOCOL_VERSION, CodecError, decode, encode
from acs_engine.server.events_ws import EVENTS_PATH, EventStream
from acs_engine.server.step_claim import StepClaim, StepClaimError
from acs_engine.services.dryrun import DryRunError, dry_run
from acs_engine.services.wake import DeviceUnknown
from acs_engine.session.step import StepGate, install_step_gate
from acs_engine.store.records import Preset

if TYPE_CHECKING:
    from acs_engine.server.nbi import NbiServer

__all__ = ["PREFIX", "ConsoleRoutes", "add_console_routes"]

PREFIX = "/fieldacs/v1"
_STEP_ACTIONS = ("send", "skip", "pause", "resume", "edit", "insert")


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
        self.claim = StepClaim(self.engine.bus, on_release=self._step_off)
        self.events = EventStream(
            self.engine.bus, nbi.token, step_holder=lambda: self.claim.holder
        )

    async def close(self) -> None:
        await self.events.close()

    # ------------------------------------------------------------------ helpers
    async def _body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
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

    # ------------------------------------------------------------------ reads
    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"engine": __version__, "protocol": PROTOCOL_VERSION})

    async def sessions(self, request: web.Request) -> web.Response:
        device = request.query.get("device", "")
        if not device:
            raise ValueError("device is required")
        raw = request.query.get("limit", "50")
        if not raw.isdigit() or not 0 < int(raw) <= 1000:
            raise ValueError("limit must be a whole number from 1 to 1000")
        records = await self.nbi.store.list_sessions(device, int(raw))
        return _json(tuple(records))

    async def trace(self, request: web.Request) -> web.Response:
        entries = await self.nbi.store.load_trace(request.match_info["id"])
        return _json(tuple(entries))

    async def device_session(self, request: web.Request) -> web.Response:
        cwmp = self.engine.cwmp
        session = cwmp.session_of_device(request.match_info["id"]) if cwmp else None
        if session is None:
            return web.json_response(None)
        return web.json_response({
            "session_id": session.id, "state": str(getattr(session.state, "value", session.state)),
        })

    async def verdicts(self, request: web.Request) -> web.Response:
        return _json(await self.nbi.store.last_verdicts(request.match_info["id"]))

    # ------------------------------------------------------------------ actions
    async def wake(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            done = await self.engine.connection_request(
                request.match_info["id"], wait_for_session=bool(body.get("wait", True))
            )
        except DeviceUnknown as exc:
            return web.json_response({"error": str(exc)}, status=404)
        return _json(done)

    async def dryrun(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        device = body.get("device")
        if not isinstance(device, str) or not device:
            raise ValueError("device is required")
        presets = None
        if body.get("presets") is not None:
            presets = list(decode(body["presets"]))
            if not all(isinstance(p, Preset) for p in presets):
                raise ValueError("presets must be Preset values")
        provisions = body.get("provisions")
        if provisions is not None and not (
            isinstance(provisions, list) and all(isinstance(p, list) and p for p in provisions)
        ):
            raise ValueError("provisions must be a list of [name, *args]")
        events = body.get("events", ["2 PERIODIC"])
        scripts = body.get("scripts")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ValueError("events must be a list of strings")
        if scripts is not None and not (
            isinstance(scripts, dict) and all(isinstance(v, str) for v in scripts.values())
        ):
            raise ValueError("scripts must map names to source text")
        sandbox = self.engine.sandbox
        if sandbox is None:
            raise web.HTTPServiceUnavailable(reason="The engine is not running")
        try:
            result = await dry_run(
                self.nbi.store, self.engine.config, sandbox, device,
                presets=presets, provisions=provisions, events=tuple(events),
                scripts_override=scripts, file_url=self.engine.file_url,
            )
        except DryRunError as exc:
            return web.json_response({"error": str(exc)}, status=404)
        return _json(result)

    async def check_script(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        script = body.get("script")
        if not isinstance(script, str):
            raise ValueError("script is required")
        bad = await self.nbi.script_error(script)
        return bad if bad is not None else web.json_response({"ok": True})

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
        if action not in _STEP_ACTIONS:
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
    router.add_get(EVENTS_PATH, routes.events.handle, allow_head=False)
    router.add_get(f"{p}/sessions", routes.sessions, allow_head=False)
    router.add_get(f"{p}/sessions/{{id}}/trace", routes.trace, allow_head=False)
    router.add_get(f"{p}/devices/{{id}}/session", routes.device_session, allow_head=False)
    router.add_get(f"{p}/devices/{{id}}/verdicts", routes.verdicts, allow_head=False)
    router.add_post(f"{p}/devices/{{id}}/wake", routes.wake)
    router.add_post(f"{p}/dryrun", routes.dryrun)
    router.add_post(f"{p}/scripts/check", routes.check_script)
    router.add_get(f"{p}/step", routes.step_state, allow_head=False)
    router.add_post(f"{p}/step/claim", routes.step_claim)
    router.add_post(f"{p}/step/release", routes.step_release)
    router.add_put(f"{p}/step/devices/{{id}}", routes.step_device)
    router.add_post(f"{p}/step/devices/{{id}}/{{action}}", routes.step_action)
    return routes
