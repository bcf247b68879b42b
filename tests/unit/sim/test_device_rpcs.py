"""RPC semantics of SimDevice: every method and each of its fault cases."""

from __future__ import annotations

from acs_engine.cwmp import rpc
from acs_engine.sim.handlers import CPE_METHODS


def names(resp: rpc.Message) -> list[str]:
    assert isinstance(resp, rpc.GetParameterNamesResponse | rpc.GetParameterValuesResponse |
                      rpc.GetParameterAttributesResponse), resp
    return [p.name for p in resp.parameters]


def gpv(dev, *paths: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    resp = dev.handle(rpc.GetParameterValues(names=paths))
    assert isinstance(resp, rpc.GetParameterValuesResponse), resp
    return {p.name: p.value for p in resp.parameters}


def fault_code(resp: rpc.Message) -> int:
    assert isinstance(resp, rpc.Fault), resp
    return resp.code


def test_get_rpc_methods(make_device) -> None:
    resp = make_device().handle(rpc.GetRPCMethods())
    assert isinstance(resp, rpc.GetRPCMethodsResponse)
    assert resp.methods == CPE_METHODS
    assert "AddObject" in resp.methods


def test_gpn_root_next_level(make_device) -> None:
    dev = make_device()
    assert names(dev.handle(rpc.GetParameterNames("", True))) == ["Device."]
    everything = names(dev.handle(rpc.GetParameterNames("", False)))
    assert everything[0] == "Device." and "Device.WiFi.SSID.2.Stats.BytesSent" in everything


def test_gpn_partial_next_level(make_device) -> None:
    dev = make_device()
    resp = dev.handle(rpc.GetParameterNames("Device.WiFi.SSID.", True))
    assert isinstance(resp, rpc.GetParameterNamesResponse)
    assert [(p.name, p.writable) for p in resp.parameters] == [
        ("Device.WiFi.SSID.1.", True), ("Device.WiFi.SSID.2.", False)]
    level = names(dev.handle(rpc.GetParameterNames("Device.WiFi.SSID.1.", True)))
    assert level == ["Device.WiFi.SSID.1.Enable", "Device.WiFi.SSID.1.SSID",
                     "Device.WiFi.SSID.1.MACAddress", "Device.WiFi.SSID.1.Stats."]


def test_gpn_partial_full_subtree(make_device) -> None:
    dev = make_device()
    got = names(dev.handle(rpc.GetParameterNames("Device.WiFi.SSID.1.", False)))
    assert got[0] == "Device.WiFi.SSID.1."
    assert got[-1] == "Device.WiFi.SSID.1.Stats.BytesSent"
    assert not any(n.startswith("Device.WiFi.SSID.2.") for n in got)


def test_gpn_parameter(make_device) -> None:
    dev = make_device()
    resp = dev.handle(rpc.GetParameterNames("Device.WiFi.SSID.1.SSID", False))
    assert isinstance(resp, rpc.GetParameterNamesResponse)
    assert resp.parameters == (rpc.ParameterInfo("Device.WiFi.SSID.1.SSID", True),)
    assert fault_code(dev.handle(rpc.GetParameterNames("Device.WiFi.SSID.1.SSID", True))) == 9003


def test_gpn_invalid_names(make_device) -> None:
    dev = make_device()
    assert fault_code(dev.handle(rpc.GetParameterNames("Device.Nope.", True))) == 9005
    # an object named without its trailing dot is not a valid name
    assert fault_code(dev.handle(rpc.GetParameterNames("Device.WiFi", False))) == 9005


def test_gpv_values_and_placeholders(make_device) -> None:
    dev = make_device("ABC123")
    values = gpv(dev, "Device.DeviceInfo.SerialNumber", "Device.WiFi.SSID.1.")
    assert values["Device.DeviceInfo.SerialNumber"] == "ABC123"
    assert values["Device.WiFi.SSID.1.SSID"] == "FieldACS-ABC123"
    assert values["Device.WiFi.SSID.1.MACAddress"] == "02:46:41:00:00:01"
    assert "Device.WiFi.SSID.1.Stats.BytesSent" in values
    assert "Device.WiFi.SSID.1." not in values  # objects are not values
    resp = dev.handle(rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)))
    assert isinstance(resp, rpc.GetParameterValuesResponse)
    assert resp.parameters[0].type == "xsd:unsignedInt"


