"""Every message class, in every CWMP version: serialize -> BBF schema -> parse -> equal."""

from __future__ import annotations

import dataclasses

import pytest

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import (
    NS_CWMP_1_0,
    NS_CWMP_1_1,
    NS_CWMP_1_2,
    NS_CWMP_1_3,
    NS_CWMP_1_4,
    Envelope,
)
from tests.helpers.schema import declared_elements, validate
from tests.unit.cwmp.samples import SAMPLES

#: Version -> namespace we send it in.
NAMESPACE = {"1.0": NS_CWMP_1_0, "1.1": NS_CWMP_1_1, "1.2": NS_CWMP_1_2, "1.3": NS_CWMP_1_2,
             "1.4": NS_CWMP_1_2}

#: Messages a version's schema does not define (added in later versions).
NOT_IN_VERSION = {
    ("AutonomousTransferComplete", "1.0"), ("AutonomousTransferCompleteResponse", "1.0"),
    *((m, v) for v in ("1.0", "1.1") for m in (
        "DUStateChangeComplete", "DUStateChangeCompleteResponse",
        "AutonomousDUStateChangeComplete", "AutonomousDUStateChangeCompleteResponse",
    )),
}

CASES = [(cls, v) for cls in rpc.ALL_MESSAGES for v in NAMESPACE]


def envelope_for(message: rpc.Message, version: str) -> Envelope:
    """A realistic envelope for ``message`` using the headers ``version`` has."""
    kwargs: dict[str, object] = {"cwmp_id": f"id-{message.METHOD}-{version}"}
    if message.ACS_REQUEST:
        kwargs["hold_requests"] = version in ("1.1", "1.3")
    if isinstance(message, rpc.Inform) and version in ("1.3", "1.4"):
        kwargs["session_timeout"] = 45
    if isinstance(message, rpc.Inform) and version == "1.4":
        kwargs["supported_versions"] = ("1.0", "1.1", "1.2", "1.3", "1.4")
    if isinstance(message, rpc.InformResponse) and version == "1.4":
        kwargs["use_cwmp_version"] = "1.4"
    return Envelope(message=message, namespace=NAMESPACE[version], **kwargs)  # type: ignore[arg-type]


def test_samples_cover_every_message_class() -> None:
    assert set(SAMPLES) == set(rpc.ALL_MESSAGES)
    for cls, sample in SAMPLES.items():
        assert type(sample) is cls


@pytest.mark.parametrize(("cls", "version"), CASES,
                         ids=[f"{c.METHOD}-{v}" for c, v in CASES])
def test_round_trip_validates_and_parses_back_equal(cls: type[rpc.Message], version: str) -> None:
    env = envelope_for(SAMPLES[cls], version)
    wire = codec.serialize(env)
    if (cls.METHOD, version) in NOT_IN_VERSION:
        assert cls.METHOD not in declared_elements(version)
    else:
        validate(wire, version)
    assert codec.parse(wire) == env


def test_not_in_version_table_matches_the_schemas() -> None:
    missing = {(cls.METHOD, v) for cls, v in CASES if cls.METHOD not in declared_elements(v)}
    assert missing == NOT_IN_VERSION


@pytest.mark.parametrize("cls", rpc.ALL_MESSAGES, ids=lambda c: c.METHOD)
@pytest.mark.parametrize("namespace", [NS_CWMP_1_3, NS_CWMP_1_4])
def test_round_trip_in_unofficial_namespaces(cls: type[rpc.Message], namespace: str) -> None:
    env = dataclasses.replace(envelope_for(SAMPLES[cls], "1.4"), namespace=namespace)
    wire = codec.serialize(env)
    assert namespace.encode() in wire
    if cls.METHOD in declared_elements("1.4"):
        validate(wire, "1.4")
    assert codec.parse(wire) == env


@pytest.mark.parametrize(
    "cls", [c for c in rpc.ALL_MESSAGES if c is not rpc.Inform], ids=lambda c: c.METHOD
)
def test_default_instances_round_trip(cls: type[rpc.Message]) -> None:
    env = Envelope(message=cls(), cwmp_id="1")
    assert codec.parse(codec.serialize(env)) == env


