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
"""

from __future__ import annotations

from .records import Preset, Provision

__all__ = ["DEFAULT_PRESETS", "DEFAULT_PROVISIONS"]

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

_INFORM = """\
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
    Preset(id="inform", channel="inform", provisions=[["inform"]]),
)

#: The seeded provisions the presets run.
DEFAULT_PROVISIONS: tuple[Provision, ...] = (
    Provision("bootstrap", _BOOTSTRAP),
    Provision("default", _DEFAULT),
    Provision("inform", _INFORM),
)
