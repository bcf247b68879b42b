"""The planner's incrementally updated index equals a full rebuild at every planning step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acs_engine.session import planner as planner_module
from acs_engine.session.index import Index
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.records import Preset
from tests.helpers.engine import running_engine


def _fields(index: Index) -> list[tuple[Any, ...]]:
    return [
        (name, n.object, n.object_ts, n.writable, n.writable_ts, n.value, n.type, n.value_ts,
         n.notification, n.access_list, n.attr_ts, n.exist_ts, n.children_ts, n.special,
         list(n.children))
        for name, n in index.nodes.items()
    ]


@pytest.mark.parametrize("model,root", [("tr098", "InternetGatewayDevice"), ("tr181", "Device")])
async def test_incremental_index_matches_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str, root: str
) -> None:
    checked = 0
    original = planner_module.Planner.index

    def checking_index(self: planner_module.Planner) -> Index:
        nonlocal checked
        index = original(self)
        fresh = Index(
            self.tree, self.device, self.session_timestamp, self.events, self.virtual_parameters
        )
        assert _fields(index) == _fields(fresh)
        assert list(index.snapshot().items()) == list(fresh.snapshot().items())
        checked += 1
        return index

    monkeypatch.setattr(planner_module.Planner, "index", checking_index)
    async with running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine:
        store = engine.store
        assert store is not None
        await store.put_preset(Preset(
            id="discover", channel="bootstrap", weight=-1, events={"0_BOOTSTRAP": True},
            provisions=[["refresh", root]],
        ))
        device = SimDevice(load_model(model), "INDEX0001")
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        assert (await cpe.session()).ok
        device.add_event("2 PERIODIC")
        assert (await cpe.session()).ok
    assert checked > 20
