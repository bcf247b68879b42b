"""The NBI over HTTPS (``nbi_tls_port``): the remote console over https:// and wss://.

An in-process engine with a token serves the NBI on plain HTTP and on HTTPS with the
certificate of FieldACS's private CA; :class:`RemoteEngine` attaches over https:// trusting
that CA, and is refused, with its own error, without it.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from acs_engine.bus import SessionEnded
from acs_engine.cli import _with_security, build_parser
from acs_engine.config import EngineConfig
from acs_engine.remote import (
    CertificateRejected,
    ConnectionLost,
    RemoteEngine,
    StepHeldElsewhere,
)
from acs_engine.server.controller import Engine, EngineStartError
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine
from tests.helpers.nbi import until

TOKEN = "nbi-tls-token-0123456789abcdef"


def _ca_context(engine: Engine) -> ssl.SSLContext:
    assert engine.tls is not None and engine.tls.ca_path is not None
    return ssl.create_default_context(cafile=str(engine.tls.ca_path))


def _https_url(engine: Engine) -> str:
    return f"https://127.0.0.1:{engine.nbi_tls_port}"


async def test_the_console_attaches_over_https_and_gets_events_over_wss(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path, nbi_token=TOKEN, nbi_tls_port=0) as engine:
        assert engine.nbi_tls_port and engine.nbi_port and engine.nbi_tls_port != engine.nbi_port
        remote = RemoteEngine(_https_url(engine), TOKEN, holder="alice",
                              ssl=_ca_context(engine))
        seen: list[Any] = []
        remote.bus.subscribe(seen.append)
        await remote.connect()
        try:
            await until(lambda: remote.connected)
            model = load_model("tr181")
            acs = f"http://127.0.0.1:{engine.cwmp_port}/"
            cpe = SimCpe(SimDevice(model, "NBITLS01", context={"acs_url": acs}), acs)
            assert (await cpe.session()).ok
            await until(lambda: any(isinstance(e, SessionEnded) for e in seen))
            device_id = make_device_id(model.oui, model.product_class, "NBITLS01")
            assert [s.id for s in await remote.list_devices()] == [device_id]
        finally:
            await remote.close()


async def test_a_certificate_that_does_not_verify_has_its_own_error(tmp_path: Path) -> None:
    async with running_engine(tmp_path, nbi_token=TOKEN, nbi_tls_port=0) as engine:
        remote = RemoteEngine(_https_url(engine), TOKEN, holder="bob")  # system trust store
        with pytest.raises(CertificateRejected) as refused:
            await remote.connect()
        assert "certificate" in str(refused.value)
        assert not isinstance(refused.value, ConnectionLost)
        await remote.close()


async def test_plain_http_to_the_tls_port_is_not_served(tmp_path: Path) -> None:
    async with running_engine(tmp_path, nbi_token=TOKEN, nbi_tls_port=0) as engine:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientError):
                await http.get(f"http://127.0.0.1:{engine.nbi_tls_port}/devices/",
                               headers={"Authorization": f"Bearer {TOKEN}"})
            # the token is asked for over HTTPS too
            async with http.get(f"{_https_url(engine)}/devices/",
                                ssl=_ca_context(engine)) as resp:
                assert resp.status == 401
            async with http.get(f"{_https_url(engine)}/devices/", ssl=_ca_context(engine),
                                headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                assert resp.status == 200


async def test_one_step_claim_for_the_plain_and_the_https_nbi(tmp_path: Path) -> None:
    async with running_engine(tmp_path, nbi_token=TOKEN, nbi_tls_port=0) as engine:
        alice = RemoteEngine(_https_url(engine), TOKEN, holder="alice",
                             ssl=_ca_context(engine))
        bob = RemoteEngine(f"http://127.0.0.1:{engine.nbi_port}", TOKEN, holder="bob")
        await alice.connect()
        await bob.connect()
        try:
            await alice.claim_step()
            with pytest.raises(StepHeldElsewhere):
                await bob.claim_step()
        finally:
            await alice.close()
            await bob.close()


async def test_an_open_https_nbi_is_refused_and_reconfigure_opens_and_closes_it(
    tmp_path: Path,
) -> None:
    config = EngineConfig(db_path=tmp_path / "open.db", cwmp_host="127.0.0.1", cwmp_port=0,
                          fs_port=0, nbi_host="0.0.0.0", nbi_port=0, nbi_tls_port=0)
    with pytest.raises(EngineStartError, match="token"):
        await Engine(config).start()
    async with running_engine(tmp_path, nbi_token=TOKEN) as engine:
        assert engine.nbi_tls_port is None and engine.tls is None
        await engine.reconfigure(engine.config.replace(nbi_tls_port=0))
        assert engine.nbi_tls_port and engine.tls is not None
        async with aiohttp.ClientSession() as http, http.get(
            f"{_https_url(engine)}/fieldacs/v1/version", ssl=_ca_context(engine),
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as resp:
            assert resp.status == 200
        await engine.reconfigure(engine.config.replace(nbi_tls_port=None))
        assert engine.nbi_tls_port is None and engine.nbi_port is not None


def test_serve_takes_nbi_tls_port() -> None:
    args = build_parser().parse_args(["serve", "--db", "x.db", "--nbi-tls-port", "7558"])
    config = _with_security(EngineConfig(db_path=Path("x.db")), args)
    assert config.nbi_tls_port == 7558
