"""The schema helper itself must be strict, or the round-trip tests prove nothing."""

from __future__ import annotations

import pytest

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from tests.helpers.schema import SchemaViolation, declared_elements, errors, validate


def _wire(message: rpc.Message, **kwargs: object) -> bytes:
    return codec.serialize(Envelope(message, cwmp_id="1", **kwargs))  # type: ignore[arg-type]


def test_valid_envelope_passes() -> None:
    validate(_wire(rpc.InformResponse()), "1.0")


def test_wrong_value_for_xsi_type_fails() -> None:
    wire = _wire(rpc.SetParameterValues((rpc.ParameterValue("A", "abc", "xsd:unsignedInt"),)))
    assert any("unsignedInt" in e for e in errors(wire, "1.0"))


def test_children_out_of_order_fail() -> None:
    wire = _wire(rpc.AddObject("A.", "k")).replace(
        b"<ObjectName>A.</ObjectName><ParameterKey>k</ParameterKey>",
        b"<ParameterKey>k</ParameterKey><ObjectName>A.</ObjectName>")
    with pytest.raises(SchemaViolation):
        validate(wire, "1.0")


def test_qualified_children_fail() -> None:
    wire = _wire(rpc.Reboot("x")).replace(b"<CommandKey>x</CommandKey>",
                                          b"<cwmp:CommandKey>x</cwmp:CommandKey>")
    assert errors(wire, "1.0")


def test_unknown_body_element_fails() -> None:
    wire = _wire(rpc.RebootResponse()).replace(b"RebootResponse", b"RebootResponze")
    assert errors(wire, "1.0")


def test_missing_array_type_fails() -> None:
    wire = _wire(rpc.GetParameterValues(("A.",))).replace(
        b' soap-enc:arrayType="xsd:string[1]"', b"")
    assert errors(wire, "1.0")


def test_missing_must_understand_fails() -> None:
    wire = _wire(rpc.RebootResponse()).replace(b' soap-env:mustUnderstand="1"', b"")
    assert errors(wire, "1.0")


def test_header_from_a_later_version_fails() -> None:
    wire = codec.serialize(Envelope(rpc.InformResponse(), use_cwmp_version="1.4",
                                    namespace=NS_CWMP_1_2))
    assert errors(wire, "1.2")
    validate(wire, "1.4")


def test_declared_elements() -> None:
    assert "Inform" in declared_elements("1.0")
    assert "AutonomousTransferComplete" not in declared_elements("1.0")
    assert "AutonomousTransferComplete" in declared_elements("1.1")
    assert "SessionTimeout" in declared_elements("1.3")
    assert "UseCWMPVersion" in declared_elements("1.4")
    assert "UseCWMPVersion" not in declared_elements("1.3")
