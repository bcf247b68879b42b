"""acs_engine.reach.xmpp without a server: settings, the IQ payload."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from acs_engine.config import EngineConfig
from acs_engine.reach.xmpp import CONNREQ_NS, XmppConnReq, connreq_element, split_server


def test_server_address() -> None:
    assert split_server("", "acs@example.net", "starttls") == ("example.net", 5222)
    assert split_server("", "acs@example.net/res", "direct") == ("example.net", 5223)
    assert split_server("xmpp.lan:5300", "acs@example.net", "none") == ("xmpp.lan", 5300)
    assert split_server("[::1]:5300", "acs@x", "none") == ("::1", 5300)
    for bad in ("h:0", "h:port", ":5222"):
        with pytest.raises(ValueError):
            split_server(bad, "acs@x", "starttls")


def test_from_config_is_off_without_an_account() -> None:
    assert XmppConnReq.from_config(EngineConfig()) is None
    client = XmppConnReq.from_config(EngineConfig(xmpp_jid="acs@example.net", xmpp_password="p"))
    assert client is not None and client.where == "example.net:5222"
    with pytest.raises(ValueError, match="XMPP TLS"):
        XmppConnReq("acs@example.net", "p", tls="maybe")


def test_the_payload_follows_the_annex_k_schema() -> None:
    element = connreq_element("cpe-user", "pa<ss>")
    assert element.tag == f"{{{CONNREQ_NS}}}connectionRequest"
    assert [child.tag.split("}")[1] for child in element] == ["username", "password"]
    assert ET.tostring(element).count(b"pa&lt;ss&gt;") == 1


def test_the_payload_validates_against_the_bbf_schema() -> None:
    """The IQ payload is valid under cwmp-xmppConnReq-1-0.xsd (TR-069 Annex K)."""
    from pathlib import Path

    from lxml import etree

    xsd = Path(__file__).resolve().parents[2] / "data" / "bbf" / "cwmp-xmppConnReq-1-0.xsd"
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    document = etree.fromstring(ET.tostring(connreq_element("cpe-user", "secret")))
    assert schema.validate(document), schema.error_log
    wrong = etree.fromstring(
        f'<connectionRequest xmlns="{CONNREQ_NS}"><password>x</password></connectionRequest>'
    )
    assert not schema.validate(wrong)
