"""The CPE linter: a correct session has no finding; each rule finds what it should."""

from __future__ import annotations

from dataclasses import replace

import pytest

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_0, Envelope
from acs_engine.inspect.lint import MAX_PER_RULE, Finding, Severity, has_errors, lint_messages
from acs_engine.inspect.sessionfile import Message

XML = (("Content-Type", 'text/xml; charset="utf-8"'), ("SOAPAction", ""))
COOKIE = (("Cookie", "session=abc"),)
FORCED = (
    ("Device.RootDataModelVersion", "2.17", "xsd:string"),
    ("Device.DeviceInfo.HardwareVersion", "HW1", "xsd:string"),
    ("Device.DeviceInfo.SoftwareVersion", "1.0.0", "xsd:string"),
    ("Device.DeviceInfo.ProvisioningCode", "", "xsd:string"),
    ("Device.ManagementServer.ParameterKey", "", "xsd:string"),
    ("Device.ManagementServer.ConnectionRequestURL", "http://10.0.0.2:7547/cr", "xsd:string"),
    ("Device.ManagementServer.AliasBasedAddressing", "false", "xsd:boolean"),
)


def inform(events: tuple[tuple[str, str], ...] = (("1 BOOT", ""),),
           params: tuple[tuple[str, str, str], ...] = FORCED) -> rpc.Inform:
    return rpc.Inform(
        device_id=rpc.DeviceId("Acme", "F1E1D0", "GW", "SN1"),
        events=tuple(rpc.EventStruct(c, k) for c, k in events),
        current_time="2026-12-07T06:00:00Z",
        parameters=tuple(rpc.ParameterValue(n, v, t) for n, v, t in params),
    )


def body(message: rpc.Message, cwmp_id: str = "1") -> bytes:
    return codec.serialize(Envelope(message, cwmp_id=cwmp_id, namespace=NS_CWMP_1_0))


def cpe(message: rpc.Message | None, cwmp_id: str = "1",
        headers: tuple[tuple[str, str], ...] | None = None, at: float = 1.0) -> Message:
    data = body(message, cwmp_id) if message is not None else b""
    if headers is None:
        headers = (XML if message is not None else ()) + (COOKIE if at > 1 else ())
    return Message(at, "in", message.METHOD if message else "", cwmp_id if message else None,
                   None, headers, data)


def acs(message: rpc.Message | None, status: int = 200, cwmp_id: str = "a1",
        headers: tuple[tuple[str, str], ...] = (), at: float = 1.0) -> Message:
    data = body(message, cwmp_id) if message is not None else b""
    return Message(at, "out", message.METHOD if message else "", cwmp_id if message else None,
                   status, headers, data)


GPV = rpc.GetParameterValues(names=("Device.DeviceInfo.SoftwareVersion",))
GPV_RESPONSE = rpc.GetParameterValuesResponse(parameters=(
    rpc.ParameterValue("Device.DeviceInfo.SoftwareVersion", "1.0.0", "xsd:string"),))


def session(first: rpc.Inform | None = None, middle: list[Message] | None = None) -> list[Message]:
    """Inform, InformResponse (sets a cookie), empty POST, GPV, its answer, 204."""
    return [
        cpe(first or inform()),
        acs(rpc.InformResponse(), cwmp_id="1", headers=(("Set-Cookie", "session=abc; Path=/"),)),
        *(middle if middle is not None else [
            cpe(None, at=2.0), acs(GPV, cwmp_id="a1"), cpe(GPV_RESPONSE, "a1", at=3.0)]),
        acs(None, 204, at=4.0),
    ]


def rules(findings: list[Finding], severity: Severity | None = None) -> set[str]:
    return {f.rule for f in findings if severity is None or f.severity is severity}


def test_a_correct_session_has_no_finding() -> None:
    assert lint_messages(session()) == []


def test_findings_name_severity_element_rule_and_reference() -> None:
    bad = inform(params=FORCED[1:])  # no RootDataModelVersion (a soft forced parameter)
    params = tuple(p for p in FORCED if p[0] != "Device.DeviceInfo.SoftwareVersion")
    findings = lint_messages(session(inform(params=params)))
    [missing] = [f for f in findings if f.rule == "inform-forced"]
    assert missing.severity is Severity.ERROR and missing.index == 0
    assert missing.element == "Device.DeviceInfo.SoftwareVersion"
    assert "TR-069" in missing.reference and "forced" in missing.message
    assert missing.to_json()["reference"] == missing.reference
    assert "ERROR" in missing.line() and "#1" in missing.line()
    soft = lint_messages(session(bad))
    assert rules(soft) == {"inform-forced"} and not has_errors(soft)


