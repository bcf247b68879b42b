"""The console's saved engine settings: which there are, reading them back, checking them.

Settings are kept in QSettings (group :data:`GROUP`): :func:`save_settings` writes what the
settings dialog applied, :func:`saved_config` reads them back at every start (options given on
the command line win). :func:`validate` checks values as they are typed (ports, ports given
twice, the address, HTTPS without a port, a certificate without its key or one that does not
load, ...). No widgets here: the dialog that edits these is
:class:`app.settings_dialog.SettingsDialog`, and the names below are still importable from
:mod:`app.settings_dialog`, where they lived before.

The CPE password, the XMPP password and the NBI token are kept in the user's QSettings file
in plain text, like the command line's ``--cwmp-password``: use ``fieldacs-engine serve`` with
a password or token file (``--cwmp-password-file``, ``--xmpp-password-file``,
``--nbi-token-file``) where that is not acceptable.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from acs_engine.config import EngineConfig
from acs_engine.reach.xmpp import TLS_MODES, split_server
from acs_engine.server.nbi_auth import open_nbi_problem
from acs_engine.server.proxy import check_upstream
from acs_engine.server.tls import TlsError, ssl_context

GROUP = "engine"
#: Settings the engine reads per session or request (no listener or store is rebuilt).
LIVE_FIELDS = frozenset({
    "session_timeout_ms", "retry_delay_ms", "download_timeout_ms",
    "connection_request_timeout_ms", "connection_request_allow_basic_auth", "xmpp_jid", "xmpp_password", "xmpp_server",
    "xmpp_tls", "xmpp_ca_file",
})
#: Port settings, as :func:`validate` names them.
PORT_FIELDS = ("cwmp_port", "cwmp_tls_port", "fs_port", "fs_tls_port", "nbi_port")
#: Settings that may be None (not saved then; their editors offer "Off" or empty).
OPTIONAL_FIELDS = frozenset({
    "cwmp_username", "cwmp_password", "cwmp_tls_port", "fs_tls_port", "tls_cert_path",
    "tls_key_path", "nbi_token", "proxy_upstream_ca", "xmpp_ca_file",
})
#: Settings whose empty text means None.
_EMPTY_IS_NONE = frozenset({"cwmp_username", "cwmp_password", "nbi_token"})
_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Field:
    """One setting: its EngineConfig name, its label and how it is stored.

    A setting whose EngineConfig field was renamed keeps the key (and the unit) it has
    always been saved under, so a settings file written by an older version loads with the
    same values (and an older version still reads what a newer one saved): ``key`` is that
    name, ``scale`` the EngineConfig units per saved unit (1000: saved, and shown in the
    dialog, in seconds; held in milliseconds).
    """

    name: str
    label: str
    kind: type
    tip: str = ""
    key: str = ""
    scale: int = 1

    @property
    def saved_as(self) -> str:
        """The key in the settings file."""
        return self.key or self.name


FIELDS: tuple[Field, ...] = (
    Field("cwmp_host", "Listen on address", str, "0.0.0.0: every address of this computer"),
    Field("cwmp_port", "CWMP port", int, "The port CPEs connect to (ACS URL)"),
    Field("fs_port", "File server port", int, "Firmware and config downloads"),
    Field("nbi_host", "NBI address", str,
          "127.0.0.1: this computer only. Any other address needs a token"),
    Field("nbi_port", "NBI port", int, "The northbound API (GenieACS's, usually 7557)"),
    Field("nbi_token", "NBI token", str,
          "Bearer token every NBI request must carry; empty: none (127.0.0.1 only)"),
    Field("db_path", "Database", Path),
    Field("session_timeout_ms", "Session timeout", int,
          "Seconds of CPE silence before a session is dropped", key="session_timeout",
          scale=1000),
    Field("max_body_bytes", "Largest request body", int),
    Field("trace_sessions_per_device", "Sessions kept per device", int, "With their wire traces"),
    Field("history_max_age_days", "Keep changes for", int, "Parameter history; 0: no age limit"),
    Field("history_rows_per_device", "Changes kept per device", int, "0: no limit"),
    Field("history_max_mb", "Parameter history size cap", int, "Estimated MiB; 0: no cap"),
    Field("retry_delay_ms", "Fault retry delay", int,
          "A faulted channel retries after delay × 2^retries", key="retry_delay", scale=1000),
    Field("download_timeout_ms", "Download timeout", int, "Seconds to wait for TransferComplete",
          key="download_timeout", scale=1000),
    Field("connection_request_timeout_ms", "Connection request timeout", int, "Milliseconds",
          key="connection_request_timeout"),
    Field("connection_request_allow_basic_auth", "Allow Basic auth for connection requests", bool,
          "For CPEs that offer only HTTP Basic: their password then crosses the network "
          "in clear text (cwmp.connectionRequestAllowBasicAuth)"),
    Field("xmpp_jid", "ACS XMPP account", str,
          "acs@example.net: connection requests go over XMPP (TR-069 Annex K) to CPEs that "
          "report a ConnReqJabberID; empty: XMPP is off"),
    Field("xmpp_password", "XMPP password", str),
    Field("xmpp_server", "XMPP server", str, "host or host:port; empty: the account's domain"),
    Field("xmpp_tls", "XMPP TLS", str,
          "starttls (port 5222), direct (TLS from the start, port 5223) or none (a lab server)"),
    Field("xmpp_ca_file", "XMPP server CA", Path,
          "PEM certificate(s) that sign the XMPP server's certificate; empty: the system's"),
    Field("script_timeout_ms", "Script time limit", int, "Milliseconds per provision run"),
    Field("cwmp_username", "CPE user name", str, "Empty: CPEs do not authenticate"),
    Field("cwmp_password", "CPE password", str),
    Field("cwmp_digest_rfc2069", "Accept old Digest (RFC 2069)", bool,
          "For old CPEs whose Digest has no qop: each challenge is accepted once; off "
          "refuses it, since it can be replayed"),
    Field("cwmp_http_enabled", "Plain HTTP for CPEs", bool,
          "Off: CPEs must use the HTTPS CWMP port"),
    Field("cwmp_tls_port", "HTTPS CWMP port", int, "Off: no HTTPS listener (7548 is usual)"),
    Field("fs_tls_port", "HTTPS file server port", int,
          "Off: downloads over plain HTTP only (7568 is usual)"),
    Field("tls_cert_path", "Certificate", Path,
          "A PEM certificate (chain); empty: one issued by FieldACS's private CA, made "
          "beside the database (give CPEs fieldacs-ca.pem to trust)"),
    Field("tls_key_path", "Private key", Path, "The certificate's PEM private key"),
    Field("proxy_upstream", "Upstream ACS URL", str,
          "Proxy mode: forward every CPE request unchanged to this ACS (http:// or https://) "
          "and only watch. Empty: FieldACS is the ACS"),
    Field("proxy_upstream_ca", "Upstream CA certificate", Path,
          "PEM certificate to trust for an https upstream (its self-signed certificate or "
          "its CA); empty: the system's trusted CAs"),
)
#: :data:`FIELDS` by EngineConfig name.
FIELDS_BY_NAME = {f.name: f for f in FIELDS}


def to_config(field: Field, shown: float) -> int | float:
    """A value as saved (and shown in the dialog) in ``field``'s EngineConfig unit."""
    return round(shown * field.scale) if field.scale != 1 else shown


