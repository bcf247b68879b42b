"""The linter on real sessions: the simulator (TR-098 and TR-181, CWMP 1.0/1.2/1.4, a download
and its TransferComplete) passes without an error; ``fieldacs-engine lint`` exits 0 on it and
1 on a session file whose CPE broke the rules."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from acs_engine.cwmp import rpc
from acs_engine.inspect import sessionfile, sources
from acs_engine.inspect.lint import Severity, lint_session
from acs_engine.session.handler import RpcQueue
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.db import Store
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine
from tests.integration.test_session_files import run_cli
from tests.integration.test_sim_engine import MODELS, wait_until_due


async def sim_sessions(tmp_path: Path, model: str, version: str) -> list[sessionfile.SessionFile]:
    """Bootstrap with full discovery and a Download, then the TransferComplete session."""
    queue = RpcQueue()
    root = MODELS[model]
    async with running_engine(tmp_path, handler=queue) as engine:
        base = load_model(model)
        device = SimDevice(base, "LINT00001", options=SimOptions(cwmp_version=version))
        dev_id = make_device_id(base.oui, base.product_class, "LINT00001")
        queue.put(dev_id, rpc.GetParameterNames(parameter_path=root, next_level=False))
        queue.put(dev_id, rpc.GetParameterValues(names=(root,)))
        queue.put(dev_id, rpc.Download(command_key="dl1", file_type="1 Firmware Upgrade Image",
                                       url="http://127.0.0.1:9/fw.bin", file_size=10))
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        assert (await cpe.session()).ok
        await wait_until_due(device)
        assert (await cpe.session()).ok
    async with await Store.open(tmp_path / "fieldacs.db") as store:
        records = await store.list_sessions(dev_id, limit=10)
        return [sources.from_stored(r, await store.load_trace(r.id)) for r in reversed(records)]


@pytest.mark.parametrize(("model", "version"),
                         [("tr098", "1.0"), ("tr181", "1.2"), ("tr181", "1.4")])
async def test_the_simulator_passes_the_linter(tmp_path: Path, model: str, version: str) -> None:
    first, second = await sim_sessions(tmp_path, model, version)
    assert "0 BOOTSTRAP" in first.events and "7 TRANSFER COMPLETE" in second.events
    assert first.cwmp_version == version
    for session, first_contact in ((first, True), (second, False)):
        findings = lint_session(session, first_contact=first_contact)
        errors = [f.line() for f in findings if f.severity is Severity.ERROR]
        assert errors == []
        # TR-098's facts are 1.14: a CPE of an older model lacks AliasBasedAddressing.
        assert {f.rule for f in findings} <= {"inform-forced"}


async def test_cli_lint_exit_codes(tmp_path: Path) -> None:
    first, _ = await sim_sessions(tmp_path, "tr181", "1.0")
    clean = tmp_path / "clean.json"
    sessionfile.save(clean, first)
    code, out, err = await run_cli("lint", str(clean))
    assert code == 0, out + err
    assert "0 error(s)" in out

    # The same session, but the CPE forgot the cookie and sent an ACS fault code.
    messages = list(first.messages)
    empty = next(i for i, m in enumerate(messages) if m.direction == "in" and not m.rpc)
    messages[empty] = replace(messages[empty], headers=(("Content-Type", "text/xml"),))
    broken = replace(first, messages=tuple(messages))
    bad = tmp_path / "bad.json"
    sessionfile.save(bad, broken)
    code, out, err = await run_cli("lint", str(bad))
    assert code == 1, out + err
    assert "http-empty-post" in out and "TR-069 §3.4.1" in out
    code, out, _ = await run_cli("lint", str(bad), "--json")
    assert code == 1
    rules = {f["rule"] for f in json.loads(out)}
    assert "http-empty-post" in rules
    assert all(f["reference"] for f in json.loads(out))
    code, _, err = await run_cli("lint", str(tmp_path / "nothing.json"))
    assert code == 2 and "no file" in err
