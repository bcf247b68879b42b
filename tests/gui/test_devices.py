"""The Devices page over a real store of 10,000 devices: lazy pages, SQL sorting and search."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from acs_engine.store.db import Store
from acs_engine.store.model import DeviceRecord, Param, SessionCommit
from app.devices import (
    PAGE_SIZE,
    DevicesPage,
    DeviceTableModel,
    Query,
    SearchProblem,
    build_query,
)
from tests.gui.aio import wait_until
from tests.helpers.engine import console_over_store

ROOT = Path(__file__).resolve().parents[2]
DEVICES = 10_000
CLASSES = ("HGW-A", "HGW-B", "ONT-C", "ONT-D")


def _commit(i: int, now: int, version: str = "") -> SessionCommit:
    serial = f"SN{i:05d}"
    device = DeviceRecord(
        id=f"F1E1D0-{CLASSES[i % 4]}-{serial}", manufacturer="FieldACS", oui="F1E1D0",
        product_class=CLASSES[i % 4], serial_number=serial, registered_ms=now - 86_400_000,
        last_inform_ms=now - i * 1000, remote_address=f"10.0.{i // 250}.{i % 250}",
        tags={"lab"} if i % 100 == 0 else set(),
    )
    sw = Param("Device.DeviceInfo.SoftwareVersion", version or f"1.{i % 7}.0", "xsd:string",
               now, writable=False)
    return SessionCommit(device=device, upserts=[sw])


async def _fill(path: Path) -> None:
    now = int(time.time() * 1000)
    async with await Store.open(path) as store:
        await asyncio.gather(*(store.commit_session(_commit(i, now)) for i in range(DEVICES)))


@pytest.fixture(scope="module")
def devices_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of 10,000 devices, written once for the module by commit_session.

    Written by a child process (this module run as a script): 10,000 commits are ~100,000
    event-loop callbacks, which a plain asyncio loop runs faster than qasync's timers.
    """
    path = tmp_path_factory.mktemp("devices") / "devices.db"
    subprocess.run(
        [sys.executable, "-m", "tests.gui.test_devices", str(path)], cwd=ROOT, check=True,
        timeout=120,
    )
    return path


@pytest.fixture
async def store(devices_db: Path) -> AsyncIterator[Store]:
    store = await Store.open(devices_db)
    try:
        yield store
    finally:
        await store.close()


async def _loaded(model: DeviceTableModel) -> None:
    await wait_until(lambda: not model.busy(), what="device page")


async def test_ten_thousand_devices_load_lazily_sort_and_filter(
    store: Store, qtbot, qtmodeltester
) -> None:
    model = DeviceTableModel(console_over_store(store))
    page = DevicesPage(model)
    qtbot.addWidget(page)
    await _loaded(model)
    # one page only, the rest on demand
    assert model.total == DEVICES
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore()
    assert page.count.text() == f"{DEVICES} devices · {PAGE_SIZE} loaded"
    model.fetchMore()
    await _loaded(model)
    assert model.rowCount() == 2 * PAGE_SIZE
    qtmodeltester.check(model)
    first = model.device_at(0)
    assert first is not None and first.id == "F1E1D0-HGW-A-SN00000"
    assert model.index(0, DeviceTableModel.SOFTWARE).data() == "1.0.0"
    assert model.index(0, DeviceTableModel.ADDRESS).data() == "10.0.0.0"
    assert model.index(0, DeviceTableModel.ONLINE).data() == "● online"
    assert model.index(0, DeviceTableModel.TAGS).data() == "lab"
    assert model.index(0, DeviceTableModel.FAULTS).data() == "0"
    assert model.index(3, DeviceTableModel.LAST_INFORM).data().endswith(" s ago")
    assert model.index(3, DeviceTableModel.LAST_INFORM).data(Qt.ItemDataRole.ToolTipRole)

    # sorting happens in the database and starts again from the first page
    page.table.sortByColumn(DeviceTableModel.LAST_INFORM, Qt.SortOrder.AscendingOrder)
    await _loaded(model)
    oldest = model.device_at(0)
    assert oldest is not None and oldest.serial_number == f"SN{DEVICES - 1:05d}"
    assert model.rowCount() == PAGE_SIZE
    page.table.sortByColumn(DeviceTableModel.PRODUCT_CLASS, Qt.SortOrder.DescendingOrder)
    await _loaded(model)
    assert {model.index(r, 1).data() for r in range(model.rowCount())} == {"ONT-D"}

    # an expression filter
    page.search.setText('DeviceID.ProductClass = "HGW-A" AND Tags.lab IS NOT NULL')
    page.apply_search()
    await _loaded(model)
    assert model.total == 100 and model.rowCount() == 100 and not model.canFetchMore()
    assert page.count.text() == "100 devices match"
    # a plain word matches id, product class or serial number
    page.search.setText("sn0012")
    page.apply_search()
    await _loaded(model)
    assert model.total == 10
    assert "Plain text search" in page.message.text()

    # a device's update refreshes its row
    now = int(time.time() * 1000)
    await store.commit_session(_commit(120, now, version="9.9.9"))
    row = model.row_of("F1E1D0-HGW-A-SN00120")
    assert row >= 0
    model.device_updated("F1E1D0-HGW-A-SN00120")
    await wait_until(lambda: model.index(row, DeviceTableModel.SOFTWARE).data() == "9.9.9",
                     what="updated row")

    # a deleted device's row goes, and the count says so
    assert await store.delete_device("F1E1D0-HGW-A-SN00120")
    model.device_updated("F1E1D0-HGW-A-SN00120")
    await wait_until(lambda: model.row_of("F1E1D0-HGW-A-SN00120") == -1, what="row removed")
    assert model.total == 9 and model.rowCount() == 9
    ids = [model.index(r, 0).data(DeviceTableModel.DeviceIdRole) for r in range(9)]
    assert all(model.row_of(i) == r for r, i in enumerate(ids))  # rows re-indexed
    await wait_until(lambda: page.count.text().startswith("9 "), what=page.count.text())
    await store.commit_session(_commit(120, now))  # as it was, for the module's other tests


