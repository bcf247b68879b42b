"""HTTPS listeners: the self-signed certificate, a user's certificate, CWMP and files over TLS."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from pathlib import Path

import aiohttp
import pytest

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.reach.digest import basic_authorization, parse_www_authenticate
from acs_engine.server.controller import Engine, EngineStartError
from acs_engine.server.tls import create_self_signed
from tests.helpers.engine import inform, running_engine

USER = "cpe1"
PASSWORD = "tls-Pa55word"


def _client_context(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = True
    return context


async def _served_fingerprint(port: int, cert: Path) -> str:
    """The SHA-256 fingerprint of the certificate the server at ``port`` presents."""
    _reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=_client_context(cert), server_hostname="127.0.0.1"
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        await writer.wait_closed()
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


async def test_cwmp_session_over_https_with_the_generated_certificate(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        assert engine.tls is not None and engine.tls.self_signed
        assert engine.tls.cert_path.parent == tmp_path
        assert engine.tls_fingerprint is not None and len(engine.tls_fingerprint) == 95
        tls_url = engine.cwmp_tls_urls()[-1]
        assert tls_url == f"https://127.0.0.1:{engine.cwmp_tls_port}/"
        assert engine.cwmp_urls()[-1].startswith("http://")  # plain HTTP still there
        context = _client_context(engine.tls.cert_path)
        connector = aiohttp.TCPConnector(ssl=context, limit=1)
        async with aiohttp.ClientSession(connector=connector) as http:
            body = codec.serialize(Envelope(inform(), cwmp_id="1"))
            async with http.post(tls_url, data=body) as resp:
                assert resp.status == 200
                reply = codec.parse(await resp.read())
                assert reply is not None and isinstance(reply.message, rpc.InformResponse)
            async with http.post(tls_url, data=b"") as resp:
                assert resp.status == 204
        sessions = await engine.store.list_sessions("F1E1D0-TestGW-SN0001")  # type: ignore[union-attr]
        assert [s.outcome for s in sessions] == ["ok"]
        assert engine.cwmp_tls_port is not None
        served = await _served_fingerprint(engine.cwmp_tls_port, engine.tls.cert_path)
        assert served == engine.tls_fingerprint


async def test_the_certificate_is_reused_on_the_next_start(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        first = engine.tls_fingerprint
        key_path = engine.tls.key_path  # type: ignore[union-attr]
    assert key_path.stat().st_mode & 0o077 == 0  # the key is private to its owner
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        assert engine.tls_fingerprint == first


async def test_basic_is_offered_and_accepted_over_tls(tmp_path: Path) -> None:
    async with running_engine(
        tmp_path, cwmp_tls_port=0, cwmp_username=USER, cwmp_password=PASSWORD
    ) as engine:
        assert engine.tls is not None
        connector = aiohttp.TCPConnector(ssl=_client_context(engine.tls.cert_path), limit=1)
        url = engine.cwmp_tls_urls()[-1]
        body = codec.serialize(Envelope(inform(), cwmp_id="1"))
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.post(url, data=body) as resp:
                assert resp.status == 401
                schemes = {c.scheme for c in parse_www_authenticate(
                    resp.headers.getall("WWW-Authenticate"))}
                assert schemes == {"digest", "basic"}
            headers = {"Authorization": basic_authorization(USER, PASSWORD)}
            async with http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 200
            async with http.post(url, data=b"") as resp:
                assert resp.status == 204
        sessions = await engine.store.list_sessions("F1E1D0-TestGW-SN0001")  # type: ignore[union-attr]
        trace = await engine.store.load_trace(sessions[0].id)  # type: ignore[union-attr]
        stored = [v for t in trace for k, v in t.headers if k.lower() == "authorization"]
        assert stored == ["Basic ********"]  # the password is not kept in the trace


async def test_https_only_with_a_user_supplied_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "mine" / "cert.pem", tmp_path / "mine" / "key.pem"
    fingerprint = create_self_signed(cert, key, hostnames=["acs.example.net", "127.0.0.1"])
    async with running_engine(
        tmp_path, cwmp_http_enabled=False, cwmp_tls_port=0, tls_cert_path=cert, tls_key_path=key
    ) as engine:
        assert engine.tls is not None and not engine.tls.self_signed
        assert engine.tls_fingerprint == fingerprint
        assert all(u.startswith("https://") for u in engine.cwmp_urls())
        assert engine.cwmp_port == engine.cwmp_tls_port
        assert not (tmp_path / "fieldacs-cert.pem").exists()
        connector = aiohttp.TCPConnector(ssl=_client_context(cert), limit=1)
        async with aiohttp.ClientSession(connector=connector) as http:
            body = codec.serialize(Envelope(inform(), cwmp_id="1"))
            async with http.post(engine.cwmp_urls()[-1], data=body) as resp:
                assert resp.status == 200
            async with http.post(engine.cwmp_urls()[-1], data=b"") as resp:
                assert resp.status == 204


async def test_file_server_over_https(tmp_path: Path) -> None:
    async with running_engine(tmp_path, fs_tls_port=0) as engine:
        assert engine.files is not None and engine.tls is not None
        assert engine.fs_tls_port is not None and engine.fs_port is not None
        await engine.files.put("fw.bin", b"firmware-image" * 100)
        connector = aiohttp.TCPConnector(ssl=_client_context(engine.tls.cert_path))
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(f"https://127.0.0.1:{engine.fs_tls_port}/fw.bin") as resp:
                assert resp.status == 200
                assert await resp.read() == b"firmware-image" * 100
        served = await _served_fingerprint(engine.fs_tls_port, engine.tls.cert_path)
        assert served == engine.tls_fingerprint


async def test_a_plain_http_client_is_not_served_on_the_tls_port(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientError):
                await http.post(f"http://127.0.0.1:{engine.cwmp_tls_port}/", data=b"")


async def test_bad_certificate_paths_stop_the_start_with_a_clear_message(tmp_path: Path) -> None:
    from acs_engine.config import EngineConfig

    config = EngineConfig(
        db_path=tmp_path / "x.db", cwmp_host="127.0.0.1", cwmp_port=0, fs_enabled=False,
        cwmp_tls_port=0, tls_cert_path=tmp_path / "none.pem", tls_key_path=tmp_path / "k.pem",
    )
    engine = Engine(config)
    with pytest.raises(EngineStartError, match=r"none\.pem"):
        await engine.start()
    assert not engine.running
