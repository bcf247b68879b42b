"""The XML layout of every CWMP message: its child elements, in schema order, and their kinds.

One table drives both directions: :mod:`acs_engine.cwmp.decode` reads a message's children by
it and :mod:`acs_engine.cwmp.encode` writes them in this order, which is the order of the
Broadband Forum schemas (cwmp-1-0.xsd ... cwmp-1-2.xsd). Faults are laid out separately.
"""

from __future__ import annotations

from enum import Enum

from acs_engine.cwmp import rpc


class Kind(Enum):
    """How one child element maps to a dataclass field."""

    STR = "string"  # text, kept exactly as sent
    INT = "int"  # unsignedInt / int, whitespace trimmed
    BOOL = "bool"  # xsd:boolean, 0/1/true/false
    TIME = "time"  # xsd:dateTime, kept as text, whitespace trimmed
    DEVICE_ID = "DeviceIdStruct"
    FAULT_STRUCT = "FaultStruct"
    EVENTS = "EventStruct[]"
    VALUES = "ParameterValueStruct[]"
    NAMES = "string[]"
    INFOS = "ParameterInfoStruct[]"
    ATTRIBUTES = "ParameterAttributeStruct[]"
    SET_ATTRIBUTES = "SetParameterAttributesStruct[]"
    ARGS = "ArgStruct[]"
    DU_RESULTS = "OpResultStruct*"  # repeated <Results> elements, not a SOAP array


Field = tuple[str, str, Kind]

_S, _I, _B, _T = Kind.STR, Kind.INT, Kind.BOOL, Kind.TIME

