"""XMPP connection requests (TR-069 Annex K) end to end: a real Prosody on 127.0.0.1, the
engine logged in as ``acs@localhost``, simulated CPEs logged in with their own accounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.reach.xmpp import XmppConnReq
from acs_engine.server.controller import EngineStartError, ReconfigureError
from acs_engine.sim.xmpp import SimXmpp, sim_jid
from acs_engine.store.model import Param
from tests.helpers.engine import running_engine
from tests.helpers.nbi import Nbi, enc, sim_fleet, until
from tests.helpers.prosody import Prosody, running_prosody

JID_PATH = "Device.ManagementServer.ConnReqJabberID"
CPE_PASSWORD = "cpe-xmpp-secret"


async def _jabber_id(engine: object, device_id: str) -> Param | None:
    store = engine.store  # type: ignore[attr-defined]
    return (await store.load_param_values(device_id, [JID_PATH])).get(JID_PATH)


async def _accounts(prosody: Prosody, prefix: str, count: int) -> None:
    for i in range(1, count + 1):
        await prosody.register(sim_jid(f"{prefix}{i:06d}", prosody.domain).split("@")[0],
                               CPE_PASSWORD)


async def test_xmpp_connection_request_wakes_the_cpe(tmp_path: Path) -> None:
    """The CPE reports its JID in ConnReqJabberID; a connection request (the console's, or
    an NBI task's ``?connection_request``) goes to it as an XMPP IQ over STARTTLS, the CPE
    checks the credentials and opens a session with ``6 CONNECTION REQUEST``."""
    async with running_prosody(tmp_path) as prosody:
        acs = await prosody.register("acs", "acs-secret")
        await _accounts(prosody, "XMP", 1)
        sim_xmpp = SimXmpp(prosody.server, prosody.domain, CPE_PASSWORD, tls="starttls",
                           ca_file=prosody.ca_file)
        async with (
            running_engine(
                tmp_path, provisioning=True, script_timeout_ms=2000, xmpp_jid=acs,
                xmpp_password="acs-secret", xmpp_server=prosody.server, xmpp_tls="starttls",
                xmpp_ca_file=prosody.ca_file,
            ) as engine,
            # no HTTP connection-request listener: only XMPP can wake these CPEs
            sim_fleet(engine, 1, "XMP", connection_requests=False, xmpp=sim_xmpp) as (dev,),
            Nbi(engine) as nbi,
        ):
            stored = await _jabber_id(engine, dev)
            assert stored is not None and stored.value == "xmp000001@localhost/cwmp"

            done = await engine.connection_request(dev)
            assert done.ok and done.result.via == "xmpp", done.message
            assert done.session_started is True
            assert "acknowledged the XMPP connection request" in done.result.message
            store = engine.store
            assert store is not None

            async def woken() -> bool:
                return any("6 CONNECTION REQUEST" in s.events
                           for s in await store.list_sessions(dev))

            await until(woken)

            task = {"name": "getParameterValues", "parameterNames": [JID_PATH]}
            reply = await nbi.call("POST", f"/devices/{enc(dev)}/tasks",
                                   params={"connection_request": ""}, body=task)
            assert reply.status == 200, (reply.status, reply.reason)
            client = await engine.xmpp_client()
            assert client is not None and client.status.startswith("connected to")

        # The simulator has logged out: the server answers for the CPE that it is offline.
        async with running_engine(
            tmp_path, xmpp_jid=acs, xmpp_password="acs-secret", xmpp_server=prosody.server,
            xmpp_tls="starttls", xmpp_ca_file=prosody.ca_file,
        ) as engine:
            done = await engine.connection_request(dev, wait_for_session=False)
            assert not done.ok and done.result.outcome == "offline", done.message
            assert "not connected to the XMPP server" in done.message
        # TLS from the first byte (XEP-0368) on Prosody's direct-TLS port works too.
        direct = XmppConnReq(acs, "acs-secret", server=f"127.0.0.1:{prosody.direct_port}",
                             tls="direct", ca_file=prosody.ca_file)
        outcome = await direct.request("xmp000001@localhost/cwmp", [("u", "p")], 2000)
        assert outcome.outcome == "offline", outcome.message
        assert direct.status.startswith("connected to")
        await direct.close()


async def test_xmpp_refusals_in_plain_words(tmp_path: Path) -> None:
    """Wrong CPE credentials (``not-authorized``), a CPE that only takes requests from
    other JIDs (ConnReqAllowedJabberIDs), a wrong ACS password and an untrusted server
    certificate each give their own outcome and a message saying what to check."""
    async with running_prosody(tmp_path) as prosody:
        acs = await prosody.register("acs", "acs-secret")
        await _accounts(prosody, "XMR", 1)
        allowed = {"Device.ManagementServer.ConnReqAllowedJabberIDs": "boss@localhost"}
        async with (
            running_engine(
                tmp_path, provisioning=True, script_timeout_ms=2000, xmpp_jid=acs,
                xmpp_password="acs-secret", xmpp_server=prosody.server, xmpp_tls="none",
            ) as engine,
            sim_fleet(engine, 1, "XMR", connection_requests=False, initial=allowed,
                      xmpp=SimXmpp(prosody.server, prosody.domain, CPE_PASSWORD)) as (dev,),
        ):
            done = await engine.connection_request(dev, wait_for_session=False)
            assert not done.ok and done.result.outcome == "wrong_credentials", done.message
            assert "not-authorized" in done.message and "ConnectionRequestUsername" in done.message
            jid = (await _jabber_id(engine, dev)).value  # type: ignore[union-attr]

            wrong = XmppConnReq(acs, "not-the-password", server=prosody.server, tls="none")
            outcome = await wrong.request(jid, [("u", "p")], 2000)
            await wrong.close()
            assert outcome.outcome == "xmpp_unavailable"
            assert "refused the ACS's JID" in outcome.message and "XMPP settings" in outcome.message

            untrusted = XmppConnReq(acs, "acs-secret", server=prosody.server, tls="starttls")
            outcome = await untrusted.request(jid, [("u", "p")], 2000)
            await untrusted.close()
            assert outcome.outcome == "xmpp_unavailable"
            assert "not trusted" in outcome.message, outcome.message


async def test_xmpp_settings_that_cannot_work_stop_the_start(tmp_path: Path) -> None:
    """A bad TLS mode or an account without a domain is refused when the engine starts (and
    when the console applies it), with the reason; XMPP stays off without an account."""
    for bad, words in (({"xmpp_jid": "acs@example.net", "xmpp_tls": "sometimes"}, "XMPP TLS"),
                       ({"xmpp_jid": "acs"}, "name@domain"),
                       ({"xmpp_jid": "acs@example.net", "xmpp_server": "h:0"}, "port")):
        with pytest.raises(EngineStartError, match=words):
            async with running_engine(tmp_path, **bad):
                pass
    async with running_engine(tmp_path) as engine:
        assert await engine.xmpp_client() is None
        with pytest.raises(ReconfigureError, match="XMPP TLS"):
            await engine.reconfigure(engine.config.replace(xmpp_jid="a@b", xmpp_tls="x"))
        assert engine.config.xmpp_jid == ""
