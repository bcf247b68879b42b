"""``fieldacs-engine export-genieacs`` against our own GenieACS-compatible NBI, in a second
engine process on loopback: the items appear there and work (a provision exported with its
preset runs on the second engine for a simulated CPE), a second run writes nothing, and what
cannot be mapped is reported."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path
from urllib.parse import quote

import aiohttp

from acs_engine.reach.files import FileStore
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.db import Store
from acs_engine.store.records import FileRecord, Preset, Provision, VirtualParameter
from tests.helpers.serve import ROOT, TOKEN, ServeProcess, serve_process

FIRMWARE = bytes(range(256)) * 1000
SET_SSID = """\
declare("Device.WiFi.SSID.1.SSID", {value: 1}, {value: "handed-over"});
declare("VirtualParameters.greeting", {value: 1});
"""
GREETING = 'return {writable: false, value: ["hello from FieldACS", "xsd:string"]};'


async def _source(tmp_path: Path) -> Path:
    db = tmp_path / "laptop.db"
    store = await Store.open(db)
    try:
        await store.put_provision(Provision("set-ssid", SET_SSID))
        await store.put_virtual_parameter(VirtualParameter("greeting", GREETING))
        await store.put_provision(Provision("lookup", 'const r = ext("billing", "plan");'))
        await store.put_preset(Preset(
            id="wifi", weight=10, channel="wifi",
            precondition="DeviceID.ProductClass = 'SimGW-181'", provisions=[["set-ssid"]],
        ))
        await store.put_preset(Preset(id="orphan", provisions=[["no-such-provision"]]))
        await store.put_preset(Preset(
            id="foreign", precondition="EXT('x') = 1", provisions=[["set-ssid"]],
        ))
        await store.set_config("cwmp.gpvBatchSize", "16")
        info = await FileStore.beside_db(db).put(
            "fw 1.2.bin", FIRMWARE, file_type="1 Firmware Upgrade Image", oui="F1E1D0",
            product_class="SimGW-181", version="1.2",
        )
        await store.put_file_record(FileRecord(
            info.name, info.size, info.md5, info.file_type, info.oui, info.product_class,
            info.version, int(info.uploaded.timestamp() * 1000),
        ))
    finally:
        await store.close()
    return db


async def _export(db: Path, server: ServeProcess, *extra: str) -> tuple[int, str]:
    token_file = db.parent / "target-token"
    token_file.write_text(TOKEN, encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acs_engine.cli", "export-genieacs", "--nbi", server.nbi_url,
        "--token-file", str(token_file), "--db", str(db), *extra,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def _collection(server: ServeProcess, name: str) -> dict[str, dict[str, object]]:
    status, text = await server.get(f"/{name}/")
    assert status == 200, text
    return {d["_id"]: d for d in json.loads(text)}


def _line(out: str, kind: str, name: str) -> str:
    found = [ln for ln in out.splitlines() if ln.split()[:2] == [kind, name.split()[0]]]
    assert found, f"no line for {kind} {name}:\n{out}"
    return found[0]


async def test_export_to_a_second_engine_works_there_and_is_idempotent(tmp_path: Path) -> None:
    db = await _source(tmp_path)
    target = tmp_path / "target"
    target.mkdir()
    async with serve_process(target) as server:
        code, out = await _export(db, server, "--dry-run")
        assert code == 0, out
        assert "would create PUT /presets/wifi" in " ".join(_line(out, "preset", "wifi").split())
        assert "wifi" not in await _collection(server, "presets")  # nothing written
        shown = out.splitlines()[out.splitlines().index(_line(out, "preset", "wifi")) + 1]
        assert json.loads(shown)["configurations"] == [
            {"type": "provision", "name": "set-ssid", "args": None}
        ]
        assert "NOT MAPPED preset 'orphan'" in out and "no-such-provision" in out
        assert "NOT MAPPED preset 'foreign'" in out and "EXT()" in out
        assert "NOT MAPPED preset 'inform'" in out and "CONNECTION_REQUEST_PASSWORD()" in out
        assert "NOT MAPPED provision 'inform'" in out  # only the unmapped preset runs it
        assert "NOTE provision 'lookup': it calls ext()" in out
        assert "NOT WRITTEN config 'cwmp.gpvBatchSize'" in out

        config_out = tmp_path / "config.json"
        code, out = await _export(db, server, "--config-out", str(config_out))
        assert code == 0, out
        assert "create PUT /files/fw%201.2.bin" in " ".join(_line(out, "file", "fw").split())
        assert json.loads(config_out.read_text()) == [
            {"_id": "cwmp.gpvBatchSize", "value": "16"}
        ]
        if os.name != "nt":  # the config may carry the CPE login: owner only
            assert config_out.stat().st_mode & 0o777 == 0o600
        presets = await _collection(server, "presets")
        assert presets["wifi"]["configurations"] == [
            {"type": "provision", "name": "set-ssid", "args": None}
        ]
        assert presets["wifi"]["precondition"] == "DeviceID.ProductClass = 'SimGW-181'"
        assert "orphan" not in presets and "foreign" not in presets
        assert (await _collection(server, "provisions"))["set-ssid"]["script"] == SET_SSID
        assert (await _collection(server, "virtual_parameters"))["greeting"]["script"] == GREETING
        fw = (await _collection(server, "files"))["fw 1.2.bin"]
        assert fw["length"] == len(FIRMWARE)
        assert fw["md5"] == hashlib.md5(FIRMWARE).hexdigest()
        assert fw["metadata"] == {"fileType": "1 Firmware Upgrade Image", "oui": "F1E1D0",
                                  "productClass": "SimGW-181", "version": "1.2"}

        # Idempotent: the second run finds everything in place and writes nothing.
        code, again = await _export(db, server)
        assert code == 0, again
        assert "create 0, update 0" in again.splitlines()[-1]
        assert "failed 0" in again.splitlines()[-1]
        assert all("PUT" not in ln for ln in again.splitlines() if not ln.startswith("NOT"))

        # ... and an item changed at the target is put back.
        async with aiohttp.ClientSession(headers=server.headers()) as http, http.put(
            f"{server.nbi_url}/provisions/{quote('set-ssid')}", data="log('changed');"
        ) as resp:
            assert resp.status == 200
        code, fixed = await _export(db, server)
        assert "update PUT /provisions/set-ssid" in " ".join(
            _line(fixed, "provision", "set-ssid").split())

        # The exported preset, provision and virtual parameter run on the second engine.
        dev = SimDevice(load_model("tr181"), "MOVED001", options=SimOptions(http_timeout=20),
                        context={"acs_url": server.acs_url})
        cpe = SimCpe(dev, server.acs_url)
        for _ in range(2):
            result = await cpe.session()
            assert result.ok, result.error
        assert dev.value("Device.WiFi.SSID.1.SSID") == "handed-over"
        status, text = await server.get("/devices/?projection=VirtualParameters.greeting")
        assert status == 200, text
        docs = json.loads(text)
        assert docs[0]["VirtualParameters"]["greeting"]["_value"] == "hello from FieldACS"


async def test_export_refuses_bad_targets_clearly(tmp_path: Path) -> None:
    db = await _source(tmp_path)
    target = tmp_path / "target"
    target.mkdir()
    async with serve_process(target) as server:
        # A wrong token: nothing written, a clear message.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acs_engine.cli", "export-genieacs", "--nbi", server.nbi_url,
            "--token", "wrong-token-wrong-token", "--db", str(db),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out = (await proc.communicate())[0].decode()
        assert proc.returncode == 2 and "401" in out and "token" in out
        assert "wifi" not in await _collection(server, "presets")
    for url in ("ftp://host/", "genieacs:7557", "http://user:pw@host:7557",
                "http://host:7557/?x=1"):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acs_engine.cli", "export-genieacs", "--nbi", url,
            "--db", str(db), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out = (await proc.communicate())[0].decode()
        assert proc.returncode == 2 and "NBI URL" in out, (url, out)
