"""Replay: a recorded simulator session played against throw-away engines. With the same
presets the engine sends the same RPCs; with provisioning off, or a forged recording, the
replay stops and says where. The database given is copied, never changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.inspect import sessionfile, sources
from acs_engine.inspect.replay import replay_offline
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.db import Store
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine
from tests.integration.test_session_files import run_cli

T0 = 1_765_000_000.0


async def recorded(tmp_path: Path) -> tuple[sessionfile.SessionFile, Path, Path]:
    """A TR-181 bootstrap with the default presets (provisioning on), from the store; the
    database as it was before (its presets and per-database secret, no device), and after."""
    async with running_engine(tmp_path / "rec", provisioning=True):
        pass
    pristine = tmp_path / "pristine.db"
    pristine.write_bytes((tmp_path / "rec" / "fieldacs.db").read_bytes())
    async with running_engine(tmp_path / "rec", provisioning=True) as engine:
        base = load_model("tr181")
        device = SimDevice(base, "REPLAY001", clock=lambda: 100.0, wallclock=lambda: T0)
        assert (await SimCpe(device, engine.cwmp_urls()[-1]).session()).ok
    db = tmp_path / "rec" / "fieldacs.db"
    async with await Store.open(db) as store:
        dev = make_device_id(base.oui, base.product_class, "REPLAY001")
        return await sources.load_stored(store, dev), pristine, db


async def test_same_presets_same_rpcs_then_divergence_is_located(tmp_path: Path) -> None:
    session, pristine, db = await recorded(tmp_path)
    acs_rpcs = [m.rpc for m in session.messages if m.direction == "out" and m.rpc]
    assert "GetParameterNames" in acs_rpcs

    # A fresh database has another connection-request secret: the derived password differs.
    fresh = await replay_offline(session, None, provisioning=True)
    assert not fresh.ok and fresh.steps[fresh.diverged_at or 0].recorded == "SetParameterValues"

    result = await replay_offline(session, pristine, provisioning=True)
    assert result.ok, result.summary()
    assert len(result.steps) == len([m for m in session.messages if m.direction == "in"])
    assert all(step.same for step in result.steps)

    # Presets and provisions off: the engine has nothing to ask after the empty POST.
    off = await replay_offline(session, pristine, provisioning=False)
    assert not off.ok and off.diverged_at == 1
    step = off.steps[1]
    assert step.recorded.startswith("GetParameterNames") and "session ends" in step.replayed
    assert "diverged at step 2" in off.summary()

    # A recording whose ACS asked something else at step 3: stopped there, "other arguments".
    messages = list(session.messages)
    outs = [i for i, m in enumerate(messages) if m.direction == "out" and m.rpc]
    target = outs[2]
    env = codec.parse(messages[target].body)
    assert env is not None
    # The same RPC asking for something else (a listing, or values by partial path).
    other: rpc.Message
    if isinstance(env.message, rpc.GetParameterNames):
        other = rpc.GetParameterNames(parameter_path="Device.Forged.", next_level=True)
    else:
        assert isinstance(env.message, rpc.GetParameterValues)
        other = rpc.GetParameterValues(names=("Device.Forged.",))
    forged = Envelope(other, cwmp_id=env.cwmp_id, namespace=env.namespace)
    messages[target] = replace(messages[target], body=codec.serialize(forged))
    bad = await replay_offline(replace(session, messages=tuple(messages)), pristine,
                               provisioning=True)
    assert bad.diverged_at == 2 and bad.steps[2].detail == "other arguments"

    # The database given is copied: replaying against it changes nothing in it.
    before = db.read_bytes()
    against_db = await replay_offline(session, db, provisioning=True)
    assert against_db.steps  # it ran (the device is known there: it may well diverge)
    assert db.read_bytes() == before


async def test_cli_replay(tmp_path: Path) -> None:
    session, pristine, _ = await recorded(tmp_path)
    path = tmp_path / "s.json"
    sessionfile.save(path, session)  # masked: compared masked
    code, out, err = await run_cli("replay", str(path), "--db", str(pristine))
    assert code == 0, out + err
    assert "the engine sent the same" in out
    code, out, _ = await run_cli("replay", str(path), "--db", str(pristine),
                                 "--no-provisioning")
    assert code == 1 and "diverged at step 2" in out and "!=" in out
