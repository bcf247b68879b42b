"""Parameter history end to end: a simulated CPE changes values across sessions (a CPE-side
change, an ACS-side SetParameterValues, a firmware Download that changes the software
version); the history, the tree diff, the NBI, the OpenAPI document and the CLI agree."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from acs_engine import cli
from acs_engine.admin.history import HistoryPruner
from acs_engine.admin.treediff import compare, render_text, resolve_point
from acs_engine.store.history import HistoryRetention
from tests.helpers.nbi import Nbi, enc
from tests.integration.test_downloads import FIRMWARE, _cpe, _due

SV = "Device.DeviceInfo.SoftwareVersion"
SSID = "Device.WiFi.SSID.1.SSID"
CODE = "Device.DeviceInfo.ProvisioningCode"


async def _firmware_history(tmp_path: Path) -> tuple[str, list[str]]:
    """Run the scenario against an engine; returns the device id and its session ids."""
    from tests.helpers.engine import running_engine

    async with running_engine(tmp_path, provisioning=True) as engine:
        store, files = engine.store, engine.files
        assert store is not None and files is not None
        await files.put("fw-2.0.0.bin", FIRMWARE, file_type="1 Firmware Upgrade Image")
        cpe, device, dev_id = _cpe(engine.cwmp_urls()[-1], "HIST00001", real_transfers=True)
        sessions: list[str] = []

        async def session() -> None:
            result = await cpe.session()
            assert result.ok, result.error
            sessions.append((await store.list_sessions(dev_id, limit=1))[0].id)

        await session()  # bootstrap: the starting point, not history
        assert await store.device_history(dev_id) == []
        device.add_event("2 PERIODIC")
        await session()  # nothing changed: nothing recorded
        assert await store.device_history(dev_id) == []
        device.local_change(CODE, "lab-42")  # changed on the CPE, reported by its Inform
        device.add_event("2 PERIODIC")
        await session()
        await store.add_task(dev_id, "getParameterValues", {
            "name": "getParameterValues", "parameterNames": [SSID],
        })
        device.add_event("6 CONNECTION REQUEST")
        await session()  # read again: the same value
        await store.add_task(dev_id, "setParameterValues", {
            "name": "setParameterValues", "parameterValues": [[SSID, "field-lab", "xsd:string"]],
        })
        device.add_event("6 CONNECTION REQUEST")
        await session()  # changed by the ACS
        await store.add_task(dev_id, "download", {
            "name": "download", "fileType": "1 Firmware Upgrade Image", "fileName": "fw-2.0.0.bin",
        })
        device.add_event("6 CONNECTION REQUEST")
        await session()
        await _due(device)
        await session()  # 7 TRANSFER COMPLETE: the new software version arrives
        assert device.value(SV) == "2.0.0"

        code = await store.param_history(dev_id, [CODE])
        assert [(r.kind_name, r.old[0], r.new[0], r.session_id) for r in code] == [
            ("changed", "", "lab-42", sessions[2])
        ]
        ssid = await store.param_history(dev_id, [SSID])
        # The seeded bootstrap read the whole tree; reading the SSID again (session 3)
        # changed nothing, so only the SetParameterValues is recorded.
        assert [(r.kind_name, r.old[0], r.new[0], r.session_id) for r in ssid] == [
            ("changed", "FieldACS-HIST00001", "field-lab", sessions[4]),
        ]
        sv = await store.param_history(dev_id, [SV])
        assert [(r.old[0], r.new[0], r.session_id) for r in sv] == [
            ("3.4.1-fieldacs", "2.0.0", sessions[6])
        ]
        # Values that stayed the same cost no row.
        assert await store.param_history(dev_id, ["Device.DeviceInfo.HardwareVersion"]) == []

        # The tree diff around the Download: the software version and nothing it did not touch.
        before = await resolve_point(store, dev_id, "before-download")
        after = await resolve_point(store, dev_id, "after-download")
        entries = {e.path: e for e in compare(before.tree.nodes, after.tree.nodes)}
        assert entries[SV].kind == "changed" and entries[SV].fields == ("value",)
        assert entries[SV].old is not None and entries[SV].old[0] == "3.4.1-fieldacs"
        assert entries[SSID].kind == "same" and entries[CODE].kind == "same"
        text = render_text(list(entries.values()), dev_id, before, after)
        assert f'~ {SV}: "3.4.1-fieldacs" [xsd:string' in text and '-> "2.0.0"' in text
        assert SSID not in text  # only what changed
        # Two sessions: after the bootstrap versus now.
        first = await resolve_point(store, dev_id, f"session:{sessions[0]}")
        now = await resolve_point(store, dev_id, "now")
        changed = {e.path for e in compare(first.tree.nodes, now.tree.nodes) if e.kind != "same"}
        assert {SV, SSID, CODE} <= changed
        assert first.tree.nodes[SSID][0] == "FieldACS-HIST00001"
        assert now.tree.nodes[SSID][0] == "field-lab"
        assert first.tree.nodes[SV][0] == "3.4.1-fieldacs" and first.tree.nodes[CODE][0] == ""

        # The NBI gives the same history as JSON, and documents the route.
        async with Nbi(engine) as nbi:
            reply = await nbi.call("GET", f"/devices/{enc(dev_id)}/history?parameter={SV}")
            assert reply.status == 200, reply.body
            body = reply.body
            assert body["device"] == dev_id and body["parameters"] == [SV]
            assert [(c["old"]["value"], c["new"]["value"]) for c in body["changes"]] == [
                ("3.4.1-fieldacs", "2.0.0")
            ]
            at = body["changes"][0]["at"]
            reply = await nbi.call(
                "GET", f"/devices/{enc(dev_id)}/history?parameter={SV}&from={at + 1}"
            )
            assert reply.body["changes"] == []
            reply = await nbi.call("GET", f"/devices/{enc(dev_id)}/history?from=yesterday")
            assert reply.status == 400 and "from" in reply.body["error"]
            reply = await nbi.call("GET", "/devices/nobody/history")
            assert reply.status == 404
            reply = await nbi.call("GET", "/openapi.json")
            assert "/devices/{id}/history" in reply.body["paths"]
            reply = await nbi.call(
                "GET", f"/devices/{enc(dev_id)}/diff?a=before-download&b=after-download"
            )
            assert reply.status == 200
            changed = [e["path"] for e in reply.body["entries"] if e["kind"] == "changed"]
            assert SV in changed and CODE not in changed and SSID not in changed
            # the ACS's own record of the transfer changed with it
            assert all(p == SV or p.startswith("Downloads.1.") for p in changed)
        return dev_id, sessions


async def test_history_follows_the_cpe_across_sessions_and_a_download(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev_id, sessions = await _firmware_history(tmp_path)
    db = str(tmp_path / "fieldacs.db")
    # The CLI reads the same database (the engine has stopped; it also works beside one).
    code = await asyncio.to_thread(cli.main, ["history", dev_id, SV, "--csv", "--db", db])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith("time,at_ms,session,path,kind,old_value,new_value")
    assert len(out) == 2 and f",{SV},changed,3.4.1-fieldacs,2.0.0," in out[1]
    assert sessions[6] in out[1]
    code = await asyncio.to_thread(
        cli.main, ["diff", dev_id, "before-download", "after-download", "--db", db]
    )
    text = capsys.readouterr().out
    assert code == 0 and f"~ {SV}" in text and CODE not in text
    # A snapshot: saved at a point, exported to a file, imported under another name.
    args = ["--db", db]
    assert await asyncio.to_thread(
        cli.main, ["snapshot", "save", dev_id, "factory", "--at", "before-download", *args]
    ) == 0
    export = tmp_path / "factory.json"
    assert await asyncio.to_thread(
        cli.main, ["snapshot", "export", dev_id, "factory", str(export), *args]
    ) == 0
    doc = json.loads(export.read_text())
    assert doc["format"] == "fieldacs-snapshot" and doc["params"][SV][0] == "3.4.1-fieldacs"
    assert await asyncio.to_thread(
        cli.main, ["snapshot", "import", str(export), "--name", "copy", *args]
    ) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(cli.main, ["diff", dev_id, "snapshot:copy", "now", *args]) == 0
    text = capsys.readouterr().out
    assert f"~ {SV}" in text and SSID not in text  # set before the Download
    # Bad input: a clear error, exit code 2, nothing written.
    assert await asyncio.to_thread(cli.main, ["diff", dev_id, "snapshot:nope", "now", *args]) == 2
    assert "no snapshot named 'nope'" in capsys.readouterr().err
    assert await asyncio.to_thread(
        cli.main, ["snapshot", "save", dev_id, "factory", *args]
    ) == 2  # the name is taken
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert await asyncio.to_thread(cli.main, ["snapshot", "import", str(bad), *args]) == 2
    assert "not a FieldACS snapshot file" in capsys.readouterr().err


async def test_retention_prunes_in_chunks_and_marks_what_cannot_be_rebuilt(
    tmp_path: Path,
) -> None:
    from acs_engine.store.db import Store
    from tests.helpers.engine import running_engine

    async with running_engine(tmp_path, provisioning=False) as engine:
        store = engine.store
        assert store is not None
        cpe, device, dev_id = _cpe(engine.cwmp_urls()[-1], "HIST00002")
        assert (await cpe.session()).ok
        starts = []
        for i in range(6):
            device.local_change(CODE, f"code-{i}")
            device.add_event("2 PERIODIC")
            assert (await cpe.session()).ok
            starts.append((await store.list_sessions(dev_id, limit=1))[0].ended_ms)
        assert len(await store.param_history(dev_id, [CODE])) == 6
        pruner = HistoryPruner(
            store, lambda: HistoryRetention(max_age_days=0, rows_per_device=4, max_bytes=0),
            chunk=10,
        )
        assert await pruner.run_once() == 3  # over 4 rows: down to 90 % of 4
        kept = await store.param_history(dev_id, [CODE])
        assert [r.new[0] for r in kept] == ["code-3", "code-4", "code-5"]
        assert (await store.tree_at(dev_id, starts[3])).complete
        old = await store.tree_at(dev_id, starts[0])
        assert not old.complete  # the change that led there was pruned
        assert (await store.history_stats())[0] == 3
        # The engine's own pruner reads the settings at every pass: a change applies live.
        pruner_of_engine = engine.history_pruner
        assert pruner_of_engine is not None
        await engine.reconfigure(engine.config.replace(
            history_max_age_days=0, history_rows_per_device=2, history_max_mb=0
        ))
        assert await pruner_of_engine.run_once() == 2
        assert [r.new[0] for r in await store.param_history(dev_id, [CODE])] == ["code-5"]
    # Reopening: the migration is in place and the counters survived.
    async with await Store.open(tmp_path / "fieldacs.db") as reopened:
        rows, size = await reopened.history_stats()
        assert rows == 1 and size > 0
        assert await reopened.delete_device(dev_id)
        assert await reopened.history_stats() == (0, 0)


async def test_a_pruner_that_died_does_not_stop_the_engine_from_stopping(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The pruner's task can die outside a StoreError (the console's tests saw "no running
    event loop" when Qt ran its callback outside asyncio): stopping says so and goes on."""
    from tests.helpers.engine import running_engine

    async with running_engine(tmp_path) as engine:
        store = engine.store
        assert store is not None

        def broken() -> HistoryRetention:
            raise RuntimeError("no running event loop")

        pruner = HistoryPruner(store, broken, interval=0.01)
        pruner.start()
        await asyncio.sleep(0.05)  # the task dies on its first pass
        await pruner.stop()  # does not raise
        assert "history retention had stopped" in caplog.text
