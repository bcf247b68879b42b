"""Issue 11, findings 1 and 10: attacks on CPE authentication, against a live engine.

Each test plays the attacker over real sockets on 127.0.0.1 against the real store, then
checks that the attack fails and that the real CPE (the simulator) still logs in.
"""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from acs_engine.bus import RequestRejected
from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.reach.digest import (
    AuthChallenge,
    digest_authorization,
    parse_www_authenticate,
)
from acs_engine.server.auth import NO_QOP_REFUSED, NO_STORED_CREDENTIALS
from acs_engine.server.controller import Engine
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.model import DeviceRecord, Param, SessionCommit
from tests.helpers.engine import running_engine

REAL_USER = "cpe-7f3a"
REAL_PASSWORD = "stored-by-the-acs-91c"
EVIL_USER = "mallory"
EVIL_PASSWORD = "mallory-chose-this"
SERIAL = "VICTIM0001"
#: (model, its root) for both data models: the IGD form and the Device form of the expression.
MODELS = [("tr098", "InternetGatewayDevice."), ("tr181", "Device.")]


def _expression(root: str) -> str:
    return f"AUTH({root}ManagementServer.Username, {root}ManagementServer.Password)"


def _victim(model: str, *, user: str = REAL_USER, password: str = REAL_PASSWORD) -> SimDevice:
    base = load_model(model)
    return SimDevice(
        base, SERIAL, options=SimOptions(), context={"acs_url": "x"},
        initial={base.root + "ManagementServer.Username": user,
                 base.root + "ManagementServer.Password": password},
    )


async def _store_credentials(engine: Engine, cpe: SimDevice, user: str, password: str) -> str:
    """The ACS already knows this device and the credentials it gave it (as an SPV would)."""
    ident = cpe.device_id
    device_id = make_device_id(ident.oui, ident.product_class, ident.serial_number)
    now = int(time.time() * 1000)
    root = cpe.model.root + "ManagementServer."
    assert engine.store is not None
    await engine.store.commit_session(SessionCommit(
        device=DeviceRecord(id=device_id, manufacturer=ident.manufacturer, oui=ident.oui,
                            product_class=ident.product_class,
                            serial_number=ident.serial_number, registered_ms=now),
        upserts=[Param(root + "Username", user, "xsd:string", now, True),
                 Param(root + "Password", password, "xsd:string", now, True)],
    ))
    return device_id


def _attacker_inform(cpe: SimDevice, user: str, password: str) -> bytes:
    """An Inform claiming ``cpe``'s identity, carrying credentials of the attacker's choice."""
    root = cpe.model.root + "ManagementServer."
    message = rpc.Inform(
        device_id=cpe.device_id,
        events=(rpc.EventStruct("2 PERIODIC"),),
        current_time="2026-12-07T06:00:00Z",
        parameters=(
            rpc.ParameterValue(root + "Username", user, "xsd:string"),
            rpc.ParameterValue(root + "Password", password, "xsd:string"),
            rpc.ParameterValue(root + "ConnectionRequestURL", "http://127.0.0.1:9/evil",
                               "xsd:string"),
        ),
    )
    return codec.serialize(Envelope(message, cwmp_id="1"))


async def _post(http: aiohttp.ClientSession, url: str, body: bytes,
                headers: dict[str, str] | None = None) -> tuple[int, aiohttp.ClientResponse, bytes]:
    async with http.post(url, data=body, headers=headers or {}) as resp:
        return resp.status, resp, await resp.read()


def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1, force_close=False),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def _digest(headers: list[str], *, user: str, password: str, nc: int = 1,
            rfc2069: bool = False, algorithm: str = "MD5") -> str:
    challenge = next(c for c in parse_www_authenticate(headers)
                     if c.scheme == "digest" and c.algorithm == algorithm)
    if rfc2069:  # an old CPE: it ignores qop and answers in the RFC 2069 form
        challenge = AuthChallenge("digest", {k: v for k, v in challenge.params.items()
                                             if k != "qop"})
    return digest_authorization(challenge, username=user, password=password, method="POST",
                                uri="/", nc=nc)


