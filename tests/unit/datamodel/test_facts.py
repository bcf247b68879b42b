"""The shipped data-model facts: loading, path lookup and value checks."""

from __future__ import annotations

import pytest

from acs_engine.datamodel import facts
from acs_engine.datamodel.facts import ObjectFacts, ParamFacts, generic_path


def test_both_models_load_with_expected_roots() -> None:
    tr098 = facts.load("tr098")
    tr181 = facts.load("tr181")
    assert tr098.root == "InternetGatewayDevice."
    assert tr181.root == "Device."
    assert tr181.name.startswith("Device:2.")
    assert len(tr098.param_paths()) > 1500
    assert len(tr181.param_paths()) > 6000
    assert facts.load("tr181") is tr181  # cached


def test_unknown_model_key_is_refused() -> None:
    with pytest.raises(ValueError):
        facts.load("tr104")


@pytest.mark.parametrize(
    ("path", "generic"),
    [
        ("Device.WiFi.SSID.3.SSID", "Device.WiFi.SSID.{i}.SSID"),
        ("Device.WiFi.SSID.[wan].SSID", "Device.WiFi.SSID.{i}.SSID"),
        ("Device.IP.Interface.[a.b].IPv4Address.2.", "Device.IP.Interface.{i}.IPv4Address.{i}."),
        ("Device.WiFi.", "Device.WiFi."),
    ],
)
def test_generic_path(path: str, generic: str) -> None:
    assert generic_path(path) == generic


def test_lookup_concrete_and_alias_paths() -> None:
    ssid = facts.lookup("Device.WiFi.SSID.3.SSID")
    assert isinstance(ssid, ParamFacts)
    assert ssid.path == "Device.WiFi.SSID.{i}.SSID"
    assert ssid.writable and ssid.type == "string" and ssid.max_length == 32
    assert facts.lookup("Device.WiFi.SSID.[guest].SSID") == ssid

    ip = facts.lookup("Device.IP.Interface.1.IPv4Address.1.IPAddress")
    assert isinstance(ip, ParamFacts)
    assert ip.data_type == "IPv4Address" and ip.xsd_type == "xsd:string"

    uptime = facts.lookup("Device.DeviceInfo.UpTime")
    assert isinstance(uptime, ParamFacts)
    assert not uptime.writable and uptime.units == "seconds"
    assert uptime.xsd_type == "xsd:unsignedInt"

    counter = facts.lookup("Device.Ethernet.Interface.2.Stats.BytesSent")
    assert isinstance(counter, ParamFacts) and counter.type == "unsignedLong"

    wan = facts.lookup(
        "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"
    )
    assert isinstance(wan, ParamFacts) and wan.forced_inform


def test_lookup_objects_tables_and_instances() -> None:
    table = facts.lookup("Device.WiFi.SSID.")
    assert isinstance(table, ObjectFacts)
    assert table.table and table.writable and table.path == "Device.WiFi.SSID."
    assert table.num_entries_parameter == "SSIDNumberOfEntries"
    instance = facts.lookup("Device.WiFi.SSID.2.")
    assert isinstance(instance, ObjectFacts)
    assert instance.multi_instance and not instance.table and instance.writable
    plain = facts.lookup("Device.DeviceInfo.")
    assert isinstance(plain, ObjectFacts)
    assert not plain.writable and not plain.multi_instance
    wan_devices = facts.lookup("InternetGatewayDevice.WANDevice.")
    assert isinstance(wan_devices, ObjectFacts) and not wan_devices.writable


def test_vendor_and_foreign_paths_are_unknown() -> None:
    assert facts.lookup("Device.DeviceInfo.X_ACME_Colour") is None
    assert facts.lookup("Device.X_ACME_Thing.1.Name") is None
    assert facts.lookup("Other.Root.Param") is None
    assert facts.facts_for_root("Device.Foo") is facts.load("tr181")
    assert facts.facts_for_root("InternetGatewayDevice.Foo") is facts.load("tr098")
    assert facts.facts_for_root("Services.Foo") is None


