"""The console's "Connection request" over XMPP (TR-069 Annex K): a real Prosody on
127.0.0.1, the engine logged in as ``acs@localhost``, a simulated CPE that only XMPP can
wake; the outcome in words, as for HTTP and UDP."""

from __future__ import annotations

from pathlib import Path

from acs_engine.sim.xmpp import SimXmpp
from app.connreq_ui import ConnectionRequester
from tests.helpers.engine import running_engine
from tests.helpers.nbi import sim_fleet
from tests.helpers.prosody import running_prosody


async def test_console_wakes_a_cpe_over_xmpp(tmp_path: Path) -> None:
    async with running_prosody(tmp_path) as prosody:
        acs = await prosody.register("acs", "acs-secret")
        await prosody.register("gui000001", "cpe-secret")
        sim = SimXmpp(prosody.server, prosody.domain, "cpe-secret", tls="starttls",
                      ca_file=prosody.ca_file)
        async with (
            running_engine(
                tmp_path, provisioning=True, script_timeout_ms=2000, xmpp_jid=acs,
                xmpp_password="acs-secret", xmpp_server=prosody.server,
                xmpp_ca_file=prosody.ca_file,
            ) as engine,
            sim_fleet(engine, 1, "GUI", connection_requests=False, xmpp=sim) as (dev,),
        ):
            requester = ConnectionRequester(engine, lambda: engine.cwmp_urls()[-1])
            shown: list[object] = []
            requester.finished.connect(shown.append)
            report = await requester.request(dev)
            assert report.ok and report.outcome == "connected", report.text
            assert shown == [report]

            # a wrong ACS password: the headline names the XMPP server, the detail what to check
            await engine.reconfigure(engine.config.replace(xmpp_password="wrong"))
            report = await requester.request(dev)
            assert not report.ok and report.outcome == "xmpp_unavailable"
            assert report.headline == "XMPP server unavailable"
            assert "refused the ACS's JID acs@localhost" in report.detail
            assert "Check the XMPP settings" in report.detail
