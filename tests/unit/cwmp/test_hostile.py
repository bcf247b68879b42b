"""Hostile and broken documents: refused quickly, with a clear reason, and nothing leaks."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from acs_engine.cwmp import codec

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Envelope><Body><Kicked><Command>&lol9;</Command></Kicked></Body></Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<Envelope><Body><Kicked><Command>&xxe;</Command></Kicked></Body></Envelope>"""


def _reason(body: bytes) -> str:
    with pytest.raises(codec.CwmpParseError) as info:
        codec.parse(body)
    return str(info.value)


def test_billion_laughs_fails_fast() -> None:
    started = time.perf_counter()
    assert "DOCTYPE is not allowed" in _reason(BILLION_LAUGHS)
    assert time.perf_counter() - started < 0.1


def test_billion_laughs_in_utf16_fails_fast() -> None:
    body = BILLION_LAUGHS.replace(b'<?xml version="1.0"?>',
                                  b'<?xml version="1.0" encoding="UTF-16"?>').decode()
    started = time.perf_counter()
    assert "DOCTYPE is not allowed" in _reason(body.encode("utf-16"))
    assert time.perf_counter() - started < 0.1


def test_external_entity_is_refused_and_nothing_is_read() -> None:
    reason = _reason(EXTERNAL_ENTITY)
    assert "DOCTYPE is not allowed" in reason
    assert "root:" not in reason


def test_doctype_alone_is_refused() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE Envelope><Envelope><Body><GetRPCMethods/></Body></Envelope>'
    assert "DOCTYPE" in _reason(body)


def test_doctype_check_also_runs_after_parsing() -> None:
    # UTF-32 hides the marker from the byte scan; the parsed tree's docinfo still shows it.
    body = '<!DOCTYPE Envelope><Envelope><Body><GetRPCMethods/></Body></Envelope>'
    assert "DOCTYPE is not allowed" in _reason(body.encode("utf-32"))


def test_xinclude_is_not_processed() -> None:
    body = b"""<Envelope xmlns:xi="http://www.w3.org/2001/XInclude"><Body><Kicked>
      <Command><xi:include href="file:///etc/passwd" parse="text"/></Command>
      </Kicked></Body></Envelope>"""
    env = codec.parse(body)
    assert env is not None
    assert "root:" not in repr(env)


@pytest.mark.parametrize(
    "body", [b"hello", b"\x00\xff\xfe garbage", b"<Envelope><Body>", b"{\"json\": true}",
             b"<a></b>"],
)
def test_not_xml(body: bytes) -> None:
    assert _reason(body).startswith(("not well-formed XML", "cannot parse XML"))


def test_not_well_formed_reason_names_the_line() -> None:
    body = b"<Envelope>\n<Body>\n<Inform></Body>\n</Envelope>"
    reason = _reason(body)
    assert reason.startswith("not well-formed XML")
    assert "line 3" in reason


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "not a SOAP envelope: root element is <html>"),
        (b"<Envelope><Header/></Envelope>", "no SOAP Body"),
        (b"<Envelope><Body>  </Body></Envelope>", "empty SOAP Body"),
        (b"<Envelope><Body><Inform><Event/></Inform></Body></Envelope>",
         "Inform without DeviceId"),
        (b"<Envelope><Body><Inform><DeviceId><OUI>001122</OUI></DeviceId></Inform></Body>"
         b"</Envelope>", "Inform DeviceId without SerialNumber"),
        (b"<Envelope><Body><Inform><DeviceId><SerialNumber>x</SerialNumber></DeviceId>"
         b"</Inform></Body></Envelope>", "Inform DeviceId without OUI"),
    ],
)
def test_soap_structure_errors(body: bytes, expected: str) -> None:
    assert expected in _reason(body)


def test_parse_errors_carry_the_id_when_the_header_was_read() -> None:
    body = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
            b'xmlns:cwmp="urn:dslforum-org:cwmp-1-1"><e:Header><cwmp:ID>77</cwmp:ID></e:Header>'
            b"<e:Body><cwmp:Inform/></e:Body></e:Envelope>")
    with pytest.raises(codec.CwmpParseError) as info:
        codec.parse(body)
    assert info.value.cwmp_id == "77"
    assert info.value.method == "Inform"
    assert info.value.namespace == "urn:dslforum-org:cwmp-1-1"


def test_unknown_method_error_has_method_and_id() -> None:
    body = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
            b'xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><e:Header>'
            b'<cwmp:ID e:mustUnderstand="1">abc-1</cwmp:ID></e:Header>'
            b"<e:Body><cwmp:X_ACME_Teleport><Where>moon</Where></cwmp:X_ACME_Teleport>"
            b"</e:Body></e:Envelope>")
    with pytest.raises(codec.UnknownMethodError) as info:
        codec.parse(body)
    err = info.value
    assert isinstance(err, codec.CwmpParseError)
    assert isinstance(err, ValueError)
    assert (err.method, err.cwmp_id) == ("X_ACME_Teleport", "abc-1")
    assert err.namespace == "urn:dslforum-org:cwmp-1-2"
    assert "X_ACME_Teleport" in str(err)


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    depth = 5000
    body = b"<Envelope><Body><Kicked>" + b"<a>" * depth + b"</a>" * depth + \
        b"</Kicked></Body></Envelope>"
    assert _reason(body).startswith("not well-formed XML")


def test_undefined_entity_is_an_error() -> None:
    assert "not well-formed" in _reason(b"<Envelope><Body>&foo;</Body></Envelope>")


def test_detect_version_rejects_foreign_namespaces() -> None:
    env = codec.parse(b"<Envelope><Body><GetRPCMethods/></Body></Envelope>")
    assert env is not None
    with pytest.raises(codec.CwmpParseError, match="unrecognised CWMP namespace"):
        codec.detect_version(replace(env, namespace="urn:example"))
