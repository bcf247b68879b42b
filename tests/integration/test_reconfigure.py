"""Engine.reconfigure: new listener, TLS and authentication settings on a running engine."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from acs_engine.bus import EngineNotice
from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.reach.digest import digest_authorization, parse_www_authenticate
from acs_engine.server.controller import Engine, ReconfigureError
from acs_engine.server.tls import create_self_signed
from acs_engine.sim.runner import run_sim
from tests.helpers.engine import RawCpe, inform, running_engine

USER = "cpe1"
PASSWORD = "live-Pa55word"
DEVICE = "F1E1D0-TestGW-SN0001"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _busy_port() -> Iterator[int]:
    """A port another program listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


async def _refused(port: int) -> bool:
    async with aiohttp.ClientSession() as http:
        try:
            await http.post(f"http://127.0.0.1:{port}/", data=b"")
        except aiohttp.ClientConnectionError:
            return True
    return False


def _kept(engine: Engine) -> tuple[object, ...]:
    """What reconfigure must not replace."""
    return (engine.store, engine.chain, engine.handler, engine.bus, engine.cwmp, engine.config)


async def test_cwmp_port_change_keeps_the_engine_and_finishes_the_session_in_flight(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path) as engine:
        before = _kept(engine)
        old_port = engine.cwmp_port
        notices: list[EngineNotice] = []
        engine.bus.subscribe(notices.append, EngineNotice)
        new_port = _free_port()
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, reply, _ = await cpe.send(inform())
            assert status == 200 and reply is not None
            later = await engine.reconfigure(engine.config.replace(cwmp_port=new_port))
            assert later == []
            # The session in flight finishes on the connection it came on.
            status, _, _ = await cpe.send(None)
            assert status == 204
        assert _kept(engine) == before
        assert engine.cwmp_port == new_port == engine.config.cwmp_port
        assert engine.cwmp_urls()[-1] == f"http://127.0.0.1:{new_port}/"
        assert notices and notices[-1].data["urls"][-1] == engine.cwmp_urls()[-1]
        assert await _refused(old_port)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, _, _ = await cpe.send(inform())
            assert status == 200
            assert (await cpe.send(None))[0] == 204
        sessions = await engine.store.list_sessions(DEVICE)  # type: ignore[union-attr]
        assert [s.outcome for s in sessions] == ["ok", "ok"]


