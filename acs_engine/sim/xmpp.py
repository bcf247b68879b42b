"""XMPP connection requests for simulated CPEs (TR-069 Annex K), the CPE side.

Each simulated CPE logs in to the XMPP server with its own account
(``<serial in lower case>@<domain>``, resource ``cwmp``), reports the full JID it was bound
to in ``ManagementServer.ConnReqJabberID`` (active notification, as the data model forces,
so the next Inform carries it) and answers the ACS's connection-request IQ:

* from a JID not in ``ConnReqAllowedJabberIDs`` (when that list is set): ``not-authorized``;
* with credentials other than ``ConnectionRequestUsername``/``Password``: ``not-authorized``;
* otherwise an empty ``result``, then a session with ``6 CONNECTION REQUEST``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from acs_engine.reach.xmpp import CONNREQ_NS, make_client, shutdown_client, split_server
from acs_engine.sim.device import SimDevice

__all__ = ["SimXmpp", "SimXmppClient", "sim_jid"]

log = logging.getLogger("fieldacs.sim")


class _Target(Protocol):
    device: SimDevice

    def connection_request(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SimXmpp:
    """Where simulated CPEs log in to XMPP.

    Attributes:
        server: ``host:port`` of the XMPP server.
        domain: the XMPP domain of the CPEs' accounts.
        password: the password of every CPE account.
        tls: ``starttls``, ``direct`` or ``none``.
        ca_file: PEM file of the CA(s) to trust for the server's certificate.
    """

    server: str
    domain: str
    password: str
    tls: str = "none"
    ca_file: Path | None = None


def sim_jid(serial: str, domain: str) -> str:
    """The bare JID of a simulated CPE's XMPP account."""
    return f"{serial.lower()}@{domain}"


class SimXmppClient:
    """One simulated CPE's XMPP connection, answering connection requests.

    Args:
        target: the CPE (its device, and how to start a session).
        settings: the server and accounts.
    """

    def __init__(self, target: _Target, settings: SimXmpp) -> None:
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath

        self.target = target
        self.settings = settings
        self.host, self.port = split_server(settings.server, "", settings.tls)
        jid = sim_jid(target.device.serial, settings.domain) + "/cwmp"
        client = make_client(jid, settings.password, settings.tls, settings.ca_file)
        client.register_handler(Callback(
            "cwmp connection request",
            MatchXPath(f"{{jabber:client}}iq/{{{CONNREQ_NS}}}connectionRequest"),
            self._on_request,
        ))
        self.client = client
        #: Requests answered: (accepted, refused).
        self.accepted = 0
        self.refused = 0

    async def start(self, timeout: float = 10.0) -> str:
        """Log in and publish the bound JID in ConnReqJabberID; returns that JID.

        Raises:
            ConnectionError: the server could not be reached or refused the account.
        """
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[str | None] = loop.create_future()

        def finish(error: str | None) -> None:
            if not ready.done():
                ready.set_result(error)

        self.client.add_event_handler("session_start", lambda _e: finish(None))
        self.client.add_event_handler("failed_all_auth", lambda _e: finish("login refused"))
        self.client.add_event_handler("connection_failed", lambda e: finish(str(e)))
        self.client.connect(self.host, self.port)
        try:
            error = await asyncio.wait_for(ready, timeout)
        except TimeoutError:
            error = "no answer"
        if error is not None:
            await self.close()
            raise ConnectionError(
                f"{self.target.device.serial}: XMPP login to {self.host}:{self.port} failed: "
                f"{error}"
            )
        self.client.send_presence()
        full = str(self.client.boundjid.full)
        device = self.target.device
        path = device.model.root + "ManagementServer.ConnReqJabberID"
        if device.attributes(path)[0] == 0:
            device.set_attributes(path, 2, device.attributes(path)[1])  # forced active
        device.local_change(path, full)
        return full

    async def close(self) -> None:
        """Log out (waits a moment for the server)."""
        await shutdown_client(self.client)

    def _allowed(self, sender: str) -> bool:
        device = self.target.device
        listed = device.value(device.model.root + "ManagementServer.ConnReqAllowedJabberIDs")
        if not listed:
            return True
        bare = sender.partition("/")[0]
        return any(entry.strip() in (sender, bare) for entry in listed.split(","))

    def _on_request(self, iq: Any) -> None:
        if iq["type"] != "get":
            return
        payload = iq.xml.find(f"{{{CONNREQ_NS}}}connectionRequest")
        username = payload.findtext(f"{{{CONNREQ_NS}}}username") or ""
        password = payload.findtext(f"{{{CONNREQ_NS}}}password") or ""
        device = self.target.device
        if not self._allowed(str(iq["from"])) or (username, password) != device.connreq_credentials:
            self.refused += 1
            log.debug("%s: XMPP connection request refused", device.serial)
            reply = iq.reply(clear=False)
            reply["type"] = "error"
            reply["error"]["type"] = "cancel"
            reply["error"]["condition"] = "not-authorized"
            reply.send()
            return
        self.accepted += 1
        log.debug("%s: XMPP connection request accepted", device.serial)
        iq.reply().send()
        self.target.connection_request()