def to_shown(field: Field, value: Any) -> Any:
    """An EngineConfig value in the unit ``field`` is saved (and shown) in: a whole number
    when it is one (``30``, not ``30.0``), as older versions saved and read it."""
    if field.scale == 1 or value is None:
        return value
    shown = value / field.scale
    return int(shown) if shown == int(shown) else shown


def _convert(field: Field, raw: Any) -> Any:
    if field.scale != 1:
        return to_config(field, float(raw))
    if field.kind is bool:
        return raw in (True, "true", "1", 1)
    if field.name in ("proxy_upstream_ca", "xmpp_ca_file") and not str(raw):
        return None
    if field.kind is Path:
        return Path(str(raw)).expanduser()
    if field.name in _EMPTY_IS_NONE:
        return str(raw) or None
    if field.name in ("cwmp_tls_port", "fs_tls_port"):
        return int(raw) if int(raw) >= 0 else None
    return field.kind(raw)


def saved_config(
    config: EngineConfig, settings: QSettings | None = None, explicit: Iterable[str] = ()
) -> EngineConfig:
    """``config`` with the saved settings applied, except the fields in ``explicit``.

    Args:
        config: the settings from the command line.
        settings: where they are saved (default: the application's QSettings).
        explicit: EngineConfig fields given on the command line (they win).
    """
    settings = settings if settings is not None else QSettings()
    skip = set(explicit)
    changes: dict[str, Any] = {}
    settings.beginGroup(GROUP)
    try:
        for field in FIELDS:
            if field.name in skip or not settings.contains(field.saved_as):
                continue
            try:
                changes[field.name] = _convert(field, settings.value(field.saved_as))
            except (TypeError, ValueError):
                continue
    finally:
        settings.endGroup()
    if "cwmp_host" in changes and "cwmp_host" not in skip:
        changes["fs_host"] = changes["cwmp_host"]
    return config.replace(**changes)


