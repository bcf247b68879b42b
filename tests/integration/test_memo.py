"""Replaying a device's session memo changes nothing a CPE or the store can see.

The same sessions run twice, with memoizing on and off, over both data models and over the
seeded presets and the imported GenieACS-style corpus: a bootstrap, periodic sessions with
nothing due, then sessions where something becomes due (the clock passing an hourly and a
daily refresh, a provision edited, a preset added, tags changed from outside, a parameter
changed on the CPE and reported with 4 VALUE CHANGE). Every RPC sent, every stored parameter,
the faults, the tags and the preset verdicts must be the same.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from acs_engine.bus import WireMessage
from acs_engine.session.session import Session
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.genieacs import preset_from_genieacs
from acs_engine.store.records import Preset, Provision, VirtualParameter
from acs_engine.store.seeds import DEFAULT_PROVISIONS
from tests.helpers.engine import running_engine

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "genieacs"
ROOTS = {"tr098": "InternetGatewayDevice", "tr181": "Device"}
HOUR = 3600.0


class _Clock:
    """The sessions' clock: real time plus a jump the test controls."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def _import_corpus(store: Any) -> None:
    for preset in await store.list_presets():
        await store.delete_preset(preset.id)
    for doc in json.loads((CORPUS / "provisions.json").read_text()):
        await store.put_provision(Provision(doc["_id"], doc["script"]))
    for doc in json.loads((CORPUS / "virtual_parameters.json").read_text()):
        await store.put_virtual_parameter(VirtualParameter(doc["_id"], doc["script"]))
    for doc in json.loads((CORPUS / "presets.json").read_text()):
        await store.put_preset(preset_from_genieacs(doc))


def _strip(body: Any) -> str:
    """A message without what differs from one run to the next (ids, times, ports)."""
    text = body.decode() if isinstance(body, bytes) else str(body)
    text = re.sub(r"<cwmp:ID[^>]*>[^<]*</cwmp:ID>", "", text)
    text = re.sub(r"<CommandKey>[^<]*</CommandKey>", "", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    return re.sub(r"\d{4}-\d\d-\d\dT[0-9:.]+Z?", "T", text)


async def _scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str, corpus: bool, memoize: bool
) -> tuple[list[list[str]], dict[str, Any], list[Any], list[str], list[Any], int]:
    clock = _Clock()
    monkeypatch.setitem(Session.__init__.__kwdefaults__, "clock", clock)
    root = ROOTS[model]
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        handler = engine.provisioning
        assert store is not None and handler is not None
        handler.memoize = memoize
        # Both databases derive the same connection-request password (it is per database).
        handler.device_secret = bytes(range(32))
        if corpus:
            await _import_corpus(store)
        await store.put_preset(Preset(  # discover the whole tree on bootstrap
            id="discover-all", channel="bootstrap", weight=-1, events={"0_BOOTSTRAP": True},
            provisions=[["refresh", root]],
        ))
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        base = load_model(model)
        device = SimDevice(base, "MEMO00001")
        dev_id = make_device_id(base.oui, base.product_class, "MEMO00001")
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        sessions: list[list[str]] = []

        async def session(event: str | None = "2 PERIODIC") -> None:
            start = len(wire)
            if event:
                device.add_event(event)
            result = await cpe.session()
            assert result.ok, result.error
            sessions.append([_strip(w.body) for w in wire[start:] if w.direction == "out"])

        await session(None)  # the bootstrap
        await session()
        await session()
        clock.offset += 2 * HOUR  # hourly refreshes are due
        await session()
        await session()
        inform = next(p for p in DEFAULT_PROVISIONS if p.id == "inform")
        await store.put_provision(Provision(  # an edited provision: a new value to set
            "inform", inform.script.replace("PeriodicInformInterval: 300", "PeriodicInformInterval: 900"),
        ))
        await session()
        await session()
        await store.set_tags(dev_id, add=["memotest"])  # changed from outside a session
        await session()
        await store.put_preset(Preset(
            id="tagged", channel="tagged", precondition="Tags.memotest = true",
            provisions=[["value", f"{root}.ManagementServer.PeriodicInformEnable", "true"]],
        ))
        await session()
        await session()
        # A parameter changed on the CPE, reported by active notification.
        interval = f"{root}.ManagementServer.PeriodicInformInterval"
        device.set_attributes(interval, 2, ())
        device.local_change(interval, "1234")
        await session(None)
        await session()
        clock.offset += 2 * 24 * HOUR  # the daily checks are due again
        await session()
        await session()

        params = {  # but the clock, the engine's own port and the uptime
            name: (p.value if p.type != "xsd:dateTime" else None, p.type, p.writable, p.object)
            for name, p in (await store.load_params(dev_id)).items()
            if not name.endswith(("ManagementServer.URL", "DeviceInfo.UpTime"))
        }
        faults = sorted((f.channel, f.code, f.message) for f in await store.list_faults(dev_id))
        row = await store.get_device(dev_id)
        assert row is not None
        verdicts = await store.last_verdicts(dev_id)
        stored_verdicts = list(verdicts.verdicts) if verdicts is not None else []
        return (
            sessions, params, faults, sorted(row.tags), stored_verdicts, handler.memo_hits,
        )


