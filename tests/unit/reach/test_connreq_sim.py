"""The ACS's connection request against the simulator's connection-request listener."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.reach.connreq import ConnReqTarget, send_connection_request
from acs_engine.sim.connreq import ConnectionRequestServer
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions

_MODEL = Path(__file__).parent.parent / "sim" / "fixture_model.json"


class _Cpe:
    """Counts the sessions the listener would start."""

    def __init__(self, device: SimDevice) -> None:
        self.device = device
        self.calls = 0

    def connection_request(self) -> None:
        self.calls += 1


@pytest.mark.parametrize("algorithms", [("MD5",), ("SHA-256",), ("SHA-256", "MD5")])
async def test_against_simulated_cpe(algorithms: tuple[str, ...]) -> None:
    device = SimDevice(load_model(str(_MODEL)), "SIMCR1",
                       options=SimOptions(connreq_algorithms=algorithms))
    cpe = _Cpe(device)
    user, password = device.connreq_credentials
    async with ConnectionRequestServer() as server:
        url = server.register(cpe)
        wrong = await send_connection_request(ConnReqTarget(url, user, password + "x"))
        assert (wrong.outcome, cpe.calls) == ("wrong_credentials", 0)
        right = await send_connection_request(ConnReqTarget(url, user, password))
        assert (right.ok, right.outcome, right.status) == (True, "sent", 200)
        assert cpe.calls == 1


async def test_simulated_cpe_basic_and_rate_limit() -> None:
    device = SimDevice(load_model(str(_MODEL)), "SIMCR2",
                       options=SimOptions(allow_basic_connreq=True, connreq_limit=1))
    cpe = _Cpe(device)
    user, password = device.connreq_credentials
    async with ConnectionRequestServer() as server:
        url = server.register(cpe)
        first = await send_connection_request(ConnReqTarget(url, user, password))
        second = await send_connection_request(ConnReqTarget(url, user, password))
    assert first.outcome == "sent"  # Digest chosen even though Basic is offered
    assert (second.outcome, second.status) == ("offline", 503)
