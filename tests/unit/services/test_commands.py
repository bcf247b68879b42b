"""Staged commands turned into RPCs and GenieACS tasks, and CPE answers read back."""

from __future__ import annotations

from acs_engine.cwmp import rpc
from acs_engine.services import commands as cmd
from acs_engine.services.commands import AddInstance, DeleteInstance, RefreshSubtree, SetValue
from acs_engine.store.model import Param

PARAMS = {
    "Device.ManagementServer.PeriodicInformInterval": Param(
        "Device.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt", writable=True
    ),
    "Device.X_ACME_Flag": Param("Device.X_ACME_Flag", "0", "xsd:boolean", writable=True),
}


def test_values_travel_typed_and_in_one_spv() -> None:
    commands = [
        SetValue("Device.ManagementServer.PeriodicInformInterval", " 600 "),
        SetValue("Device.X_ACME_Flag", "True"),  # stored type
        SetValue("Device.ManagementServer.PeriodicInformEnable", "1"),  # data model type
        SetValue("Device.X_ACME_Unknown", "x"),  # neither: string
    ]
    [spv] = cmd.to_rpcs(commands, PARAMS, parameter_key="k1")
    assert isinstance(spv, rpc.SetParameterValues) and spv.parameter_key == "k1"
    assert [(p.name, p.value, p.type) for p in spv.parameters] == [
        ("Device.ManagementServer.PeriodicInformInterval", "600", "xsd:unsignedInt"),
        ("Device.X_ACME_Flag", "true", "xsd:boolean"),
        ("Device.ManagementServer.PeriodicInformEnable", "true", "xsd:boolean"),
        ("Device.X_ACME_Unknown", "x", "xsd:string"),
    ]


def test_plan_orders_writes_then_objects_then_refreshes() -> None:
    commands = [
        RefreshSubtree("Device.WiFi."),
        AddInstance("Device.WiFi.SSID."),
        SetValue("Device.X_ACME_Flag", "false"),
        DeleteInstance("Device.WiFi.SSID.2"),
        RefreshSubtree("Device.DeviceInfo.UpTime"),
    ]
    planned = cmd.plan(commands, PARAMS)
    shape = [(type(p.message).__name__, p.commands, p.follow_up) for p in planned]
    assert shape == [
        ("SetParameterValues", (2,), False),
        ("AddObject", (1,), False),
        ("GetParameterNames", (1,), True),
        ("GetParameterValues", (1,), True),
        ("DeleteObject", (3,), False),
        ("GetParameterNames", (0,), False),
        ("GetParameterValues", (0,), False),
        ("GetParameterValues", (4,), False),
    ]
    assert planned[4].message == rpc.DeleteObject(object_name="Device.WiFi.SSID.2.")
    assert planned[2].message == rpc.GetParameterNames(
        parameter_path="Device.WiFi.SSID.", next_level=False
    )


def test_a_later_value_for_the_same_path_wins() -> None:
    [spv] = cmd.to_rpcs([SetValue("Device.X_ACME_Flag", "1"), SetValue("Device.X_ACME_Flag", "0")],
                        PARAMS)
    assert isinstance(spv, rpc.SetParameterValues)
    assert [(p.name, p.value) for p in spv.parameters] == [("Device.X_ACME_Flag", "false")]


def test_to_tasks_writes_genieacs_documents() -> None:
    tasks = cmd.to_tasks(
        [SetValue("Device.X_ACME_Flag", "1"), AddInstance("Device.WiFi.SSID."),
         DeleteInstance("Device.WiFi.SSID.2."), RefreshSubtree("Device.WiFi.")],
        PARAMS,
    )
    assert tasks == [
        {"name": "setParameterValues",
         "parameterValues": [["Device.X_ACME_Flag", "true", "xsd:boolean"]]},
        {"name": "addObject", "objectName": "Device.WiFi.SSID"},
        {"name": "deleteObject", "objectName": "Device.WiFi.SSID.2"},
        {"name": "refreshObject", "objectName": "Device.WiFi"},
    ]


def test_outcomes_in_words() -> None:
    set_cmd = SetValue("Device.X_ACME_Flag", "1")
    request = rpc.SetParameterValues()
    fault = rpc.Fault(
        code=9003, string="Invalid arguments",
        set_parameter_values_faults=(
            rpc.SetParameterValuesFault("Device.X_ACME_Flag", 9007, "Invalid parameter value"),
        ),
    )
    refused = cmd.outcome(set_cmd, request, fault)
    assert (refused.ok, refused.fault_code) == (False, 9007)
    assert refused.message == "CPE fault 9007: Invalid parameter value"
    other = cmd.outcome(SetValue("Device.Other", "1"), request, fault)
    assert other.message == "CPE fault 9003: Invalid arguments"
    added = cmd.outcome(AddInstance("Device.WiFi.SSID."), rpc.AddObject(),
                        rpc.AddObjectResponse(instance_number=4))
    assert (added.ok, added.message) == (True, "Added Device.WiFi.SSID.4.")
    assert cmd.outcome(set_cmd, request, rpc.SetParameterValuesResponse(status=1)).message == (
        "Set (the CPE applies it after a reboot)"
    )


def test_describe() -> None:
    assert cmd.describe(SetValue("A.B", "x")) == 'Set A.B to "x"'
    assert cmd.describe(AddInstance("A.T")) == "Add an instance to A.T."
    assert cmd.describe(DeleteInstance("A.T.1.")) == "Delete A.T.1."
    assert cmd.describe(RefreshSubtree("A.")) == "Refresh A."