@pytest.mark.parametrize(
    "model,corpus", [("tr098", False), ("tr181", False), ("tr181", True), ("tr098", True)]
)
async def test_memoized_sessions_send_the_same_rpcs_and_store_the_same_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str, corpus: bool
) -> None:
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    on = await _scenario(tmp_path / "on", monkeypatch, model, corpus, True)
    off = await _scenario(tmp_path / "off", monkeypatch, model, corpus, False)
    sent_on, sent_off = on[0], off[0]
    assert len(sent_on) == len(sent_off)
    for i, (a, b) in enumerate(zip(sent_on, sent_off, strict=True)):
        assert a == b, f"session {i} differs"
    assert on[1] == off[1]  # every stored parameter
    assert on[2] == off[2]  # faults
    assert on[3] == off[3]  # tags
    assert on[4] == off[4]  # preset verdicts
    assert off[5] == 0
    if not corpus:  # the seeded presets: quiet sessions are answered from the memo
        assert on[5] >= 4
    # Something did become due: sessions after the Inform sent RPCs after the edits.
    assert any(len(s) > 2 for s in sent_on[3:])
    if not corpus:  # the edited inform provision's interval was set
        assert on[1][f"{ROOTS[model]}.ManagementServer.PeriodicInformInterval"][0] == "900"


async def test_quiet_periodic_sessions_send_nothing_after_the_inform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TR-098 CPE under the seeded presets: no listing of the absent ``Device.`` root in
    every session (the root listing is remembered), and no script run once memoized."""
    sessions = (await _scenario(tmp_path, monkeypatch, "tr098", False, True))[0]
    assert [len(s) for s in sessions[1:3]] == [2, 2]  # InformResponse, then the 204
    assert not any("GetParameterNames" in m for m in sessions[1] + sessions[2])


async def test_a_changed_planner_setting_drops_the_memos(tmp_path: Path) -> None:
    """The engine is reconfigured in place; a memo made under other settings is not replayed."""
    async with running_engine(tmp_path, provisioning=True) as engine:
        handler = engine.provisioning
        assert handler is not None
        device = SimDevice(load_model("tr098"), "MEMO00002")
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        hits = []
        for step in range(5):
            if step == 3:
                engine.config.skip_writable_check = True
            if step:
                device.add_event("2 PERIODIC")
            assert (await cpe.session()).ok
            hits.append(handler.memo_hits)
        # bootstrap, memo made, replayed; setting changed: the ordinary path, then replayed
        assert hits == [0, 0, 1, 1, 2]
