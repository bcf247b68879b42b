"""Session files end to end: a real simulator session with the real engine, saved from the
store (library and CLI), read back, shown as HAR, its states derived from the messages."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from acs_engine.cwmp import rpc
from acs_engine.inspect import har, sessionfile, sources
from acs_engine.session.handler import RpcQueue
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Sup3rSecretPw!"
PW_PATH = "Device.ManagementServer.ConnectionRequestPassword"


async def record_session(tmp_path: Path) -> tuple[Path, str]:
    """One tr181 simulator session with a GPV and an SPV of a password; returns (db, device)."""
    queue = RpcQueue()
    async with running_engine(tmp_path, handler=queue) as engine:
        base = load_model("tr181")
        device = SimDevice(base, "FILE000001")
        dev_id = make_device_id(base.oui, base.product_class, "FILE000001")
        queue.put(dev_id, rpc.SetParameterValues(
            parameters=(rpc.ParameterValue(PW_PATH, SECRET, "xsd:string"),), parameter_key="k1"))
        queue.put(dev_id, rpc.GetParameterValues(names=("Device.DeviceInfo.",)))
        result = await SimCpe(device, engine.cwmp_urls()[-1]).session()
        assert result.ok, result.error
    return tmp_path / "fieldacs.db", dev_id


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acs_engine.cli", *args, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_stored_session_round_trips_through_a_file_with_secrets_masked(
    tmp_path: Path,
) -> None:
    db, dev_id = await record_session(tmp_path)
    from acs_engine.store.db import Store

    async with await Store.open(db) as store:
        session = await sources.load_stored(store, dev_id)
    assert [m.rpc for m in session.messages][:2] == ["Inform", "InformResponse"]
    assert "SetParameterValues" in [m.rpc for m in session.messages]
    assert any(SECRET.encode() in m.body for m in session.messages)  # the trace has it raw

    path = tmp_path / "s.fieldacs-session.json"
    sessionfile.save(path, session)
    raw = path.read_bytes()
    assert SECRET.encode() not in raw
    back = sessionfile.load(path)
    assert back.secrets_masked and back.source == "stored"
    assert (back.session_id, back.device_id, back.events, back.cwmp_version, back.outcome) == (
        session.session_id, session.device_id, session.events, session.cwmp_version, "ok")
    assert [(m.direction, m.rpc, m.status, m.cwmp_id, m.at) for m in back.messages] == [
        (m.direction, m.rpc, m.status, m.cwmp_id, m.at) for m in session.messages]
    # Everything but the secret is byte for byte the same.
    for old, new in zip(session.messages, back.messages, strict=True):
        assert new.body == old.body.replace(SECRET.encode(), b"********")
        assert new.headers == old.headers

    # With --include-secrets semantics: identical bodies, a second round trip is stable.
    full = sessionfile.loads(sessionfile.dumps(session, include_secrets=True))
    assert [m.body for m in full.messages] == [m.body for m in session.messages]
    assert not full.secrets_masked
    again = sessionfile.loads(sessionfile.dumps(full, include_secrets=True))
    assert again.messages == full.messages

    # The state machine the messages imply ends in END, through PENDING_RPC twice.
    steps = sources.derive_states(back.messages)
    assert steps[0].new == "PROCESS" and steps[-1].new == "END"
    assert sum(1 for s in steps if s.new == "PENDING_RPC") == 2

    # HAR: one entry per CPE POST, each paired with the ACS's answer.
    log = har.to_har(back)["log"]
    posts = [m for m in back.messages if m.direction == "in"]
    assert len(log["entries"]) == len(posts)
    first = log["entries"][0]
    assert first["request"]["method"] == "POST" and "Inform" in first["request"]["postData"]["text"]
    assert first["response"]["status"] == 200 and "InformResponse" in first["response"][
        "content"]["text"]
    assert log["entries"][-1]["response"]["status"] == 204
    assert SECRET not in json.dumps(log)


async def test_cli_session_save_show_and_har(tmp_path: Path) -> None:
    db, dev_id = await record_session(tmp_path)
    out = tmp_path / "cli.json"
    code, stdout, err = await run_cli("session-save", dev_id, "-o", str(out), "--db", str(db))
    assert code == 0, err
    assert "secrets masked" in stdout
    assert SECRET.encode() not in out.read_bytes()
    session = sessionfile.load(out)
    assert session.device_id == dev_id and len(session.messages) >= 8

    code, stdout, err = await run_cli("session-show", str(out), "--har", str(tmp_path / "s.har"))
    assert code == 0, err
    assert "Inform" in stdout and "SetParameterValuesResponse" in stdout
    har_doc = json.loads((tmp_path / "s.har").read_text())
    assert har_doc["log"]["version"] == "1.2" and har_doc["log"]["entries"]

    secret_out = tmp_path / "full.json"
    code, _, err = await run_cli("session-save", dev_id, session.session_id, "-o",
                                 str(secret_out), "--db", str(db), "--include-secrets")
    assert code == 0, err
    assert SECRET.encode() in secret_out.read_bytes()

    code, _, err = await run_cli("session-save", dev_id, "nope", "-o", str(out), "--db", str(db))
    assert code == 2 and "no stored session nope" in err
    code, _, err = await run_cli("session-show", str(tmp_path / "missing.json"))
    assert code == 2 and "no file" in err
