"""One simulated CPE, sans-IO: its tree, attributes, events, deferred actions and timers.

The RPC semantics live in :mod:`acs_engine.sim.handlers`; :meth:`SimDevice.handle` dispatches
to them. The session client drives the life cycle::

    inform = dev.make_inform(retry_count)     # snapshot of the pending events
    dev.inform_accepted()                     # InformResponse arrived
    while (req := dev.next_request()): ...    # TransferComplete(s); dev.request_done()
    reply = dev.handle(acs_request)           # for each ACS request
    dev.end_session(ok)                       # deferred Reboot/FactoryReset/transfers start
    transfers = dev.run_timers()              # whenever dev.next_timer() is due
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from acs_engine.cwmp import rpc
from acs_engine.sim import events as ev
from acs_engine.sim import handlers
from acs_engine.sim.events import EventQueue
from acs_engine.sim.model import BaseModel, load_model, substitute
from acs_engine.sim.options import SimOptions
from acs_engine.sim.tree import CpeTree

log = logging.getLogger("fieldacs.sim")

_VERSION_RE = re.compile(r"(\d+(?:\.\d+)+(?:-[0-9A-Za-z]+)?)")
_FAULT_TEXT = {
    9010: "File transfer failure",
    9011: "Upload failure",
    9012: "File transfer server authentication failure",
    9013: "Unsupported protocol for file transfer",
    9015: "File transfer failure: unable to contact file server",
    9016: "File transfer failure: unable to access file",
    9017: "File transfer failure: unable to complete download",
    9018: "File transfer failure: file corrupted",
    9019: "File transfer failure: file authentication failure",
}


def iso_time(t: float) -> str:
    """UTC ``YYYY-MM-DDThh:mm:ssZ`` for a POSIX timestamp."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def version_from_file_name(name: str) -> str | None:
    """The firmware version a file name carries (``fw-2.1.0.bin`` -> ``2.1.0``), or None."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    match = _VERSION_RE.search(base)
    return match.group(1) if match else None


@dataclass(slots=True)
class PendingTransfer:
    """A Download or Upload accepted by the CPE, waiting to run.

    Attributes:
        request: the ACS's Download or Upload request.
        started: the wall-clock time the transfer started.
    """

    request: rpc.Download | rpc.Upload
    started: float = 0.0

    @property
    def is_download(self) -> bool:
        """True for a Download."""
        return isinstance(self.request, rpc.Download)


_TimerKind = Literal["boot", "factory", "schedule", "transfer"]


class SimDevice:
    """The state and behaviour of one CPE.

    Args:
        model: a shared :class:`BaseModel` or a model name (``"tr181"``).
        serial: the SerialNumber.
        index: the device's number in a fleet (seeds IP and MAC addresses).
        options: behaviour knobs (shared between devices is fine).
        context: placeholder values overriding the defaults (``acs_url``, ``cr_url``, ...).
        initial: parameter values that replace the model's at manufacture.
        clock: monotonic clock (seconds).
        wallclock: POSIX clock for CurrentTime and transfer times.
    """

    __slots__ = (
        "_attrs", "_boot_at", "_changed", "_deferred", "_next_instance", "_requests",
        "_timers", "_uptime_path", "clock", "context", "events", "model", "options", "tree",
        "wallclock",
    )

    def __init__(
        self,
        model: BaseModel | str,
        serial: str,
        *,
        index: int = 0,
        options: SimOptions | None = None,
        context: Mapping[str, str] | None = None,
        initial: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self.model = load_model(model) if isinstance(model, str) else model
        self.options = options if options is not None else SimOptions()
        self.clock = clock
        self.wallclock = wallclock
        n = index & 0xFFFFFF
        self.context: dict[str, str] = {
            "serial": serial,
            "oui": self.model.oui,
            "product_class": self.model.product_class,
            "manufacturer": self.model.manufacturer,
            "ip": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}",
            "mac": f"02:46:41:{(n >> 16) & 255:02X}:{(n >> 8) & 255:02X}:{n & 255:02X}",
            "cr_url": "",
            "cr_username": serial,
            "cr_password": serial,
            "acs_url": "",
        }
        if context:
            self.context.update(context)
        self.tree = CpeTree(self.model, initial)
        self.events = EventQueue()
        self._attrs: dict[str, tuple[int, tuple[str, ...]]] | None = None
        self._changed: dict[str, None] | None = None
        self._next_instance: dict[str, int] | None = None
        self._requests: list[tuple[rpc.TransferComplete, str]] = []
        self._deferred: list[tuple[str, object]] = []
        self._timers: list[tuple[float, _TimerKind, object]] = []
        self._boot_at = clock()
        uptime = self.model.root + "DeviceInfo.UpTime"
        self._uptime_path = uptime if uptime in self.model.nodes else ""
        # first contact after manufacture
        self.events.add(ev.BOOTSTRAP)
        self.events.add(ev.BOOT)

    # ------------------------------------------------------------------ identity and values
    @property
    def serial(self) -> str:
        """The SerialNumber."""
        return self.context["serial"]

    @property
    def device_id(self) -> rpc.DeviceId:
        """The DeviceIdStruct of this CPE's Informs."""
        c = self.context
        return rpc.DeviceId(c["manufacturer"], c["oui"], c["product_class"], c["serial"])

    def param(self, suffix: str) -> str:
        """The full name of ``suffix`` under the root (``ManagementServer.URL``)."""
        return self.model.root + suffix

    def value(self, path: str, *, reveal: bool = True) -> str | None:
        """A parameter's current value with placeholders substituted.

        Args:
            path: the full parameter name.
            reveal: False reads passwords back empty, as the ACS sees them.

        Returns:
            The value, or None for unknown names and objects.
        """
        if path == self._uptime_path and path not in self.tree.values:
            return str(max(0, int(self.clock() - self._boot_at)))
        raw = self.tree.raw_value(path)
        if raw is None:
            return None
        if not reveal and self.options.hide_passwords and path.endswith("Password"):
            # Only string passwords read back empty: an empty boolean or number (a
            # SharedPassword flag, a WPS PIN) would not be a valid value of its xsi:type.
            node = self.tree.node(path)
            if node is None or node.type in (None, "xsd:string"):
                return ""
        if self.tree.is_templated(path) and path not in self.tree.values:
            if "{now}" in raw:
                return substitute(raw, {**self.context, "now": iso_time(self.wallclock())})
            return substitute(raw, self.context)
        return raw

    def parameter_values(self, names: Iterable[str]) -> list[rpc.ParameterValue]:
        """The named parameters as the ACS is told them (passwords read back empty); an
        unknown name, an object or a parameter without a type is left out."""
        out: list[rpc.ParameterValue] = []
        for name in names:
            node = self.tree.node(name)
            value = self.value(name, reveal=False)
            if node is None or node.type is None or value is None:
                continue
            out.append(rpc.ParameterValue(name, value, node.type))
        return out

    def _param_value(self, suffix: str, default: str = "") -> str:
        value = self.value(self.param(suffix))
        return default if value is None else value

    @property
    def acs_url(self) -> str:
        """``ManagementServer.URL`` (falls back to the ``acs_url`` context entry)."""
        return self._param_value("ManagementServer.URL") or self.context["acs_url"]

    @property
    def acs_credentials(self) -> tuple[str, str]:
        """``ManagementServer.Username`` / ``Password``."""
        return (self._param_value("ManagementServer.Username"),
                self._param_value("ManagementServer.Password"))

    @property
    def connreq_credentials(self) -> tuple[str, str]:
        """``ConnectionRequestUsername`` / ``ConnectionRequestPassword``."""
        user = self._param_value("ManagementServer.ConnectionRequestUsername",
                                 self.context["cr_username"])
        pw = self._param_value("ManagementServer.ConnectionRequestPassword",
                               self.context["cr_password"])
        return user, pw

    @property
    def periodic_interval(self) -> float | None:
        """Seconds between periodic informs, or None when periodic informs are off."""
        if self.options.periodic_interval is not None:
            return self.options.periodic_interval
        enabled = self._param_value("ManagementServer.PeriodicInformEnable", "false")
        if enabled.lower() not in ("1", "true"):
            return None
        try:
            interval = float(self._param_value("ManagementServer.PeriodicInformInterval", "0"))
        except ValueError:
            return None
        return interval if interval > 0 else None

    @property
    def retry_parameters(self) -> tuple[float, float]:
        """(m, k) of the session-retry backoff."""
        m, k = self.options.retry_min_wait, self.options.retry_multiplier
        if m is None:
            try:
                m = float(self._param_value("ManagementServer.CWMPRetryMinimumWaitInterval", "5"))
            except ValueError:
                m = 5.0
        if k is None:
            try:
                raw = self._param_value("ManagementServer.CWMPRetryIntervalMultiplier", "2000")
                k = float(raw) / 1000.0
            except ValueError:
                k = 2.0
        return max(m, 0.0), max(k, 1.0)

    @property
    def uptime(self) -> float:
        """Seconds since the last (simulated) boot."""
        return self.clock() - self._boot_at

    # ------------------------------------------------------------------ attributes
    def attributes(self, path: str) -> tuple[int, tuple[str, ...]]:
        """(Notification, AccessList) of a parameter."""
        if self._attrs is None:
            return 0, ()
        return self._attrs.get(path, (0, ()))

    def set_attributes(self, path: str, notification: int, access: tuple[str, ...]) -> None:
        """Store a parameter's attributes (defaults are not stored)."""
        if self._attrs is None:
            self._attrs = {}
        if notification == 0 and not access:
            self._attrs.pop(path, None)
        else:
            self._attrs[path] = (notification, access)

    def drop_attributes(self, prefix: str) -> None:
        """Forget the attributes of a removed subtree."""
        if self._attrs:
            for key in [k for k in self._attrs if k.startswith(prefix)]:
                del self._attrs[key]

    def note_instance_used(self, table: str, number: int) -> None:
        """Remember that ``number`` was used in ``table`` (so it is never handed out again)."""
        if self._next_instance is None:
            self._next_instance = {}
        self._next_instance[table] = max(self._next_instance.get(table, 0), number)

    def next_instance_number(self, table: str) -> int:
        """A fresh instance number for ``table``: one above any ever used, never reused."""
        if self._next_instance is None:
            self._next_instance = {}
        used = max(self.tree.instances(table), default=0)
        number = max(used, self._next_instance.get(table, 0)) + 1
        self._next_instance[table] = number
        return number

    # ------------------------------------------------------------------ RPCs
    def handle(self, request: rpc.Message) -> rpc.Message:
        """Answer one ACS request as a real CPE does: a response or an ``rpc.Fault``."""
        return handlers.handle(self, request)

    def defer(self, action: str, payload: object = None) -> None:
        """Queue an action for the end of the session (``reboot``, ``factory``, ``transfer``)."""
        self._deferred.append((action, payload))

    def add_timer(self, delay: float, kind: _TimerKind, payload: object = None) -> None:
        """Run ``kind`` after ``delay`` seconds (driven by :meth:`run_timers`)."""
        self._timers.append((self.clock() + max(delay, 0.0), kind, payload))
        self._timers.sort(key=lambda t: t[0])

    # ------------------------------------------------------------------ local changes
    def local_change(self, path: str, value: str) -> None:
        """Change a parameter from the CPE side (not the ACS): notifications apply.

        Passive notification reports the change in the next Inform; active starts a session
        with ``4 VALUE CHANGE``.

        Raises:
            KeyError: when ``path`` is not a parameter.
        """
        node = self.tree.node(path)
        if node is None or node.type is None:
            raise KeyError(path)
        if self.value(path) == value:
            return
        self.tree.values[path] = value
        notification = self.attributes(path)[0]
        if notification in (1, 2, 4, 6):
            if self._changed is None:
                self._changed = {}
            self._changed[path] = None
        if notification == 2:
            self.events.add(ev.VALUE_CHANGE)

    # ------------------------------------------------------------------ session life cycle
    def session_due(self) -> bool:
        """True when undelivered events or CPE requests call for a session now."""
        return bool(self.events) or bool(self._requests)

    def add_event(self, code: str, command_key: str = "") -> None:
        """Queue an Inform event (``"2 PERIODIC"``, ``"6 CONNECTION REQUEST"``, ...)."""
        self.events.add(code, command_key)

    def make_inform(self, retry_count: int = 0) -> rpc.Inform:
        """The Inform opening a session: pending events, forced and changed parameters."""
        if self._changed:
            self.events.add(ev.VALUE_CHANGE)
        events = self.events.start_delivery()
        names = list(self.model.forced_inform)
        if self._changed:
            names += [p for p in self._changed if p not in names]
        params = self.parameter_values(names)
        return rpc.Inform(
            device_id=self.device_id,
            events=events,
            max_envelopes=1,
            current_time=iso_time(self.wallclock()),
            retry_count=retry_count,
            parameters=tuple(params),
        )

    def inform_accepted(self) -> None:
        """The InformResponse arrived: the delivered events are done."""
        self.events.delivered()
        self._changed = None

    def next_request(self) -> rpc.Message | None:
        """The next request the CPE must send this session (TransferComplete), if any."""
        return self._requests[0][0] if self._requests else None

    def request_done(self) -> None:
        """The ACS acknowledged the request returned by :meth:`next_request`."""
        request, method_event = self._requests.pop(0)
        self.events.transfer_acknowledged(method_event, request.command_key, len(self._requests))

    def end_session(self, ok: bool) -> None:
        """The session is over (``ok`` False: it failed); start the deferred actions."""
        if not ok:
            self.events.delivery_failed()
        deferred, self._deferred = self._deferred, []
        for action, payload in deferred:
            if action == "reboot":
                self.add_timer(self.options.reboot_time, "boot", payload)
            elif action == "factory":
                self.add_timer(self.options.reboot_time, "factory")
            elif action == "bootstrap":
                self.events.add(ev.BOOTSTRAP)
            elif action == "transfer":
                assert isinstance(payload, rpc.Download | rpc.Upload)
                delay = payload.delay_seconds + self.options.transfer_time
                self.add_timer(delay, "transfer", PendingTransfer(payload))

    def next_timer(self) -> float | None:
        """Monotonic time of the earliest timer, or None."""
        return self._timers[0][0] if self._timers else None

    def run_timers(self) -> list[PendingTransfer]:
        """Fire every due timer; returns the transfers that must now be carried out.

        Simulated transfers are finished with :meth:`complete_transfer`.
        """
        now = self.clock()
        due: list[PendingTransfer] = []
        while self._timers and self._timers[0][0] <= now:
            _, kind, payload = self._timers.pop(0)
            if kind == "boot":
                self.reboot(payload if isinstance(payload, str) else None)
            elif kind == "factory":
                self.factory_reset()
            elif kind == "schedule":
                self.events.add(ev.SCHEDULED)
                self.events.add(ev.M_SCHEDULE_INFORM, str(payload))
            elif kind == "transfer":
                assert isinstance(payload, PendingTransfer)
                payload.started = self.wallclock()
                due.append(payload)
        return due

    def reboot(self, command_key: str | None = None) -> None:
        """Reboot now: uptime restarts, ``1 BOOT`` (+ ``M Reboot`` with ``command_key``)."""
        self._boot_at = self.clock()
        self.events.rebooted()
        self.events.add(ev.BOOT)
        if command_key is not None:
            self.events.add(ev.M_REBOOT, command_key)
        log.debug("%s rebooted", self.serial)

    def factory_reset(self) -> None:
        """Back to the model: next session carries ``0 BOOTSTRAP`` + ``1 BOOT``."""
        self.tree.reset()
        self._attrs = None
        self._changed = None
        self._next_instance = None
        self._requests.clear()
        self._timers = [t for t in self._timers if t[1] != "transfer"]
        self.events.clear()
        self._boot_at = self.clock()
        self.events.add(ev.BOOTSTRAP)
        self.events.add(ev.BOOT)
        log.debug("%s factory reset", self.serial)

    def complete_transfer(
        self, transfer: PendingTransfer, fault: rpc.FaultStruct | None = None
    ) -> None:
        """Finish a transfer: queue TransferComplete and its events (firmware: reboot).

        Args:
            transfer: the transfer returned by :meth:`run_timers`.
            fault: the outcome; None uses the simulated outcome from the options.
        """
        req = transfer.request
        if fault is None:
            opts = self.options
            code = opts.download_fault if transfer.is_download else opts.upload_fault
            fault = rpc.FaultStruct(code, _FAULT_TEXT.get(code, "Transfer failed") if code else "")
        complete = self.wallclock()
        firmware = isinstance(req, rpc.Download) and req.file_type.startswith("1 ")
        if firmware and fault.code == 0:
            assert isinstance(req, rpc.Download)
            version = version_from_file_name(req.target_file_name or req.url)
            sw = self.param("DeviceInfo.SoftwareVersion")
            if version and sw in self.tree:
                self.tree.values[sw] = version
            self.reboot(None)
        method_event = ev.M_DOWNLOAD if transfer.is_download else ev.M_UPLOAD
        self.events.add(ev.TRANSFER_COMPLETE)
        self.events.add(method_event, req.command_key)
        tc = rpc.TransferComplete(
            command_key=req.command_key,
            fault=fault,
            start_time=iso_time(transfer.started or complete),
            complete_time=iso_time(complete),
        )
        self._requests.append((tc, method_event))

    def __repr__(self) -> str:
        return f"<SimDevice {self.serial} {self.model.name}>"