#: ``(element name, dataclass attribute, kind)`` per message class, in schema order.
LAYOUT: dict[type[rpc.Message], tuple[Field, ...]] = {
    rpc.Inform: (
        ("DeviceId", "device_id", Kind.DEVICE_ID),
        ("Event", "events", Kind.EVENTS),
        ("MaxEnvelopes", "max_envelopes", _I),
        ("CurrentTime", "current_time", _T),
        ("RetryCount", "retry_count", _I),
        ("ParameterList", "parameters", Kind.VALUES),
    ),
    rpc.TransferComplete: (
        ("CommandKey", "command_key", _S),
        ("FaultStruct", "fault", Kind.FAULT_STRUCT),
        ("StartTime", "start_time", _T),
        ("CompleteTime", "complete_time", _T),
    ),
    rpc.AutonomousTransferComplete: (
        ("AnnounceURL", "announce_url", _S),
        ("TransferURL", "transfer_url", _S),
        ("IsDownload", "is_download", _B),
        ("FileType", "file_type", _S),
        ("FileSize", "file_size", _I),
        ("TargetFileName", "target_file_name", _S),
        ("FaultStruct", "fault", Kind.FAULT_STRUCT),
        ("StartTime", "start_time", _T),
        ("CompleteTime", "complete_time", _T),
    ),
    rpc.GetRPCMethods: (),
    rpc.RequestDownload: (
        ("FileType", "file_type", _S),
        ("FileTypeArg", "file_type_args", Kind.ARGS),
    ),
    rpc.Kicked: (
        ("Command", "command", _S),
        ("Referer", "referer", _S),
        ("Arg", "arg", _S),
        ("Next", "next", _S),
    ),
    rpc.DUStateChangeComplete: (
        ("Results", "results", Kind.DU_RESULTS),
        ("CommandKey", "command_key", _S),
    ),
    rpc.AutonomousDUStateChangeComplete: (("Results", "results", Kind.DU_RESULTS),),
    rpc.InformResponse: (("MaxEnvelopes", "max_envelopes", _I),),
    rpc.TransferCompleteResponse: (),
    rpc.AutonomousTransferCompleteResponse: (),
    rpc.GetRPCMethodsResponse: (("MethodList", "methods", Kind.NAMES),),
    rpc.RequestDownloadResponse: (),
    rpc.KickedResponse: (("NextURL", "next_url", _S),),
    rpc.DUStateChangeCompleteResponse: (),
    rpc.AutonomousDUStateChangeCompleteResponse: (),
    rpc.GetParameterNames: (
        ("ParameterPath", "parameter_path", _S),
        ("NextLevel", "next_level", _B),
    ),
    rpc.GetParameterValues: (("ParameterNames", "names", Kind.NAMES),),
    rpc.SetParameterValues: (
        ("ParameterList", "parameters", Kind.VALUES),
        ("ParameterKey", "parameter_key", _S),
    ),
    rpc.GetParameterAttributes: (("ParameterNames", "names", Kind.NAMES),),
    rpc.SetParameterAttributes: (("ParameterList", "parameters", Kind.SET_ATTRIBUTES),),
    rpc.AddObject: (("ObjectName", "object_name", _S), ("ParameterKey", "parameter_key", _S)),
    rpc.DeleteObject: (("ObjectName", "object_name", _S), ("ParameterKey", "parameter_key", _S)),
    rpc.Reboot: (("CommandKey", "command_key", _S),),
    rpc.FactoryReset: (),
    rpc.Download: (
        ("CommandKey", "command_key", _S),
        ("FileType", "file_type", _S),
        ("URL", "url", _S),
        ("Username", "username", _S),
        ("Password", "password", _S),
        ("FileSize", "file_size", _I),
        ("TargetFileName", "target_file_name", _S),
        ("DelaySeconds", "delay_seconds", _I),
        ("SuccessURL", "success_url", _S),
        ("FailureURL", "failure_url", _S),
    ),
    rpc.Upload: (
        ("CommandKey", "command_key", _S),
        ("FileType", "file_type", _S),
        ("URL", "url", _S),
        ("Username", "username", _S),
        ("Password", "password", _S),
        ("DelaySeconds", "delay_seconds", _I),
    ),
    rpc.ScheduleInform: (
        ("DelaySeconds", "delay_seconds", _I),
        ("CommandKey", "command_key", _S),
    ),
    rpc.GetParameterNamesResponse: (("ParameterList", "parameters", Kind.INFOS),),
    rpc.GetParameterValuesResponse: (("ParameterList", "parameters", Kind.VALUES),),
    rpc.SetParameterValuesResponse: (("Status", "status", _I),),
    rpc.GetParameterAttributesResponse: (("ParameterList", "parameters", Kind.ATTRIBUTES),),
    rpc.SetParameterAttributesResponse: (),
    rpc.AddObjectResponse: (("InstanceNumber", "instance_number", _I), ("Status", "status", _I)),
    rpc.DeleteObjectResponse: (("Status", "status", _I),),
    rpc.RebootResponse: (),
    rpc.FactoryResetResponse: (),
    rpc.DownloadResponse: (
        ("Status", "status", _I),
        ("StartTime", "start_time", _T),
        ("CompleteTime", "complete_time", _T),
    ),
    rpc.UploadResponse: (
        ("Status", "status", _I),
        ("StartTime", "start_time", _T),
        ("CompleteTime", "complete_time", _T),
    ),
    rpc.ScheduleInformResponse: (),
}

#: The SOAP-encoding ``arrayType`` item type and item element name of each array kind.
ARRAY_ITEMS: dict[Kind, tuple[str, str]] = {
    Kind.EVENTS: ("cwmp:EventStruct", "EventStruct"),
    Kind.VALUES: ("cwmp:ParameterValueStruct", "ParameterValueStruct"),
    Kind.NAMES: ("xsd:string", "string"),
    Kind.INFOS: ("cwmp:ParameterInfoStruct", "ParameterInfoStruct"),
    Kind.ATTRIBUTES: ("cwmp:ParameterAttributeStruct", "ParameterAttributeStruct"),
    Kind.SET_ATTRIBUTES: ("cwmp:SetParameterAttributesStruct", "SetParameterAttributesStruct"),
    Kind.ARGS: ("cwmp:ArgStruct", "ArgStruct"),
}

#: Lower-cased element name -> (attribute, kind), for the decoder's case-insensitive lookup.
LAYOUT_BY_NAME: dict[type[rpc.Message], dict[str, tuple[str, Kind]]] = {
    cls: {name.lower(): (attr, kind) for name, attr, kind in fields}
    for cls, fields in LAYOUT.items()
}

missing = [cls.__name__ for cls in rpc.ALL_MESSAGES if cls not in LAYOUT and cls is not rpc.Fault]
if missing:  # pragma: no cover - guards against rpc.py growing without a layout
    raise RuntimeError(f"no XML layout for {', '.join(missing)}")
del missing
