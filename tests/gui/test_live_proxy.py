"""Proxy mode in the console: a simulated CPE through FieldACS (proxy) to a second FieldACS;
the live panel follows the proxied session with its timeline, state machine and lint, saves
it as a proxy session file, and the banner follows the setting as it changes."""

from __future__ import annotations

from pathlib import Path

from acs_engine.inspect import sessionfile
from acs_engine.session.step import install_step_gate
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from app.bridge import EngineBridge
from app.live.panel import SessionPanel
from tests.gui.aio import wait_until
from tests.helpers.engine import running_engine


async def test_proxied_session_in_the_live_panel(tmp_path: Path, qtbot) -> None:
    async with running_engine(tmp_path / "up", provisioning=True) as upstream, \
            running_engine(tmp_path / "px", proxy_upstream=upstream.cwmp_urls()[-1]) as proxy:
        panel = SessionPanel(proxy, EngineBridge(proxy.bus), install_step_gate(proxy))
        qtbot.addWidget(panel)
        panel.resize(1280, 800)
        panel.show()
        assert panel.proxy_banner.isVisible()
        assert upstream.cwmp_urls()[-1] in panel.proxy_banner.text()

        result = await SimCpe(SimDevice(load_model("tr098"), "PXGUI0001"),
                              proxy.cwmp_urls()[-1]).session()
        assert result.ok, result.error
        await wait_until(lambda: panel.machine.state() == "END", what="the proxied session")
        assert panel.session_id.startswith("proxy-")
        assert panel.device_id.endswith("PXGUI0001")
        rpcs = [e.rpc for e in panel.timeline.exchanges()]
        assert rpcs[:2] == ["Inform", "InformResponse"] and "GetParameterNames" in rpcs
        await wait_until(lambda: not panel.lint.busy() and panel.lint.model.rowCount() > 0,
                         what="the lint run")
        assert "error" not in panel.details.tabText(panel.details.indexOf(panel.lint))

        out = tmp_path / "proxied.json"
        assert await panel.files.save_path(out, secrets=False, as_har=False)
        saved = sessionfile.load(out)
        assert saved.source == "proxy" and saved.device_id == panel.device_id
        assert [m.rpc for m in saved.messages] == rpcs
        store = upstream.store
        assert store is not None and await store.count_devices() == 1
        assert proxy.store is not None and await proxy.store.count_devices() == 0

        # Proxy mode off from the settings: the banner goes, FieldACS is the ACS again.
        await proxy.reconfigure(proxy.config.replace(proxy_upstream=""))
        await wait_until(lambda: not panel.proxy_banner.isVisible(), what="the banner hidden")
        assert proxy.proxy is None
        result = await SimCpe(SimDevice(load_model("tr098"), "PXGUI0002"),
                              proxy.cwmp_urls()[-1]).session()
        assert result.ok and await proxy.store.count_devices() == 1
        await wait_until(lambda: panel.pending_tasks() == 0, what="store reads")