def test_gpv_uptime_and_passwords(make_device, clock) -> None:
    dev = make_device()
    clock.advance(42)
    got = gpv(dev, "Device.DeviceInfo.UpTime", "Device.ManagementServer.Password")
    assert got["Device.DeviceInfo.UpTime"] == "42"
    assert got["Device.ManagementServer.Password"] == ""  # read back empty
    assert dev.acs_credentials == ("cpe-SIM000001", "pw-SIM000001")


def test_gpv_invalid(make_device) -> None:
    dev = make_device()
    assert fault_code(dev.handle(rpc.GetParameterValues(names=("Device.Bogus",)))) == 9005
    assert fault_code(dev.handle(rpc.GetParameterValues(
        names=("Device.DeviceInfo.SerialNumber", "Device.X.")))) == 9005


def spv(dev, *params: tuple[str, str, str], key: str = "k1") -> rpc.Message:  # type: ignore[no-untyped-def]
    return dev.handle(rpc.SetParameterValues(
        parameters=tuple(rpc.ParameterValue(n, v, t) for n, v, t in params), parameter_key=key))


def test_spv_success_stores_parameter_key(make_device) -> None:
    dev = make_device()
    resp = spv(dev, ("Device.WiFi.SSID.1.SSID", "Home", "xsd:string"),
               ("Device.ManagementServer.PeriodicInformInterval", "60", "xsd:unsignedInt"))
    assert resp == rpc.SetParameterValuesResponse(status=0)
    got = gpv(dev, "Device.WiFi.SSID.1.SSID", "Device.ManagementServer.ParameterKey")
    assert got == {"Device.WiFi.SSID.1.SSID": "Home", "Device.ManagementServer.ParameterKey": "k1"}
    assert dev.periodic_interval == 60.0
    # changes made by the ACS do not produce VALUE CHANGE
    dev.handle(rpc.SetParameterAttributes(parameters=(
        rpc.SetParameterAttributesStruct("Device.WiFi.SSID.1.SSID", True, 2),)))
    spv(dev, ("Device.WiFi.SSID.1.SSID", "Other", "xsd:string"))
    assert "4 VALUE CHANGE" not in [e.code for e in dev.make_inform().events]


def test_spv_atomic_with_fault_per_parameter(make_device) -> None:
    dev = make_device()
    resp = spv(dev,
               ("Device.WiFi.SSID.1.SSID", "Changed", "xsd:string"),
               ("Device.Nope", "1", "xsd:string"),
               ("Device.DeviceInfo.SoftwareVersion", "9", "xsd:string"),
               ("Device.WiFi.Radio.1.Channel", "six", "xsd:unsignedInt"),
               ("Device.WiFi.SSID.1.Enable", "true", "xsd:string"),
               key="bad")
    assert isinstance(resp, rpc.Fault)
    assert resp.code == 9003
    assert [(f.name, f.code) for f in resp.set_parameter_values_faults] == [
        ("Device.Nope", 9005),
        ("Device.DeviceInfo.SoftwareVersion", 9008),
        ("Device.WiFi.Radio.1.Channel", 9007),
        ("Device.WiFi.SSID.1.Enable", 9006),
    ]
    got = gpv(dev, "Device.WiFi.SSID.1.SSID", "Device.ManagementServer.ParameterKey")
    assert got["Device.WiFi.SSID.1.SSID"] == "FieldACS-SIM000001"  # nothing applied
    assert got["Device.ManagementServer.ParameterKey"] == ""


def test_spv_range_and_objects(make_device) -> None:
    dev = make_device()
    resp = spv(dev, ("Device.WiFi.Radio.1.Channel", "4294967296", "xsd:unsignedInt"))
    assert resp.set_parameter_values_faults[0].code == 9007  # type: ignore[attr-defined]
    resp = spv(dev, ("Device.WiFi.", "x", "xsd:string"))
    assert resp.set_parameter_values_faults[0].code == 9005  # type: ignore[attr-defined]
    # boolean accepts 0/1/true/false
    assert spv(dev, ("Device.WiFi.SSID.1.Enable", "0", "xsd:boolean")) == \
        rpc.SetParameterValuesResponse(status=0)


