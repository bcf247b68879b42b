"""The Lint tab of the live session panel against the real engine: a CPE that breaks the
HTTP rules gets its findings listed; double-clicking one shows its message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acs_engine.cwmp import codec
from acs_engine.cwmp.envelope import Envelope
from acs_engine.inspect.lint import Severity
from acs_engine.server.controller import Engine
from acs_engine.session.step import install_step_gate
from app.bridge import EngineBridge
from app.live.lint_view import COL_RULE, LintModel
from app.live.panel import SessionPanel
from tests.gui.aio import wait_until
from tests.gui.test_live import GPV, GPV_RESPONSE
from tests.helpers.engine import RawCpe, inform, running_engine

DEVICE = "F1E1D0-TestGW-SN0001"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(tmp_path) as engine:
        yield engine


async def sloppy_session(engine: Engine) -> None:
    """A session whose CPE sends its empty POST as text/xml and answers with text/plain."""
    engine.manual.put(DEVICE, GPV)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        status, _, data = await cpe.post_raw(b"", {"Content-Type": "text/xml"})
        assert status == 200
        reply = codec.parse(data)
        assert reply is not None
        body = codec.serialize(Envelope(GPV_RESPONSE, cwmp_id=reply.cwmp_id))
        status, _, _ = await cpe.post_raw(body, {"Content-Type": "text/plain"})
        assert status == 204


async def test_lint_tab_lists_findings_and_leads_to_the_message(
    engine: Engine, qtbot, qtmodeltester
) -> None:
    panel = SessionPanel(engine, EngineBridge(engine.bus), install_step_gate(engine))
    qtbot.addWidget(panel)
    panel.resize(1280, 800)
    panel.show()
    qtmodeltester.check(panel.lint.model)
    await sloppy_session(engine)
    await wait_until(lambda: panel.machine.state() == "END", what="the session followed")
    await wait_until(lambda: not panel.lint.busy() and panel.lint.model.rowCount() > 0,
                     what="the lint run")
    findings = panel.lint.model.findings()
    by_rule = {f.rule: f for f in findings}
    assert by_rule["http-empty-post"].severity is Severity.ERROR
    assert by_rule["http-empty-post"].index == 2
    assert by_rule["http-content-type"].severity is Severity.WARNING
    # The test Inform lacks most forced TR-181 parameters: errors, each naming its path.
    forced = [f for f in findings if f.rule == "inform-forced"]
    assert any(f.element == "Device.DeviceInfo.HardwareVersion" for f in forced)
    tab = panel.details.tabText(panel.details.indexOf(panel.lint))
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    assert tab.startswith(f"Lint ({errors} errors")
    assert "error" in panel.lint.summary.text()

    model: LintModel = panel.lint.model
    row = findings.index(by_rule["http-empty-post"])
    assert model.data(model.index(row, COL_RULE)) == "http-empty-post"
    panel.details.setCurrentWidget(panel.lint)
    panel.lint._on_double_click(model.index(row, 0))
    assert panel.details.currentWidget() is panel.soap
    assert panel.table.selectionModel().currentIndex().row() == 2
    assert "(empty POST)" in panel.soap.caption.text()
    await wait_until(lambda: panel.pending_tasks() == 0, what="store reads")


async def test_bootstrap_rule_knows_the_device_history(engine: Engine, qtbot) -> None:
    panel = SessionPanel(engine, EngineBridge(engine.bus), install_step_gate(engine))
    qtbot.addWidget(panel)
    panel.show()

    async def session(events: tuple[str, ...]) -> None:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform(events=events))
            status, _, _ = await cpe.send(None)
            assert status == 204

    def bootstrap_findings() -> list[str]:
        return [f.message for f in panel.lint.model.findings() if f.rule == "event-bootstrap"]

    await session(("2 PERIODIC",))  # a new device that does not say BOOTSTRAP
    await wait_until(lambda: panel.machine.state() == "END", what="the first session")
    await wait_until(lambda: not panel.lint.busy() and bootstrap_findings(),
                     what="the BOOTSTRAP finding")
    assert "first contact" in bootstrap_findings()[0]
    first = panel.session_id

    await session(("0 BOOTSTRAP",))  # the same device, reset
    await wait_until(lambda: panel.session_id != first and panel.machine.state() == "END",
                     what="the second session")
    await wait_until(lambda: not panel.lint.busy() and bootstrap_findings(),
                     what="the note")
    assert "known device" in bootstrap_findings()[0]
    await wait_until(lambda: panel.pending_tasks() == 0, what="store reads")