def validate(values: dict[str, Any], free_ports: Iterable[str] = ()) -> dict[str, str]:
    """Problems with ``values`` (field name -> message); empty when they can be saved.

    Args:
        values: EngineConfig field -> value.
        free_ports: port fields that may stay 0 ("a free port": the engine runs so now).
    """
    zero_ok = set(free_ports)
    problems: dict[str, str] = {}
    host = str(values.get("cwmp_host", "")).strip()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_RE.match(host):
            problems["cwmp_host"] = "Give an IP address of this computer, or 0.0.0.0 for every address."
    nbi_host = str(values.get("nbi_host", "127.0.0.1")).strip()
    try:
        ipaddress.ip_address(nbi_host)
    except ValueError:
        if not _HOST_RE.match(nbi_host):
            problems["nbi_host"] = "Give an IP address of this computer (127.0.0.1: this computer only)."
    token = values.get("nbi_token")
    if token and len(str(token)) < 8:
        problems["nbi_token"] = "A token needs at least 8 characters (Generate makes one)."
    elif "nbi_host" not in problems and open_nbi_problem(nbi_host, token) is not None:
        problems["nbi_token"] = (
            f"An NBI on {nbi_host} would be open to the network: give it a token, or use 127.0.0.1."
        )
    ports = {n: int(values[n]) for n in PORT_FIELDS if values.get(n) is not None}
    taken: dict[int, str] = {}
    for name, port in ports.items():
        if not 1 <= port <= 65535 and not (port == 0 and name in zero_ok):
            problems[name] = "A port is a number from 1 to 65535."
        elif port and port in taken:
            problems[name] = f"Already the {FIELDS_BY_NAME[taken[port]].label}; give it a port of its own."
        taken.setdefault(port, name)
    if values.get("cwmp_http_enabled") is False and values.get("cwmp_tls_port") is None:
        problems["cwmp_tls_port"] = "Plain HTTP is off: CPEs need an HTTPS port."
    problems.update(_tls_problems(values))
    upstream = str(values.get("proxy_upstream") or "").strip()
    if upstream:
        try:
            check_upstream(upstream)
        except ValueError:
            problems["proxy_upstream"] = "Give the other ACS's URL: http://host:port/path or https://…"
    ca = values.get("proxy_upstream_ca")
    if ca is not None and not Path(ca).is_file():
        problems["proxy_upstream_ca"] = f"{ca} is not a file."
    db = Path(str(values.get("db_path", ""))).expanduser()
    if not str(values.get("db_path", "")).strip():
        problems["db_path"] = "Choose a database file."
    elif db.is_dir():
        problems["db_path"] = f"{db} is a folder; choose a file in it."
    if float(values.get("session_timeout_ms", 1000)) < 1000:
        problems["session_timeout_ms"] = "At least one second."
    if values.get("cwmp_password") and not values.get("cwmp_username"):
        problems["cwmp_username"] = "A password needs a user name."
    problems.update(_xmpp_problems(values))
    return problems


def _xmpp_problems(values: dict[str, Any]) -> dict[str, str]:
    """Problems with the XMPP settings (only when an ACS account is given)."""
    jid = str(values.get("xmpp_jid") or "").strip()
    if not jid:
        return {}
    if "@" not in jid or jid.startswith("@"):
        return {"xmpp_jid": "An XMPP account looks like acs@example.net."}
    if not values.get("xmpp_password"):
        return {"xmpp_password": "The XMPP account needs its password."}
    tls = str(values.get("xmpp_tls") or "starttls")
    if tls not in TLS_MODES:
        return {"xmpp_tls": f"One of {', '.join(TLS_MODES)}."}
    try:
        split_server(str(values.get("xmpp_server") or ""), jid, tls)
    except ValueError as exc:
        return {"xmpp_server": f"{exc}."}
    ca = values.get("xmpp_ca_file")
    if ca is not None and not Path(ca).is_file():
        return {"xmpp_ca_file": f"{ca} is not a file."}
    return {}


def _tls_problems(values: dict[str, Any]) -> dict[str, str]:
    """Problems with the certificate and key files (both or neither; readable; a pair)."""
    cert, key = values.get("tls_cert_path"), values.get("tls_key_path")
    if cert is None and key is None:
        return {}
    if cert is None:
        return {"tls_cert_path": "A key needs its certificate (or leave both empty)."}
    if key is None:
        return {"tls_key_path": "A certificate needs its private key (or leave both empty)."}
    for name, path in (("tls_cert_path", Path(cert)), ("tls_key_path", Path(key))):
        if not path.is_file():
            return {name: f"{path} is not a file."}
    try:
        ssl_context(Path(cert), Path(key))
    except TlsError as exc:
        return {"tls_cert_path": str(exc)}
    return {}


def save_settings(settings: QSettings, values: Mapping[str, Any]) -> None:
    """Save ``values`` (EngineConfig field -> value) in ``settings``; None removes a setting.

    A field of :data:`FIELDS` is saved under its key, in its saved unit (:class:`Field`).
    """
    settings.beginGroup(GROUP)
    try:
        for field_name, field_value in values.items():
            field = FIELDS_BY_NAME.get(field_name)
            name = field.saved_as if field is not None else field_name
            value = to_shown(field, field_value) if field is not None else field_value
            if value is None:
                settings.remove(name)
            else:
                settings.setValue(name, str(value) if isinstance(value, Path) else value)
    finally:
        settings.endGroup()
    settings.sync()