def test_spv_duplicate_name(make_device) -> None:
    dev = make_device()
    resp = spv(dev, ("Device.WiFi.SSID.1.SSID", "a", "xsd:string"),
               ("Device.WiFi.SSID.1.SSID", "b", "xsd:string"))
    assert fault_code(resp) == 9003


def test_attributes_roundtrip_and_subtree(make_device) -> None:
    dev = make_device()
    resp = dev.handle(rpc.SetParameterAttributes(parameters=(
        rpc.SetParameterAttributesStruct("Device.WiFi.SSID.1.", True, 1, True, ("Subscriber",)),
        rpc.SetParameterAttributesStruct("Device.WiFi.SSID.1.SSID", True, 2),
    )))
    assert resp == rpc.SetParameterAttributesResponse()
    got = dev.handle(rpc.GetParameterAttributes(names=("Device.WiFi.SSID.1.",)))
    assert isinstance(got, rpc.GetParameterAttributesResponse)
    attrs = {a.name: (a.notification, a.access_list) for a in got.parameters}
    assert attrs["Device.WiFi.SSID.1.Enable"] == (1, ("Subscriber",))
    assert attrs["Device.WiFi.SSID.1.SSID"] == (2, ("Subscriber",))
    assert attrs["Device.WiFi.SSID.1.Stats.BytesSent"] == (1, ("Subscriber",))
    # NotificationChange false keeps the notification, AccessListChange clears the list
    dev.handle(rpc.SetParameterAttributes(parameters=(
        rpc.SetParameterAttributesStruct("Device.WiFi.SSID.1.Enable", False, 0, True, ()),)))
    got = dev.handle(rpc.GetParameterAttributes(names=("Device.WiFi.SSID.1.Enable",)))
    assert got.parameters == (rpc.ParameterAttribute("Device.WiFi.SSID.1.Enable", 1, ()),)  # type: ignore[attr-defined]


def test_attribute_faults(make_device) -> None:
    dev = make_device()
    assert fault_code(dev.handle(rpc.GetParameterAttributes(names=("Device.No.",)))) == 9005
    assert fault_code(dev.handle(rpc.SetParameterAttributes(parameters=(
        rpc.SetParameterAttributesStruct("Device.No", True, 1),)))) == 9005
    assert fault_code(dev.handle(rpc.SetParameterAttributes(parameters=(
        rpc.SetParameterAttributesStruct("Device.DeviceInfo.", True, 2),)))) == 9009
    assert fault_code(dev.handle(rpc.SetParameterAttributes(parameters=(
        rpc.SetParameterAttributesStruct("Device.DeviceInfo.HardwareVersion", True, 9),)))) == 9003
    # refused request changed nothing (atomic)
    got = dev.handle(rpc.GetParameterAttributes(names=("Device.DeviceInfo.HardwareVersion",)))
    assert got.parameters[0].notification == 0  # type: ignore[attr-defined]


def test_add_object_numbering_and_template(make_device) -> None:
    dev = make_device()
    resp = dev.handle(rpc.AddObject("Device.WiFi.SSID.", "add1"))
    assert resp == rpc.AddObjectResponse(instance_number=3, status=0)
    got = gpv(dev, "Device.WiFi.SSID.3.", "Device.ManagementServer.ParameterKey")
    assert got["Device.WiFi.SSID.3.SSID"] == "SSID-3"
    assert got["Device.WiFi.SSID.3.MACAddress"] == "02:46:41:00:00:01"
    assert got["Device.WiFi.SSID.3.Stats.BytesSent"] == "0"
    assert got["Device.ManagementServer.ParameterKey"] == "add1"
    listing = names(dev.handle(rpc.GetParameterNames("Device.WiFi.SSID.", True)))
    assert listing == ["Device.WiFi.SSID.1.", "Device.WiFi.SSID.2.", "Device.WiFi.SSID.3."]
    # the new instance is settable and deletable; numbers are never reused
    assert spv(dev, ("Device.WiFi.SSID.3.SSID", "x", "xsd:string")) == \
        rpc.SetParameterValuesResponse(status=0)
    assert dev.handle(rpc.DeleteObject("Device.WiFi.SSID.3.", "del")) == rpc.DeleteObjectResponse()
    assert dev.handle(rpc.AddObject("Device.WiFi.SSID.", "")).instance_number == 4  # type: ignore[attr-defined]
    assert "Device.WiFi.SSID.3.SSID" not in dev.tree
    # the base model is untouched for other devices
    assert "Device.WiFi.SSID.4." not in make_device("OTHER").tree


