"""Partial-path GetParameterValues: fewer RPCs, the same stored tree, and a remembered
fallback to full names for a CPE that refuses them (TR-069 A.3.2.2 lets a CPE be asked for a
partial path; not every stack in the field answers it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from acs_engine.bus import WireMessage
from acs_engine.cwmp import rpc
from acs_engine.cwmp.faults import make_fault
from acs_engine.session.session import Session
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset
from tests.helpers.engine import running_engine

ROOTS = {"tr098": "InternetGatewayDevice", "tr181": "Device"}


class _NoPartialPaths(SimDevice):
    """A CPE stack that faults on any partial path in GetParameterValues."""

    def handle(self, request: rpc.Message) -> rpc.Message:
        if isinstance(request, rpc.GetParameterValues) and any(
            n.endswith(".") or not n for n in request.names
        ):
            return make_fault(9005, "Invalid parameter name")
        return super().handle(request)


async def _discover(
    tmp_path: Path, model: str, partial: bool, *, refuse: bool = False,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[dict[str, Any], list[list[rpc.Message]], list[Any]]:
    offset = [0.0]
    if monkeypatch is not None:
        monkeypatch.setitem(
            Session.__init__.__kwdefaults__, "clock", lambda: time.time() + offset[0]
        )
    root = ROOTS[model]
    async with running_engine(tmp_path, provisioning=True, gpv_partial_path=partial) as engine:
        store = engine.store
        assert store is not None and engine.provisioning is not None
        # Both databases derive the same connection-request password (it is per database).
        engine.provisioning.device_secret = bytes(range(32))
        await store.put_preset(Preset(  # the whole tree, discovered and refreshed hourly
            id="discover-all", channel="discover", weight=-1, provisions=[["refresh", root, 3600]],
        ))
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        base = load_model(model)
        kind = _NoPartialPaths if refuse else SimDevice
        device = kind(base, "PGPV00001")
        dev_id = make_device_id(base.oui, base.product_class, "PGPV00001")
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        sessions: list[list[rpc.Message]] = []
        for step in range(3):
            if step == 2:
                offset[0] += 2 * 3600  # the hourly refresh of the whole tree is due
            start = len(wire)
            if step:
                device.add_event("2 PERIODIC")
            result = await cpe.session()
            assert result.ok, result.error
            sessions.append([_message(w) for w in wire[start:] if w.direction == "out"])
        params = {  # but the engine's own port and the clock
            name: (p.value if p.type != "xsd:dateTime" else None, p.type, p.writable, p.object)
            for name, p in (await store.load_params(dev_id)).items()
            if not name.endswith(("ManagementServer.URL", "DeviceInfo.UpTime"))
        }
        return params, sessions, await store.list_faults(dev_id)


def _message(w: WireMessage) -> rpc.Message:
    from acs_engine.cwmp import codec

    env = codec.parse(w.body) if w.body else None
    return env.message if env is not None else rpc.InformResponse()


def _gpvs(session: list[rpc.Message]) -> list[rpc.GetParameterValues]:
    return [m for m in session if isinstance(m, rpc.GetParameterValues)]


@pytest.mark.parametrize("model", ["tr098", "tr181"])
async def test_partial_paths_store_the_same_tree_in_fewer_rpcs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    (tmp_path / "names").mkdir()
    (tmp_path / "partial").mkdir()
    names, by_name, faults_names = await _discover(
        tmp_path / "names", model, False, monkeypatch=monkeypatch
    )
    partial, by_path, faults_partial = await _discover(
        tmp_path / "partial", model, True, monkeypatch=monkeypatch
    )
    assert faults_names == [] and faults_partial == []
    assert partial == names  # every stored parameter, value, type, writable and object flag
    assert len(names) > 500
    # The bootstrap and the later full refresh: the whole tree by partial path, in one RPC.
    for session in (0, 2):
        assert len(by_path[session]) < len(by_name[session])
        assert any(n.endswith(".") for g in _gpvs(by_path[session]) for n in g.names)
        assert all(not n.endswith(".") for g in _gpvs(by_name[session]) for n in g.names)
    assert len(_gpvs(by_path[2])) == 1


async def test_a_cpe_refusing_partial_paths_is_asked_by_full_names_from_then_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "names").mkdir()
    (tmp_path / "refuses").mkdir()
    names, _, _ = await _discover(tmp_path / "names", "tr098", False, monkeypatch=monkeypatch)
    stored, sessions, faults = await _discover(
        tmp_path / "refuses", "tr098", True, refuse=True, monkeypatch=monkeypatch
    )
    assert faults == []  # the refusal is not a provisioning fault
    assert stored == names  # and nothing was forgotten because of it
    first = sessions[0]
    refused = [i for i, m in enumerate(first) if isinstance(m, rpc.GetParameterValues)
               and any(n.endswith(".") for n in m.names)]
    assert len(refused) == 1  # asked once by partial path ...
    later = [g for g in _gpvs(first)[1:]] + _gpvs(sessions[2])
    assert later and all(not n.endswith(".") for g in later for n in g.names)  # ... then never
