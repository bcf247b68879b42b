"""Typed CWMP messages: every RPC and response an ACS meets, as frozen dataclasses.

Names and argument order follow the Broadband Forum schema (cwmp-1-2.xsd, which also holds the
1.3/1.4 definitions). Values on the wire are kept as text plus their ``xsd:`` type so a round trip
is lossless; :mod:`acs_engine.cwmp.values` converts them to Python values.

Every class has a ``METHOD`` class variable: the element name in the SOAP Body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

UNKNOWN_TIME = "0001-01-01T00:00:00Z"


# --------------------------------------------------------------------------- shared structs
@dataclass(frozen=True, slots=True)
class DeviceId:
    """DeviceIdStruct of an Inform."""

    manufacturer: str
    oui: str
    product_class: str
    serial_number: str


@dataclass(frozen=True, slots=True)
class EventStruct:
    """One Inform event, e.g. ``EventStruct("0 BOOTSTRAP")``."""

    code: str
    command_key: str = ""


@dataclass(frozen=True, slots=True)
class ParameterValue:
    """ParameterValueStruct: a name, the value's text and its ``xsd:`` type."""

    name: str
    value: str
    type: str = "xsd:string"


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    """ParameterInfoStruct from a GetParameterNamesResponse."""

    name: str
    writable: bool


@dataclass(frozen=True, slots=True)
class ParameterAttribute:
    """ParameterAttributeStruct from a GetParameterAttributesResponse."""

    name: str
    notification: int
    access_list: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetParameterAttributesStruct:
    """One entry of a SetParameterAttributes request."""

    name: str
    notification_change: bool
    notification: int
    access_list_change: bool = False
    access_list: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArgStruct:
    """A name/value pair (RequestDownload FileTypeArg)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class FaultStruct:
    """FaultStruct of TransferComplete and friends; code 0 means success."""

    code: int = 0
    string: str = ""


@dataclass(frozen=True, slots=True)
class SetParameterValuesFault:
    """One entry of a SOAP Fault's SetParameterValuesFault list."""

    name: str
    code: int
    string: str


# --------------------------------------------------------------------------- base classes
@dataclass(frozen=True, slots=True)
class Message:
    """Base of every message carried in a SOAP Body."""

    METHOD: ClassVar[str] = ""
    #: True for messages the CPE sends as requests (they need an ACS response).
    CPE_REQUEST: ClassVar[bool] = False
    #: True for requests the ACS sends to a CPE.
    ACS_REQUEST: ClassVar[bool] = False


# --------------------------------------------------------------------------- CPE -> ACS requests
@dataclass(frozen=True, slots=True)
class Inform(Message):
    METHOD: ClassVar[str] = "Inform"
    CPE_REQUEST: ClassVar[bool] = True
    device_id: DeviceId
    events: tuple[EventStruct, ...] = ()
    max_envelopes: int = 1
    current_time: str = UNKNOWN_TIME
    retry_count: int = 0
    parameters: tuple[ParameterValue, ...] = ()

    def has_event(self, code: str) -> bool:
        """True when the Inform carries the event ``code`` (e.g. ``"1 BOOT"``)."""
        return any(e.code == code for e in self.events)


@dataclass(frozen=True, slots=True)
class TransferComplete(Message):
    METHOD: ClassVar[str] = "TransferComplete"
    CPE_REQUEST: ClassVar[bool] = True
    command_key: str = ""
    fault: FaultStruct = field(default_factory=FaultStruct)
    start_time: str = UNKNOWN_TIME
    complete_time: str = UNKNOWN_TIME


@dataclass(frozen=True, slots=True)
class AutonomousTransferComplete(Message):
    METHOD: ClassVar[str] = "AutonomousTransferComplete"
    CPE_REQUEST: ClassVar[bool] = True
    announce_url: str = ""
    transfer_url: str = ""
    is_download: bool = True
    file_type: str = ""
    file_size: int = 0
    target_file_name: str = ""
    fault: FaultStruct = field(default_factory=FaultStruct)
    start_time: str = UNKNOWN_TIME
    complete_time: str = UNKNOWN_TIME


@dataclass(frozen=True, slots=True)
class GetRPCMethods(Message):
    """GetRPCMethods: sent by either side."""

    METHOD: ClassVar[str] = "GetRPCMethods"
    CPE_REQUEST: ClassVar[bool] = True
    ACS_REQUEST: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class RequestDownload(Message):
    METHOD: ClassVar[str] = "RequestDownload"
    CPE_REQUEST: ClassVar[bool] = True
    file_type: str = ""
    file_type_args: tuple[ArgStruct, ...] = ()


@dataclass(frozen=True, slots=True)
class Kicked(Message):
    METHOD: ClassVar[str] = "Kicked"
    CPE_REQUEST: ClassVar[bool] = True
    command: str = ""
    referer: str = ""
    arg: str = ""
    next: str = ""


