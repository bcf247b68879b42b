"""The seeded bootstrap reads a new CPE's whole tree (issue 18, bug 5): after its first
session every parameter has a value and a known writability. The simulator is the CPE."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine


@pytest.mark.parametrize("model_name", ["tr181", "tr098"])
async def test_first_session_reads_every_value(tmp_path: Path, model_name: str) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        base = load_model(model_name)
        device = SimDevice(base, "BOOT00001")
        dev_id = make_device_id(base.oui, base.product_class, "BOOT00001")
        result = await SimCpe(device, engine.cwmp_urls()[-1]).session()
        assert result.ok, result.error
        params = await store.load_params(dev_id)
        leaves = {p.path: p for p in params.values()
                  if not p.path.endswith(".") and p.path.split(".", 1)[0] == base.root.rstrip(".")}
        assert len(leaves) == {"tr181": 1281, "tr098": 857}[model_name]  # the whole model
        assert [p for p in leaves.values() if p.value is None] == []
        assert [p for p in leaves.values() if p.writable is None] == []
        code = leaves[f"{base.root}DeviceInfo.ProvisioningCode"]
        assert code.writable is True
        assert await store.list_faults(dev_id) == []
        # The next session does not read the tree again.
        device.add_event("2 PERIODIC")
        result = await SimCpe(device, engine.cwmp_urls()[-1]).session()
        assert result.ok and result.rpcs_answered <= 2
