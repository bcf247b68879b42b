"""GenieACS-style presets, provisions and virtual parameters, imported with the CLI and run
unchanged against the simulator."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from acs_engine.bus import WireMessage
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision
from tests.helpers.engine import running_engine

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "genieacs"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acs_engine.cli", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=60,
    )


def test_cli_manages_provisions_presets_and_imports_genieacs(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    for name in ("bootstrap", "default", "inform"):
        assert cli("presets", "delete", name, "--db", db).returncode == 0
    done = cli("import-genieacs", str(CORPUS), "--db", db)
    assert done.returncode == 0, done.stderr
    assert "imported 8 preset(s), 7 provision(s), 2 virtual parameter(s)" in done.stdout
    listed = json.loads(cli("presets", "list", "--db", db).stdout)
    assert [p["_id"] for p in listed] == [
        "discover", "basics", "wifi", "ports", "tagging", "interval", "vparams", "never",
    ]
    script = tmp_path / "bad.js"
    script.write_text("declare('x', {value: 1};\n")
    bad = cli("provisions", "put", "bad", str(script), "--db", db)
    assert bad.returncode == 2
    assert "does not compile at line 1" in bad.stderr
    preset = tmp_path / "p.json"
    preset.write_text(json.dumps({"_id": "p", "precondition": "DeviceID.ID = ", "provisions": []}))
    bad = cli("presets", "put", str(preset), "--db", db)
    assert bad.returncode == 2
    assert "precondition: at 13: expected an expression" in bad.stderr
    assert cli("provisions", "delete", "nope", "--db", db).returncode == 2
    good = tmp_path / "good.js"
    good.write_text('declare("Device.DeviceInfo.UpTime", {value: Date.now()});\n')
    assert cli("virtual-parameters", "put", "up", str(good), "--db", db).returncode == 0
    assert "up\t1 lines" in cli("virtual-parameters", "list", "--db", db).stdout


async def test_the_corpus_runs_unchanged_against_the_simulator(tmp_path: Path) -> None:
    db = str(tmp_path / "fieldacs.db")
    for name in ("bootstrap", "default", "inform"):
        assert cli("presets", "delete", name, "--db", db).returncode == 0
    assert cli("import-genieacs", str(CORPUS), "--db", db).returncode == 0
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        base = load_model("tr181")
        device = SimDevice(base, "CORPUS001")
        dev_id = make_device_id(base.oui, base.product_class, "CORPUS001")
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        result = await cpe.session()
        assert result.ok, result.error
        faults = await store.list_faults(dev_id)
        assert faults == [], [(f.channel, f.code, f.message) for f in faults]
        # The bootstrap discovered the whole tree.
        params = await store.load_params(dev_id)
        leaves = [p for p in params.values() if not p.path.endswith(".")]
        assert len([p for p in leaves if p.path.startswith("Device.")]) >= 800
        # Values set by provisions (with argument expressions) and by a writable vparam.
        assert device.value("Device.WiFi.SSID.1.SSID") == "Field-CORPUS001"
        assert device.value("Device.WiFi.SSID.2.SSID") == "from-vparam"
        assert device.value("Device.WiFi.AccessPoint.1.Security.KeyPassphrase", reveal=True) == "s3cret-wpa"
        assert device.value("Device.ManagementServer.PeriodicInformInterval") == "600"
        # Instances by alias: one 8443 mapping created with its keys, the 2222 one deleted.
        table = "Device.NAT.PortMapping."
        numbers = device.tree.instances(table)
        ports = {device.value(f"{table}{n}.ExternalPort"): n for n in numbers}
        assert "8443" in ports and "2222" not in ports
        assert device.value(f"{table}{ports['8443']}.InternalPort") == "443"
        assert device.value(f"{table}{ports['8443']}.Protocol") == "TCP"
        # Tags and a read-only virtual parameter.
        row = await store.get_device(dev_id)
        assert row is not None and "legacy-firmware" not in row.tags  # it runs 3.4.1
        await store.set_tags(dev_id, add=["legacy-firmware"])  # the script must remove it
        assert params["VirtualParameters.wan_mac"].value not in (None, "00:00:00:00:00:00")
        # Presets: matched by precondition, by event (1 BOOT must be absent), not by schedule.
        stored = await store.last_verdicts(dev_id)
        assert stored is not None
        verdicts = {v.preset: v for v in stored.verdicts}
        assert verdicts["wifi"].matched and verdicts["ports"].matched
        assert not verdicts["never"].matched and "schedule" in verdicts["never"].reason
        order = [v.preset for v in stored.verdicts]
        assert order == [  # by weight
            "discover", "basics", "wifi", "ports", "tagging", "interval", "vparams", "never",
        ]
        # A second session changes nothing more.
        wire.clear()
        device.add_event("2 PERIODIC")
        assert (await cpe.session()).ok
        sent = [w.rpc for w in wire if w.direction == "out"]
        assert "SetParameterValues" not in sent and "AddObject" not in sent
        assert "DeleteObject" not in sent
        row = await store.get_device(dev_id)
        assert row is not None and "legacy-firmware" not in row.tags


@pytest.mark.parametrize("model,root", [("tr098", "InternetGatewayDevice"), ("tr181", "Device")])
async def test_bootstrap_with_refresh_discovers_the_whole_tree(
    tmp_path: Path, model: str, root: str
) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        for p in await store.list_presets():
            await store.delete_preset(p.id)
        await store.put_preset(Preset(
            id="discover", channel="bootstrap", events={"0_BOOTSTRAP": True},
            provisions=[["refresh", root]],
        ))
        base = load_model(model)
        device = SimDevice(base, "BOOT00001")
        dev_id = make_device_id(base.oui, base.product_class, "BOOT00001")
        result = await SimCpe(device, engine.cwmp_urls()[-1]).session()
        assert result.ok, result.error
        params = await store.load_params(dev_id)
        model_leaves = {n[0] for n in json.loads((ROOT / "resources" / "models" / f"{model}.json").read_text())["nodes"] if not n[0].endswith(".")}
        stored = {p for p in params if not p.endswith(".") and p.startswith(root + ".")}
        assert model_leaves <= stored
        assert await store.list_faults(dev_id) == []


@pytest.mark.parametrize("script,code", [
    ("throw new TypeError('bad thing');", "script.TypeError"),
    ("while (true) {}", "script.TimeoutError"),
    ("const a = []; while (true) a.push(new Array(100000).fill(1));", None),
])
async def test_runaway_scripts_become_faults_and_the_session_ends_cleanly(
    tmp_path: Path, script: str, code: str | None
) -> None:
    async with running_engine(tmp_path, provisioning=True, script_timeout_ms=200) as engine:
        store = engine.store
        assert store is not None
        for p in await store.list_presets():
            await store.delete_preset(p.id)
        await store.put_provision(Provision("runaway", script))
        await store.put_preset(Preset(id="runaway", channel="x", provisions=[["runaway"]]))
        base = load_model("tr181")
        dev_id = make_device_id(base.oui, base.product_class, "RUNAWAY01")
        result = await SimCpe(SimDevice(base, "RUNAWAY01"), engine.cwmp_urls()[-1]).session()
        assert result.ok, result.error
        (fault,) = await store.list_faults(dev_id)
        if code is not None:
            assert fault.code == code
        else:  # the memory limit or the time limit, whichever V8 hits first
            assert fault.code in ("script.MemoryError", "script.TimeoutError", "script.RangeError")
        assert engine.active_session_count() == 0
        await asyncio.sleep(0)
