"""A session's outcome tells a CPE fault apart from "ok" (issue 18, bug 7)."""

from __future__ import annotations

from pathlib import Path

from acs_engine.bus import SessionEnded
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine


async def test_a_session_whose_cpe_answered_a_fault_is_not_ok(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        ended: list[SessionEnded] = []
        engine.bus.subscribe(ended.append, SessionEnded)
        base = load_model("tr181")
        device = SimDevice(
            base, "OUTCOME01", options=SimOptions(fault_methods={"SetParameterValues": 9002})
        )
        dev_id = make_device_id(base.oui, base.product_class, "OUTCOME01")
        result = await SimCpe(device, engine.cwmp_urls()[-1]).session()
        assert result.ok, result.error  # the session itself ran to its end
        assert [e.outcome for e in ended] == ["fault"]
        assert "cwmp.9002" in ended[0].detail
        [record] = await store.list_sessions(dev_id)
        assert record.outcome == "fault" and "cwmp.9002" in record.detail
        # GenieACS's model: every channel whose provisions ran together gets the fault.
        faults = await store.list_faults(dev_id)
        assert {f.channel for f in faults} == {"bootstrap", "default", "inform"}
        assert {f.code for f in faults} == {"cwmp.9002"}
        assert "default" in ended[0].detail and "inform" in ended[0].detail

        # A session with nothing failing is "ok" again (and clears nothing it should not).
        device.options = SimOptions()
        ended.clear()
        device.add_event("6 CONNECTION REQUEST")
        assert (await SimCpe(device, engine.cwmp_urls()[-1]).session()).ok
        assert [e.outcome for e in ended] == ["ok"]