async def _login(url: str, body: bytes, *, user: str, password: str) -> int:
    """Send ``body``, answer the challenge with ``user``/``password``; the final status."""
    async with _client() as http:
        status, resp, _ = await _post(http, url, body)
        assert status == 401
        auth = _digest(resp.headers.getall("WWW-Authenticate"), user=user, password=password)
        status, _, _ = await _post(http, url, body, {"Authorization": auth})
        return status


# ---------------------------------------------------------------- finding 1: auth bypass
@pytest.mark.parametrize(("model", "root"), MODELS)
async def test_attack_inform_with_its_own_credentials_cannot_log_in_as_a_known_device(
    tmp_path: Path, model: str, root: str
) -> None:
    async with running_engine(tmp_path, cwmp_auth=_expression(root)) as engine:
        assert engine.store is not None
        rejected: list[RequestRejected] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        victim = _victim(model)
        device_id = await _store_credentials(engine, victim, REAL_USER, REAL_PASSWORD)
        url = engine.cwmp_urls()[-1]
        # the attacker's own pair, and the real user name with the attacker's password
        for user in (EVIL_USER, REAL_USER):
            status = await _login(url, _attacker_inform(victim, user, EVIL_PASSWORD),
                                  user=user, password=EVIL_PASSWORD)
            assert status == 401
        assert [e.status for e in rejected] == [401, 401]
        assert f"unknown user '{EVIL_USER}'" in rejected[0].reason
        assert f"wrong password for user '{REAL_USER}'" in rejected[1].reason
        # nothing of the attacker's Informs reached the store
        stored = await engine.store.load_params(device_id, root + "ManagementServer.")
        assert stored[root + "ManagementServer.Username"].value == REAL_USER
        assert stored[root + "ManagementServer.Password"].value == REAL_PASSWORD
        assert root + "ManagementServer.ConnectionRequestURL" not in stored
        assert await engine.store.list_sessions(device_id) == []
        # the real CPE, with the credentials the ACS gave it, still logs in
        result = await SimCpe(victim, url).session()
        assert result.ok, result
        [session] = await engine.store.list_sessions(device_id)
        assert session.outcome == "ok"
        assert engine.cwmp is not None and device_id not in engine.cwmp.auth.failures


@pytest.mark.parametrize("stored_password", [None, ""], ids=["never-seen", "empty-stored"])
async def test_attack_claiming_a_device_without_stored_credentials_is_refused_with_a_reason(
    tmp_path: Path, stored_password: str | None
) -> None:
    root = "Device."
    async with running_engine(tmp_path, cwmp_auth=_expression(root)) as engine:
        assert engine.store is not None
        victim = _victim("tr181")
        ident = victim.device_id
        device_id = make_device_id(ident.oui, ident.product_class, ident.serial_number)
        if stored_password is not None:  # a CPE reads its password back empty (TR-069)
            await _store_credentials(engine, victim, REAL_USER, stored_password)
        url = engine.cwmp_urls()[-1]
        status = await _login(url, _attacker_inform(victim, EVIL_USER, EVIL_PASSWORD),
                              user=EVIL_USER, password=EVIL_PASSWORD)
        assert status == 401
        status = await _login(url, _attacker_inform(victim, REAL_USER, ""),
                              user=REAL_USER, password="")
        assert status == 401
        [failure] = engine.auth_failures()
        assert failure.device_id == device_id
        assert failure.reason.startswith(NO_STORED_CREDENTIALS)
        if stored_password is None:
            assert "never seen" in failure.reason
            assert await engine.store.count_devices() == 0
        else:
            assert f"{root}ManagementServer.Password" in failure.reason
            stored = await engine.store.load_params(device_id, root + "ManagementServer.")
            assert stored[root + "ManagementServer.Username"].value == REAL_USER
            assert await engine.store.list_sessions(device_id) == []


async def test_a_new_device_is_admitted_by_a_bootstrap_alternative_not_by_its_inform(
    tmp_path: Path
) -> None:
    root = "Device."
    expression = _expression(root) + ' OR AUTH("bootstrap", "boot-secret-8d2")'
    async with running_engine(tmp_path, cwmp_auth=expression) as engine:
        url = engine.cwmp_urls()[-1]
        newcomer = _victim("tr181", user="bootstrap", password="boot-secret-8d2")
        assert (await SimCpe(newcomer, url).session()).ok
        # the Inform's own claim still proves nothing
        stranger = SimDevice(load_model("tr181"), "OTHER01", options=SimOptions(),
                             context={"acs_url": "x"})
        status = await _login(url, _attacker_inform(stranger, EVIL_USER, EVIL_PASSWORD),
                              user=EVIL_USER, password=EVIL_PASSWORD)
        assert status == 401
        assert engine.store is not None and await engine.store.count_devices() == 1


