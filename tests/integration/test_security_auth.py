"""CPE authentication on the CWMP endpoint: the simulator and hand-made requests, on loopback."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from acs_engine.bus import RequestRejected, SessionEnded
from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.reach.digest import (
    basic_authorization,
    digest_authorization,
    parse_www_authenticate,
)
from acs_engine.server.controller import Engine, EngineStartError
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.sim.runner import run_sim
from tests.helpers.engine import inform, running_engine

USER = "cpe1"
PASSWORD = "s3cret-Pa55"
DEVICE = "F1E1D0-TestGW-SN0001"


def _inform_body(serial: str = "SN0001") -> bytes:
    return codec.serialize(Envelope(inform(serial), cwmp_id="1"))


def _digest(headers: list[str], algorithm: str, *, user: str = USER, password: str = PASSWORD,
            nc: int = 1) -> str:
    challenge = next(
        c for c in parse_www_authenticate(headers)
        if c.scheme == "digest" and c.algorithm == algorithm
    )
    return digest_authorization(
        challenge, username=user, password=password, method="POST", uri="/", nc=nc
    )


async def _post(http: aiohttp.ClientSession, url: str, body: bytes,
                headers: dict[str, str] | None = None) -> tuple[int, aiohttp.ClientResponse, bytes]:
    async with http.post(url, data=body, headers=headers or {}) as resp:
        return resp.status, resp, await resp.read()


def _connector() -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=1, force_close=False)


async def test_simulator_with_the_right_password_completes_its_sessions(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        rejected: list[RequestRejected] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        summary = await run_sim(engine.cwmp_urls()[-1], 5, "tr181", once=True, username=USER,
                                password=PASSWORD, connection_requests=False)
        assert summary.sessions_ok == 5 and summary.sessions_failed == 0
        assert rejected == []  # the challenge of a first Inform is not a failure
        assert engine.cwmp is not None and engine.cwmp.auth.failures == {}
        assert await engine.store.count_devices() == 5  # type: ignore[union-attr]


async def test_wrong_password_gets_401s_no_session_and_a_visible_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        rejected: list[RequestRejected] = []
        ended: list[SessionEnded] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        engine.bus.subscribe(ended.append, SessionEnded)
        summary = await run_sim(engine.cwmp_urls()[-1], 2, "tr098", once=True, username=USER,
                                password="typo-password", connection_requests=False)
        assert summary.sessions_ok == 0 and summary.sessions_failed == 2
        assert all("401" in reason for _, reason in summary.failures)
        assert ended == []
        assert await engine.store.count_devices() == 0  # type: ignore[union-attr]
        assert len(rejected) == 2
        for event in rejected:
            assert event.status == 401
            assert event.remote == "127.0.0.1"
            assert event.device_id.startswith("F1E1D0-")
            assert f"wrong password for user '{USER}' from 127.0.0.1" in event.reason
        assert engine.cwmp is not None
        failures = engine.cwmp.auth.failures
        assert set(failures) == {e.device_id for e in rejected}
        assert all(f.username == USER and f.count == 1 for f in failures.values())
    assert "typo-password" not in caplog.text
    assert PASSWORD not in caplog.text
    assert "wrong password for user 'cpe1' from 127.0.0.1" in caplog.text


async def test_challenge_then_second_failure_closes_the_connection(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        url = engine.cwmp_urls()[-1]
        async with aiohttp.ClientSession(connector=_connector()) as http:
            status, resp, _ = await _post(http, url, _inform_body())
            assert status == 401
            assert resp.headers.get("Connection", "").lower() != "close"
            challenges = resp.headers.getall("WWW-Authenticate")
            parsed = parse_www_authenticate(challenges)
            assert {c.algorithm for c in parsed if c.scheme == "digest"} == {"SHA-256", "MD5"}
            assert all(c.params["realm"] == "FieldACS" for c in parsed)
            assert all("auth" in c.qops for c in parsed)
            assert not any(c.scheme == "basic" for c in parsed)  # plain HTTP: no Basic
            bad = _digest(challenges, "MD5", password="wrong")
            status, resp, _ = await _post(http, url, _inform_body(), {"Authorization": bad})
            assert status == 401
            assert resp.headers["Connection"].lower() == "close"
            assert resp.headers.getall("WWW-Authenticate")


async def test_an_empty_user_name_is_reported_as_no_credentials(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        url = engine.cwmp_urls()[-1]
        async with aiohttp.ClientSession(connector=_connector()) as http:
            _, resp, _ = await _post(http, url, _inform_body())
            empty = _digest(resp.headers.getall("WWW-Authenticate"), "MD5", user="", password="")
            status, _, _ = await _post(http, url, _inform_body(), {"Authorization": empty})
            assert status == 401
        [failure] = engine.auth_failures()
        assert failure.device_id == DEVICE and failure.username == ""
        assert failure.reason == "no credentials: the CPE sent an empty user name"


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_digest_md5_and_sha256_are_accepted_and_the_connection_stays_authenticated(
    tmp_path: Path, algorithm: str
) -> None:
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        url = engine.cwmp_urls()[-1]
        async with aiohttp.ClientSession(connector=_connector()) as http:
            _, resp, _ = await _post(http, url, _inform_body())
            good = _digest(resp.headers.getall("WWW-Authenticate"), algorithm)
            status, resp, data = await _post(http, url, _inform_body(), {"Authorization": good})
            assert status == 200
            assert isinstance(codec.parse(data).message, rpc.InformResponse)  # type: ignore[union-attr]
            # the rest of the session on this connection needs no header
            status, _, _ = await _post(http, url, b"")
            assert status == 204
        sessions = await engine.store.list_sessions(DEVICE)  # type: ignore[union-attr]
        assert [s.outcome for s in sessions] == ["ok"]
        trace = await engine.store.load_trace(sessions[0].id)  # type: ignore[union-attr]
        auth_headers = [v for t in trace for k, v in t.headers if k.lower() == "authorization"]
        assert auth_headers and all('response="********"' in v for v in auth_headers)


async def test_basic_is_refused_over_plain_http(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        rejected: list[RequestRejected] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        url = engine.cwmp_urls()[-1]
        async with aiohttp.ClientSession(connector=_connector()) as http:
            basic = {"Authorization": basic_authorization(USER, PASSWORD)}
            status, _, _ = await _post(http, url, _inform_body(), basic)
            assert status == 401
        assert "Basic authentication refused over plain HTTP" in rejected[0].reason
        assert await engine.store.count_devices() == 0  # type: ignore[union-attr]
        # and the simulator, offered only Digest, authenticates fine
        summary = await run_sim(url, 1, "tr181", once=True, username=USER, password=PASSWORD,
                                connection_requests=False)
        assert summary.sessions_ok == 1


async def test_session_continued_on_a_new_connection_authenticates_again(tmp_path: Path) -> None:
    queue_rpc = rpc.GetRPCMethods()
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        engine.manual.put(DEVICE, queue_rpc)
        url = engine.cwmp_urls()[-1]
        async with aiohttp.ClientSession(connector=_connector(),
                                         cookie_jar=aiohttp.DummyCookieJar()) as first:
            _, resp, _ = await _post(first, url, _inform_body())
            challenges = resp.headers.getall("WWW-Authenticate")
            good = _digest(challenges, "SHA-256")
            status, resp, _ = await _post(first, url, _inform_body(), {"Authorization": good})
            assert status == 200
            cookie = resp.headers["Set-Cookie"].split(";")[0]
        async with aiohttp.ClientSession(connector=_connector(),
                                         cookie_jar=aiohttp.DummyCookieJar()) as second:
            status, resp, _ = await _post(second, url, b"", {"Cookie": cookie})
            assert status == 401  # another connection: prove it again
            again = _digest(resp.headers.getall("WWW-Authenticate"), "MD5")
            status, _, data = await _post(second, url, b"",
                                          {"Cookie": cookie, "Authorization": again})
            assert status == 200
            request = codec.parse(data)
            assert request is not None and isinstance(request.message, rpc.GetRPCMethods)
            answer = codec.serialize(Envelope(rpc.GetRPCMethodsResponse(methods=("Inform",)),
                                              cwmp_id=request.cwmp_id))
            status, _, _ = await _post(second, url, answer, {"Cookie": cookie})
            assert status == 204


async def test_replayed_digest_credentials_are_refused(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        url = engine.cwmp_urls()[-1]
        async with aiohttp.ClientSession(connector=_connector()) as http:
            _, resp, _ = await _post(http, url, _inform_body())
            good = _digest(resp.headers.getall("WWW-Authenticate"), "SHA-256")
            status, _, _ = await _post(http, url, _inform_body(), {"Authorization": good})
            assert status == 200
            status, _, _ = await _post(http, url, b"")
            assert status == 204
        rejected: list[RequestRejected] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        async with aiohttp.ClientSession(connector=_connector()) as http:
            status, _, _ = await _post(http, url, _inform_body(), {"Authorization": good})
            assert status == 401
        assert "replayed" in rejected[0].reason


async def test_per_device_credentials_from_an_expression(tmp_path: Path) -> None:
    expression = (
        'AUTH("acs", "not-this-one") OR '
        '(REMOTE_ADDRESS() = "127.0.0.1" AND AUTH(DeviceID.SerialNumber, '
        '"pw-" || DeviceID.ProductClass))'
    )
    async with running_engine(tmp_path, cwmp_auth=expression) as engine:
        rejected: list[RequestRejected] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        base = load_model("tr181")
        cpes = []
        for i, wrong in enumerate([False, False, True]):
            serial = f"EXPR{i:03d}"
            device = SimDevice(
                base, serial, index=i, options=SimOptions(), context={"acs_url": "x"},
                initial={
                    base.root + "ManagementServer.Username": serial,
                    base.root + "ManagementServer.Password":
                        "bad" if wrong else "pw-" + base.product_class,
                },
            )
            cpes.append(SimCpe(device, engine.cwmp_urls()[-1]))
        results = [await cpe.session() for cpe in cpes]
        assert [r.ok for r in results] == [True, True, False]
        assert len(rejected) == 1 and "wrong password for user 'EXPR002'" in rejected[0].reason


async def test_a_broken_expression_stops_the_engine_from_starting(tmp_path: Path) -> None:
    from acs_engine.config import EngineConfig

    engine = Engine(EngineConfig(db_path=tmp_path / "x.db", cwmp_host="127.0.0.1", cwmp_port=0,
                                 fs_enabled=False, cwmp_auth="AUTH(("))
    with pytest.raises(EngineStartError, match="cwmp_auth"):
        await engine.start()
    assert not engine.running


async def test_auth_off_by_default_accepts_everyone(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        assert engine.cwmp is not None and not engine.cwmp.auth.enabled
        summary = await run_sim(engine.cwmp_urls()[-1], 2, "tr181", once=True,
                                connection_requests=False)
        assert summary.sessions_ok == 2
