"""A tiny scripted ACS on 127.0.0.1 for exercising SimCpe sessions over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from acs_engine.cwmp import rpc
from acs_engine.cwmp.codec import parse, serialize
from acs_engine.cwmp.envelope import Envelope
from acs_engine.sim.auth import DigestServer


@dataclass
class Received:
    """One POST as the ACS saw it."""

    path: str
    method: str  # the CWMP method, "" for an empty POST
    env: Envelope | None
    cookie: str | None
    peer: tuple[str, int]


@dataclass
class ScriptedAcs:
    """Answers Informs, then sends ``script`` one request at a time, then 204.

    Attributes:
        script: ACS requests to send after the CPE's empty POST.
        hold_requests: put HoldRequests=1 on the InformResponse.
        redirect_first: answer POSTs to ``/start`` with 307 to ``/acs``.
        auth: require these (username, password) with Digest.
        inform_fault: answer the Inform with this fault code.
        use_version: send UseCWMPVersion (when the CPE offered versions).
    """

    script: list[rpc.Message] = field(default_factory=list)
    hold_requests: bool = False
    redirect_first: bool = False
    auth: tuple[str, str] | None = None
    algorithms: tuple[str, ...] = ("MD5",)
    inform_fault: int | None = None
    use_version: str | None = None
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0
    _digest: DigestServer | None = None
    _queues: dict[tuple[str, int], list[rpc.Message]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        path = "/start" if self.redirect_first else "/acs"
        return f"http://127.0.0.1:{self.port}{path}"

    def methods(self) -> list[str]:
        return [r.method for r in self.received]

    async def __aenter__(self) -> ScriptedAcs:
        self._digest = DigestServer("acs", self.algorithms)
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def _reply(self, status: int, env: Envelope | None = None, **headers: str) -> web.Response:
        self.statuses.append(status)
        body = serialize(env) if env is not None else b""
        if env is not None:
            headers["Content-Type"] = "text/xml; charset=utf-8"
        return web.Response(status=status, body=body, headers=headers)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.redirect_first and request.path == "/start":
            return self._reply(307, Location="/acs")
        if self.auth is not None:
            assert self._digest is not None
            if not self._digest.verify(request.headers.get("Authorization"), "POST",
                                       self.auth[0], self.auth[1]):
                resp = self._reply(401)
                for value in self._digest.challenges():
                    resp.headers.add("WWW-Authenticate", value)
                return resp
        env = parse(body)
        peer = request.transport.get_extra_info("peername") if request.transport else ("", 0)
        self.received.append(Received(
            request.path, env.message.METHOD if env else "", env,
            request.headers.get("Cookie"), tuple(peer[:2]),
        ))
        if env is not None and isinstance(env.message, rpc.Inform):
            if self.inform_fault is not None:
                return self._reply(500, Envelope(rpc.Fault(code=self.inform_fault),
                                                 cwmp_id=env.cwmp_id, namespace=env.namespace))
            self._queues[tuple(peer[:2])] = list(self.script)
            use = self.use_version if env.supported_versions else None
            reply = Envelope(rpc.InformResponse(), cwmp_id=env.cwmp_id, namespace=env.namespace,
                             hold_requests=True if self.hold_requests else None,
                             use_cwmp_version=use)
            return self._reply(200, reply, **{"Set-Cookie": "session=s3cr3t; Path=/"})
        if env is not None and isinstance(env.message, rpc.TransferComplete):
            return self._reply(200, Envelope(rpc.TransferCompleteResponse(),
                                             cwmp_id=env.cwmp_id, namespace=env.namespace))
        queue = self._queues.get(tuple(peer[:2]), [])
        if queue:
            ns = self.received[0].env.namespace if self.received[0].env else ""
            return self._reply(200, Envelope(queue.pop(0), cwmp_id=f"acs-{len(queue)}",
                                             namespace=ns))
        return self._reply(204)
