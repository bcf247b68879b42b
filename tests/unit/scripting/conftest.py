"""Fixtures for the scripting tests: a real V8 sandbox and a small device tree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from acs_engine.scripting import Sandbox, ScriptRun

NOW = 1_700_000_000_000

DATA: dict[str, dict[str, Any]] = {
    "Device.": {"object": True, "writable": False},
    "Device.DeviceInfo.": {"object": True, "writable": False},
    "Device.DeviceInfo.SoftwareVersion": {"value": ["1.2.3", "xsd:string"], "writable": False},
    "Device.DeviceInfo.UpTime": {"value": [3600, "xsd:unsignedInt"], "writable": False},
    "Device.WiFi.SSID.": {"object": True, "writable": True},
    "Device.WiFi.SSID.1.": {"object": True, "writable": True},
    "Device.WiFi.SSID.1.SSID": {
        "value": ["home", "xsd:string"],
        "writable": True,
        "notification": 2,
    },
    "Device.WiFi.SSID.1.Enable": {"value": [True, "xsd:boolean"], "writable": True},
    "Device.WiFi.SSID.1.Stats.Channel": {"value": [6, "xsd:unsignedInt"], "writable": False},
    "Device.WiFi.SSID.2.": {"object": True, "writable": True},
    "Device.WiFi.SSID.2.SSID": {"value": ["guest", "xsd:string"], "writable": True},
    "Device.WiFi.SSID.2.Enable": {"value": [False, "xsd:boolean"], "writable": True},
    "Device.WiFi.SSID.2.Stats.Channel": {"value": [11, "xsd:unsignedInt"], "writable": False},
    "Device.WiFi.SSID.10.": {"object": True, "writable": True},
    "Device.WiFi.SSID.10.SSID": {"value": ["iot:net", "xsd:string"], "writable": True},
    "Device.WiFi.SSID.10.Enable": {"value": ["1", "xsd:string"], "writable": True},
    "Device.ManagementServer.PeriodicInformInterval": {
        "value": [300, "xsd:unsignedInt"],
        "writable": True,
        "accessList": ["Subscriber"],
    },
}


def make_run(source: str, **kw: Any) -> ScriptRun:
    """A ScriptRun over DATA with sensible defaults."""
    kw.setdefault("args", [])
    kw.setdefault("data", DATA)
    kw.setdefault("session_timestamp", NOW)
    kw.setdefault("device_id", "202BC1-BM632w-000001")
    name = kw.pop("name", "test")
    return ScriptRun(name=name, source=source, **kw)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """A sandbox with an extensions folder under tmp_path/ext.

    The run time limit is generous so that a loaded test machine cannot turn an ordinary run
    into a timeout; the time-limit tests make their own sandbox.
    """
    ext_dir = tmp_path / "ext"
    ext_dir.mkdir()
    sb = Sandbox(timeout_ms=5000, ext_dir=ext_dir, ext_timeout_ms=3000)
    yield sb
    await sb.close()