async def test_a_busy_port_is_refused_and_the_old_listeners_stay(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        old = (engine.cwmp_port, engine.fs_port, engine.nbi_port)
        with _busy_port() as busy:
            # The file server moves first (to a free port), then the NBI cannot bind.
            wanted = engine.config.replace(
                fs_port=_free_port(), nbi_port=busy, session_timeout_ms=5000, cwmp_username=USER,
                cwmp_password=PASSWORD,
            )
            with pytest.raises(ReconfigureError, match=f"NBI port: Port {busy} is in use"):
                await engine.reconfigure(wanted)
        assert (engine.cwmp_port, engine.fs_port, engine.nbi_port) == old
        assert engine.config.fs_port == 0 and engine.config.nbi_port == 0
        assert engine.config.session_timeout_ms == 30_000 and engine.config.cwmp_username is None
        assert engine.cwmp is not None and not engine.cwmp.auth.enabled
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{engine.nbi_port}/devices") as resp:
                assert resp.status == 200
        summary = await run_sim(engine.cwmp_urls()[-1], 1, "tr181", once=True,
                                connection_requests=False)
        assert summary.sessions_ok == 1


async def test_ports_swapped_between_listeners_and_a_port_given_twice(tmp_path: Path) -> None:
    a, b = _free_port(), _free_port()
    async with running_engine(tmp_path) as engine:
        await engine.reconfigure(engine.config.replace(cwmp_port=a, fs_port=b))
        await engine.reconfigure(engine.config.replace(cwmp_port=b, fs_port=a))
        assert (engine.cwmp_port, engine.fs_port) == (b, a)
        summary = await run_sim(engine.cwmp_urls()[-1], 1, "tr181", once=True,
                                connection_requests=False)
        assert summary.sessions_ok == 1
        with pytest.raises(ReconfigureError, match="both"):
            await engine.reconfigure(engine.config.replace(nbi_port=b))
        assert engine.config.nbi_port == 0


async def test_authentication_switched_on_live(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        url = engine.cwmp_urls()[-1]
        summary = await run_sim(url, 1, "tr181", once=True, connection_requests=False)
        assert summary.sessions_ok == 1
        await engine.reconfigure(
            engine.config.replace(cwmp_username=USER, cwmp_password=PASSWORD)
        )
        assert engine.cwmp is not None and engine.cwmp.auth.enabled
        body = codec.serialize(Envelope(inform(), cwmp_id="1"))
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1, force_close=False)
        ) as http:
            async with http.post(url, data=body) as resp:
                assert resp.status == 401
                challenges = resp.headers.getall("WWW-Authenticate")
            challenge = next(c for c in parse_www_authenticate(challenges)
                             if c.scheme == "digest")
            headers = {"Authorization": digest_authorization(
                challenge, username=USER, password=PASSWORD, method="POST", uri="/", nc=1)}
            async with http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 200
            async with http.post(url, data=b"") as resp:
                assert resp.status == 204
        wrong = await run_sim(url, 1, "tr181", once=True, username=USER, password="nope",
                              connection_requests=False)
        assert wrong.sessions_ok == 0
        right = await run_sim(url, 1, "tr181", once=True, username=USER, password=PASSWORD,
                              connection_requests=False)
        assert right.sessions_ok == 1
        # Switched off again: CPEs without credentials are served.
        await engine.reconfigure(engine.config.replace(cwmp_username=None, cwmp_password=None))
        assert (await run_sim(url, 1, "tr181", once=True,
                              connection_requests=False)).sessions_ok == 1