@pytest.mark.parametrize(
    ("events", "rule", "severity", "first_contact"),
    [
        ((("M Reboot", "k"),), "event-pair", Severity.ERROR, None),
        ((("1 BOOT", ""), ("1 BOOT", "")), "event-code", Severity.ERROR, None),
        ((("15 SOMETHING", ""),), "event-code", Severity.WARNING, None),
        ((("bogus",),), "event-code", Severity.ERROR, None),
        ((("2 PERIODIC", "key"),), "event-commandkey", Severity.WARNING, None),
        ((("3 SCHEDULED", ""),), "event-pair", Severity.ERROR, None),
        ((("2 PERIODIC", ""),), "event-bootstrap", Severity.WARNING, True),
        ((("0 BOOTSTRAP", ""),), "event-bootstrap", Severity.INFO, False),
        ((("14 HEARTBEAT", ""), ("2 PERIODIC", "")), "event-pair", Severity.WARNING, None),
        ((("7 TRANSFER COMPLETE", ""),), "event-transfer", Severity.ERROR, None),
    ],
)
def test_event_code_rules(events: tuple[tuple[str, ...], ...], rule: str, severity: Severity,
                          first_contact: bool | None) -> None:
    full = tuple((e[0], e[1] if len(e) > 1 else "") for e in events)
    findings = lint_messages(session(inform(full)), first_contact=first_contact)
    assert any(f.rule == rule and f.severity is severity for f in findings), findings


def test_transfer_complete_must_match_its_event_and_command_key() -> None:
    done = rpc.TransferComplete(command_key="other", fault=rpc.FaultStruct(0, ""))
    middle = [cpe(done, "t1", at=2.0), acs(rpc.TransferCompleteResponse(), cwmp_id="t1"),
              cpe(None, at=2.5)]
    ok = lint_messages(session(inform((("1 BOOT", ""), ("7 TRANSFER COMPLETE", ""),
                                      ("M Download", "dl1"))), middle))
    assert [f.message for f in ok if f.rule == "event-commandkey"] == [
        "M Download CommandKey 'dl1' matches no TransferComplete"]
    unannounced = lint_messages(session(inform(), middle))
    assert any(f.rule == "event-transfer" and f.severity is Severity.ERROR
               and "without 7 TRANSFER COMPLETE" in f.message for f in unannounced)
    bad_code = rpc.TransferComplete(command_key="x", fault=rpc.FaultStruct(8002, "no"))
    middle[0] = cpe(bad_code, "t1", at=2.0)
    assert "fault-range" in rules(lint_messages(session(inform(
        (("7 TRANSFER COMPLETE", ""),)), middle)), Severity.ERROR)


def test_value_types_and_ranges_against_the_data_model() -> None:
    params = (*FORCED[:6], ("Device.ManagementServer.AliasBasedAddressing", "maybe", "xsd:string"),
              ("Device.ManagementServer.PeriodicInformInterval", "0", "xsd:unsignedInt"),
              ("Device.X_ACME_Thing", "anything", "xsd:string"))
    findings = lint_messages(session(inform(params=params)))
    by = {(f.element, f.rule, f.severity) for f in findings}
    assert ("Device.ManagementServer.AliasBasedAddressing", "inform-type",
            Severity.ERROR) in by
    assert ("Device.ManagementServer.AliasBasedAddressing", "inform-type",
            Severity.WARNING) in by  # sent as xsd:string
    assert ("Device.ManagementServer.PeriodicInformInterval", "inform-value",
            Severity.WARNING) in by
    assert not any(f.element == "Device.X_ACME_Thing" for f in findings)


def test_missing_xsi_type_is_a_warning() -> None:
    first = cpe(inform())
    stripped = first.body.replace(b' xsi:type="xsd:string"', b"", 1)
    findings = lint_messages([replace(first, body=stripped), *session()[1:]])
    assert any(f.rule == "inform-type" and "no xsi:type" in f.message for f in findings)


def test_schema_violations_of_the_declared_version() -> None:
    first = cpe(inform())
    forged = first.body.replace(b"<MaxEnvelopes>", b"<Extra>1</Extra><MaxEnvelopes>")
    findings = lint_messages([replace(first, body=forged), *session()[1:]])
    xsd = [f for f in findings if f.rule == "cwmp-xsd"]
    assert xsd and xsd[0].severity is Severity.ERROR and "1.0 schema" in xsd[0].message
    assert xsd[0].element.startswith("Inform")


def test_unreadable_bodies_are_findings_not_exceptions() -> None:
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    for data in (b"<soap:Envelope><unclosed>", doctype, b"\xff\xfe\x00garbage"):
        broken = Message(1.0, "in", "", None, None, XML, data)
        findings = lint_messages([broken])
        assert "soap-parse" in rules(findings, Severity.ERROR), data


def test_faults_from_the_cpe() -> None:
    wrong_range = rpc.Fault(code=8002, string="Internal error", faultcode="Server")
    wrong_type = rpc.Fault(code=9005, string="Invalid parameter name", faultcode="Server")
    reserved = rpc.Fault(code=9500, string="?", faultcode="Server")
    for fault, rule, severity in ((wrong_range, "fault-range", Severity.ERROR),
                                  (wrong_type, "fault-type", Severity.WARNING),
                                  (reserved, "fault-range", Severity.WARNING)):
        middle = [cpe(None, at=2.0), acs(GPV), cpe(fault, "a1", at=3.0)]
        findings = lint_messages(session(middle=middle))
        assert any(f.rule == rule and f.severity is severity for f in findings), fault
    # A fault answering nothing breaks the session's order.
    stray = lint_messages(session(middle=[cpe(wrong_type, "x", at=2.0)]))
    assert "session-order" in rules(stray, Severity.ERROR)


