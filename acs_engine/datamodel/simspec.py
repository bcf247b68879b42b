"""What the simulator's two home gateways contain: objects, instance counts and values.

Names, types and writability are never written here; they come from the data-model facts
(:mod:`acs_engine.datamodel.simmodel` checks every value against them). Parameters this
spec does not mention get a neutral valid value (the BBF default, a live enumeration value,
``0``, ``false`` or an empty string). Values may use the simulator's per-device placeholders
``{serial}``, ``{oui}``, ``{product_class}``, ``{manufacturer}``, ``{ip}``, ``{mac}``,
``{cr_url}``, ``{cr_username}``, ``{cr_password}``, ``{acs_url}`` and ``{now}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: A value: the same for every instance, one per instance number (cycled), or computed from
#: the instance numbers along the path.
Value = str | list[str] | Callable[[tuple[int, ...]], str]
Count = int | Callable[[tuple[int, ...]], int]


@dataclass(frozen=True)
class SimSpec:
    """One simulated device model.

    Attributes:
        key: ``tr098`` or ``tr181``.
        device: Manufacturer, OUI and product class of the simulated device.
        objects: Generic object paths present (their ancestors are implied).
        counts: Instances per generic table (``X.{i}.``); 1 when absent.
        values: Generic parameter path -> value for the live device.
        fresh_values: Generic parameter path -> default for an instance added by AddObject.
        skip: Generic parameter paths the device does not implement.
        keep_deprecated: Deprecated parameters the device still implements.
        forced_inform: Concrete forced-inform parameter paths.
    """

    key: str
    device: Mapping[str, str]
    objects: tuple[str, ...]
    counts: Mapping[str, Count] = field(default_factory=dict)
    values: Mapping[str, Value] = field(default_factory=dict)
    fresh_values: Mapping[str, str] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    keep_deprecated: frozenset[str] = frozenset()
    forced_inform: tuple[str, ...] = ()


HOST_MACS = [
    "3C:22:FB:1A:2B:01",
    "A4:83:E7:10:22:33",
    "DC:A6:32:45:67:89",
    "F0:18:98:AB:CD:EF",
    "B8:27:EB:12:34:56",
]
HOST_NAMES = ["laptop-anna", "iphone-ben", "raspberrypi", "macbook-cara", "printer-hall"]
HOST_IPS = ["192.168.1.100", "192.168.1.101", "192.168.1.102", "192.168.1.103", "192.168.1.20"]

COMMON_INFO = {
    "Manufacturer": "{manufacturer}",
    "ManufacturerOUI": "{oui}",
    "ProductClass": "{product_class}",
    "SerialNumber": "{serial}",
    "Description": "FieldACS simulated home gateway",
    "HardwareVersion": "HW-1.2",
    "SoftwareVersion": "3.4.1-fieldacs",
    "ProvisioningCode": "",
    "UpTime": "3600",
    "FirstUseDate": "2024-06-01T08:00:00Z",
}

COMMON_MS = {
    "EnableCWMP": "true",
    "URL": "{acs_url}",
    "Username": "{serial}",
    "Password": "",
    "PeriodicInformEnable": "true",
    "PeriodicInformInterval": "300",
    "PeriodicInformTime": "0001-01-01T00:00:00Z",
    "ParameterKey": "",
    "ConnectionRequestURL": "{cr_url}",
    "ConnectionRequestUsername": "{cr_username}",
    "ConnectionRequestPassword": "{cr_password}",
    "UpgradesManaged": "false",
    "UDPConnectionRequestAddress": "{ip}:7547",
    "STUNEnable": "false",
    "STUNServerPort": "3478",
    "STUNMaximumKeepAlivePeriod": "-1",
    "CWMPRetryMinimumWaitInterval": "5",
    "CWMPRetryIntervalMultiplier": "2000",
}


def prefixed(prefix: str, values: Mapping[str, Value]) -> dict[str, Value]:
    """Prefix every key of ``values`` with ``prefix`` (a relative object path)."""
    return {prefix + name: value for name, value in values.items()}
