"""Devices list → "Move these devices to another ACS…": two engines on loopback, simulated
CPEs selected in the list move from the first to the second; the one that did not is
listed first, with why."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel

from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from app.devices import DevicesPage, DeviceTableModel
from app.migrate import MoveDevicesDialog
from tests.gui.aio import wait_until
from tests.helpers.engine import running_engine


def _cpe(serial: str, url: str, **options: object) -> SimCpe:
    dev = SimDevice(load_model("tr181"), serial,
                    options=SimOptions(http_timeout=20.0, **options),  # type: ignore[arg-type]
                    context={"acs_url": url})
    return SimCpe(dev, url)


async def test_move_selected_devices_to_another_acs(tmp_path: Path, qtbot) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    async with running_engine(tmp_path / "old", provisioning=True) as old, \
            running_engine(tmp_path / "new", provisioning=True) as new:
        assert old.store is not None
        old_url = f"http://127.0.0.1:{old.cwmp_port}/"
        new_url = f"http://127.0.0.1:{new.cwmp_port}/"
        cpes = [_cpe("GUI0001", old_url), _cpe("GUI0002", old_url),
                _cpe("GUI0003", old_url, fault_methods={"SetParameterValues": 9001}),
                _cpe("GUI0004", old_url)]  # not selected: stays
        for cpe in cpes:
            assert (await cpe.session()).ok

        model = DeviceTableModel(old)
        page = DevicesPage(model)
        qtbot.addWidget(page)
        model.reload()
        await wait_until(lambda: model.rowCount() == 4, what="devices listed")
        selection = page.table.selectionModel()
        for row in range(3):
            selection.select(model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                             | QItemSelectionModel.SelectionFlag.Rows)
        assert len(page.selected_devices()) == 3
        assert page.move_action in page.table.actions()
        page.move_action.trigger()
        dialog = page.table.property("moveDialog")
        assert isinstance(dialog, MoveDevicesDialog)
        qtbot.addWidget(dialog)

        refreshed: list[bool] = []
        dialog.refreshed.connect(lambda: refreshed.append(True))
        dialog.url.setText("not a url")
        dialog.start_button.click()
        await wait_until(lambda: "must be" in dialog.message.text(), what="bad URL refused")
        assert await old.store.list_tasks() == []
        dialog.url.setText(new_url)
        dialog.nbi.setText(f"http://127.0.0.1:{new.nbi_port}")
        dialog.start_button.click()
        await wait_until(lambda: refreshed, what="first refresh")
        assert set(dialog.states().values()) == {"waiting"}
        assert len(await old.store.list_tasks()) == 3

        for cpe in cpes[:3]:
            cpe.device.add_event("6 CONNECTION REQUEST")
            await cpe.session()  # the task runs; the first two now point at the new ACS
        for cpe in cpes[:2]:
            cpe.device.add_event("2 PERIODIC")
            assert (await cpe.session()).ok  # at the new ACS
        assert cpes[3].acs_url == old_url

        refreshed.clear()
        dialog.refresh_button.click()
        await wait_until(lambda: refreshed, what="second refresh")
        states = dialog.states()
        assert list(states.values()) == ["failed", "moved", "moved"]  # not moved first
        assert "9001" in dialog.table.item(0, 2).text()
        assert "Not moved: 1" in dialog.message.text()
        dialog.close()
        model.shutdown()
