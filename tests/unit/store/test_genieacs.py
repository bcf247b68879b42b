"""Converting presets from and to GenieACS documents."""

from __future__ import annotations

from typing import Any

import pytest

from acs_engine.store import Preset, preset_from_genieacs, preset_to_genieacs
from acs_engine.store.genieacs import configurations_to_provisions
from acs_engine.store.seeds import DEFAULT_PRESETS


def test_stored_form_with_configurations() -> None:
    doc: dict[str, Any] = {
        "_id": "full",
        "weight": 5,
        "channel": "",
        "events": {"1 BOOT": True, "2 PERIODIC": False},
        "schedule": "",
        "precondition": "DeviceID.ProductClass = 'Box'",
        "configurations": [{"type": "provision", "name": "full", "args": None}],
    }
    preset = preset_from_genieacs(doc)
    assert preset == Preset(
        id="full",
        weight=5,
        channel="default",
        events={"1 BOOT": True, "2 PERIODIC": False},
        schedule=None,
        precondition="DeviceID.ProductClass = 'Box'",
        provisions=[["full"]],
        configurations=[{"type": "provision", "name": "full", "args": None}],
    )
    assert not preset.legacy_precondition
    back = preset_to_genieacs(preset)
    assert back == {
        "_id": "full",
        "weight": 5,
        "channel": "default",
        "events": {"1 BOOT": True, "2 PERIODIC": False},
        "precondition": "DeviceID.ProductClass = 'Box'",
        "configurations": [{"type": "provision", "name": "full", "args": None}],
    }
    assert preset_from_genieacs(back) == preset


def test_every_legacy_configuration_type() -> None:
    objects = {
        "lan-host": {"_id": "lan-host", "_keys": ["MACAddress"], "MACAddress": "aa:bb", "Name": "pc"},
        "nested": {"_id": "nested", "Key": "k", "Sub": {"Leaf": 1}},
    }
    configurations = [
        {"type": "age", "name": "Device.DeviceInfo.", "age": "3600"},
        {"type": "value", "name": "Device.WiFi.SSID.1.SSID", "value": "lab"},
        {"type": "add_tag", "tag": "seen"},
        {"type": "delete_tag", "tag": "new"},
        {"type": "provision", "name": "setup", "args": ["'a'", 2]},
        {"type": "add_object", "name": "Device.Hosts.Host", "object": "lan-host"},
        {"type": "delete_object", "name": "Device.Hosts.Host", "object": "lan-host"},
        {"type": "add_object", "name": "X", "object": "nested"},
        {"type": "add_object", "name": "X", "object": "unknown"},
    ]
    assert configurations_to_provisions(configurations, objects) == [
        ["refresh", "Device.DeviceInfo.", 3600],
        ["value", "Device.WiFi.SSID.1.SSID", "lab"],
        ["tag", "seen", True],
        ["tag", "new", False],
        ["setup", "'a'", 2],
        ["instances", 'Device.Hosts.Host.[MACAddress:"aa:bb"]', 1],
        ["value", 'Device.Hosts.Host.[MACAddress:"aa:bb"].Name', "pc"],
        ["instances", 'Device.Hosts.Host.[MACAddress:"aa:bb"]', 0],
        # No _keys: every non-underscore field (flattened) is a key.
        ["instances", 'X.[Key:"k",Sub.Leaf:1]', 1],
    ]
    # Without the objects collection, object configurations produce nothing.
    preset = preset_from_genieacs({"_id": "p", "configurations": configurations})
    assert [p[0] for p in preset.provisions] == ["refresh", "value", "tag", "tag", "setup"]
    assert preset.configurations == configurations
    assert preset_to_genieacs(preset)["configurations"] == configurations


def test_provisions_form_and_export() -> None:
    preset = preset_from_genieacs(
        {"weight": "2", "provisions": [["refresh", "Device.", 60], ["reboot"]]},
        preset_id="from-url",
    )
    assert preset.id == "from-url" and preset.weight == 2
    assert preset.provisions == [["refresh", "Device.", 60], ["reboot"]]
    assert preset.configurations is None
    doc = preset_to_genieacs(preset)
    assert doc["configurations"] == [
        {"type": "provision", "name": "refresh", "args": ["Device.", 60]},
        {"type": "provision", "name": "reboot", "args": None},
    ]
    again = preset_from_genieacs(doc)
    assert again.provisions == preset.provisions
    # configurations win over provisions, as in GenieACS's CWMP worker.
    both = preset_from_genieacs(
        {"_id": "b", "provisions": [["x"]], "configurations": [{"type": "add_tag", "tag": "t"}]}
    )
    assert both.provisions == [["tag", "t", True]]


def test_seeded_presets_export_like_genieacs() -> None:
    bootstrap = preset_to_genieacs(DEFAULT_PRESETS[0])
    assert bootstrap == {
        "_id": "bootstrap",
        "weight": 0,
        "channel": "bootstrap",
        "events": {"0_BOOTSTRAP": True},
        "precondition": "",
        "configurations": [
            {"type": "provision", "name": "bootstrap", "args": None},
            # FieldACS's seed also reads the whole tree (GenieACS's built-in refresh)
            {"type": "provision", "name": "refresh", "args": ["InternetGatewayDevice"]},
            {"type": "provision", "name": "refresh", "args": ["Device"]},
        ],
    }


def test_legacy_precondition_is_kept_and_flagged() -> None:
    text = '{"_tags": "lab", "InternetGatewayDevice.DeviceInfo.SoftwareVersion": "1.0"}'
    preset = preset_from_genieacs({"_id": "old", "precondition": text})
    assert preset.precondition == text and preset.legacy_precondition
    as_object = preset_from_genieacs({"_id": "old", "precondition": {"_tags": "lab"}})
    assert as_object.precondition == '{"_tags": "lab"}' and as_object.legacy_precondition
    for expression in ("", "true", "Tags.lab IS NOT NULL", "{not json"):
        assert not Preset("p", precondition=expression).legacy_precondition


def test_events_in_other_shapes() -> None:
    assert preset_from_genieacs({"_id": "p", "events": "0 BOOTSTRAP, -1 BOOT"}).events == {
        "0 BOOTSTRAP": True,
        "1 BOOT": False,
    }
    assert preset_from_genieacs({"_id": "p", "events": ["4 VALUE CHANGE"]}).events == {
        "4 VALUE CHANGE": True
    }


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "needs an id"),
        ({"_id": "p", "configurations": [{"type": "bogus"}]}, "Unknown configuration type"),
        ({"_id": "p", "configurations": ["x"]}, "must be an object"),
        ({"_id": "p", "configurations": {}}, "must be a list"),
        ({"_id": "p", "configurations": [{"type": "age", "name": "A", "age": "x"}]}, "age"),
        ({"_id": "p", "configurations": [{"type": "provision"}]}, "needs a name"),
        ({"_id": "p", "provisions": [[]]}, r"\[name, \.\.\.args\]"),
        ({"_id": "p", "provisions": "reboot"}, "must be a list"),
        ({"_id": "p", "weight": "heavy"}, "weight"),
        ({"_id": "p", "schedule": 5}, "schedule"),
        ({"_id": "p", "precondition": 5}, "precondition"),
        ({"_id": "p", "events": 5}, "events"),
    ],
)
def test_malformed_documents(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        preset_from_genieacs(doc)
