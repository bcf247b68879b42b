"""One realistic, schema-valid instance of every CWMP message class (shared by cwmp tests)."""

from __future__ import annotations

from acs_engine.cwmp import rpc
from acs_engine.cwmp.faults import make_fault

T0 = "2024-05-01T12:34:56Z"
T1 = "2024-05-01T12:35:10.250+02:00"

_DU_RESULT = (
    ("UUID", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
    ("DeploymentUnitRef", "Device.SoftwareModules.DeploymentUnit.1"),
    ("Version", "1.0.3"),
    ("CurrentState", "Installed"),
    ("Resolved", "1"),
    ("ExecutionUnitRefList", "Device.SoftwareModules.ExecutionUnit.1"),
    ("StartTime", T0),
    ("CompleteTime", T1),
    ("Fault.FaultCode", "0"),
    ("Fault.FaultString", ""),
)

SAMPLES: dict[type[rpc.Message], rpc.Message] = {
    rpc.Inform: rpc.Inform(
        device_id=rpc.DeviceId("Example Networks & Co", "00259E", "HG8245<H>", "4857544300A1B2C3"),
        events=(
            rpc.EventStruct("0 BOOTSTRAP"),
            rpc.EventStruct("1 BOOT"),
            rpc.EventStruct("M Reboot", "reboot-7"),
        ),
        max_envelopes=1,
        current_time=T1,
        retry_count=2,
        parameters=(
            rpc.ParameterValue("InternetGatewayDevice.DeviceInfo.SoftwareVersion", "V3R017C10 \"b\""),
            rpc.ParameterValue("InternetGatewayDevice.DeviceInfo.UpTime", "3600", "xsd:unsignedInt"),
            rpc.ParameterValue("InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
                               "http://10.0.0.2:7547/cr?a=1&b=2"),
            rpc.ParameterValue("InternetGatewayDevice.X_Vendor.Banner", "  padded\r\nline two\t"),
            rpc.ParameterValue("InternetGatewayDevice.X_Vendor.Enabled", "true", "xsd:boolean"),
            rpc.ParameterValue("InternetGatewayDevice.X_Vendor.Offset", "-42", "xsd:int"),
            rpc.ParameterValue("InternetGatewayDevice.X_Vendor.Bytes", "18446744073709551615",
                               "xsd:unsignedLong"),
            rpc.ParameterValue("InternetGatewayDevice.Time.CurrentLocalTime", T1, "xsd:dateTime"),
            rpc.ParameterValue("InternetGatewayDevice.X_Vendor.Blob", "AAECAw==", "xsd:base64Binary"),
            rpc.ParameterValue("InternetGatewayDevice.X_Vendor.Empty", ""),
            rpc.ParameterValue("InternetGatewayDevice.X_Vendor.Unicode", "café ✓ 日本"),
        ),
    ),
    rpc.TransferComplete: rpc.TransferComplete(
        "dl-42", rpc.FaultStruct(9010, "HTTP 404 from file server"), T0, T1
    ),
    rpc.AutonomousTransferComplete: rpc.AutonomousTransferComplete(
        announce_url="http://files.example.net/announce",
        transfer_url="http://files.example.net/fw.bin",
        is_download=False,
        file_type="1 Firmware Upgrade Image",
        file_size=123456,
        target_file_name="fw.bin",
        fault=rpc.FaultStruct(0, ""),
        start_time=T0,
        complete_time=T1,
    ),
    rpc.GetRPCMethods: rpc.GetRPCMethods(),
    rpc.RequestDownload: rpc.RequestDownload(
        "2 Web Content", (rpc.ArgStruct("Version", "1.2"), rpc.ArgStruct("Lang", "en & fr"))
    ),
    rpc.Kicked: rpc.Kicked("buy", "http://portal.example.net/", "plan=gold", "http://next/"),
    rpc.DUStateChangeComplete: rpc.DUStateChangeComplete("du-1", (_DU_RESULT, _DU_RESULT)),
    rpc.AutonomousDUStateChangeComplete: rpc.AutonomousDUStateChangeComplete(
        ((*_DU_RESULT, ("OperationPerformed", "Install")),)
    ),
    rpc.InformResponse: rpc.InformResponse(1),
    rpc.TransferCompleteResponse: rpc.TransferCompleteResponse(),
    rpc.AutonomousTransferCompleteResponse: rpc.AutonomousTransferCompleteResponse(),
    rpc.GetRPCMethodsResponse: rpc.GetRPCMethodsResponse(rpc.ACS_METHODS),
    rpc.RequestDownloadResponse: rpc.RequestDownloadResponse(),
    rpc.KickedResponse: rpc.KickedResponse("http://portal.example.net/done"),
    rpc.DUStateChangeCompleteResponse: rpc.DUStateChangeCompleteResponse(),
    rpc.AutonomousDUStateChangeCompleteResponse: rpc.AutonomousDUStateChangeCompleteResponse(),
    rpc.GetParameterNames: rpc.GetParameterNames("InternetGatewayDevice.LANDevice.", True),
    rpc.GetParameterValues: rpc.GetParameterValues(
        ("InternetGatewayDevice.DeviceInfo.", "InternetGatewayDevice.ManagementServer.URL")
    ),
    rpc.SetParameterValues: rpc.SetParameterValues(
        (
            rpc.ParameterValue("InternetGatewayDevice.ManagementServer.PeriodicInformInterval",
                               "300", "xsd:unsignedInt"),
            rpc.ParameterValue("InternetGatewayDevice.ManagementServer.PeriodicInformEnable",
                               "1", "xsd:boolean"),
            rpc.ParameterValue("InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID",
                               "Café <guest> & friends"),
        ),
        "pk-2024-05-01",
    ),
    rpc.GetParameterAttributes: rpc.GetParameterAttributes(
        ("InternetGatewayDevice.DeviceInfo.SoftwareVersion",)
    ),
    rpc.SetParameterAttributes: rpc.SetParameterAttributes(
        (
            rpc.SetParameterAttributesStruct(
                "InternetGatewayDevice.DeviceInfo.SoftwareVersion", True, 2, True, ("Subscriber",)
            ),
            rpc.SetParameterAttributesStruct("InternetGatewayDevice.WANDevice.", True, 1),
        )
    ),
    rpc.AddObject: rpc.AddObject(
        "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.", "pk-add"
    ),
    rpc.DeleteObject: rpc.DeleteObject(
        "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.3.", "pk-del"
    ),
    rpc.Reboot: rpc.Reboot("reboot-7"),
    rpc.FactoryReset: rpc.FactoryReset(),
    rpc.Download: rpc.Download(
        command_key="fw-1",
        file_type="1 Firmware Upgrade Image",
        url="http://192.168.1.10:7567/fw%20v2.bin?x=1&y=2",
        username="cpe",
        password="s3cr&t",
        file_size=8_388_608,
        target_file_name="fw.bin",
        delay_seconds=5,
        success_url="http://portal/ok",
        failure_url="http://portal/fail",
    ),
    rpc.Upload: rpc.Upload(
        "up-1", "2 Vendor Log File", "http://192.168.1.10:7567/upload/log", "u", "p", 10
    ),
    rpc.ScheduleInform: rpc.ScheduleInform(60, "si-1"),
    rpc.GetParameterNamesResponse: rpc.GetParameterNamesResponse(
        (
            rpc.ParameterInfo("InternetGatewayDevice.LANDevice.", False),
            rpc.ParameterInfo("InternetGatewayDevice.LANDevice.1.", True),
            rpc.ParameterInfo("InternetGatewayDevice.LANDevice.1.Name", True),
        )
    ),
    rpc.GetParameterValuesResponse: rpc.GetParameterValuesResponse(
        (
            rpc.ParameterValue("InternetGatewayDevice.DeviceInfo.Manufacturer", "Example"),
            rpc.ParameterValue("InternetGatewayDevice.DeviceInfo.UpTime", "86400",
                               "xsd:unsignedInt"),
        )
    ),
    rpc.SetParameterValuesResponse: rpc.SetParameterValuesResponse(1),
    rpc.GetParameterAttributesResponse: rpc.GetParameterAttributesResponse(
        (
            rpc.ParameterAttribute("InternetGatewayDevice.DeviceInfo.SoftwareVersion", 2,
                                   ("Subscriber",)),
            rpc.ParameterAttribute("InternetGatewayDevice.DeviceInfo.UpTime", 0),
        )
    ),
    rpc.SetParameterAttributesResponse: rpc.SetParameterAttributesResponse(),
    rpc.AddObjectResponse: rpc.AddObjectResponse(3, 1),
    rpc.DeleteObjectResponse: rpc.DeleteObjectResponse(1),
    rpc.RebootResponse: rpc.RebootResponse(),
    rpc.FactoryResetResponse: rpc.FactoryResetResponse(),
    rpc.DownloadResponse: rpc.DownloadResponse(0, T0, T1),
    rpc.UploadResponse: rpc.UploadResponse(1),
    rpc.ScheduleInformResponse: rpc.ScheduleInformResponse(),
    rpc.Fault: make_fault(
        9003,
        spv_faults=[
            ("InternetGatewayDevice.ManagementServer.PeriodicInformInterval", 9007),
            ("InternetGatewayDevice.DeviceInfo.UpTime", 9008, "Parameter is read-only"),
        ],
    ),
}
