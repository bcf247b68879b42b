"""Masking, issue 11 finding 11: vendor secret names, passwords inside URLs, and Name/Value
pairs with another element between them, in real CWMP bodies (made by our codec)."""

from __future__ import annotations

import logging

import pytest

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.secrets import (
    MASK,
    SecretFilter,
    is_secret,
    mask_soap,
    mask_url_passwords,
    redact_text,
)

VENDOR_SECRETS = [
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.X_ACME_WPAKey",
    "Device.X_TP_APIKey",
    "Device.WiFi.AccessPoint.1.Security.X_HW_PSKValue",
    "Device.WiFi.AccessPoint.1.Security.WPAPSK",
    "Device.X_ACME_SecretValue",
    "Device.Users.User.1.X_ACME_Password_Hash",
    "Device.WiFi.AccessPoint.1.Security.X_ZTE-COM_WPAPassphrase",
    "Device.Services.X_ACME_SharedSecretHex",
]
NOT_SECRETS = [
    "Device.ManagementServer.ParameterKey",
    "Device.WiFi.AccessPoint.1.Security.X_ACME_KeyIndex",
    "Device.WiFi.AccessPoint.1.Security.WEPKeyIndex",
    "Device.WiFi.AccessPoint.1.Security.PSKNumberOfEntries",
    "Device.X_ACME_SecretEnable",
    "Device.WiFi.AccessPoint.1.Security.ModeEnabled",
]


@pytest.mark.parametrize("path", VENDOR_SECRETS)
def test_attack_vendor_secret_names_are_secret(path: str) -> None:
    assert is_secret(path)


@pytest.mark.parametrize("path", NOT_SECRETS)
def test_flags_and_counts_near_secret_names_stay_visible(path: str) -> None:
    assert not is_secret(path)


def test_attack_vendor_secrets_in_an_inform_are_masked() -> None:
    values = [(path, f"hunter{i}-secret", "xsd:string") for i, path in enumerate(VENDOR_SECRETS)]
    body = codec.serialize(Envelope(rpc.Inform(
        device_id=rpc.DeviceId("ACME", "0011AA", "Box", "SN1"),
        events=(rpc.EventStruct("2 PERIODIC"),),
        current_time="2026-12-07T06:00:00Z",
        parameters=tuple(rpc.ParameterValue(n, v, t) for n, v, t in values),
    ), cwmp_id="1"))
    masked = mask_soap(body)
    for _, value, _ in values:
        assert value.encode() in body and value.encode() not in masked
    assert masked.count(MASK.encode()) == len(values)
    assert b"SN1" in masked and b"2 PERIODIC" in masked  # nothing else touched


def test_attack_password_inside_a_url_is_masked() -> None:
    url = "http://admin:Sup3r-s3cret@10.0.0.1:8080/fw.bin"
    body = codec.serialize(Envelope(rpc.SetParameterValues(
        parameters=(rpc.ParameterValue("Device.ManagementServer.URL", url, "xsd:string"),),
        parameter_key="k",
    ), cwmp_id="1"))
    download = codec.serialize(Envelope(rpc.Download(
        command_key="fw", file_type="1 Firmware Upgrade Image", url="ftp://u:pa:ss@h/x",
    ), cwmp_id="2"))
    for raw, secret in ((body, b"Sup3r-s3cret"), (download, b"pa:ss")):
        masked = mask_soap(raw)
        assert secret in raw and secret not in masked
    assert b"http://admin:" + MASK.encode() + b"@10.0.0.1:8080/fw.bin" in mask_soap(body)
    assert mask_url_passwords("see https://bob:pw1234@acs.example/x and http://h/y") == (
        f"see https://bob:{MASK}@acs.example/x and http://h/y"
    )
    assert mask_url_passwords("http://host:7547/path@x") == "http://host:7547/path@x"
    assert "pw1234" not in redact_text("connecting to https://bob:pw1234@acs.example/x")


def test_attack_name_and_value_with_another_element_between_are_masked() -> None:
    body = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soap:Body><cwmp:GetParameterValuesResponse><ParameterList>"
        b"<ParameterValueStruct><Name>Device.WiFi.AccessPoint.1.Security.KeyPassphrase</Name>"
        b"<Type>xsd:string</Type><Notification>0</Notification>"
        b'<Value xmlns:x="urn:x/y" xsi:type="xsd:string">wifi-pass-123</Value>'
        b"</ParameterValueStruct>"
        b"<ParameterValueStruct><Value>ppp-pass-456</Value><X_Vendor>1</X_Vendor>"
        b"<Name>Device.PPP.Interface.1.Password</Name></ParameterValueStruct>"
        b"<ParameterValueStruct><Name>Device.DeviceInfo.SerialNumber</Name><Extra/>"
        b"<Value>SN-visible</Value></ParameterValueStruct>"
        b"</ParameterList></cwmp:GetParameterValuesResponse></soap:Body></soap:Envelope>"
    )
    masked = mask_soap(body)
    assert b"wifi-pass-123" not in masked and b"ppp-pass-456" not in masked
    assert b"SN-visible" in masked and b"<Type>xsd:string</Type>" in masked


def test_a_value_never_pairs_across_structs() -> None:
    body = (
        b"<ParameterValueStruct><Name>Device.X.Password</Name></ParameterValueStruct>"
        b"<ParameterValueStruct><Value>harmless</Value></ParameterValueStruct>"
    )
    assert mask_soap(body) == body


def test_attack_log_records_with_vendor_secrets_and_url_passwords_are_redacted() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "set %s=%s via %s",
        ("Device.X_ACME_WPAKey", "k3y-v4lue", "https://ops:opspw99@acs/"), None,
    )
    SecretFilter().filter(record)
    text = record.getMessage()
    assert "k3y-v4lue" not in text and "opspw99" not in text and MASK in text


def test_masking_stays_linear_on_hostile_bodies() -> None:
    """Bodies built to make a backtracking pattern explode finish and keep their bytes."""
    for body in (
        b"<Name>" * 20_000,
        b"<Value>" + b"a://" * 20_000,
        b"http://" + b"x:" * 50_000,
        b"<Name>Password</Name>" + b"<x>" * 20_000 + b"<Value>v</Value>",
    ):
        masked = mask_soap(body)
        assert len(masked) >= len(body) - len(b"v") and masked[:7] == body[:7]


def test_redact_text_masks_a_digest_response_wherever_it_is() -> None:
    """A Digest Authorization header's ``response=`` is a hash of the password (an offline
    guess finds weak ones): free text, header tuples and escaped JSON all lose it."""
    digest = "0123456789abcdef0123456789abcdef"
    texts = [
        f'Authorization: Digest username="cpe", realm="FieldACS", nonce="n", uri="/", '
        f'response="{digest}", qop=auth, nc=00000001, cnonce="c"',
        f"headers=(('Authorization', 'Digest username=\"cpe\", response=\"{digest}\"'),)",
        f'{{"authorization": "Digest username=\\"cpe\\", response=\\"{digest}\\""}}',
        f"response='{digest}'",
    ]
    for text in texts:
        out = redact_text(text)
        assert digest not in out, out
        assert MASK in out
    # An ordinary word "response=" with a non-hash value is left alone.
    assert redact_text("the response=ok here") == "the response=ok here"
