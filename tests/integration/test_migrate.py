"""Moving devices to another ACS, end to end: two engines on loopback, simulated CPEs
move from the first to the second; the ones that did not move are listed with why."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.admin import migrate
from acs_engine.admin.migrate import (
    MigrationError,
    load_migration,
    migration_status,
    start_migration,
)
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine


def _cpe(model: str, serial: str, url: str, **options: object) -> SimCpe:
    dev = SimDevice(load_model(model), serial,
                    options=SimOptions(http_timeout=20.0, **options),  # type: ignore[arg-type]
                    context={"acs_url": url})
    return SimCpe(dev, url)


def _id(cpe: SimCpe) -> str:
    ident = cpe.device.device_id
    return make_device_id(ident.oui, ident.product_class, ident.serial_number)


async def test_simulators_move_from_one_engine_to_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "NBI_BATCH", 1)  # the new ACS is asked device by device
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    async with running_engine(tmp_path / "old", provisioning=True) as old, \
            running_engine(tmp_path / "new", provisioning=True) as new:
        old_url = f"http://127.0.0.1:{old.cwmp_port}/"
        new_url = f"http://127.0.0.1:{new.cwmp_port}/"
        mover = _cpe("tr181", "MOVE0001", old_url)
        mover098 = _cpe("tr098", "MOVE0002", old_url)
        stubborn = _cpe("tr181", "MOVE0003", old_url,
                        fault_methods={"SetParameterValues": 9001})
        returner = _cpe("tr181", "MOVE0004", old_url)
        cpes = [mover, mover098, stubborn, returner]
        for cpe in cpes:
            assert (await cpe.session()).ok
        assert old.store is not None and new.store is not None

        migration = await start_migration(old.store, [_id(c) for c in cpes], new_url)
        status = await migration_status(old.store, migration)
        assert [m.state for m in status.moves] == ["waiting"] * 4
        for cpe in cpes:
            cpe.device.add_event("6 CONNECTION REQUEST")
            await cpe.session()  # the task runs here
        assert mover.acs_url == new_url
        assert mover098.device.value("InternetGatewayDevice.ManagementServer.URL") == new_url
        assert stubborn.acs_url == old_url
        # Someone sets it back on the CPE (or it falls back): it informs here again.
        returner.device.local_change("Device.ManagementServer.URL", old_url)
        assert returner.acs_url == old_url
        assert (await returner.session()).ok

        nbi = f"http://127.0.0.1:{new.nbi_port}"
        states = {m.device_id: m.state
                  for m in (await migration_status(old.store, migration, nbi_url=nbi)).moves}
        assert states == {_id(mover): "switched", _id(mover098): "switched",
                          _id(stubborn): "failed", _id(returner): "came back"}

        for cpe in (mover, mover098):  # they inform the new ACS now
            cpe.device.add_event("2 PERIODIC")
            result = await cpe.session()
            assert result.ok, result.error
        assert await new.store.get_device(_id(mover)) is not None

        migration = await load_migration(old.store)  # the tracking survives a restart
        assert migration is not None and migration.url == new_url
        moves = (await migration_status(old.store, migration, nbi_url=nbi)).moves
        by_id = {m.device_id: m for m in moves}
        assert by_id[_id(mover)].state == "moved"
        assert by_id[_id(mover098)].state == "moved"
        assert by_id[_id(stubborn)].state == "failed"
        assert "9001" in by_id[_id(stubborn)].detail
        assert by_id[_id(returner)].state == "came back"
        assert migration.counts() == {"moved": 2, "failed": 1, "came back": 1}

        # A moved device that informs here again did not stay moved.
        mover.device.local_change("Device.ManagementServer.URL", old_url)
        assert (await mover.session()).ok
        moves = (await migration_status(old.store, migration, nbi_url=nbi)).moves
        assert {m.device_id: m.state for m in moves}[_id(mover)] == "came back"


async def test_bad_requests_queue_nothing(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        assert engine.store is not None
        for url in ("", "ftp://x/", "http://", "http://a b/", "x" * 300):
            with pytest.raises(MigrationError):
                await start_migration(engine.store, ["dev"], url)
        with pytest.raises(MigrationError):
            await start_migration(engine.store, [], "http://new-acs:7547/")
        assert await engine.store.list_tasks() == []
        assert await load_migration(engine.store) is None
        migration = await start_migration(engine.store, ["unknown"], "http://new:7547/")
        assert migration.moves[0].state == "failed"
        for nbi in ("file:///etc/passwd", "new-acs:7557", "http://"):
            with pytest.raises(MigrationError, match="NBI"):
                await migration_status(engine.store, migration, nbi_url=nbi)
        assert await engine.store.list_tasks() == []
