"""The shipped data models (resources/models) load and behave under the simulator."""

from __future__ import annotations

import pytest

from acs_engine.cwmp import rpc
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from tests.unit.sim.scripted_acs import ScriptedAcs


@pytest.mark.parametrize("name", ["tr098", "tr181"])
def test_model_rpcs(name: str) -> None:
    model = load_model(name)
    dev = SimDevice(model, "REAL01", context={"acs_url": "http://127.0.0.1:1/",
                                              "cr_url": "http://127.0.0.1:2/cr"})
    inform = dev.make_inform()
    sent = {p.name for p in inform.parameters}
    assert set(model.forced_inform) <= sent
    assert all("{" not in p.value for p in inform.parameters)  # placeholders substituted
    names = dev.handle(rpc.GetParameterNames("", False))
    assert isinstance(names, rpc.GetParameterNamesResponse)
    assert len(names.parameters) == len(model.paths)
    values = dev.handle(rpc.GetParameterValues((model.root,)))
    assert isinstance(values, rpc.GetParameterValuesResponse)
    assert len(values.parameters) == sum(1 for p in model.paths if not p.endswith("."))
    # every writable table accepts AddObject and the new instance can be deleted again
    added = 0
    for table, spec in model.tables.items():
        if "{i}" in table or table not in dev.tree or not spec.writable:
            continue
        node = dev.tree.node(table)
        if node is None or not node.writable:
            continue
        resp = dev.handle(rpc.AddObject(table, "k"))
        assert isinstance(resp, rpc.AddObjectResponse), (table, resp)
        instance = f"{table}{resp.instance_number}."
        got = dev.handle(rpc.GetParameterValues((instance,)))
        assert isinstance(got, rpc.GetParameterValuesResponse)
        assert dev.handle(rpc.DeleteObject(instance, "k")) == rpc.DeleteObjectResponse()
        added += 1
    assert added > 0


@pytest.mark.parametrize("name", ["tr098", "tr181"])
async def test_model_session(name: str) -> None:
    model = load_model(name)
    async with ScriptedAcs(script=[rpc.GetParameterNames(model.root, False),
                                   rpc.GetParameterValues((model.root,))]) as acs:
        cpe = SimCpe(SimDevice(model, "REAL02"), acs.url)
        result = await cpe.session()
    assert result.ok, result.error
    assert result.rpcs_answered == 2