def test_status_and_flags() -> None:
    summary = facts.lookup("InternetGatewayDevice.DeviceSummary")
    assert isinstance(summary, ParamFacts) and summary.deprecated
    password = facts.lookup("Device.ManagementServer.Password")
    assert isinstance(password, ParamFacts) and password.hidden
    methods = facts.lookup("Device.ManagementServer.SupportedConnReqMethods")
    assert isinstance(methods, ParamFacts) and methods.list is not None
    assert "HTTP" in methods.enumerations


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("Device.IP.Interface.1.Status", "Up", None),
        ("Device.IP.Interface.1.Status", "Upp", "must be one of: Up, Down, Unknown"),
        ("Device.Ethernet.VLANTermination.1.VLANID", "4094", None),
        ("Device.Ethernet.VLANTermination.1.VLANID", "0", "must be 1–4094"),
        ("Device.Ethernet.VLANTermination.1.VLANID", "12a", "must be a whole number"),
        ("Device.WiFi.SSID.1.SSID", "x" * 32, None),
        ("Device.WiFi.SSID.1.SSID", "x" * 33, "longer than 32 characters"),
        ("Device.WiFi.SSID.1.Enable", "true", None),
        ("Device.WiFi.SSID.1.Enable", "0", None),
        ("Device.WiFi.SSID.1.Enable", "yes", "must be true or false (or 1/0)"),
        ("Device.ManagementServer.PeriodicInformTime", "2025-01-31T12:00:00Z", None),
        ("Device.ManagementServer.PeriodicInformTime", "0001-01-01T00:00:00Z", None),
        (
            "Device.ManagementServer.PeriodicInformTime",
            "2025-02-30T12:00:00Z",
            "is not a valid date",
        ),
        ("Device.ManagementServer.PeriodicInformTime", "yesterday", "must be a dateTime"),
        ("Device.ManagementServer.PeriodicInformInterval", "0", "must be ≥ 1"),
        ("Device.DeviceInfo.UpTime", "-1", "must be 0–4294967295"),
        ("Device.IP.Interface.1.IPv4Address.1.IPAddress", "192.168.1.1", None),
        ("Device.IP.Interface.1.IPv4Address.1.IPAddress", "", None),
        (
            "Device.IP.Interface.1.IPv4Address.1.IPAddress",
            "192.168.1.300",
            "is not a valid IPv4Address",
        ),
        ("Device.WiFi.Radio.1.MCS", "20", None),
        ("Device.WiFi.Radio.1.MCS", "40", "must be -1–15 or 16–31"),
        ("Device.DHCPv4.Server.Pool.1.DNSServers", "1.1.1.1, 9.9.9.9", None),
        (
            "Device.DHCPv4.Server.Pool.1.DNSServers",
            "1.1.1.1,nope",
            "item 'nope' is not a valid IPv4Address",
        ),
        ("Device.ManagementServer.SupportedConnReqMethods", "HTTP,STUN", None),
        (
            "Device.ManagementServer.SupportedConnReqMethods",
            "HTTP,FTP",
            "item 'FTP' must be one of",
        ),
        ("Device.WiFi.AccessPoint.1.Security.WEPKey", "00112233445566778899aabbcc", None),
        ("Device.WiFi.AccessPoint.1.Security.WEPKey", "0g", "must be hexadecimal"),
        ("Device.DeviceInfo.X_ACME_Colour", "anything", None),
        ("Device.WiFi.SSID.1.", "x", "is an object, not a parameter"),
    ],
)
def test_check_value(path: str, value: str, reason: str | None) -> None:
    result = facts.check_value(path, value)
    if reason is None:
        assert result is None
    else:
        assert result is not None and result.startswith(reason), result


def test_check_value_for_write() -> None:
    assert facts.check_value("Device.DeviceInfo.UpTime", "5", for_write=True) == "is read-only"
    assert facts.check_value("Device.DeviceInfo.UpTime", "5") is None
    state = "Device.IP.Diagnostics.IPPing.DiagnosticsState"
    assert facts.check_value(state, "Requested", for_write=True) is None
    reason = facts.check_value(state, "Complete", for_write=True)
    assert reason is not None and "only the device" in reason
    assert facts.check_value(state, "Complete") is None
