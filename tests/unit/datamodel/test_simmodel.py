"""The shipped simulator device models agree with the data-model facts."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from acs_engine.datamodel import facts
from acs_engine.datamodel.facts import ObjectFacts, ParamFacts, generic_path
from acs_engine.datamodel.simmodel import SPECS, dumps, generate, render

MODELS = ("tr098", "tr181")


def _model(key: str) -> dict[str, Any]:
    text = resources.files("resources").joinpath("models", f"{key}.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@pytest.fixture(params=MODELS)
def model(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _model(request.param)


def _params(document: dict[str, Any]) -> list[list[Any]]:
    return [node for node in document["nodes"] if node[2] is not None]


def _parent(path: str) -> str:
    trimmed = path[:-1] if path.endswith(".") else path
    return trimmed.rsplit(".", 1)[0] + "."


def test_header(model: dict[str, Any]) -> None:
    key = model["model"]
    assert model["root"] == facts.ROOTS[key]
    assert set(model["device"]) == {"manufacturer", "oui", "product_class"}
    assert model["nodes"][0] == [model["root"], False, None, None]


def test_has_at_least_800_parameters(model: dict[str, Any]) -> None:
    assert len(_params(model)) >= 800


def test_depth_first_and_unique(model: dict[str, Any]) -> None:
    seen: set[str] = set()
    stack: list[str] = []
    for path, _writable, kind, value in model["nodes"]:
        assert path not in seen, path
        seen.add(path)
        if path != model["root"]:
            parent = _parent(path)
            assert parent in seen, path
            while stack and stack[-1] != parent:
                stack.pop()  # leaving a subtree: its parent must be the open object
            assert stack and stack[-1] == parent, f"{path} not under the open object"
        if path.endswith("."):
            assert kind is None and value is None
            stack.append(path)
        else:
            assert isinstance(kind, str) and isinstance(value, str)


def test_paths_types_and_writability_match_the_facts(model: dict[str, Any]) -> None:
    dm = facts.load(model["model"])
    for path, writable, kind, _value in model["nodes"]:
        found = dm.lookup(path)
        assert found is not None, path
        if isinstance(found, ParamFacts):
            assert kind == found.xsd_type, path
            assert writable == found.writable, path
        else:
            assert isinstance(found, ObjectFacts)
            expected = found.writable and (found.table or found.multi_instance)
            assert writable == expected, path


def test_every_value_is_valid(model: dict[str, Any]) -> None:
    dm = facts.load(model["model"])
    for path, _writable, _kind, value in _params(model):
        assert dm.check_value(path, render(value)) is None, (path, value)


def test_number_of_entries_match_instances(model: dict[str, Any]) -> None:
    dm = facts.load(model["model"])
    paths = [node[0] for node in model["nodes"]]
    values = {node[0]: node[3] for node in _params(model)}
    for path in paths:
        obj = dm.lookup(path)
        if not (isinstance(obj, ObjectFacts) and obj.table and obj.num_entries_parameter):
            continue
        counter = _parent(path) + obj.num_entries_parameter
        instances = [p for p in paths if _parent(p) == path]
        assert values[counter] == str(len(instances)), path


def test_forced_inform_parameters_exist(model: dict[str, Any]) -> None:
    values = {node[0]: node[3] for node in _params(model)}
    root = model["root"]
    required = {
        root + "DeviceInfo.HardwareVersion",
        root + "DeviceInfo.SoftwareVersion",
        root + "DeviceInfo.ProvisioningCode",
        root + "ManagementServer.ParameterKey",
        root + "ManagementServer.ConnectionRequestURL",
    }
    assert required <= set(model["forced_inform"])
    for path in model["forced_inform"]:
        assert path in values, path
    if model["model"] == "tr098":
        assert any(p.endswith(".ExternalIPAddress") for p in model["forced_inform"])
    else:
        assert "Device.ManagementServer.AliasBasedAddressing" in model["forced_inform"]


def test_management_server_and_device_info(model: dict[str, Any]) -> None:
    values = {node[0]: node[3] for node in _params(model)}
    ms = model["root"] + "ManagementServer."
    for name in (
        "URL",
        "Username",
        "Password",
        "PeriodicInformEnable",
        "PeriodicInformInterval",
        "ConnectionRequestURL",
        "ConnectionRequestUsername",
        "ConnectionRequestPassword",
        "ParameterKey",
        "UDPConnectionRequestAddress",
        "STUNEnable",
    ):
        assert ms + name in values, name
    assert values[ms + "URL"] == "{acs_url}"
    assert values[ms + "ConnectionRequestURL"] == "{cr_url}"
    info = model["root"] + "DeviceInfo."
    assert values[info + "SerialNumber"] == "{serial}"
    assert values[info + "ManufacturerOUI"] == "{oui}"
    assert values[info + "ProductClass"] == "{product_class}"


def test_tables(model: dict[str, Any]) -> None:
    dm = facts.load(model["model"])
    nodes = {node[0]: node for node in model["nodes"]}
    tables_in_nodes = set()
    for path in nodes:
        found = dm.lookup(path)
        if isinstance(found, ObjectFacts) and found.table:
            tables_in_nodes.add(path)
    assert set(model["tables"]) == tables_in_nodes
    for table, entry in model["tables"].items():
        assert entry["writable"] == nodes[table][1]
        instance = generic_path(table + "1.")
        assert entry["template"], table
        for rel, writable, kind, default in entry["template"]:
            found = dm.lookup(instance + rel)
            assert found is not None, (table, rel)
            if isinstance(found, ParamFacts):
                assert (kind, writable) == (found.xsd_type, found.writable), (table, rel)
                assert dm.check_value(instance + rel, render(default)) is None, (table, rel)
            else:
                assert kind is None and default is None


def test_realistic_multi_instance_content() -> None:
    tr181 = {node[0] for node in _model("tr181")["nodes"]}
    for table, minimum in {
        "Device.IP.Interface.": 3,
        "Device.Ethernet.Interface.": 4,
        "Device.WiFi.Radio.": 2,
        "Device.WiFi.SSID.": 4,
        "Device.WiFi.AccessPoint.": 4,
        "Device.Hosts.Host.": 5,
        "Device.DHCPv4.Server.Pool.": 1,
        "Device.NAT.PortMapping.": 2,
    }.items():
        assert f"{table}{minimum}." in tr181, table
    tr098 = {node[0] for node in _model("tr098")["nodes"]}
    for path in (
        "InternetGatewayDevice.LANDevice.1.WLANConfiguration.2.",
        "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.",
        "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.2.WANPPPConnection.1.",
        "InternetGatewayDevice.LANDevice.1.Hosts.Host.5.",
        "InternetGatewayDevice.Layer3Forwarding.Forwarding.2.",
    ):
        assert path in tr098, path


@pytest.mark.parametrize("key", MODELS)
def test_shipped_models_are_what_the_generator_makes(key: str) -> None:
    text = resources.files("resources").joinpath("models", f"{key}.json").read_text("utf-8")
    assert dumps(generate(SPECS[key])) == text
