"""The presets and provisions a new database starts with.

They follow what GenieACS seeds on a fresh install (three presets, each running the provision
of the same name); the script text is FieldACS's own:

- ``bootstrap`` (channel ``bootstrap``, on ``0 BOOTSTRAP``): forget the cached data model of
  a new or factory-reset CPE (the ``bootstrap`` provision), then read it all again with the
  built-in ``refresh`` of each root: every parameter's name, writability and value (the root
  the CPE does not have is not asked for). **Differs from GenieACS on purpose**: GenieACS's
  seeded bootstrap preset only clears the cache, so a new device shows just the few values
  the ``default`` and ``inform`` provisions read until someone refreshes the tree; a
  technician expects to see the whole CPE after its first session (issue 18). It costs that
  first session the GetParameterNames walk and GetParameterValues batches of the whole tree
  (simulator: 29 RPCs for TR-098's 857 parameters, 42 for TR-181's 1,281); later sessions
  are unchanged. Databases created before this change keep the presets they were seeded with;
- ``default`` (every session): re-read a few key parameters once an hour;
- ``inform`` (every session): once a day, make sure the connection-request credentials
  (the device id and a per-device password) and a periodic inform every 300 s, at a
  per-device time of day, are set.

The connection-request password differs from GenieACS's (there ``Math.random`` seeded with
the device id, so anyone who knows a device id can compute it): the ``inform`` preset passes
``CONNECTION_REQUEST_PASSWORD()`` to the provision, an HMAC of the device id under a secret
of this database (:mod:`acs_engine.reach.device_secret`). ``Math.random`` keeps its
GenieACS semantics for every script. :data:`LEGACY_INFORM_SCRIPT` is the earlier script,
recognised when an existing database is upgraded.
"""

from __future__ import annotations

from .records import Preset, Provision

__all__ = [
    "DEFAULT_PRESETS", "DEFAULT_PROVISIONS", "INFORM_CALLS", "LEGACY_INFORM_CALLS",
    "LEGACY_INFORM_SCRIPT",
]

_BOOTSTRAP = """\
// A new or factory-reset CPE: drop what is cached of its data model so that
// the next declarations discover it again from the device.
const since = Date.now();
for (const root of ["InternetGatewayDevice", "Device"]) {
  clear(root, since);
}
"""

_DEFAULT = """\
// Re-read a handful of key parameters once an hour.
const hourly = Date.now(3600000);
const igd = "InternetGatewayDevice.";
const wanIp = "WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.";
const hosts = "LANDevice.*.Hosts.Host.*.";
const keep = [
  "DeviceInfo.HardwareVersion",
  "DeviceInfo.SoftwareVersion",
  wanIp + "MACAddress",
  wanIp + "ExternalIPAddress",
  "LANDevice.*.WLANConfiguration.*.SSID",
  hosts + "HostName",
  hosts + "IPAddress",
  hosts + "MACAddress",
];
for (const path of keep) {
  declare(igd + path, {path: hourly, value: hourly});
}
// CPEs report Wi-Fi passphrases as empty strings: track the parameter, not its value.
declare(igd + "LANDevice.*.WLANConfiguration.*.KeyPassphrase", {path: hourly, value: 1});
"""

_INFORM_V1 = """\
// Connection-request credentials and periodic inform, checked once a day.
const daily = Date.now(86400000);
// The user name is the device id. Math.random() is seeded with the device id, so the
// password stays the same for a device from one session to the next.
const username = declare("DeviceID.ID", {value: 1}).value[0];
const password = Math.trunc(Math.random() * Number.MAX_SAFE_INTEGER).toString(36);
const wanted = {
  ConnectionRequestUsername: username,
  ConnectionRequestPassword: password,
  PeriodicInformEnable: true,
  PeriodicInformInterval: 300,
  // Daily timestamps are offset per device: this spreads informs over the day.
  PeriodicInformTime: daily % 86400000,
};
for (const root of ["InternetGatewayDevice", "Device"]) {
  for (const name of Object.keys(wanted)) {
    declare(root + ".ManagementServer." + name, {value: daily}, {value: wanted[name]});
  }
}
"""

_INFORM = """\
// Connection-request credentials and periodic inform, checked once a day.
const daily = Date.now(86400000);
// The user name is the device id. The password is this provision's argument: the "inform"
// preset passes CONNECTION_REQUEST_PASSWORD(), derived from the device id and a secret of
// this database, so it stays the same for a device and cannot be guessed from its id.
const username = declare("DeviceID.ID", {value: 1}).value[0];
const password = args[0];
const wanted = {
  ConnectionRequestUsername: username,
  PeriodicInformEnable: true,
  PeriodicInformInterval: 300,
  // Daily timestamps are offset per device: this spreads informs over the day.
  PeriodicInformTime: daily % 86400000,
};
if (typeof password === "string" && password !== "") {
  wanted.ConnectionRequestPassword = password;
} else {
  log("inform: no password argument; ConnectionRequestPassword is left as it is");
}
for (const root of ["InternetGatewayDevice", "Device"]) {
  for (const name of Object.keys(wanted)) {
    declare(root + ".ManagementServer." + name, {value: daily}, {value: wanted[name]});
  }
}
"""

#: The seeded ``inform`` provision of databases made before the password was derived from
#: a per-database secret (its password could be computed from the device id).
LEGACY_INFORM_SCRIPT = _INFORM_V1
#: The provision calls of the seeded ``inform`` preset, before and now.
LEGACY_INFORM_CALLS: list[list[object]] = [["inform"]]
INFORM_CALLS: list[list[object]] = [["inform", ["FUNC", "CONNECTION_REQUEST_PASSWORD"]]]

#: The seeded presets, in id order.
DEFAULT_PRESETS: tuple[Preset, ...] = (
    Preset(
        id="bootstrap",
        channel="bootstrap",
        events={"0_BOOTSTRAP": True},
        # Then read the whole tree: every name, its writability and value (GenieACS's
        # seed stops at the clear). The built-in refresh of the root the CPE does not have
        # finds nothing and sends nothing.
        provisions=[["bootstrap"], ["refresh", "InternetGatewayDevice"], ["refresh", "Device"]],
    ),
    Preset(id="default", channel="default", provisions=[["default"]]),
    Preset(id="inform", channel="inform", provisions=[list(c) for c in INFORM_CALLS]),
)

#: The seeded provisions the presets run.
DEFAULT_PROVISIONS: tuple[Provision, ...] = (
    Provision("bootstrap", _BOOTSTRAP),
    Provision("default", _DEFAULT),
    Provision("inform", _INFORM),
)