def test_add_object_nested_table(make_device) -> None:
    dev = make_device()
    resp = dev.handle(rpc.AddObject("Device.IP.Interface.1.IPv4Address.", ""))
    assert resp == rpc.AddObjectResponse(instance_number=2, status=0)
    assert gpv(dev, "Device.IP.Interface.1.IPv4Address.2.IPAddress") == {
        "Device.IP.Interface.1.IPv4Address.2.IPAddress": "0.0.0.0"}


def test_add_object_faults(make_device) -> None:
    dev = make_device()
    assert fault_code(dev.handle(rpc.AddObject("Device.Nope.", ""))) == 9005
    assert fault_code(dev.handle(rpc.AddObject("Device.DeviceInfo.", ""))) == 9005  # not a table
    assert fault_code(dev.handle(rpc.AddObject("Device.WiFi.SSID", ""))) == 9005
    assert fault_code(dev.handle(rpc.AddObject("Device.WiFi.Radio.", "k"))) == 9003  # read-only
    assert gpv(dev, "Device.ManagementServer.ParameterKey") == {
        "Device.ManagementServer.ParameterKey": ""}


def test_delete_object_faults(make_device) -> None:
    dev = make_device()
    assert fault_code(dev.handle(rpc.DeleteObject("Device.WiFi.SSID.9.", ""))) == 9005
    assert fault_code(dev.handle(rpc.DeleteObject("Device.WiFi.SSID.", ""))) == 9005
    assert fault_code(dev.handle(rpc.DeleteObject("Device.WiFi.SSID.2.", ""))) == 9003
    assert dev.handle(rpc.DeleteObject("Device.WiFi.SSID.1.", "d")) == rpc.DeleteObjectResponse()
    assert fault_code(dev.handle(rpc.GetParameterValues(names=("Device.WiFi.SSID.1.",)))) == 9005
    assert dev.handle(rpc.AddObject("Device.WiFi.SSID.", "")).instance_number == 3  # type: ignore[attr-defined]


def test_unsupported_and_injected_faults(make_device) -> None:
    dev = make_device(fault_methods={"GetParameterValues": 9002})
    assert fault_code(dev.handle(rpc.GetParameterValues(names=("Device.",)))) == 9002
    assert fault_code(dev.handle(rpc.InformResponse())) == 9000


def test_download_upload_schedule_validation(make_device) -> None:
    dev = make_device()
    assert fault_code(dev.handle(rpc.Download(file_type="bogus", url="http://x/"))) == 9003
    assert fault_code(dev.handle(rpc.Download(url=""))) == 9003
    assert fault_code(dev.handle(rpc.Download(url="tftp://127.0.0.1/fw.bin"))) == 9013
    assert fault_code(dev.handle(rpc.ScheduleInform(delay_seconds=0))) == 9003
    resp = dev.handle(rpc.Upload(url="http://127.0.0.1/up"))
    assert resp == rpc.UploadResponse(status=1, start_time=rpc.UNKNOWN_TIME,
                                      complete_time=rpc.UNKNOWN_TIME)


def test_instance_numbers_of_deleted_model_instances_are_not_reused() -> None:
    from acs_engine.sim.device import SimDevice
    from acs_engine.sim.model import load_model

    dev = SimDevice(load_model("tr181"), "REUSE0001")
    table = "Device.NAT.PortMapping."
    highest = max(dev.tree.instances(table))
    assert highest >= 1
    assert isinstance(dev.handle(rpc.DeleteObject(object_name=f"{table}{highest}.")), rpc.DeleteObjectResponse)
    added = dev.handle(rpc.AddObject(object_name=table))
    assert isinstance(added, rpc.AddObjectResponse)
    assert added.instance_number == highest + 1
