"""The "CPE logins" panel: devices failing CPE authentication, end to end with the simulator."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt

from acs_engine.server.auth import AuthFailure
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.deviceid import make_device_id
from app.bridge import EngineBridge
from app.security_panel import COLUMNS, AuthFailureModel, SecurityPanel, advice
from app.window import MainWindow
from tests.gui.aio import settle, wait_until
from tests.helpers.engine import running_engine

USER, PASSWORD = "acs-user", "Right-Pa55"
T0 = 1_800_000_000_000  # epoch ms


def _cpe(url: str, serial: str, password: str) -> tuple[SimCpe, str]:
    base = load_model("tr181")
    device = SimDevice(
        base, serial, options=SimOptions(),
        initial={
            base.root + "ManagementServer.Username": USER,
            base.root + "ManagementServer.Password": password,
        },
    )
    return SimCpe(device, url), make_device_id(base.oui, base.product_class, serial)


def _row(model: AuthFailureModel, row: int) -> dict[str, str]:
    return {COLUMNS[c]: model.index(row, c).data() for c in range(model.columnCount())}


def _failure(device: str, count: int = 1, **kw: object) -> AuthFailure:
    fields: dict[str, object] = {
        "remote": "10.0.0.9", "username": "u", "reason": "wrong password for user 'u'",
        "count": count, "first_at_ms": T0, "last_at_ms": T0 + 60_000 * count,
    }
    fields.update(kw)
    return AuthFailure(device, **fields)  # type: ignore[arg-type]


def test_the_model_updates_in_place_and_reports_new_failures(qtmodeltester) -> None:
    model = AuthFailureModel()
    now = T0 + 600_000
    fresh = model.set_failures([_failure("A"), _failure("B", reason="unknown user 'x'")], now)
    assert [f.device_id for f in fresh] == ["A", "B"]
    qtmodeltester.check(model)
    row = _row(model, 0)
    assert row["Device"] == "A" and row["Source address"] == "10.0.0.9"
    assert row["User name"] == "u" and row["Count"] == "1"
    assert row["First"] == "10 min ago" and row["Last"] == "9 min ago"
    assert "What to check" in model.index(0, COLUMNS.index("Reason")).data(Qt.ItemDataRole.ToolTipRole)
    # Same list again: nothing new. A fails again, B is gone from the engine's list.
    assert model.set_failures([_failure("A"), _failure("B", reason="unknown user 'x'")], now) == []
    fresh = model.set_failures([_failure("A", count=3)], now)
    assert [(f.device_id, f.count) for f in fresh] == [("A", 3)]
    assert model.rowCount() == 1 and _row(model, 0)["Count"] == "3"
    qtmodeltester.check(model)
    # Cleared: hidden until it fails again.
    model.clear()
    assert model.rowCount() == 0
    assert model.set_failures([_failure("A", count=3)], now) == []
    assert len(model.set_failures([_failure("A", count=4)], now)) == 1
    qtmodeltester.check(model)


def test_advice_names_what_to_check() -> None:
    assert "ManagementServer.Password" in advice("wrong password for user 'acs'")
    assert "ManagementServer.Username" in advice("unknown user 'admin'")
    assert "https://" in advice("Basic authentication refused over plain HTTP (use Digest or HTTPS)")
    assert "empty" in advice("no credentials sent after the challenge")
    assert "Settings → CPE authentication" in advice("something new")
    assert "bootstrap" in advice("no stored credentials for this device yet (x)")
    assert "RFC 2069" in advice("Digest without qop (RFC 2069) is refused: it can be replayed")


async def test_a_device_without_stored_credentials_is_listed_with_that_reason(
    tmp_path: Path, qtbot
) -> None:
    expression = "AUTH(Device.ManagementServer.Username, Device.ManagementServer.Password)"
    async with running_engine(tmp_path, cwmp_auth=expression) as engine:
        bridge = EngineBridge(engine.bus)
        panel = SecurityPanel(engine, bridge)
        qtbot.addWidget(panel)
        newcomer, newcomer_id = _cpe(engine.cwmp_urls()[-1], "NEW00001", PASSWORD)
        assert not (await newcomer.session()).ok
        await wait_until(lambda: panel.model.rowCount() == 1, what="the new CPE listed")
        row = _row(panel.model, 0)
        assert row["Device"] == newcomer_id and row["User name"] == USER
        assert row["Reason"] == (
            "no stored credentials for this device yet (the ACS has never seen this device)"
        )
        assert panel.select_device(newcomer_id)
        assert "not trusted" in panel.check.text() and "bootstrap" in panel.check.text()
        await settle()


async def test_a_cpe_with_the_wrong_password_is_listed_with_its_address(
    tmp_path: Path, qtbot, qtmodeltester
) -> None:
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        bridge = EngineBridge(engine.bus)
        panel = SecurityPanel(engine, bridge)
        qtbot.addWidget(panel)
        assert panel.model.rowCount() == 0
        assert "No failed CPE logins" in panel.state.text()
        seen: list[str] = []
        panel.failureSeen.connect(seen.append)

        good, _ = _cpe(engine.cwmp_urls()[-1], "GOOD0001", PASSWORD)
        assert (await good.session()).ok
        bad, bad_id = _cpe(engine.cwmp_urls()[-1], "BAD00001", "typo-Pa55")
        assert not (await bad.session()).ok

        await wait_until(lambda: panel.model.rowCount() == 1, what="the failing CPE listed")
        qtmodeltester.check(panel.model)
        row = _row(panel.model, 0)
        assert row["Device"] == bad_id
        assert row["Source address"] == "127.0.0.1"
        assert row["User name"] == USER
        assert row["Reason"] == f"wrong password for user {USER!r}"
        assert row["Last"] == "just now"
        assert int(row["Count"]) >= 1
        assert seen and bad_id in seen[0] and "127.0.0.1" in seen[0]
        assert "ManagementServer.Password" in panel.check.text()  # what to check, plainly
        assert "1 device failing" in panel.state.text()
        assert PASSWORD not in panel.check.text() + row["Reason"]

        # It tries again: the row is updated, not duplicated.
        count = int(row["Count"])
        assert not (await bad.session()).ok
        await wait_until(lambda: int(_row(panel.model, 0)["Count"]) > count, what="count up")
        assert panel.model.rowCount() == 1
        assert panel.select_device(bad_id)

        # The technician corrects the CPE's password: it logs in and leaves the list.
        bad.device.local_change(bad.device.param("ManagementServer.Password"), PASSWORD)
        assert (await bad.session()).ok
        await wait_until(lambda: panel.model.rowCount() == 0, what="the fixed CPE dropped")
        assert [f.device_id for f in engine.auth_failures()] == []
        assert "No failed CPE logins" in panel.state.text()
        await settle()


async def test_the_dock_appears_with_a_count_and_a_status_message(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    async with running_engine(tmp_path, cwmp_username=USER, cwmp_password=PASSWORD) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.set_acs_urls(engine.cwmp_urls())
        window.show()
        security = window.security
        assert security is not None
        assert security.dock.objectName() == "securityDock"
        assert security.dock.isHidden()
        assert security.dock.windowTitle() == "CPE logins"

        bad, bad_id = _cpe(engine.cwmp_urls()[-1], "BAD00002", "wrong")
        assert not (await bad.session()).ok
        await wait_until(lambda: not security.dock.isHidden(), what="the dock shown")
        assert security.dock.windowTitle() == "CPE logins (1)"
        message = window.statusBar().currentMessage()
        assert bad_id in message and "127.0.0.1" in message
        security.focus()
        assert security.panel.table.model().rowCount() == 1
        await settle()
