"""Digest client and server against each other, and the connection-request listener."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from acs_engine.sim.auth import ClientAuth, DigestServer, basic_authorization, parse_challenges
from acs_engine.sim.client import SimCpe
from acs_engine.sim.connreq import ConnectionRequestServer
from acs_engine.sim.device import SimDevice
from acs_engine.sim.options import SimOptions
from tests.unit.sim.scripted_acs import ScriptedAcs


def test_parse_challenges_several_in_one_header() -> None:
    got = parse_challenges('Digest realm="a, b", qop="auth", nonce=xyz, Basic realm="r"')
    assert [c.scheme for c in got] == ["digest", "basic"]
    assert got[0].params == {"realm": "a, b", "qop": "auth", "nonce": "xyz"}
    assert parse_challenges("Basic dXNlcjpwYXNz==")[0].token68 == "dXNlcjpwYXNz=="


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess"])
def test_digest_roundtrip(algorithm: str) -> None:
    server = DigestServer("realm", (algorithm,))
    client = ClientAuth("user", "secret")
    assert client.accept(server.challenges())
    header = client.authorization("GET", "/path")
    assert header is not None and f"algorithm={algorithm}" in header
    assert server.verify(header, "GET", "user", "secret", request_uris=("/path",))
    # replaying the same nc is refused; the next nc is fine
    assert not server.verify(header, "GET", "user", "secret")
    assert server.verify(client.authorization("GET", "/path"), "GET", "user", "secret")
    # wrong method, uri or password
    assert not server.verify(client.authorization("POST", "/path"), "GET", "user", "secret")
    assert not server.verify(client.authorization("GET", "/x"), "GET", "user", "secret",
                             request_uris=("/path",))
    bad = ClientAuth("user", "wrong")
    bad.accept(server.challenges())
    assert not server.verify(bad.authorization("GET", "/p"), "GET", "user", "secret")


def test_client_prefers_sha256_and_basic_only_when_allowed() -> None:
    server = DigestServer("r", ("MD5", "SHA-256"))
    client = ClientAuth("u", "p")
    client.accept(server.challenges(allow_basic=True))
    assert "algorithm=SHA-256" in (client.authorization("GET", "/") or "")
    basic_only = ClientAuth("u", "p", allow_basic=False)
    assert not basic_only.accept(['Basic realm="x"'])
    assert not server.verify(basic_authorization("u", "p"), "GET", "u", "p")
    assert server.verify(basic_authorization("u", "p"), "GET", "u", "p", allow_basic=True)
    assert not server.verify(basic_authorization("u", "x"), "GET", "u", "p", allow_basic=True)


class Target:
    """Counts connection requests instead of running sessions."""

    def __init__(self, device: SimDevice) -> None:
        self.device = device
        self.calls = 0

    def connection_request(self) -> None:
        self.calls += 1


async def _get(url: str, auth: ClientAuth | None) -> int:
    """GET like an ACS: unauthenticated first, then answer the challenge once."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            if resp.status != 401 or auth is None:
                return resp.status
            challenges = resp.headers.getall("WWW-Authenticate", [])
        if not auth.accept(challenges):
            return 401
        path = "/" + url.split("/", 3)[3]
        async with http.get(url, headers={"Authorization": auth.authorization("GET", path) or ""}) as resp:
            return resp.status


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_connection_request_digest(model, algorithm: str) -> None:
    device = SimDevice(model, "CR1", options=SimOptions(connreq_algorithms=(algorithm,)))
    target = Target(device)
    async with ConnectionRequestServer() as server:
        url = server.register(target)
        assert url.startswith(f"http://127.0.0.1:{server.port}/")
        assert device.value("Device.ManagementServer.ConnectionRequestURL") == url
        assert await _get(url, None) == 401
        assert await _get(url, ClientAuth("CR1", "wrong")) == 401
        assert target.calls == 0
        assert await _get(url, ClientAuth("CR1", "CR1")) == 200
        assert target.calls == 1
        assert await _get(url + "x", ClientAuth("CR1", "CR1")) == 404
        assert server.stats.accepted == 1


async def test_connection_request_basic_needs_permission(model) -> None:
    refused = Target(SimDevice(model, "B1"))
    allowed = Target(SimDevice(model, "B2", options=SimOptions(allow_basic_connreq=True)))
    async with ConnectionRequestServer() as server:
        url1, url2 = server.register(refused), server.register(allowed)
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": basic_authorization("B1", "B1")}
            async with http.get(url1, headers=auth) as resp:
                assert resp.status == 401
                assert not any(h.startswith("Basic") for h in resp.headers.getall("WWW-Authenticate"))
            auth = {"Authorization": basic_authorization("B2", "B2")}
            async with http.get(url2, headers=auth) as resp:
                assert resp.status == 200
    assert (refused.calls, allowed.calls) == (0, 1)


async def test_connection_request_rate_limit(model) -> None:
    target = Target(SimDevice(model, "R1", options=SimOptions(connreq_limit=2)))
    async with ConnectionRequestServer() as server:
        url = server.register(target)
        statuses = [await _get(url, ClientAuth("R1", "R1")) for _ in range(3)]
    assert statuses == [200, 200, 503]
    assert target.calls == 2


async def test_connection_request_starts_session(model) -> None:
    async with ScriptedAcs() as acs, ConnectionRequestServer() as server:
        device = SimDevice(model, "CRS")
        cpe = SimCpe(device, acs.url)
        url = server.register(cpe)
        assert (await cpe.session()).ok  # bootstrap
        task = asyncio.create_task(cpe.run())
        try:
            assert await _get(url, ClientAuth("CRS", "CRS")) == 200
            for _ in range(100):
                if cpe.sessions_ok >= 2:
                    break
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
    assert cpe.results[-1].events == ("6 CONNECTION REQUEST",)
    assert acs.methods() == ["Inform", "", "Inform", ""]
    inform = acs.received[2].env
    assert inform is not None and inform.message.has_event("6 CONNECTION REQUEST")  # type: ignore[attr-defined]
