"""HTTP connection requests against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import socket
import struct
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from acs_engine.reach.connreq import (
    ConnReqTarget,
    send_connection_request,
    target_from_params,
)
from acs_engine.reach.digest import parse_www_authenticate
from tests.unit.reach.loopback import serve

_HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class DigestCpe:
    """A connection-request listener checking Digest on its own (independent of the client).

    Args:
        username: expected user.
        password: expected password.
        algorithm: ``MD5``, ``SHA-256``, ``MD5-sess`` ...
        qop: ``"auth"`` or ``""`` (RFC 2069 form).
        opaque: the opaque value to require back, or None for none.
        basic: offer (and accept) Basic instead of Digest.
        status: what to answer once authenticated.
    """

    def __init__(self, username: str = "cpe", password: str = "s3cret", *,
                 algorithm: str = "MD5", qop: str = "auth", opaque: str | None = "op4que",
                 basic: bool = False, status: int = 204) -> None:
        self.username, self.password = username, password
        self.algorithm, self.qop, self.opaque = algorithm, qop, opaque
        self.basic, self.status = basic, status
        self.nonces: set[str] = set()
        self.requests: list[str | None] = []
        self.accepted = 0

    def _h(self, text: str) -> str:
        return _HASH[self.algorithm.removesuffix("-sess")](text.encode()).hexdigest()

    def _challenge(self) -> web.Response:
        if self.basic:
            value = 'Basic realm="cpe"'
        else:
            nonce = secrets.token_hex(8)
            self.nonces.add(nonce)
            value = f'Digest realm="cpe", nonce="{nonce}", algorithm={self.algorithm}'
            if self.qop:
                value += f', qop="{self.qop}"'
            if self.opaque is not None:
                value += f', opaque="{self.opaque}"'
        return web.Response(status=401, headers={"WWW-Authenticate": value})

    def _check(self, header: str, method: str, path_qs: str) -> bool:
        (cred,) = parse_www_authenticate([header])
        if self.basic:
            return cred.scheme == "basic" and base64.b64decode(cred.token68).decode() == (
                f"{self.username}:{self.password}")
        p = cred.params
        if cred.scheme != "digest" or p.get("nonce") not in self.nonces:
            return False
        if p.get("uri") != path_qs or p.get("username") != self.username:
            return False
        if self.opaque is not None and p.get("opaque") != self.opaque:
            return False
        ha1 = self._h(f"{self.username}:cpe:{self.password}")
        if self.algorithm.endswith("-sess"):
            ha1 = self._h(f"{ha1}:{p['nonce']}:{p['cnonce']}")
        ha2 = self._h(f"{method}:{path_qs}")
        if self.qop:
            if p.get("qop") != "auth" or len(p.get("cnonce", "")) < 8:
                return False
            want = self._h(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        else:
            want = self._h(f"{ha1}:{p['nonce']}:{ha2}")
        self.nonces.discard(p["nonce"])  # one use per nonce
        return p.get("response") == want

    async def handle(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        self.requests.append(header)
        if header is None or not self._check(header, request.method, request.path_qs):
            return self._challenge()
        self.accepted += 1
        return web.Response(status=self.status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return app


def _target(base: str, username: str = "cpe", password: str = "s3cret",
            path: str = "/crq/x7?k=1") -> ConnReqTarget:
    return ConnReqTarget(url=base + path, username=username, password=password)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess"])
async def test_digest_right_password_is_sent(algorithm: str) -> None:
    cpe = DigestCpe(algorithm=algorithm)
    async with serve(cpe.app()) as base:
        result = await send_connection_request(_target(base))
    assert (result.ok, result.outcome, result.status, result.via) == (True, "sent", 204, "http")
    assert cpe.accepted == 1
    assert cpe.requests[0] is None  # first try goes without credentials
    assert result.elapsed_ms > 0


async def test_digest_without_qop_rfc2069() -> None:
    cpe = DigestCpe(qop="", opaque=None, status=200)
    async with serve(cpe.app()) as base:
        result = await send_connection_request(_target(base))
    assert result.outcome == "sent" and result.status == 200


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_wrong_password(algorithm: str) -> None:
    cpe = DigestCpe(algorithm=algorithm)
    async with serve(cpe.app()) as base:
        result = await send_connection_request(_target(base, password="nope"))
    assert (result.ok, result.outcome, result.status) == (False, "wrong_credentials", 401)
    assert "ConnectionRequestUsername/Password" in result.message
    assert "nope" not in result.message
    assert cpe.accepted == 0


async def test_credentials_tried_in_turn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cpe = DigestCpe(algorithm="SHA-256")
    async with serve(cpe.app()) as base:
        result = await send_connection_request(
            _target(base),
            credentials=[("cpe", "old-pw-123"), ("admin", "s3cret"), ("cpe", "s3cret")])
    assert result.outcome == "sent"
    assert len(cpe.requests) == 4  # anonymous, then three pairs
    async with serve(cpe.app()) as base:
        result = await send_connection_request(_target(base), credentials=[("a", "b"), ("c", "d")])
    assert result.outcome == "wrong_credentials" and "2 credential pair(s)" in result.message
    assert "fieldacs.connreq" in {r.name for r in caplog.records}
    assert "s3cret" not in caplog.text and "old-pw-123" not in caplog.text


async def test_basic_refused_unless_allowed() -> None:
    cpe = DigestCpe(basic=True)
    async with serve(cpe.app()) as base:
        refused = await send_connection_request(_target(base))
        assert cpe.requests == [None]  # the password was never sent in clear text
        allowed = await send_connection_request(_target(base), allow_basic=True)
        wrong = await send_connection_request(_target(base, password="x"), allow_basic=True)
    assert refused.outcome == "basic_not_allowed" and not refused.ok
    assert "cwmp.connectionRequestAllowBasicAuth" in refused.message
    assert allowed.outcome == "sent"
    assert wrong.outcome == "wrong_credentials"


async def test_503_is_offline() -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "10"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", busy)
    async with serve(app) as base:
        result = await send_connection_request(_target(base))
    assert (result.outcome, result.status) == ("offline", 503)
    assert result.message.startswith("Device is offline or busy (503)")


async def test_unexpected_status_is_error() -> None:
    app = web.Application()  # no routes: 404
    async with serve(app) as base:
        result = await send_connection_request(_target(base))
    assert (result.outcome, result.status) == ("error", 404)
    assert "ConnectionRequestURL" in result.message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_closed_port_is_offline() -> None:
    port = _free_port()
    result = await send_connection_request(
        ConnReqTarget(f"http://127.0.0.1:{port}/cr", "u", "p"))
    assert (result.ok, result.outcome, result.status) == (False, "offline", None)
    assert str(port) in result.message


async def test_reset_connection_is_offline() -> None:
    async def slam(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        writer.close()

    server = await asyncio.start_server(slam, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await send_connection_request(ConnReqTarget(f"http://127.0.0.1:{port}/", "u", "p"))
    finally:
        server.close()
        await server.wait_closed()
    assert result.outcome == "offline"


async def test_silent_server_times_out_within_limit() -> None:
    release = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.perf_counter()
        result = await send_connection_request(
            ConnReqTarget(f"http://127.0.0.1:{port}/cr", "u", "p"), timeout_ms=300)
        took = time.perf_counter() - started
    finally:
        release.set()
        server.close()
        await server.wait_closed()
    assert result.outcome == "timeout" and not result.ok
    assert "300 ms" in result.message and "firewall" in result.message.lower()
    assert 0.25 < took < 1.5


@pytest.mark.parametrize(("url", "fragment"), [
    ("https://127.0.0.1:7547/cr", "plain HTTP"),
    ("", "no ConnectionRequestURL"),
    ("ftp://127.0.0.1/x", "not an http://"),
    ("http://127.0.0.1:99999/x", "not a valid URL"),
])
async def test_bad_urls(url: str, fragment: str) -> None:
    result = await send_connection_request(ConnReqTarget(url, "u", "p"))
    assert result.outcome == "bad_url" and not result.ok and result.status is None
    assert fragment in result.message


class _NoDns(AbstractResolver):
    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


async def test_name_that_does_not_resolve_is_unreachable() -> None:
    # a resolver that fails locally: no DNS traffic leaves the machine
    connector = aiohttp.TCPConnector(resolver=_NoDns())
    async with aiohttp.ClientSession(connector=connector) as session:
        result = await send_connection_request(
            ConnReqTarget("http://cpe.invalid:7547/cr", "u", "p"), session=session)
        assert not session.closed  # a caller's session is left open
    assert result.outcome == "unreachable"
    assert "NAT" in result.message


async def test_userinfo_in_url_is_never_sent() -> None:
    seen: list[Any] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with serve(app) as base:
        url = base.replace("http://", "http://admin:pw@") + "/cr"
        result = await send_connection_request(ConnReqTarget(url, "u", "p"))
    assert result.outcome == "sent" and seen == [None]


def test_target_from_params_prefers_igd_when_it_has_the_url() -> None:
    params = {
        "InternetGatewayDevice.ManagementServer.ConnectionRequestURL": "http://10.0.0.1:7547/a",
        "InternetGatewayDevice.ManagementServer.ConnectionRequestUsername": "igd",
        "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword": "pw",
        "InternetGatewayDevice.ManagementServer.UDPConnectionRequestAddress": "1.2.3.4:5000",
        "InternetGatewayDevice.ManagementServer.STUNEnable": "true",
        "Device.ManagementServer.ConnectionRequestURL": "http://10.0.0.2/b",
    }
    target = target_from_params(params)
    assert target == ConnReqTarget("http://10.0.0.1:7547/a", "igd", "pw", "1.2.3.4:5000", True)
    assert "pw" not in repr(target)
    del params["InternetGatewayDevice.ManagementServer.ConnectionRequestURL"]
    fallback = target_from_params(params)
    assert fallback == ConnReqTarget("http://10.0.0.2/b", "", "", None, False)
    assert target_from_params({"Device.DeviceInfo.SerialNumber": "x"}) is None
    stun_off = target_from_params({"Device.ManagementServer.ConnectionRequestURL": "http://h/",
                                   "Device.ManagementServer.STUNEnable": "0",
                                   "Device.ManagementServer.UDPConnectionRequestAddress": ""})
    assert stun_off is not None and stun_off.udp_address is None and not stun_off.stun_enabled
