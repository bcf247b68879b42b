"""Device list, delete, tags, settings and the integrity check."""

from __future__ import annotations

import pytest

from acs_engine.store import Store, StoreError

from .factories import commit, device, param


async def _add(store: Store, n: int) -> None:
    for i in range(n):
        dev = device(
            f"OUI-PC-{i:03d}",
            serial_number=f"{i:03d}",
            last_inform_ms=10 * i,
            registered_ms=i,
            remote_address=f"192.0.2.{i}",
            tags={"even"} if i % 2 == 0 else set(),
        )
        tree = [param("Device."), param("Device.DeviceInfo.SoftwareVersion", f"v{i}")]
        tree += [param(f"Device.X.{k}") for k in range(i)]
        await store.commit_session(commit(dev, f"s{i}", n_trace=1, upserts=tree))


async def test_list_and_count(store: Store) -> None:
    await _add(store, 12)
    assert await store.count_devices() == 12
    page = await store.list_devices(limit=5, offset=5)
    assert [d.id for d in page] == [f"OUI-PC-{i:03d}" for i in range(5, 10)]
    d = page[1]  # device 6
    assert (d.oui, d.product_class, d.serial_number) == ("0011AA", "Box", "006")
    assert (d.last_inform_ms, d.registered_ms, d.remote_address) == (60, 6, "192.0.2.6")
    assert d.param_count == 1 + 6
    assert d.software_version == "v6"
    assert d.tags == frozenset({"even"})
    assert len(await store.list_devices()) == 12
    assert await store.list_devices(offset=12) == []


async def test_delete_device_cascades(store: Store) -> None:
    await _add(store, 3)
    assert await store.delete_device("OUI-PC-002") is True
    assert await store.delete_device("OUI-PC-002") is False
    assert await store.get_device("OUI-PC-002") is None
    assert await store.load_params("OUI-PC-002") == {}
    assert await store.list_sessions("OUI-PC-002") == []
    assert await store.load_trace("s2") == []
    assert await store.count_devices() == 2
    assert len(await store.load_params("OUI-PC-001")) == 3
    assert await store.integrity_check() == "ok"


async def test_tags(store: Store) -> None:
    await store.commit_session(commit(device(tags={"a"})))
    assert await store.set_tags("0011AA-Box-SN1", add=["b", "c", ""], remove=["a"]) == {"b", "c"}
    assert await store.set_tags("0011AA-Box-SN1", add=["x"], remove=["x", "zzz"]) == {"b", "c"}
    got = await store.get_device("0011AA-Box-SN1")
    assert got is not None and got.tags == {"b", "c"}
    [summary] = await store.list_devices()
    assert summary.tags == frozenset({"b", "c"})
    with pytest.raises(StoreError, match="no device"):
        await store.set_tags("missing", add=["a"], remove=[])


async def test_settings(store: Store) -> None:
    assert await store.get_setting("cwmp.port") is None
    await store.set_setting("cwmp.port", "7547")
    await store.set_setting("cwmp.port", "7548")
    await store.set_setting("other", "")
    assert await store.get_setting("cwmp.port") == "7548"
    assert await store.get_setting("other") == ""
    assert await store.delete_setting("cwmp.port") is True
    assert await store.delete_setting("cwmp.port") is False
    assert await store.get_setting("cwmp.port") is None


async def test_integrity_check_reports_problems(store: Store) -> None:
    await _add(store, 2)
    assert await store.integrity_check() == "ok"
    conn = store._conn
    await conn.execute("PRAGMA foreign_keys = OFF")
    await conn.execute(
        "INSERT INTO sessions (id, device_id, started) VALUES ('orphan', 'ghost', 1)"
    )
    await conn.execute("PRAGMA foreign_keys = ON")
    assert "foreign key: sessions" in await store.integrity_check()
