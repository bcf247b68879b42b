"""The lazy parameter tree: Qt model rules, laziness at 10,000+ parameters, filter, checks."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, Qt

from acs_engine.store.model import Param
from app.param_views import ParamFilterProxy, ParamValueDelegate
from app.params_model import (
    MASK,
    UNKNOWN_TIP,
    ParamTreeModel,
    parent_path,
)


def _params() -> dict[str, Param]:
    now = int(time.time() * 1000)
    rows = [
        Param("Device.", object=True, writable=False),
        Param("Device.DeviceInfo.", object=True, writable=False),
        Param("Device.DeviceInfo.SoftwareVersion", "1.2.3", "xsd:string", now - 180_000,
              writable=False),
        Param("Device.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt", now,
              writable=True),
        Param("Device.ManagementServer.ConnectionRequestPassword", "hunter2", "xsd:string", now,
              writable=True),
        Param("Device.X_ACME_Turbo", "on", "xsd:string", now, writable=True),
        Param("Device.WiFi.SSID.", object=True, writable=True),
    ]
    # instances 1..12: natural order, not string order; intermediate objects are implied
    for i in range(1, 13):
        rows.append(Param(f"Device.WiFi.SSID.{i}.", object=True, writable=True))
        rows.append(Param(f"Device.WiFi.SSID.{i}.SSID", f"net-{i}", "xsd:string", now,
                          writable=True))
    return {p.path: p for p in rows}


def test_model_rules_and_contents(qtmodeltester) -> None:
    model = ParamTreeModel()
    model.set_params(_params())
    qtmodeltester.check(model)
    root = model.index(0, 0)
    assert model.data(root) == "Device" and model.rowCount() == 1
    ssids = model.index_for_path("Device.WiFi.SSID.")
    assert [model.index(r, 0, ssids).data() for r in range(3)] == ["1", "2", "3"]
    assert model.index(0, ParamTreeModel.VALUE, ssids.parent()).data() is not None
    assert ssids.siblingAtColumn(ParamTreeModel.VALUE).data() == "12 instances"
    assert ssids.siblingAtColumn(ParamTreeModel.TYPE).data() == "table"
    sw = model.index_for_path("Device.DeviceInfo.SoftwareVersion")
    assert sw.siblingAtColumn(ParamTreeModel.REFRESHED).data() == "3 min ago"
    assert "Value read" in sw.siblingAtColumn(ParamTreeModel.REFRESHED).data(
        Qt.ItemDataRole.ToolTipRole)
    assert sw.siblingAtColumn(ParamTreeModel.WRITABLE).data() == "no"
    assert not sw.siblingAtColumn(ParamTreeModel.VALUE).flags() & Qt.ItemFlag.ItemIsEditable
    interval = model.index_for_path("Device.ManagementServer.PeriodicInformInterval")
    assert interval.parent().data() == "ManagementServer"  # implied object
    assert interval.siblingAtColumn(ParamTreeModel.VALUE).flags() & Qt.ItemFlag.ItemIsEditable


def test_secrets_masked_and_vendor_parameters_marked() -> None:
    model = ParamTreeModel()
    model.set_params(_params())
    secret = model.index_for_path("Device.ManagementServer.ConnectionRequestPassword")
    assert secret.siblingAtColumn(ParamTreeModel.VALUE).data() in ("********", MASK)
    assert secret.siblingAtColumn(ParamTreeModel.VALUE).data(Qt.ItemDataRole.EditRole) == ""
    vendor = model.index_for_path("Device.X_ACME_Turbo")
    assert vendor.data(ParamTreeModel.UnknownRole) is True
    assert vendor.data(Qt.ItemDataRole.FontRole).italic()
    assert UNKNOWN_TIP in vendor.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index_for_path("Device.DeviceInfo.SoftwareVersion").data(
        ParamTreeModel.UnknownRole) is False
    # secret values are never matched by the filter
    assert not model.matching_paths("hunter2")


def test_values_are_checked_against_the_data_model() -> None:
    model = ParamTreeModel()
    model.set_params(_params())
    rejected: list[tuple[str, str]] = []
    edited: list[tuple[str, str]] = []
    model.editRejected.connect(lambda p, r: rejected.append((p, r)))
    model.valueEdited.connect(lambda p, v: edited.append((p, v)))
    path = "Device.ManagementServer.PeriodicInformInterval"
    cell = model.index_for_path(path, ParamTreeModel.VALUE)
    assert not model.setData(cell, "-5")
    assert rejected and rejected[0][0] == path and "must be" in rejected[0][1]
    assert model.setData(cell, "600") and edited == [(path, "600")]
    assert model.validate("Device.DeviceInfo.SoftwareVersion", "2") == "is read-only on this device"
    assert model.validate("Device.X_ACME_Turbo", "anything at all") is None  # not checked
    assert ParamValueDelegate.choices("Device.ManagementServer.PeriodicInformEnable") == [
        "true", "false"]


def test_staged_values_are_shown_in_place() -> None:
    model = ParamTreeModel()
    model.set_params(_params())
    path = "Device.WiFi.SSID.2.SSID"
    cell = model.index_for_path(path, ParamTreeModel.VALUE)
    assert cell.data() == "net-2"
    changed: list[QModelIndex] = []
    model.dataChanged.connect(lambda a, _b: changed.append(a))
    model.set_staged({path: ("lab", "staged")})
    assert cell.data() == "lab  (staged)" and changed and changed[0].row() == cell.row()
    assert "commit" in cell.data(Qt.ItemDataRole.ToolTipRole)
    model.set_staged({})
    assert cell.data() == "net-2"


def test_filter_keeps_the_ancestors_of_matches(qtmodeltester) -> None:
    model = ParamTreeModel()
    model.set_params(_params())
    proxy = ParamFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_text("net-11")
    qtmodeltester.check(proxy)
    device = proxy.index(0, 0)
    wifi = proxy.index(0, 0, device)
    assert (device.data(), wifi.data(), proxy.rowCount(device)) == ("Device", "WiFi", 1)
    ssid = proxy.index(0, 0, wifi)
    [instance] = [proxy.index(r, 0, ssid).data() for r in range(proxy.rowCount(ssid))]
    assert instance == "11"
    proxy.set_text("softwareversion")  # names, case-insensitive
    assert proxy.rowCount(proxy.index(0, 0)) == 1
    proxy.set_text("")
    assert proxy.rowCount(proxy.index(0, 0)) == 4


def test_ten_thousand_parameters_stay_lazy() -> None:
    params: dict[str, Param] = {}
    for i in range(1, 1001):
        base = f"Device.Hosts.Host.{i}."
        params[base] = Param(base, object=True, writable=False)
        for name in ("IPAddress", "PhysAddress", "HostName", "Active", "LeaseTimeRemaining",
                     "AddressSource", "Layer1Interface", "Layer3Interface", "Alias", "DHCPClient"):
            params[base + name] = Param(base + name, f"{name}-{i}", "xsd:string", 1, writable=False)
    assert len(params) > 10_000
    model = ParamTreeModel()
    model.set_params(params)
    assert model.created_count() == 0
    assert model.node_count() == len(params) + 3  # Device., Device.Hosts., Device.Hosts.Host.
    host = model.index_for_path("Device.Hosts.Host.")
    assert model.rowCount(host) == 1000
    assert model.index(999, 0, host).data() == "1000"
    assert model.created_count() < 1010  # only the chain and one level of instances
    assert parent_path("Device.Hosts.Host.7.Alias") == "Device.Hosts.Host.7."
