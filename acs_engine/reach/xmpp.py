"""XMPP connection requests, the ACS side (TR-069 Annex K).

A CPE behind NAT that cannot be reached over HTTP keeps a connection to an XMPP server and
reports its JID in ``ManagementServer.ConnReqJabberID``. The ACS connects to the same
server as a client (its own JID and password) and sends that JID an IQ ``get`` holding
``<connectionRequest xmlns="urn:broadband-forum-org:cwmp:xmppConnReq-1-0">`` with the
CPE's connection-request user name and password (schema ``cwmp-xmppConnReq-1-0.xsd``). The
CPE answers an empty IQ ``result`` and opens a session with ``6 CONNECTION REQUEST``, or an
IQ ``error``: ``not-authorized`` for wrong credentials (the next pair is tried, as GenieACS
does); ``service-unavailable`` from the server means the CPE is not connected (offline).

The client is slixmpp, an asyncio XMPP library that is maintained (regular releases), runs on
the caller's event loop (so the engine, the console's qasync loop and the tests share it),
and does STARTTLS, direct TLS and SCRAM itself. One connection is kept open and reused;
it is made on the first request (or by :meth:`XmppConnReq.start`) and remade when lost.
Passwords are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from acs_engine.config import EngineConfig

__all__ = ["CONNREQ_NS", "TLS_MODES", "XmppConnReq", "XmppOutcome", "connreq_element",
           "make_client", "shutdown_client", "split_server"]

log = logging.getLogger("fieldacs.connreq")

#: The namespace of the connection-request IQ payload (TR-069 Annex K).
CONNREQ_NS = "urn:broadband-forum-org:cwmp:xmppConnReq-1-0"
#: Accepted values of ``EngineConfig.xmpp_tls``.
TLS_MODES = ("starttls", "direct", "none")
#: Seconds to wait for the XMPP server: TCP, TLS, authentication and resource binding.
CONNECT_TIMEOUT = 10.0


def connreq_element(username: str, password: str) -> ET.Element:
    """The ``<connectionRequest>`` payload with the CPE's credentials."""
    root = ET.Element(f"{{{CONNREQ_NS}}}connectionRequest")
    ET.SubElement(root, f"{{{CONNREQ_NS}}}username").text = username
    ET.SubElement(root, f"{{{CONNREQ_NS}}}password").text = password
    return root


def split_server(server: str, jid: str, tls: str) -> tuple[str, int]:
    """``(host, port)`` of the XMPP server: ``server`` (``host`` or ``host:port``), else the
    JID's domain; the port defaults to 5223 with direct TLS, else 5222.

    Raises:
        ValueError: no host, or a port that is not a number in 1..65535.
    """
    default_port = 5223 if tls == "direct" else 5222
    text = server.strip() or jid.partition("@")[2].partition("/")[0]
    if not text:
        raise ValueError("no XMPP server: give one, or a JID with a domain (acs@example.net)")
    host, port = text, default_port
    if text.startswith("["):  # [v6]:port
        end = text.find("]")
        host = text[1:end]
        if text[end + 1:].startswith(":"):
            port = _port(text[end + 2:])
    elif text.count(":") == 1:
        host, raw = text.split(":")
        port = _port(raw)
    if not host:
        raise ValueError(f"XMPP server {server!r} has no host")
    return host, port


def _port(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"XMPP port {raw!r} is not a number from 1 to 65535")
    return int(raw)


def make_client(jid: str, password: str, tls: str, ca_file: Path | str | None) -> Any:
    """A slixmpp client for ``jid``, its transport as ``tls`` says (:data:`TLS_MODES`), trusting
    the CA(s) in ``ca_file`` when given. Without TLS only SCRAM (the password never crosses
    the wire) may log in."""
    from slixmpp import ClientXMPP  # imported when XMPP is used: keeps startup light

    client = ClientXMPP(jid, password, plugin_config={
        "feature_mechanisms": {"unencrypted_scram": tls == "none"}})
    client.enable_direct_tls = tls == "direct"
    client.enable_starttls = tls == "starttls"
    client.enable_plaintext = tls == "none"
    if ca_file is not None:
        client.ca_certs = Path(ca_file)
    return client