async def test_search_errors_are_shown_at_their_position(store: Store, qtbot) -> None:
    model = DeviceTableModel(console_over_store(store))
    page = DevicesPage(model)
    qtbot.addWidget(page)
    await _loaded(model)
    page.search.setText('DeviceID.ProductClass = "ONT-C" AND AND')
    page.apply_search()
    problem = build_query(page.search.text())
    assert isinstance(problem, SearchProblem) and problem.position == 36
    assert page.message.text().startswith("Column 37: expected an expression")
    assert page.search.error_span() == (36, 3)
    assert page.search.toolTip() == page.message.text()
    assert model.total == DEVICES  # the filter in force is kept
    page.search.setText("DeviceID.ProductClass")
    page.apply_search()
    assert page.search.error_span() is None
    await _loaded(model)
    # functions a device search cannot run have no position
    not_sql = build_query("EXT('x') = 1")
    assert isinstance(not_sql, SearchProblem) and not_sql.position is None


async def test_search_as_a_technician_types_it(store: Store, qtbot) -> None:
    """Issue 18, bug 9: a version found by a plain word, a bare parameter name explained,
    an invalid expression clears the old count, help one click away, placeholder fits."""
    model = DeviceTableModel(console_over_store(store))
    page = DevicesPage(model)
    qtbot.addWidget(page)
    page.resize(570, 600)  # the Devices tab at 1280 px, beside the Live session dock
    page.show()
    await _loaded(model)
    # a plain word also searches the Software column by substring
    page.search.setText("1.6.0")
    page.apply_search()
    await _loaded(model)
    assert model.total == len([i for i in range(DEVICES) if i % 7 == 6])
    assert page.count.text().startswith(f"{model.total} devices match")
    assert "software" in page.message.text()
    # a bare parameter name is valid but matches nothing: the user is told why
    page.search.setText("PeriodicInformInterval = 300")
    page.apply_search()
    await _loaded(model)
    assert model.total == 0
    hint = page.message.text()
    assert "not a full parameter path" in hint
    assert "Device.ManagementServer.PeriodicInformInterval" in hint
    assert "*.*.PeriodicInformInterval" in hint
    # a full path gives no hint
    assert build_query("Device.DeviceInfo.SoftwareVersion = '1.0.0'").hint == ""  # type: ignore[union-attr]
    # an invalid expression must not leave the previous count on screen
    page.search.setText("sn00012")
    page.apply_search()
    await _loaded(model)
    assert page.count.text() == "1 device match"
    page.search.setText("DeviceID.SerialNumber = ")
    page.apply_search()
    assert "match" not in page.count.text()
    assert page.count.text() == "search not applied"
    # a valid search brings the count back
    page.search.setText("sn00012")
    page.apply_search()
    await _loaded(model)
    assert page.count.text() == "1 device match"
    # syntax help is one click away
    qtbot.mouseClick(page.help_button, Qt.MouseButton.LeftButton)
    assert page.help_box is not None and page.help_box.isVisible()
    assert "*.ManagementServer.PeriodicInformInterval" in page.help_box.text()
    page.help_box.close()
    # the placeholder is not cut off
    page.search.clear()
    placeholder = page.search.placeholderText()
    assert page.search.fontMetrics().horizontalAdvance(placeholder) < (
        page.search.width() - 40
    )


def test_build_query_words_and_expressions() -> None:
    assert build_query("  ") == Query()
    word = build_query("HGW-A")
    assert isinstance(word, Query) and word.label == "contains “HGW-A”"
    expression = build_query("Events.Inform > NOW() - 300000")
    assert isinstance(expression, Query)
    assert expression.filter.expression == "Events.Inform > NOW() - 300000"


if __name__ == "__main__":
    asyncio.run(_fill(Path(sys.argv[1])))