def test_envelope_without_headers_has_no_header_element() -> None:
    wire = codec.serialize(Envelope(rpc.GetRPCMethods()))
    assert b"Header" not in wire
    validate(wire, "1.0")
    assert codec.parse(wire) == Envelope(rpc.GetRPCMethods())


def test_wire_shape_of_an_rpc() -> None:
    wire = codec.serialize(Envelope(SAMPLES[rpc.SetParameterValues], cwmp_id="7",
                                    hold_requests=True))
    text = wire.decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert '<cwmp:ID soap-env:mustUnderstand="1">7</cwmp:ID>' in text
    assert '<cwmp:HoldRequests soap-env:mustUnderstand="1">1</cwmp:HoldRequests>' in text
    assert '<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[3]">' in text
    assert '<Value xsi:type="xsd:unsignedInt">300</Value>' in text
    assert '<Value xsi:type="xsd:string">Café &lt;guest&gt; &amp; friends</Value>' in text
    assert "<cwmp:SetParameterValues><ParameterList" in text
    for prefix in ("soap-env", "soap-enc", "xsd", "xsi", "cwmp"):
        assert f"xmlns:{prefix}=" in text


def test_array_types_per_array() -> None:
    cases = {
        rpc.GetParameterValues: 'ParameterNames soap-enc:arrayType="xsd:string[2]"',
        rpc.GetRPCMethodsResponse: 'MethodList soap-enc:arrayType="xsd:string[8]"',
        rpc.Inform: 'Event soap-enc:arrayType="cwmp:EventStruct[3]"',
        rpc.GetParameterNamesResponse:
            'ParameterList soap-enc:arrayType="cwmp:ParameterInfoStruct[3]"',
        rpc.SetParameterAttributes:
            'ParameterList soap-enc:arrayType="cwmp:SetParameterAttributesStruct[2]"',
        rpc.GetParameterAttributesResponse:
            'ParameterList soap-enc:arrayType="cwmp:ParameterAttributeStruct[2]"',
        rpc.RequestDownload: 'FileTypeArg soap-enc:arrayType="cwmp:ArgStruct[2]"',
    }
    for cls, fragment in cases.items():
        assert fragment in codec.serialize(Envelope(SAMPLES[cls])).decode(), cls
    spa = codec.serialize(Envelope(SAMPLES[rpc.SetParameterAttributes])).decode()
    assert 'AccessList soap-enc:arrayType="xsd:string[1]"><string>Subscriber</string>' in spa


def test_fault_wire_shape() -> None:
    text = codec.serialize(Envelope(SAMPLES[rpc.Fault], cwmp_id="9")).decode()
    assert "<soap-env:Fault><faultcode>Client</faultcode>" in text
    assert "<faultstring>CWMP fault</faultstring><detail><cwmp:Fault><FaultCode>9003" in text
    assert text.count("<SetParameterValuesFault>") == 2
    assert "<FaultString>Invalid parameter value</FaultString>" in text


def test_serialize_refuses_characters_xml_cannot_carry() -> None:
    env = Envelope(rpc.SetParameterValues((rpc.ParameterValue("A.B", "bell\x07"),)))
    with pytest.raises(ValueError, match="U\\+0007"):
        codec.serialize(env)


def test_serialize_rejects_non_messages() -> None:
    with pytest.raises(TypeError):
        codec.serialize(Envelope(rpc.Message()))


def test_value_types_are_normalized_on_the_wire() -> None:
    env = Envelope(rpc.SetParameterValues((rpc.ParameterValue("A.B", "5", "unsignedint"),)))
    wire = codec.serialize(env)
    assert b'xsi:type="xsd:unsignedInt"' in wire
    parsed = codec.parse(wire)
    assert parsed is not None
    assert isinstance(parsed.message, rpc.SetParameterValues)
    assert parsed.message.parameters[0].type == "xsd:unsignedInt"