async def test_a_session_in_flight_is_not_challenged_when_auth_comes_on(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            assert (await cpe.send(inform()))[0] == 200
            await engine.reconfigure(
                engine.config.replace(cwmp_username=USER, cwmp_password=PASSWORD)
            )
            assert (await cpe.send(None))[0] == 204
        sessions = await engine.store.list_sessions(DEVICE)  # type: ignore[union-attr]
        assert [s.outcome for s in sessions] == ["ok"]


async def test_an_auth_expression_that_does_not_parse_changes_nothing(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        port = engine.cwmp_port
        with pytest.raises(ReconfigureError, match="cwmp_auth does not parse"):
            await engine.reconfigure(
                engine.config.replace(cwmp_auth='AUTH(DeviceID.SerialNumber, "x"', cwmp_port=0,
                                      session_timeout_ms=9000)
            )
        assert engine.cwmp is not None and not engine.cwmp.auth.enabled
        assert engine.config.cwmp_auth is None and engine.config.session_timeout_ms == 30_000
        assert engine.cwmp_port == port


def _client_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


async def test_https_switched_on_with_a_generated_certificate_then_plain_http_off(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path) as engine:
        assert engine.tls is None and engine.cwmp_tls_urls() == []
        await engine.reconfigure(engine.config.replace(cwmp_tls_port=0, fs_tls_port=0))
        assert engine.tls is not None and engine.tls.self_signed
        assert engine.tls.cert_path.parent == tmp_path
        assert engine.tls_fingerprint is not None and engine.fs_tls_port is not None
        tls_url = engine.cwmp_tls_urls()[-1]
        assert tls_url == f"https://127.0.0.1:{engine.cwmp_tls_port}/"
        connector = aiohttp.TCPConnector(ssl=_client_context(engine.tls.cert_path), limit=1)
        body = codec.serialize(Envelope(inform(), cwmp_id="1"))
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.post(tls_url, data=body) as resp:
                assert resp.status == 200
                reply = codec.parse(await resp.read())
                assert reply is not None and isinstance(reply.message, rpc.InformResponse)
            async with http.post(tls_url, data=b"") as resp:
                assert resp.status == 204
        plain = engine.cwmp_port
        tls_port = engine.cwmp_tls_port
        await engine.reconfigure(engine.config.replace(cwmp_http_enabled=False))
        assert engine.cwmp_tls_port == tls_port  # unchanged listener kept
        assert all(u.startswith("https://") for u in engine.cwmp_urls())
        assert await _refused(plain)
        # HTTPS only and no HTTPS port: refused, nothing changes.
        with pytest.raises(ReconfigureError, match="no HTTPS port"):
            await engine.reconfigure(engine.config.replace(cwmp_tls_port=None, fs_tls_port=None))
        assert engine.cwmp_tls_port == tls_port


async def test_a_new_certificate_and_a_bad_one(tmp_path: Path) -> None:
    cert, key = tmp_path / "mine" / "cert.pem", tmp_path / "mine" / "key.pem"
    mine = create_self_signed(cert, key, hostnames=["127.0.0.1"])
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        generated = engine.tls_fingerprint
        port = engine.cwmp_tls_port
        await engine.reconfigure(engine.config.replace(tls_cert_path=cert, tls_key_path=key))
        assert engine.tls_fingerprint == mine != generated
        assert engine.tls is not None and not engine.tls.self_signed
        connector = aiohttp.TCPConnector(ssl=_client_context(cert), limit=1)
        async with aiohttp.ClientSession(connector=connector) as http:
            body = codec.serialize(Envelope(inform(), cwmp_id="1"))
            async with http.post(f"https://127.0.0.1:{engine.cwmp_tls_port}/", data=body) as resp:
                assert resp.status == 200
        other_cert, other_key = tmp_path / "o" / "c.pem", tmp_path / "o" / "k.pem"
        create_self_signed(other_cert, other_key)
        with pytest.raises(ReconfigureError, match="Cannot use the certificate"):
            await engine.reconfigure(engine.config.replace(tls_key_path=other_key))
        assert engine.tls_fingerprint == mine and engine.config.tls_key_path == key
        assert port is not None


async def test_settings_that_need_a_restart_are_returned_not_applied(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        db = engine.config.db_path
        later = await engine.reconfigure(
            engine.config.replace(db_path=tmp_path / "other.db", retry_delay_ms=7000,
                                  trace_sessions_per_device=3)
        )
        assert sorted(later) == ["db_path", "trace_sessions_per_device"]
        assert engine.config.db_path == db and engine.config.retry_delay_ms == 7000


async def test_nbi_token_and_port_changed_live(tmp_path: Path) -> None:
    token = "a-long-enough-nbi-token-0123456789"
    async with running_engine(tmp_path) as engine:
        port = _free_port()
        await engine.reconfigure(engine.config.replace(nbi_port=port, nbi_token=token))
        assert engine.nbi_port == port and engine.nbi is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/devices") as resp:
                assert resp.status == 401
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(f"http://127.0.0.1:{port}/devices", headers=headers) as resp:
                assert resp.status == 200
        with pytest.raises(ReconfigureError):
            await engine.reconfigure(engine.config.replace(nbi_token="short"))
        assert engine.config.nbi_token == token


async def test_a_listener_that_could_not_start_does_not_block_other_changes(
    tmp_path: Path,
) -> None:
    with _busy_port() as busy:
        async with running_engine(tmp_path, nbi_port=busy) as engine:
            assert engine.nbi is None  # a warning at start, not a failed start
            await engine.reconfigure(engine.config.replace(session_timeout_ms=12_000))
            assert engine.config.session_timeout_ms == 12_000 and engine.nbi is None
            port = _free_port()
            await engine.reconfigure(engine.config.replace(nbi_port=port))
            assert engine.nbi_port == port
