"""Secret parameters: recognising them, masking them in SOAP, and redacting logs."""

from __future__ import annotations

import logging

import pytest

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.secrets import (
    MASK,
    SecretFilter,
    forget_secret,
    install_log_redaction,
    is_secret,
    mask,
    mask_soap,
    redact_text,
    register_secret,
)

SECRET_PATHS = [
    # TR-098
    "InternetGatewayDevice.ManagementServer.Password",
    "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword",
    "InternetGatewayDevice.ManagementServer.STUNPassword",
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.KeyPassphrase",
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.PreSharedKey.1.PreSharedKey",
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.PreSharedKey.1.KeyPassphrase",
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.WEPKey.1.WEPKey",
    "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANPPPConnection.1.Password",
    "InternetGatewayDevice.User.1.Password",
    "InternetGatewayDevice.Services.VoiceService.1.VoiceProfile.1.Line.1.SIP.AuthPassword",
    "InternetGatewayDevice.X_ACME_WebAdmin.AdminPassword",
    # TR-181
    "Device.ManagementServer.Password",
    "Device.ManagementServer.ConnectionRequestPassword",
    "Device.ManagementServer.STUNPassword",
    "Device.WiFi.AccessPoint.1.Security.KeyPassphrase",
    "Device.WiFi.AccessPoint.1.Security.PreSharedKey",
    "Device.WiFi.AccessPoint.1.Security.WEPKey",
    "Device.WiFi.AccessPoint.1.Security.SAEPassphrase",
    "Device.WiFi.AccessPoint.1.Security.RadiusSecret",
    "Device.WiFi.AccessPoint.1.WPS.PIN",
    "Device.PPP.Interface.1.Password",
    "Device.Users.User.2.Password",
    "Device.XMPP.Connection.1.Password",
    "Device.Services.VoiceService.1.SIP.Client.1.AuthPassword",
    "Device.WiFi.AccessPoint.{i}.Security.KeyPassphrase",
    "KeyPassphrase",
]
PLAIN_PATHS = [
    "Device.ManagementServer.Username",
    "Device.ManagementServer.ConnectionRequestUsername",
    "Device.ManagementServer.ParameterKey",
    "Device.ManagementServer.URL",
    "Device.WiFi.SSID.1.SSID",
    "Device.WiFi.AccessPoint.1.Security.ModeEnabled",
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.WEPKeyIndex",
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.PreSharedKey.",
    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.PreSharedKey.1.",
    "Device.Users.User.1.PasswordRequired",
    "Device.WiFi.AccessPoint.1.Security.WEPKeyNumberOfEntries",
    "Device.PPP.Interface.1.Username",
    "",
]


@pytest.mark.parametrize("path", SECRET_PATHS)
def test_secret_paths(path: str) -> None:
    assert is_secret(path)


@pytest.mark.parametrize("path", PLAIN_PATHS)
def test_plain_paths(path: str) -> None:
    assert not is_secret(path)


def test_mask_hides_the_length_and_keeps_empty_visible() -> None:
    assert mask("x") == mask("a much longer password") == MASK
    assert mask("") == "" and mask(None) == ""


def _envelope(message: rpc.Message) -> bytes:
    return codec.serialize(Envelope(message, cwmp_id="7"))


