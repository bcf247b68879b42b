"""faults.py: fault tables, describe, make_fault; faults on the wire."""

from __future__ import annotations

import pytest

from acs_engine.cwmp import codec, faults, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from tests.helpers.schema import validate


def test_tables_cover_the_standard_ranges() -> None:
    assert set(faults.FAULTS) == set(range(8000, 8007)) | set(range(9000, 9033))
    for code, info in faults.FAULTS.items():
        assert info.faultcode in ("Client", "Server")
        assert info.string, code


@pytest.mark.parametrize(
    ("code", "text", "kind"),
    [
        (8000, "Method not supported", "Server"),
        (8003, "Invalid arguments", "Client"),
        (8005, "Retry request", "Server"),
        (8006, "ACS version incompatible with CPE", "Server"),
        (9003, "Invalid arguments", "Client"),
        (9005, "Invalid parameter name", "Client"),
        (9008, "Attempt to set a non-writable parameter", "Client"),
        (9010, "File transfer failure", "Server"),
        (9027, "System resources exceeded", "Server"),
        (9032, "Invalid DU update - version already exists", "Client"),
    ],
)
def test_describe_and_type(code: int, text: str, kind: str) -> None:
    assert faults.describe(code) == text
    assert faults.fault_type(code) == kind


def test_describe_vendor_and_unknown_codes() -> None:
    assert faults.describe(8801) == "ACS vendor fault 8801"
    assert faults.describe(9850) == "CPE vendor fault 9850"
    assert faults.describe(9500) == "CPE fault 9500"
    assert faults.describe(42) == "Unknown fault 42"
    assert faults.fault_type(9850) == "Server"
    assert faults.is_acs_fault(8006) and not faults.is_acs_fault(9000)
    assert faults.is_cpe_fault(9899) and not faults.is_cpe_fault(8000)


def test_make_fault_defaults_and_message() -> None:
    assert faults.make_fault(8000) == rpc.Fault(8000, "Method not supported", "Server")
    assert faults.make_fault(8003, "Event list too long") == rpc.Fault(
        8003, "Event list too long", "Client")


def test_make_fault_with_spv_entries_in_all_forms() -> None:
    entry = rpc.SetParameterValuesFault("A.C", 9006, "wrong type")
    fault = faults.make_fault(9003, spv_faults=[("A.B", 9007), ("A.X", 9008, "read-only"), entry])
    assert fault.set_parameter_values_faults == (
        rpc.SetParameterValuesFault("A.B", 9007, "Invalid parameter value"),
        rpc.SetParameterValuesFault("A.X", 9008, "read-only"),
        entry,
    )
    wire = codec.serialize(Envelope(fault, cwmp_id="1"))
    validate(wire, "1.0")
    parsed = codec.parse(wire)
    assert parsed is not None and parsed.message == fault


def test_version_fault_8006_is_valid_in_1_4() -> None:
    wire = codec.serialize(Envelope(faults.make_fault(faults.VERSION_INCOMPATIBLE), cwmp_id="x",
                                    namespace=NS_CWMP_1_2))
    validate(wire, "1.4")


def test_nonstandard_faultcode_is_replaced_on_the_wire() -> None:
    wire = codec.serialize(Envelope(rpc.Fault(9005, "bad", faultcode="weird")))
    assert b"<faultcode>Client</faultcode>" in wire