@dataclass(frozen=True, slots=True)
class DUStateChangeComplete(Message):
    """DUStateChangeComplete (1.2+); results are kept as raw (tag, text) pairs per result."""

    METHOD: ClassVar[str] = "DUStateChangeComplete"
    CPE_REQUEST: ClassVar[bool] = True
    command_key: str = ""
    results: tuple[tuple[tuple[str, str], ...], ...] = ()


@dataclass(frozen=True, slots=True)
class AutonomousDUStateChangeComplete(Message):
    METHOD: ClassVar[str] = "AutonomousDUStateChangeComplete"
    CPE_REQUEST: ClassVar[bool] = True
    results: tuple[tuple[tuple[str, str], ...], ...] = ()


# --------------------------------------------------------------------------- ACS -> CPE responses
@dataclass(frozen=True, slots=True)
class InformResponse(Message):
    METHOD: ClassVar[str] = "InformResponse"
    max_envelopes: int = 1


@dataclass(frozen=True, slots=True)
class TransferCompleteResponse(Message):
    METHOD: ClassVar[str] = "TransferCompleteResponse"


@dataclass(frozen=True, slots=True)
class AutonomousTransferCompleteResponse(Message):
    METHOD: ClassVar[str] = "AutonomousTransferCompleteResponse"


@dataclass(frozen=True, slots=True)
class GetRPCMethodsResponse(Message):
    """GetRPCMethodsResponse: sent by either side."""

    METHOD: ClassVar[str] = "GetRPCMethodsResponse"
    methods: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestDownloadResponse(Message):
    METHOD: ClassVar[str] = "RequestDownloadResponse"


@dataclass(frozen=True, slots=True)
class KickedResponse(Message):
    METHOD: ClassVar[str] = "KickedResponse"
    next_url: str = ""


@dataclass(frozen=True, slots=True)
class DUStateChangeCompleteResponse(Message):
    METHOD: ClassVar[str] = "DUStateChangeCompleteResponse"


@dataclass(frozen=True, slots=True)
class AutonomousDUStateChangeCompleteResponse(Message):
    METHOD: ClassVar[str] = "AutonomousDUStateChangeCompleteResponse"


# --------------------------------------------------------------------------- ACS -> CPE requests
@dataclass(frozen=True, slots=True)
class GetParameterNames(Message):
    METHOD: ClassVar[str] = "GetParameterNames"
    ACS_REQUEST: ClassVar[bool] = True
    parameter_path: str = ""
    next_level: bool = False


@dataclass(frozen=True, slots=True)
class GetParameterValues(Message):
    METHOD: ClassVar[str] = "GetParameterValues"
    ACS_REQUEST: ClassVar[bool] = True
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetParameterValues(Message):
    METHOD: ClassVar[str] = "SetParameterValues"
    ACS_REQUEST: ClassVar[bool] = True
    parameters: tuple[ParameterValue, ...] = ()
    parameter_key: str = ""


@dataclass(frozen=True, slots=True)
class GetParameterAttributes(Message):
    METHOD: ClassVar[str] = "GetParameterAttributes"
    ACS_REQUEST: ClassVar[bool] = True
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetParameterAttributes(Message):
    METHOD: ClassVar[str] = "SetParameterAttributes"
    ACS_REQUEST: ClassVar[bool] = True
    parameters: tuple[SetParameterAttributesStruct, ...] = ()


@dataclass(frozen=True, slots=True)
class AddObject(Message):
    METHOD: ClassVar[str] = "AddObject"
    ACS_REQUEST: ClassVar[bool] = True
    object_name: str = ""
    parameter_key: str = ""


@dataclass(frozen=True, slots=True)
class DeleteObject(Message):
    METHOD: ClassVar[str] = "DeleteObject"
    ACS_REQUEST: ClassVar[bool] = True
    object_name: str = ""
    parameter_key: str = ""


@dataclass(frozen=True, slots=True)
class Reboot(Message):
    METHOD: ClassVar[str] = "Reboot"
    ACS_REQUEST: ClassVar[bool] = True
    command_key: str = ""


@dataclass(frozen=True, slots=True)
class FactoryReset(Message):
    METHOD: ClassVar[str] = "FactoryReset"
    ACS_REQUEST: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Download(Message):
    METHOD: ClassVar[str] = "Download"
    ACS_REQUEST: ClassVar[bool] = True
    command_key: str = ""
    file_type: str = "1 Firmware Upgrade Image"
    url: str = ""
    username: str = ""
    password: str = ""
    file_size: int = 0
    target_file_name: str = ""
    delay_seconds: int = 0
    success_url: str = ""
    failure_url: str = ""


@dataclass(frozen=True, slots=True)
class Upload(Message):
    METHOD: ClassVar[str] = "Upload"
    ACS_REQUEST: ClassVar[bool] = True
    command_key: str = ""
    file_type: str = "1 Vendor Configuration File"
    url: str = ""
    username: str = ""
    password: str = ""
    delay_seconds: int = 0