def test_mask_soap_masks_secret_values_in_real_envelopes() -> None:
    spv = _envelope(rpc.SetParameterValues(parameters=(
        rpc.ParameterValue("Device.WiFi.AccessPoint.1.Security.KeyPassphrase", "wifi-key-123",
                           "xsd:string"),
        rpc.ParameterValue("Device.WiFi.SSID.1.SSID", "FieldNet", "xsd:string"),
        rpc.ParameterValue("Device.ManagementServer.ConnectionRequestPassword", "cr&pw<1>",
                           "xsd:string"),
    ), parameter_key="k"))
    masked = mask_soap(spv)
    assert b"wifi-key-123" not in masked and b"cr&amp;pw&lt;1&gt;" not in masked
    assert b"FieldNet" in masked
    assert masked.count(MASK.encode()) == 2
    parsed = codec.parse(masked)  # still a valid envelope
    assert parsed is not None and isinstance(parsed.message, rpc.SetParameterValues)
    values = {p.name: p.value for p in parsed.message.parameters}
    assert values["Device.WiFi.AccessPoint.1.Security.KeyPassphrase"] == MASK
    assert values["Device.WiFi.SSID.1.SSID"] == "FieldNet"

    gpv = _envelope(rpc.GetParameterValuesResponse(parameters=(
        rpc.ParameterValue("InternetGatewayDevice.ManagementServer.Password", "acs-pw"),
        rpc.ParameterValue("InternetGatewayDevice.ManagementServer.Username", "acs-user"),
    )))
    masked = mask_soap(gpv)
    assert b"acs-pw" not in masked and b"acs-user" in masked

    download = _envelope(rpc.Download(command_key="c", file_type="1 Firmware Upgrade Image",
                                      url="http://x/fw", username="fw", password="fw-pass",
                                      file_size=1))
    masked = mask_soap(download)
    assert b"fw-pass" not in masked and b"<Username>fw</Username>" in masked


def test_mask_soap_is_lenient_with_hand_written_and_broken_bodies() -> None:
    body = (
        b"<Envelope><Body><cwmp:Inform><ParameterList>"
        b"<ParameterValueStruct><Value>first-value</Value>"
        b"<Name>Device.PPP.Interface.1.Password</Name></ParameterValueStruct>"
        b"<ParameterValueStruct><n:Name>Device.X.WEPKey</n:Name> <!-- c -->"
        b"<n:Value xsi:type='xsd:string'><![CDATA[cdata-secret]]></n:Value>"
        b"</ParameterValueStruct>"
        b"<ParameterValueStruct><Name>Device.WiFi.AccessPoint.1.Security.PreSharedKey</Name>"
        b"<Value>trunc"  # cut short
    )
    masked = mask_soap(body)
    assert b"first-value" not in masked and b"cdata-secret" not in masked
    assert masked.startswith(b"<Envelope><Body>")
    assert mask_soap(b"") == b"" and mask_soap(b"\x00\xff garbage") == b"\x00\xff garbage"


def test_redact_text_forms() -> None:
    cases = {
        "set Device.WiFi.AccessPoint.1.Security.KeyPassphrase=hunter22 now": "hunter22",
        "ParameterValue(name='Device.PPP.Interface.1.Password', value='ppp-pw', type='x')":
            "ppp-pw",
        "{'InternetGatewayDevice.ManagementServer.Password': 'acs-pw'}": "acs-pw",
        '["Device.Users.User.1.Password", "user-pw"]': "user-pw",
        "headers: Authorization: Basic dXNlcjpwYXNz": "dXNlcjpwYXNz",
        "<Name>Device.X.KeyPassphrase</Name><Value>soap-pw</Value>": "soap-pw",
    }
    for text, secret in cases.items():
        out = redact_text(text)
        assert secret not in out, out
        assert MASK in out
    assert redact_text("Device.WiFi.SSID.1.SSID=FieldNet") == "Device.WiFi.SSID.1.SSID=FieldNet"


def test_log_filter_redacts_messages_args_and_exceptions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("fieldacs.test.secrets")
    handler = caplog.handler
    flt = install_log_redaction(handlers=[handler])
    register_secret("configured-cpe-password")
    try:
        caplog.set_level(logging.INFO, logger="fieldacs.test.secrets")
        logger.info("value %s", "Device.ManagementServer.Password=abcdef1")
        logger.info("cpe password is %s", "configured-cpe-password")
        try:
            raise ValueError("Device.WiFi.AccessPoint.1.Security.PreSharedKey=pskpskpsk")
        except ValueError:
            logger.exception("failed")
        text = caplog.text
        assert "abcdef1" not in text
        assert "configured-cpe-password" not in text
        assert "pskpskpsk" not in text
        assert text.count(MASK) >= 3
    finally:
        handler.removeFilter(flt)
        forget_secret("configured-cpe-password")


def test_filter_never_drops_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "broken %d", ("x",), None)
    assert SecretFilter().filter(record) is True