async def shutdown_client(client: Any) -> None:
    """Close a slixmpp client for good: its stream, its reconnection attempts and its send
    loop (slixmpp ends that loop only when the client is garbage collected)."""
    client.cancel_connection_attempt()
    if client.transport is not None:
        try:
            await asyncio.wait_for(client.disconnect(wait=1.0), 3.0)
        except (TimeoutError, OSError):
            client.abort()
    sender = getattr(client, "_run_out_filters", None)
    if sender is not None and not sender.done():
        sender.cancel()
        await asyncio.wait([sender], timeout=1.0)


@dataclass(frozen=True, slots=True)
class XmppOutcome:
    """What one XMPP connection request came to.

    Attributes:
        ok: the CPE acknowledged the request.
        outcome: ``sent``, ``offline``, ``wrong_credentials``, ``timeout``,
            ``xmpp_unavailable`` (the ACS cannot log in to its XMPP server) or ``error``.
        message: plain words for a technician, with what to check.
    """

    ok: bool
    outcome: str
    message: str


class XmppConnReq:
    """The ACS's XMPP client: one connection, used to send connection requests.

    Args:
        jid: the ACS's JID (``acs@example.net``; a resource is optional).
        password: its password.
        server: ``host`` or ``host:port``; "" uses the JID's domain.
        tls: one of :data:`TLS_MODES`.
        ca_file: PEM file of the CA(s) to trust for the server's certificate.
        connect_timeout: seconds allowed to connect and log in.
    """

    def __init__(
        self, jid: str, password: str, *, server: str = "", tls: str = "starttls",
        ca_file: Path | None = None, connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        if tls not in TLS_MODES:
            raise ValueError(f"XMPP TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
        if "@" not in jid:
            raise ValueError(f"the ACS's XMPP JID {jid!r} must look like name@domain")
        self.jid = jid
        self._password = password
        self.host, self.port = split_server(server, jid, tls)
        self.tls = tls
        self.ca_file = ca_file
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._ready = False
        self._lock = asyncio.Lock()
        #: The connection's state in plain words (for logs and the console).
        self.status = "not connected yet"

    @classmethod
    def from_config(cls, config: EngineConfig) -> XmppConnReq | None:
        """The client the settings ask for, or None when XMPP is off (no ``xmpp_jid``).

        Raises:
            ValueError: settings that cannot work (the message says which).
        """
        if not config.xmpp_jid.strip():
            return None
        return cls(config.xmpp_jid.strip(), config.xmpp_password, server=config.xmpp_server,
                   tls=config.xmpp_tls, ca_file=config.xmpp_ca_file)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._ready and self._client is not None and self._client.transport is not None

    async def start(self) -> None:
        """Connect now (errors are kept in :attr:`status`, not raised)."""
        async with self._lock:
            await self._ensure()

    async def close(self) -> None:
        """Disconnect (waits a moment for the server to close the stream)."""
        async with self._lock:
            await self._drop()
            self.status = "disconnected"

    async def _drop(self) -> None:
        client, self._client, self._ready = self._client, None, False
        if client is not None:
            await shutdown_client(client)

    async def _ensure(self) -> str | None:
        """Connect and log in unless connected; None, or why it failed (in words)."""
        if self.connected:
            return None
        await self._drop()
        client = make_client(self.jid, self._password, self.tls, self.ca_file)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()

        def finish(result: str | None) -> None:
            if not done.done():
                done.set_result(result)

        client.add_event_handler("session_start", lambda _e: finish(None))
        client.add_event_handler("failed_all_auth", lambda _e: finish(
            f"the server refused the ACS's JID {self.jid} or its password"))
        client.add_event_handler("connection_failed", lambda e: finish(
            f"cannot connect to {self.where} ({e})"))
        client.add_event_handler("ssl_invalid_chain", lambda e: finish(
            f"the certificate of {self.where} is not trusted ({e}); give its CA file"))
        client.add_event_handler("disconnected", lambda _e: self._lost(client, finish))
        self._client = client
        started = time.perf_counter()
        client.connect(self.host, self.port)
        try:
            error = await asyncio.wait_for(done, self.connect_timeout)
        except TimeoutError:
            error = f"no answer from {self.where} within {self.connect_timeout:g} s"
        if error is None and self.tls != "none" and not self._secure(client):
            error = f"{self.where} did not offer TLS (set TLS to none only for a lab server)"
        if error is not None:
            await self._drop()
            self.status = f"not connected: {error}"
            log.warning("XMPP: %s", self.status)
            return error
        self._ready = True
        self.status = f"connected to {self.where} as {client.boundjid.full}"
        log.info("XMPP: %s in %.0f ms", self.status, (time.perf_counter() - started) * 1000)
        return None

    def _lost(self, client: Any, finish: Any) -> None:
        # A moment's grace: a certificate refusal is reported just after the disconnect.
        asyncio.get_running_loop().call_later(
            0.2, finish, f"{self.where} closed the connection")
        if client is self._client:
            self._ready = False
            self.status = "connection lost; it is remade on the next request"

    @staticmethod
    def _secure(client: Any) -> bool:
        transport = client.transport
        return transport is not None and transport.get_extra_info("ssl_object") is not None

    async def request(
        self, to_jid: str, credentials: list[tuple[str, str]], timeout_ms: int
    ) -> XmppOutcome:
        """Send the connection request to ``to_jid`` with each credential pair in turn.

        Args:
            to_jid: the CPE's ``ConnReqJabberID``.
            credentials: (username, password) pairs.
            timeout_ms: how long the CPE has to answer each IQ.
        """
        async with self._lock:
            error = await self._ensure()
            client = self._client
        if error is not None or client is None:
            return XmppOutcome(False, "xmpp_unavailable", (
                f"FieldACS cannot use its XMPP server: {error or 'the connection closed'}. "
                "Check the XMPP settings (server, the ACS's JID and password, TLS)."))
        from slixmpp.exceptions import IqError, IqTimeout

        conditions: list[str] = []
        for username, password in credentials or [("", "")]:
            iq = client.make_iq_get(ito=to_jid)
            iq.xml.append(connreq_element(username, password))
            try:
                await iq.send(timeout=max(timeout_ms, 1) / 1000)
            except IqTimeout:
                return XmppOutcome(False, "timeout", (
                    f"The device {to_jid} did not answer the XMPP connection request within "
                    f"{timeout_ms} ms. Check that it is online and its XMPP connection works."))
            except IqError as exc:
                condition = str(exc.iq["error"]["condition"] or "undefined-condition")
                conditions.append(condition)
                if condition == "not-authorized":
                    continue
                if condition in ("service-unavailable", "recipient-unavailable",
                                 "item-not-found", "remote-server-not-found"):
                    return XmppOutcome(False, "offline", (
                        f"The device {to_jid} is not connected to the XMPP server "
                        f"{self.where} ({condition}): it is offline, or its "
                        "ConnReqJabberID is out of date."))
                text = str(exc.iq["error"]["text"] or "")
                return XmppOutcome(False, "error", (
                    f"The device {to_jid} refused the XMPP connection request ({condition}"
                    f"{': ' + text if text else ''})."))
            except (OSError, ConnectionError) as exc:
                self._ready = False
                return XmppOutcome(False, "error", f"The XMPP connection failed: {exc}.")
            return XmppOutcome(True, "sent", (
                f"The device {to_jid} acknowledged the XMPP connection request."))
        return XmppOutcome(False, "wrong_credentials", (
            f"The device {to_jid} rejected the connection request credentials over XMPP "
            f"(not-authorized, {len(conditions)} credential pair(s)). Check "
            "ConnectionRequestUsername/Password."))