@dataclass(frozen=True, slots=True)
class ScheduleInform(Message):
    METHOD: ClassVar[str] = "ScheduleInform"
    ACS_REQUEST: ClassVar[bool] = True
    delay_seconds: int = 0
    command_key: str = ""


# --------------------------------------------------------------------------- CPE -> ACS responses
@dataclass(frozen=True, slots=True)
class GetParameterNamesResponse(Message):
    METHOD: ClassVar[str] = "GetParameterNamesResponse"
    parameters: tuple[ParameterInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class GetParameterValuesResponse(Message):
    METHOD: ClassVar[str] = "GetParameterValuesResponse"
    parameters: tuple[ParameterValue, ...] = ()


@dataclass(frozen=True, slots=True)
class SetParameterValuesResponse(Message):
    METHOD: ClassVar[str] = "SetParameterValuesResponse"
    status: int = 0


@dataclass(frozen=True, slots=True)
class GetParameterAttributesResponse(Message):
    METHOD: ClassVar[str] = "GetParameterAttributesResponse"
    parameters: tuple[ParameterAttribute, ...] = ()


@dataclass(frozen=True, slots=True)
class SetParameterAttributesResponse(Message):
    METHOD: ClassVar[str] = "SetParameterAttributesResponse"


@dataclass(frozen=True, slots=True)
class AddObjectResponse(Message):
    METHOD: ClassVar[str] = "AddObjectResponse"
    instance_number: int = 1
    status: int = 0


@dataclass(frozen=True, slots=True)
class DeleteObjectResponse(Message):
    METHOD: ClassVar[str] = "DeleteObjectResponse"
    status: int = 0


@dataclass(frozen=True, slots=True)
class RebootResponse(Message):
    METHOD: ClassVar[str] = "RebootResponse"


@dataclass(frozen=True, slots=True)
class FactoryResetResponse(Message):
    METHOD: ClassVar[str] = "FactoryResetResponse"


@dataclass(frozen=True, slots=True)
class DownloadResponse(Message):
    METHOD: ClassVar[str] = "DownloadResponse"
    status: int = 0
    start_time: str = UNKNOWN_TIME
    complete_time: str = UNKNOWN_TIME


@dataclass(frozen=True, slots=True)
class UploadResponse(Message):
    METHOD: ClassVar[str] = "UploadResponse"
    status: int = 0
    start_time: str = UNKNOWN_TIME
    complete_time: str = UNKNOWN_TIME


@dataclass(frozen=True, slots=True)
class ScheduleInformResponse(Message):
    METHOD: ClassVar[str] = "ScheduleInformResponse"


# --------------------------------------------------------------------------- faults
@dataclass(frozen=True, slots=True)
class Fault(Message):
    """A SOAP Fault carrying a cwmp:Fault, sent by either side.

    ``faultcode`` is ``"Client"`` or ``"Server"`` (SOAP 1.1); ``code``/``string`` are the CWMP
    FaultCode/FaultString; ``set_parameter_values_faults`` is filled for a failed SPV.
    """

    METHOD: ClassVar[str] = "Fault"
    code: int = 8000
    string: str = ""
    faultcode: str = "Server"
    set_parameter_values_faults: tuple[SetParameterValuesFault, ...] = ()


# --------------------------------------------------------------------------- registry
ALL_MESSAGES: tuple[type[Message], ...] = (
    Inform, TransferComplete, AutonomousTransferComplete, GetRPCMethods, RequestDownload, Kicked,
    DUStateChangeComplete, AutonomousDUStateChangeComplete,
    InformResponse, TransferCompleteResponse, AutonomousTransferCompleteResponse,
    GetRPCMethodsResponse, RequestDownloadResponse, KickedResponse,
    DUStateChangeCompleteResponse, AutonomousDUStateChangeCompleteResponse,
    GetParameterNames, GetParameterValues, SetParameterValues, GetParameterAttributes,
    SetParameterAttributes, AddObject, DeleteObject, Reboot, FactoryReset, Download, Upload,
    ScheduleInform,
    GetParameterNamesResponse, GetParameterValuesResponse, SetParameterValuesResponse,
    GetParameterAttributesResponse, SetParameterAttributesResponse, AddObjectResponse,
    DeleteObjectResponse, RebootResponse, FactoryResetResponse, DownloadResponse, UploadResponse,
    ScheduleInformResponse,
    Fault,
)

BY_METHOD: dict[str, type[Message]] = {cls.METHOD: cls for cls in ALL_MESSAGES}

#: The ACS's answer to each CPE request.
RESPONSE_FOR: dict[str, str] = {
    cls.METHOD: cls.METHOD + "Response" for cls in ALL_MESSAGES if cls.CPE_REQUEST
}

#: Methods this ACS implements, as listed in its GetRPCMethodsResponse.
ACS_METHODS: tuple[str, ...] = (
    "Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete",
    "RequestDownload", "Kicked", "DUStateChangeComplete", "AutonomousDUStateChangeComplete",
)
