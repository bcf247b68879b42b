"""Staged commands turned into GenieACS tasks, their values typed."""

from __future__ import annotations

from acs_engine.admin import commands as cmd
from acs_engine.admin.commands import AddInstance, DeleteInstance, RefreshSubtree, SetValue
from acs_engine.store.model import Param

PARAMS = {
    "Device.ManagementServer.PeriodicInformInterval": Param(
        "Device.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt", writable=True
    ),
    "Device.X_ACME_Flag": Param("Device.X_ACME_Flag", "0", "xsd:boolean", writable=True),
}


def test_values_travel_typed_and_in_one_set_task() -> None:
    commands = [
        SetValue("Device.ManagementServer.PeriodicInformInterval", " 600 "),
        SetValue("Device.X_ACME_Flag", "True"),  # stored type
        SetValue("Device.ManagementServer.PeriodicInformEnable", "1"),  # data model type
        SetValue("Device.X_ACME_Unknown", "x"),  # neither: string
    ]
    [task] = cmd.to_tasks(commands, PARAMS)
    assert task["name"] == "setParameterValues"
    assert task["parameterValues"] == [
        ["Device.ManagementServer.PeriodicInformInterval", "600", "xsd:unsignedInt"],
        ["Device.X_ACME_Flag", "true", "xsd:boolean"],
        ["Device.ManagementServer.PeriodicInformEnable", "true", "xsd:boolean"],
        ["Device.X_ACME_Unknown", "x", "xsd:string"],
    ]


def test_a_later_value_for_the_same_path_wins() -> None:
    [task] = cmd.to_tasks(
        [SetValue("Device.X_ACME_Flag", "1"), SetValue("Device.X_ACME_Flag", "0")], PARAMS
    )
    assert task["parameterValues"] == [["Device.X_ACME_Flag", "false", "xsd:boolean"]]


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


def test_describe() -> None:
    assert cmd.describe(SetValue("A.B", "x")) == 'Set A.B to "x"'
    assert cmd.describe(AddInstance("A.T")) == "Add an instance to A.T."
    assert cmd.describe(DeleteInstance("A.T.1.")) == "Delete A.T.1."
    assert cmd.describe(RefreshSubtree("A.")) == "Refresh A."
