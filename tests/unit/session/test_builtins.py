"""The built-in provisions' declarations and argument checks."""

from __future__ import annotations

import hashlib

import pytest

from acs_engine.session import builtins
from acs_engine.session.builtins import BUILTINS, interval, variance
from acs_engine.session.declarations import Declaration

from .harness import T0

DEV = "464643-SIM0001"


def test_variance_and_interval_follow_the_md5_of_the_device_id() -> None:
    digest = hashlib.md5(DEV.encode()).digest()
    folded = 0
    for i in (0, 4, 8, 12):
        folded ^= int.from_bytes(digest[i:i + 4], "little")
    assert variance(DEV, 60_000) == folded % 60_000
    offset = variance(DEV, 60_000)
    start = interval(T0, 60_000, offset)
    assert start <= T0 < start + 60_000
    assert (start + offset) % 60_000 == 0


def test_refresh_pads_with_wildcards_to_max_depth() -> None:
    decs = builtins.refresh(["Device.WiFi", 300], T0, DEV)
    stamp = interval(T0, 300_000, variance(DEV, 300_000))
    assert [d.path for d in decs] == ["Device.WiFi"] + [
        "Device.WiFi" + ".*" * n for n in range(1, 15)
    ]
    assert all(d.path_get == stamp and d.defer for d in decs)
    assert decs[0].attr_get == {"object": 1, "writable": 1, "value": stamp}


def test_refresh_with_attributes_and_no_children() -> None:
    decs = builtins.refresh(["Device.X", 1, False, "notification"], T0, DEV)
    stamp = interval(T0, 1000, variance(DEV, 1000))
    assert decs == [Declaration("Device.X", path_get=stamp, attr_get={"notification": stamp},
                                defer=True)]


def test_value_tag_reboot_reset() -> None:
    assert builtins.value(["A.B", 5], T0, DEV) == [Declaration(
        "A.B", path_get=1, attr_get={"value": 1}, attr_set={"value": (5, None)}, defer=True)]
    assert builtins.value(["A.B", "accessList", " Subscriber, ,x "], T0, DEV)[0].attr_set == {
        "accessList": ("Subscriber", "x")}
    assert builtins.tag(["vip", False], T0, DEV) == [Declaration(
        "Tags.vip", path_get=1, attr_get={"value": 1}, attr_set={"value": (False, None)},
        defer=True)]
    assert builtins.reboot([], T0, DEV)[0].attr_set == {"value": (T0, None)}
    assert builtins.reset([], T0, DEV)[0].path == "FactoryReset"


def test_download_declares_the_virtual_instance_and_its_time() -> None:
    decs = builtins.download(["1 Firmware Upgrade Image", "fw.bin"], T0, DEV)
    base = 'Downloads.[FileName = "fw.bin" AND FileType = "1 Firmware Upgrade Image" AND ' \
           'TargetFileName = ""]'
    assert decs == [
        Declaration(base, path_get=1, path_set=1, defer=True),
        Declaration(base + ".Download", path_get=1, attr_get={"value": 1},
                    attr_set={"value": (T0, None)}, defer=True),
    ]


def test_instances_absolute_and_relative() -> None:
    assert builtins.instances(["A.*", 2], T0, DEV) == [
        Declaration("A.*", path_get=1, path_set=2, defer=True)]
    assert builtins.instances(["A.*", "+1"], T0, DEV) == [
        Declaration("A.*", path_get=1, defer=True)]
    assert builtins.instances(["A.*", "-3"], T0, DEV, current=2)[-1].path_set == 0
    assert builtins.instances(["A.*", "+1"], T0, DEV, current=2)[-1].path_set == 3


@pytest.mark.parametrize("name, args", [
    ("refresh", []), ("refresh", [1]), ("refresh", ["A", "x"]), ("refresh", ["A", 1, "no"]),
    ("value", ["A"]), ("value", [1, 2]), ("value", ["A", 1, 2, 3]),
    ("tag", ["x", "true"]), ("reboot", [1]), ("reset", ["now"]),
    ("download", ["1 Firmware Upgrade Image"]), ("download", ["a", 1]),
    ("instances", ["A.*"]), ("instances", ["A.*", "many"]),
])
def test_bad_arguments(name: str, args: list[object]) -> None:
    with pytest.raises(ValueError, match="Invalid arguments"):
        BUILTINS[name](list(args), T0, DEV)
