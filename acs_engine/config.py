"""Engine settings. Names and defaults mirror GenieACS's ``cwmp.*`` keys where one exists.

Every duration carries its unit in its name; the engine's unit is the millisecond (``_ms``),
as for every stored timestamp (:mod:`acs_engine.clock`). The few exceptions say theirs
(``busy_retry_after_s`` goes to the wire as whole seconds, ``history_max_age_days``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from acs_engine.store.history import HistoryRetention

APP_NAME = "FieldACS"


def default_data_dir() -> Path:
    """The platform's user data folder for FieldACS (created on demand by the store)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    """``fieldacs.db`` in the platform's user data folder."""
    return default_data_dir() / "fieldacs.db"


@dataclass(slots=True)
class EngineConfig:
    """Everything the engine needs to run; paths are passed in, never discovered.

    Port 0 asks the OS for a free port (tests); the real port is reported by the Engine.
    """

    db_path: Path = field(default_factory=default_db_path)
    cwmp_host: str = "0.0.0.0"
    cwmp_port: int = 7547
    fs_host: str = "0.0.0.0"
    fs_port: int = 7567
    nbi_host: str = "127.0.0.1"
    nbi_port: int = 7557
    #: Run the northbound API (GenieACS's NBI) on nbi_host:nbi_port.
    nbi_enabled: bool = True
    #: cwmp.sessionTimeout (seconds in GenieACS): CPE silence before a session is dropped, ms.
    session_timeout_ms: int = 30_000
    #: Largest accepted request body, after decompression.
    max_body_bytes: int = 4 * 1024 * 1024
    #: Sessions kept with their wire trace, per device.
    trace_sessions_per_device: int = 20
    #: Parameter history: changes older than this many days are removed (0: no age limit).
    history_max_age_days: int = 90
    #: Parameter history: most changes kept per device; a device over it is trimmed to
    #: 90 % (0: no limit).
    history_rows_per_device: int = 2000
    #: Parameter history: cap on its estimated size in MiB; over it, the fleet's oldest
    #: changes are removed down to 90 % (0: no cap).
    history_max_mb: int = 256
    #: Keep every session's wire trace (bodies included).
    trace_enabled: bool = True
    #: Seconds a CPE is told to wait (HTTP Retry-After, whole seconds on the wire) when its
    #: device is already in session.
    busy_retry_after_s: int = 30
    #: MAX_CONCURRENT_REQUESTS: new sessions (Informs) worked on at once; more wait.
    max_concurrent_new_sessions: int = 20
    # --- transport limits (acs_engine/server/admission.py, guard.py; docs/security.md)
    #: How long (ms) a new session waits for a free slot before it is refused with 503 (a CPE
    #: waits 30 s or more for an answer; a boot storm queues instead of being refused).
    admission_wait_ms: int = 15_000
    #: Sessions alive at once (a new one over this waits, then gets 503 + Retry-After).
    max_sessions: int = 2000
    #: Bytes of waiting Informs held in memory at once (over it: 503 right away).
    admission_queue_bytes: int = 64 * 1024 * 1024
    #: The range a CPE's cwmp:SessionTimeout (seconds on the wire) is clamped to, ms.
    session_timeout_min_ms: int = 5_000
    session_timeout_max_ms: int = 600_000
    #: Open connections per listener (CWMP, file server, NBI, each; lowered to fit the
    #: process's open-files limit).
    max_connections: int = 2048
    #: Open connections per listener from one source address (CPEs behind one NAT address
    #: share it; a boot storm from behind one needs this many).
    max_connections_per_address: int = 512
    #: Time (ms) a client has to send a request's headers (from its first byte, or from
    #: opening the connection).
    header_timeout_ms: int = 15_000
    #: Time (ms) a client has to send a request's body once its headers are in (CWMP, NBI).
    body_timeout_ms: int = 30_000
    #: cwmp.retryDelay (seconds in GenieACS), ms: a faulted channel retries after
    #: retry_delay_ms × 2^retries.
    retry_delay_ms: int = 300_000
    #: cwmp.maxCommitIterations.
    max_commit_iterations: int = 32
    #: cwmp.gpnNextLevel.
    gpn_next_level: int = 0
    #: cwmp.gpvBatchSize.
    gpv_batch_size: int = 32
    #: Ask for a whole object's values with one partial path (``Obj.``) in GetParameterValues
    #: when every parameter under it is wanted (TR-069 A.3.2.2). A CPE that faults on it, or
    #: leaves wanted parameters out, is asked by full names from then on (remembered per
    #: device while the engine runs). False: full names in batches, as GenieACS does.
    gpv_partial_path: bool = True
    #: cwmp.skipWritableCheck.
    skip_writable_check: bool = False
    #: cwmp.datetimeMilliseconds.
    datetime_milliseconds: bool = True
    #: cwmp.booleanLiteral.
    boolean_literal: bool = True
    #: cwmp.downloadTimeout (seconds in GenieACS), ms: how long a Download waits for its
    #: TransferComplete.
    download_timeout_ms: int = 3_600_000
    #: cwmp.connectionRequestTimeout, ms.
    connection_request_timeout_ms: int = 2000
    #: cwmp.deviceOnlineThreshold, ms.
    device_online_threshold_ms: int = 4000
    #: cwmp.connectionRequestAllowBasicAuth.
    connection_request_allow_basic_auth: bool = False
    #: cwmp.udpConnectionRequestPort (0: any source port).
    udp_connection_request_port: int = 0
    #: FS_URL_PREFIX: base URL of the file server in Download RPCs ("" = the address the CPE
    #: reached the ACS on, with fs_port).
    fs_url_prefix: str = ""
    #: Largest file the file server stores.
    max_file_bytes: int = 2 * 1024 * 1024 * 1024
    #: Run the file server (port fs_port).
    fs_enabled: bool = True
    #: Run presets, provisions and tasks in every session (off: only manual RPCs).
    provisioning: bool = True
    #: Time limit of one provision script run, ms. GenieACS uses 50, but the limit is wall-clock
    #: time, and on a busy 2-core laptop (the console, a simulator, a soak) healthy scripts
    #: measured over 50 ms and faulted; 500 still stops a runaway loop quickly.
    script_timeout_ms: int = 500
    #: Memory limit of the script sandbox, MB.
    script_memory_mb: int = 64
    #: Folder of ext() extension scripts (None: ``ext`` beside the database).
    ext_dir: Path | None = None
    #: Time limit of one ext() call, ms (GenieACS's EXT_TIMEOUT).
    ext_timeout_ms: int = 3000
    # --- security (acs_engine/server/auth.py, tls.py, nbi_auth.py); everything off by default
    #: CPE authentication with one user name for every CPE (None: see cwmp_auth).
    cwmp_username: str | None = None
    #: The password that goes with cwmp_username.
    cwmp_password: str | None = field(default=None, repr=False)
    #: cwmp.auth: an expression with AUTH(user, pass), e.g. ``AUTH(DeviceID.SerialNumber,
    #: "secret")``; takes precedence over cwmp_username. None and no username: no CPE auth.
    cwmp_auth: str | None = field(default=None, repr=False)
    #: Accept RFC 2069 Digest (no ``qop``, no nonce count) from old CPEs. Off: Digest must
    #: carry ``qop=auth`` (or auth-int). On: each RFC 2069 nonce is accepted once.
    cwmp_digest_rfc2069: bool = False
    #: Plain-HTTP CWMP listener on cwmp_port (False: HTTPS only; needs cwmp_tls_port).
    cwmp_http_enabled: bool = True
    #: HTTPS CWMP listener port (e.g. 7548; 0: a free port); None: no HTTPS listener.
    cwmp_tls_port: int | None = None
    #: HTTPS file-server port (e.g. 7568; 0: a free port); None: no HTTPS file server.
    fs_tls_port: int | None = None
    #: HTTPS NBI port (e.g. 7558; 0: a free port); None: no HTTPS NBI. Same routes, token
    #: and host as the plain NBI (nbi_host), with the HTTPS listeners' certificate.
    nbi_tls_port: int | None = None
    #: PEM certificate (chain) for the HTTPS listeners; None: a self-signed one beside the DB.
    tls_cert_path: Path | None = None
    #: PEM private key of tls_cert_path.
    tls_key_path: Path | None = None
    #: NBI bearer token (None: no token; the NBI then relies on listening on 127.0.0.1).
    nbi_token: str | None = field(default=None, repr=False)
    # --- proxy mode (acs_engine/server/proxy.py, docs/proxy.md)
    #: Upstream ACS URL (http:// or https://): when set, the CWMP listeners forward every CPE
    #: request there unchanged and only watch; "" runs FieldACS's own ACS.
    proxy_upstream: str = ""
    #: PEM file of the CA (or self-signed certificate) to trust for an https upstream
    #: (None: the system's trust store).
    proxy_upstream_ca: Path | None = None
    # --- XMPP connection requests (TR-069 Annex K); off unless xmpp_jid is set
    #: The ACS's own JID (GenieACS's XMPP_JID), e.g. ``acs@xmpp.example.net``.
    xmpp_jid: str = ""
    #: Its password (GenieACS's XMPP_PASSWORD).
    xmpp_password: str = field(default="", repr=False)
    #: The XMPP server as ``host`` or ``host:port`` ("" = the JID's domain, port 5222).
    xmpp_server: str = ""
    #: ``starttls`` (required), ``direct`` (TLS from the first byte, XEP-0368) or ``none``
    #: (plain TCP: a lab server on a trusted network only).
    xmpp_tls: str = "starttls"
    #: PEM file of the CA(s) that sign the XMPP server's certificate (None: the system's).
    xmpp_ca_file: Path | None = None

    def history_retention(self) -> HistoryRetention:
        """The parameter history's retention, from the three ``history_*`` settings."""
        return HistoryRetention(
            max_age_days=self.history_max_age_days,
            rows_per_device=self.history_rows_per_device,
            max_bytes=self.history_max_mb * 1024 * 1024,
        )

    def replace(self, **changes: Any) -> EngineConfig:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)
