"""Knobs of a simulated CPE: protocol version, failure injection, timing."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

#: CWMP versions a simulated CPE can be configured to speak.
SIM_VERSIONS: tuple[str, ...] = ("1.0", "1.2", "1.4")


@dataclass(slots=True)
class SimOptions:
    """Behaviour of one simulated CPE (often one instance shared by many devices).

    Attributes:
        cwmp_version: the highest CWMP version the CPE speaks: ``"1.0"``, ``"1.2"`` or ``"1.4"``.
        transfer_time: simulated seconds a Download/Upload takes once started.
        download_fault: FaultCode a simulated download ends with (0 = success, e.g. 9010, 9016).
        upload_fault: FaultCode a simulated upload ends with (0 = success, e.g. 9011).
        real_transfers: really GET/PUT the file (only loopback URLs are contacted).
        reboot_time: seconds a reboot or factory reset keeps the device offline.
        fault_methods: RPC method name -> CWMP FaultCode to answer with instead of the result.
        refuse_active_notification: parameter name suffixes that refuse active notification
            (fault 9009), like a real CPE refuses it on fast-changing counters.
        hide_passwords: read password parameters back as empty strings (as TR-069 asks).
        latency: seconds to wait before each POST after the Inform (response latency).
        vanish_after: stop mid-session after sending this many POSTs (closing the socket).
        periodic_interval: overrides ``PeriodicInformInterval`` (and forces periodic informs on).
        retry_min_wait: overrides ``CWMPRetryMinimumWaitInterval`` (m, seconds).
        retry_multiplier: overrides ``CWMPRetryIntervalMultiplier / 1000`` (k).
        allow_basic_connreq: accept Basic credentials on connection requests.
        connreq_algorithms: Digest algorithms the connection-request listener offers.
        connreq_limit: connection requests accepted per ``connreq_window`` seconds (then 503).
        connreq_window: the rate-limit window in seconds.
        http_timeout: seconds the CPE waits for each HTTP response.
        max_redirects: 3xx redirects followed for a session's first POST.
        busy_retry_cap: the longest wait after a 503 (the ACS's Retry-After is honoured
            up to this many seconds, plus jitter).
        busy_retries: times one session is tried again after 503s (``--once`` and the
            first session; later ones follow the periodic loop).
        empty_root_gpn: answer GetParameterNames("") with an empty list (a CPE bug met in
            the wild).
        tls_ca: PEM file of the certificate(s) the CPE trusts for https:// ACS and file URLs
            (e.g. the ACS's self-signed certificate); None: the system's CAs.
    """

    cwmp_version: str = "1.0"
    transfer_time: float = 0.0
    download_fault: int = 0
    upload_fault: int = 0
    real_transfers: bool = False
    reboot_time: float = 0.0
    fault_methods: Mapping[str, int] = field(default_factory=dict)
    refuse_active_notification: tuple[str, ...] = ("DeviceInfo.UpTime",)
    hide_passwords: bool = True
    latency: float = 0.0
    vanish_after: int | None = None
    periodic_interval: float | None = None
    retry_min_wait: float | None = None
    retry_multiplier: float | None = None
    allow_basic_connreq: bool = False
    connreq_algorithms: tuple[str, ...] = ("SHA-256", "MD5")
    connreq_limit: int = 10
    connreq_window: float = 10.0
    http_timeout: float = 30.0
    max_redirects: int = 10
    busy_retry_cap: float = 120.0
    busy_retries: int = 10
    tls_ca: str | None = None
    empty_root_gpn: bool = False

    def ssl_context(self) -> ssl.SSLContext | bool:
        """How the CPE checks an HTTPS server: against :attr:`tls_ca`, or the system's CAs."""
        if self.tls_ca is None:
            return True
        return ssl.create_default_context(cafile=self.tls_ca)

    def __post_init__(self) -> None:
        if self.cwmp_version not in SIM_VERSIONS:
            raise ValueError(f"cwmp_version must be one of {SIM_VERSIONS}")
