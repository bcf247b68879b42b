"""Escalation bundles of a real simulator device: what is inside, secrets kept out unless
asked, opened again; forged bundles refused; the CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.inspect import bundle
from acs_engine.session.handler import RpcQueue
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.db import Store
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine
from tests.integration.test_session_files import run_cli

WIFI_KEY = "WifiKey-Secret-77"
KEY_PATH = "Device.WiFi.AccessPoint.1.Security.KeyPassphrase"


async def device_with_history(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """Two sessions: a bootstrap reading the Wi-Fi key, then one that faults (9005)."""
    queue = RpcQueue()
    base = load_model("tr181")
    dev = make_device_id(base.oui, base.product_class, "BUNDLE001")
    async with running_engine(tmp_path, handler=queue, cwmp_password="cpe-Pw-1234",
                              cwmp_username="cpe") as engine:
        sim = SimDevice(base, "BUNDLE001", options=SimOptions(hide_passwords=False),
                        initial={KEY_PATH: WIFI_KEY,
                                 "Device.ManagementServer.Username": "cpe",
                                 "Device.ManagementServer.Password": "cpe-Pw-1234"})
        cpe = SimCpe(sim, engine.cwmp_urls()[-1])
        queue.put(dev, rpc.GetParameterValues(names=(KEY_PATH,)))
        assert (await cpe.session()).ok
        queue.put(dev, rpc.GetParameterValues(names=("Device.Nope.",)))
        assert (await cpe.session()).ok
        store = engine.store
        assert store is not None
        ids = [r.id for r in reversed(await store.list_sessions(dev, limit=5))]
    return tmp_path / "fieldacs.db", dev, ids


async def test_bundle_contents_secrets_and_reading_back(tmp_path: Path) -> None:
    db, dev, ids = await device_with_history(tmp_path)
    config = EngineConfig(db_path=db, cwmp_username="cpe", cwmp_password="cpe-Pw-1234",
                          nbi_token="nbi-token-123456")
    async with await Store.open(db) as store:
        made = await bundle.plan(store, config, dev, ids, "CPE drops Wi-Fi after upgrade")
        clear = await bundle.plan(store, config, dev, ids[:1], "", include_secrets=True)
    names = [i.name for i in made.items]
    assert names[:2] == [f"sessions/1-{ids[0]}.fieldacs-session.json",
                         f"sessions/2-{ids[1]}.fieldacs-session.json"]
    assert {"tree.json", "lint.txt", "lint.json", "faults.json", "fieldacs.json",
            "notes.txt"} <= set(names)
    assert not any(i.secrets for i in made.items)
    data = bundle.to_bytes(made)
    for secret in (WIFI_KEY, "cpe-Pw-1234", "nbi-token-123456"):
        assert secret.encode() not in data
        with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
            assert all(secret.encode() not in zf.read(n) for n in zf.namelist())
    tree = json.loads(made.item("tree.json").data)  # type: ignore[union-attr]
    assert tree["parameters"][KEY_PATH]["value"] == "********"
    settings = json.loads(made.item("fieldacs.json").data)["settings"]  # type: ignore[union-attr]
    assert settings["cwmp_password"] == "(removed)" and settings["nbi_token"] == "(removed)"
    assert settings["cwmp_username"] == "cpe"
    faults = json.loads(made.item("faults.json").data)  # type: ignore[union-attr]
    assert isinstance(faults, list)
    assert b"== session" in made.item("lint.txt").data  # type: ignore[union-attr]

    # Ticked: the sessions and the tree carry the secrets, flagged; settings still do not.
    flagged = {i.name for i in clear.items if i.secrets}
    assert flagged == {f"sessions/1-{ids[0]}.fieldacs-session.json", "tree.json"}
    clear_bytes = b"".join(i.data for i in clear.items)
    assert WIFI_KEY.encode() in clear_bytes and b"nbi-token-123456" not in clear_bytes

    path = tmp_path / "escalation.zip"
    bundle.write(path, made)
    back = bundle.read(path)
    assert back.device_id == dev and back.notes == "CPE drops Wi-Fi after upgrade"
    assert [s.session_id for s in back.sessions] == ids
    assert [i.name for i in back.items] == names
    assert back.manifest["secrets_included"] is False


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


MANIFEST = json.dumps({"format": "fieldacs-bundle", "version": 1, "files": []}).encode()


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"a.txt": b"x"}, "no manifest.json"),
        ({"manifest.json": b"{not json"}, "damaged"),
        ({"manifest.json": b'{"format": "zip"}'}, "not a FieldACS bundle"),
        ({"manifest.json": json.dumps({"format": "fieldacs-bundle", "version": 9}).encode()},
         "reads up to 1"),
        ({"manifest.json": MANIFEST, "../evil.txt": b"x"}, "unsafe member name"),
        ({"manifest.json": MANIFEST, "sessions/1.json": b"{}"}, "sessions/1.json"),
        ({"manifest.json": MANIFEST, "big.bin": b"\0" * (bundle.MAX_MEMBER_BYTES + 1)},
         "unpacks to"),
    ],
)
def test_forged_bundles_are_refused(tmp_path: Path, members: dict[str, bytes],
                                    expected: str) -> None:
    with pytest.raises(bundle.BundleError, match=expected):
        bundle.read(_zip(tmp_path / "b.zip", members))


def test_not_a_zip_and_too_many_members(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(bundle.BundleError, match="not a zip"):
        bundle.read(junk)
    many = {"manifest.json": MANIFEST, **{f"f{i}": b"" for i in range(bundle.MAX_MEMBERS + 1)}}
    with pytest.raises(bundle.BundleError, match="more than"):
        bundle.read(_zip(tmp_path / "many.zip", many))


async def test_cli_bundle_and_bundle_show(tmp_path: Path) -> None:
    db, dev, ids = await device_with_history(tmp_path)
    out = tmp_path / "b.zip"
    code, stdout, err = await run_cli("bundle", dev, "-o", str(out), "--db", str(db),
                                      "--notes", "see session 2")
    assert code == 0, err
    assert f"sessions/1-{ids[-1]}.fieldacs-session.json" in stdout  # the newest by default
    assert "SECRETS IN CLEAR" not in stdout
    code, stdout, err = await run_cli("bundle-show", str(out))
    assert code == 0, err
    assert dev in stdout and "notes: see session 2" in stdout
    code, _, err = await run_cli("bundle", dev, "nope", "-o", str(out), "--db", str(db))
    assert code == 2 and "no stored session nope" in err