# ---------------------------------------------------------------- finding 10: Digest replay
async def _captured_rfc2069(url: str) -> tuple[str, int, bytes]:
    """An old CPE's login: its RFC 2069 Authorization header, the status and the answer."""
    body = _attacker_inform(_victim("tr181"), REAL_USER, "")
    async with _client() as http:
        _, resp, _ = await _post(http, url, body)
        header = _digest(resp.headers.getall("WWW-Authenticate"), user=REAL_USER,
                         password=REAL_PASSWORD, rfc2069=True)
        assert "qop=" not in header and "nc=" not in header
        status, _, data = await _post(http, url, body, {"Authorization": header})
        if status == 200:
            assert (await _post(http, url, b""))[0] == 204
        return header, status, data


async def test_attack_replayed_rfc2069_digest_is_refused_by_default(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_username=REAL_USER,
                              cwmp_password=REAL_PASSWORD) as engine:
        rejected: list[RequestRejected] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        url = engine.cwmp_urls()[-1]
        header, status, _ = await _captured_rfc2069(url)
        assert status == 401
        async with _client() as http:  # the replay, on a connection of its own
            body = _attacker_inform(_victim("tr181"), EVIL_USER, "")
            status, _, _ = await _post(http, url, body, {"Authorization": header})
            assert status == 401
        assert len(rejected) == 2 and all(NO_QOP_REFUSED in e.reason for e in rejected)
        assert engine.store is not None and await engine.store.count_devices() == 0


async def test_attack_rfc2069_allowed_for_old_cpes_but_each_nonce_only_once(
    tmp_path: Path
) -> None:
    async with running_engine(tmp_path, cwmp_username=REAL_USER, cwmp_password=REAL_PASSWORD,
                              cwmp_digest_rfc2069=True) as engine:
        rejected: list[RequestRejected] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        url = engine.cwmp_urls()[-1]
        header, status, data = await _captured_rfc2069(url)
        assert status == 200  # the old-style client logs in
        answer = codec.parse(data)
        assert answer is not None and isinstance(answer.message, rpc.InformResponse)
        async with _client() as http:
            body = _attacker_inform(_victim("tr181"), EVIL_USER, "")
            status, _, _ = await _post(http, url, body, {"Authorization": header})
            assert status == 401
        [event] = rejected
        assert "replayed Digest credentials (nonce reused)" in event.reason
        assert engine.store is not None
        [session] = await engine.store.list_sessions(rejected[0].device_id)
        assert session.outcome == "ok"  # only the real login's session


async def test_attack_qop_auth_response_replayed_with_the_same_nc_is_refused(
    tmp_path: Path
) -> None:
    async with running_engine(tmp_path, cwmp_username=REAL_USER,
                              cwmp_password=REAL_PASSWORD) as engine:
        rejected: list[RequestRejected] = []
        engine.bus.subscribe(rejected.append, RequestRejected)
        url = engine.cwmp_urls()[-1]
        body = _attacker_inform(_victim("tr181"), REAL_USER, "")
        async with _client() as http:
            _, resp, _ = await _post(http, url, body)
            challenges = resp.headers.getall("WWW-Authenticate")
            header = _digest(challenges, user=REAL_USER, password=REAL_PASSWORD, nc=1)
            assert "qop=auth" in header and "nc=00000001" in header
            assert (await _post(http, url, body, {"Authorization": header}))[0] == 200
            assert (await _post(http, url, b""))[0] == 204
        async with _client() as http:  # replayed: same nonce, same nc
            assert (await _post(http, url, body, {"Authorization": header}))[0] == 401
        assert "replayed Digest credentials (nonce count reused)" in rejected[0].reason
        async with _client() as http:  # the real CPE counting on: nc=2 is fine
            nc2 = _digest(challenges, user=REAL_USER, password=REAL_PASSWORD, nc=2)
            assert (await _post(http, url, body, {"Authorization": nc2}))[0] == 200
            assert (await _post(http, url, b""))[0] == 204