def test_session_order_and_cwmp_id() -> None:
    empty_while_pending = [cpe(None, at=2.0), acs(GPV), cpe(None, at=3.0)]
    assert "session-order" in rules(lint_messages(session(middle=empty_while_pending)))
    wrong_answer = [cpe(None, at=2.0), acs(GPV),
                    cpe(rpc.SetParameterValuesResponse(status=0), "a1", at=3.0)]
    assert "session-order" in rules(lint_messages(session(middle=wrong_answer)))
    wrong_id = [cpe(None, at=2.0), acs(GPV), cpe(GPV_RESPONSE, "zzz", at=3.0)]
    assert rules(lint_messages(session(middle=wrong_id))) == {"cwmp-id"}
    no_inform = [cpe(None), acs(None, 204)]
    assert "session-order" in rules(lint_messages(no_inform), Severity.ERROR)


def test_http_rules() -> None:
    with_ct = [cpe(None, headers=(("Content-Type", "text/xml"), *COOKIE), at=2.0), acs(GPV),
               cpe(GPV_RESPONSE, "a1", at=3.0)]
    assert rules(lint_messages(session(middle=with_ct))) == {"http-empty-post"}
    plain = [cpe(None, at=2.0), acs(GPV),
             cpe(GPV_RESPONSE, "a1", headers=(("Content-Type", "text/plain"), *COOKIE), at=3.0)]
    assert rules(lint_messages(session(middle=plain))) == {"http-content-type"}
    no_cookie = [cpe(None, headers=(), at=2.0), acs(GPV), cpe(GPV_RESPONSE, "a1", at=3.0)]
    found = lint_messages(session(middle=no_cookie))
    assert rules(found) == {"http-cookie"} and has_errors(found)
    action = [cpe(None, at=2.0), acs(GPV), cpe(GPV_RESPONSE, "a1", headers=(
        *XML[:1], ("SOAPAction", "GetParameterValuesResponse"), *COOKIE), at=3.0)]
    assert rules(lint_messages(session(middle=action))) == {"http-soapaction"}


def test_writable_flags_against_the_data_model() -> None:
    names = rpc.GetParameterNamesResponse(parameters=(
        rpc.ParameterInfo("Device.DeviceInfo.SoftwareVersion", True),
        rpc.ParameterInfo("Device.ManagementServer.PeriodicInformInterval", False),
        rpc.ParameterInfo("Device.ManagementServer.PeriodicInformEnable", True),
    ))
    gpn = rpc.GetParameterNames(parameter_path="Device.", next_level=False)
    findings = lint_messages(session(middle=[cpe(None, at=2.0), acs(gpn),
                                             cpe(names, "a1", at=3.0)]))
    assert {(f.element, f.severity) for f in findings} == {
        ("Device.DeviceInfo.SoftwareVersion", Severity.WARNING),
        ("Device.ManagementServer.PeriodicInformInterval", Severity.INFO),
    }


def test_a_huge_bad_parameter_list_is_capped_not_repeated() -> None:
    bad = tuple((f"Device.Ethernet.Interface.{n}.MaxBitRate", "fast", "xsd:int")
                for n in range(1, 3001))
    findings = lint_messages(session(inform(params=FORCED + bad)))
    typed = [f for f in findings if f.rule == "inform-type" and f.severity is Severity.ERROR]
    assert len(typed) == MAX_PER_RULE
    assert any(f.rule == "inform-type" and "more inform-type findings" in f.message
               for f in findings if f.severity is Severity.INFO)
    xsd = [f for f in findings if f.rule == "cwmp-xsd"]
    assert 0 < len(xsd) <= 20


def test_values_masked_in_a_saved_file_are_not_judged() -> None:
    wep = ("Device.WiFi.AccessPoint.1.Security.WEPKey", "********", "xsd:hexBinary")
    messages = session(middle=[cpe(None, at=2.0), acs(GPV), cpe(
        rpc.GetParameterValuesResponse(parameters=(rpc.ParameterValue(*wep),)), "a1", at=3.0)])
    assert "inform-type" in rules(lint_messages(messages), Severity.ERROR)
    assert lint_messages(messages, masked=True) == []


def test_deeply_nested_and_oversized_bodies_are_findings() -> None:
    deep = b"<a>" * 100_000 + b"</a>" * 100_000
    findings = lint_messages([Message(1.0, "in", "", None, None, XML, deep)])
    assert "soap-parse" in rules(findings, Severity.ERROR)
    # An Inform with 20,000 identical events: one event-code finding, capped, not 20,000.
    many = inform(events=tuple(("2 PERIODIC", "") for _ in range(20_000)))
    findings = lint_messages(session(many))
    assert len([f for f in findings if f.rule == "event-code"]) <= MAX_PER_RULE + 1
