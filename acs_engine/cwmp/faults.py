"""CWMP fault codes: their standard strings, their SOAP fault type, and Fault construction.

Codes 8000-8799 are ACS faults (8800-8899 ACS vendor), 9000-9799 CPE faults (9800-9899 CPE
vendor). Each standard code is either a ``Client`` fault (the requester sent something wrong)
or a ``Server`` fault (the responder could not do it); that word goes into the SOAP
``faultcode``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

from acs_engine.cwmp import rpc

FaultType = Literal["Client", "Server"]


class FaultInfo(NamedTuple):
    """The standard description of one CWMP fault code."""

    string: str
    faultcode: FaultType


# ACS fault codes (sent by the ACS in reply to a CPE request).
METHOD_NOT_SUPPORTED = 8000
REQUEST_DENIED = 8001
INTERNAL_ERROR = 8002
INVALID_ARGUMENTS = 8003
RESOURCES_EXCEEDED = 8004
RETRY_REQUEST = 8005
VERSION_INCOMPATIBLE = 8006

# CPE fault codes an ACS commonly inspects.
CPE_METHOD_NOT_SUPPORTED = 9000
CPE_INTERNAL_ERROR = 9002
CPE_INVALID_ARGUMENTS = 9003
CPE_INVALID_PARAMETER_NAME = 9005
CPE_INVALID_PARAMETER_TYPE = 9006
CPE_INVALID_PARAMETER_VALUE = 9007
CPE_NON_WRITABLE_PARAMETER = 9008

_C: FaultType = "Client"
_S: FaultType = "Server"

#: Every standard fault code with its string and type.
FAULTS: dict[int, FaultInfo] = {
    8000: FaultInfo("Method not supported", _S),
    8001: FaultInfo("Request denied (no reason specified)", _S),
    8002: FaultInfo("Internal error", _S),
    8003: FaultInfo("Invalid arguments", _C),
    8004: FaultInfo("Resources exceeded", _S),
    8005: FaultInfo("Retry request", _S),
    8006: FaultInfo("ACS version incompatible with CPE", _S),
    9000: FaultInfo("Method not supported", _S),
    9001: FaultInfo("Request denied (no reason specified)", _S),
    9002: FaultInfo("Internal error", _S),
    9003: FaultInfo("Invalid arguments", _C),
    9004: FaultInfo("Resources exceeded", _S),
    9005: FaultInfo("Invalid parameter name", _C),
    9006: FaultInfo("Invalid parameter type", _C),
    9007: FaultInfo("Invalid parameter value", _C),
    9008: FaultInfo("Attempt to set a non-writable parameter", _C),
    9009: FaultInfo("Notification request rejected", _S),
    9010: FaultInfo("File transfer failure", _S),
    9011: FaultInfo("Upload failure", _S),
    9012: FaultInfo("File transfer server authentication failure", _S),
    9013: FaultInfo("Unsupported protocol for file transfer", _S),
    9014: FaultInfo("File transfer failure: unable to join multicast group", _S),
    9015: FaultInfo("File transfer failure: unable to contact file server", _S),
    9016: FaultInfo("File transfer failure: unable to access file", _S),
    9017: FaultInfo("File transfer failure: unable to complete download", _S),
    9018: FaultInfo("File transfer failure: file corrupted", _S),
    9019: FaultInfo("File transfer failure: file authentication failure", _S),
    9020: FaultInfo(
        "File transfer failure: unable to complete download within specified time windows", _S
    ),
    9021: FaultInfo("Cancellation of file transfer not permitted in current transfer state", _C),
    9022: FaultInfo("Invalid UUID format", _C),
    9023: FaultInfo("Unknown Execution Environment", _C),
    9024: FaultInfo("Disabled Execution Environment", _C),
    9025: FaultInfo("Deployment Unit to Execution Environment mismatch", _C),
    9026: FaultInfo("Duplicate Deployment Unit", _C),
    9027: FaultInfo("System resources exceeded", _S),
    9028: FaultInfo("Unknown Deployment Unit", _C),
    9029: FaultInfo("Invalid Deployment Unit state", _C),
    9030: FaultInfo("Invalid DU update - downgrade not permitted", _C),
    9031: FaultInfo("Invalid DU update - version not specified", _C),
    9032: FaultInfo("Invalid DU update - version already exists", _C),
}


def is_acs_fault(code: int) -> bool:
    """True for codes in the ACS ranges (8000-8899, vendor codes included)."""
    return 8000 <= code <= 8899


def is_cpe_fault(code: int) -> bool:
    """True for codes in the CPE ranges (9000-9899, vendor codes included)."""
    return 9000 <= code <= 9899


def describe(code: int) -> str:
    """Return the standard string of a fault code.

    Args:
        code: a CWMP fault code.

    Returns:
        The standard text (``9005`` -> ``"Invalid parameter name"``); for codes without one,
        a description of their range (``"CPE vendor fault 9801"``).
    """
    info = FAULTS.get(code)
    if info is not None:
        return info.string
    if 8800 <= code <= 8899:
        return f"ACS vendor fault {code}"
    if 9800 <= code <= 9899:
        return f"CPE vendor fault {code}"
    if is_acs_fault(code):
        return f"ACS fault {code}"
    if is_cpe_fault(code):
        return f"CPE fault {code}"
    return f"Unknown fault {code}"


def fault_type(code: int) -> FaultType:
    """Return ``"Client"`` or ``"Server"`` for a fault code (``Server`` when not standard)."""
    info = FAULTS.get(code)
    return info.faultcode if info is not None else _S


SpvFaultLike = rpc.SetParameterValuesFault | tuple[str, int] | tuple[str, int, str]


def make_fault(
    code: int,
    message: str | None = None,
    spv_faults: Iterable[SpvFaultLike] = (),
) -> rpc.Fault:
    """Build a :class:`rpc.Fault` with the standard string and SOAP fault type for ``code``.

    Args:
        code: the CWMP fault code (e.g. ``8000``, ``9003``).
        message: the FaultString; the standard string for ``code`` when None or empty.
        spv_faults: SetParameterValuesFault entries, as dataclasses or as ``(name, code)`` /
            ``(name, code, string)`` tuples (a missing string gets the standard one).

    Returns:
        The fault, ready to be put in an :class:`~acs_engine.cwmp.envelope.Envelope`.
    """
    entries: list[rpc.SetParameterValuesFault] = []
    for item in spv_faults:
        if isinstance(item, rpc.SetParameterValuesFault):
            entries.append(item)
        elif len(item) == 3:
            entries.append(rpc.SetParameterValuesFault(item[0], item[1], item[2]))
        else:
            entries.append(rpc.SetParameterValuesFault(item[0], item[1], describe(item[1])))
    return rpc.Fault(
        code=code,
        string=message or describe(code),
        faultcode=fault_type(code),
        set_parameter_values_faults=tuple(entries),
    )
