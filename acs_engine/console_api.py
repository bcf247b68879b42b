"""The one seam between the console and the engine.

The console (``app/``) talks to an ACS only through :class:`ConsoleEngine`. Two
implementations satisfy it:

- :class:`LocalConsoleEngine` (here): the in-process :class:`~acs_engine.server.controller.Engine`.
- a remote one (issue 15), over the NBI and a WebSocket event stream.

Rules that keep the seam remote-able:

- Every call that reads or writes ACS data is ``async``: over a network it is a request.
- Arguments and results are the existing *value types*: store records
  (:mod:`acs_engine.store.records`, :mod:`acs_engine.store.model`), RPC dataclasses
  (:mod:`acs_engine.cwmp.rpc`), bus events (:mod:`acs_engine.bus` and the events of
  services), :class:`~acs_engine.config.EngineConfig`. No method returns a live engine object
  (no store, session, handler or server): those exist only on the engine's side.
- Events arrive on :attr:`ConsoleEngine.bus`, an :class:`~acs_engine.bus.EventBus` that the
  console subscribes to. Locally it is the engine's own bus; remotely the WebSocket stream
  publishes the same dataclasses into a local bus.
- A few cheap properties (``config``, counters, URLs) are synchronous snapshots: a remote
  implementation keeps them current from the event stream and its last status poll.

The engine not running is an error of the call (:class:`EngineUnavailable`), not ``None``:
the console does not test ``store is None`` any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from acs_engine.bus import EventBus, TaskFinished
from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.reach.wake import ConnectionRequestDone, DeviceUnknown
from acs_engine.server.controller import RESTART_FIELDS, EngineStartError, ReconfigureError
from acs_engine.session.step import StepError, StepPending, StepResolved
from acs_engine.store.queries import DeviceSummary

if TYPE_CHECKING:
    from acs_engine.admin.migrate import Migration
    from acs_engine.admin.treediff import Point
    from acs_engine.inspect.bundle import Bundle
    from acs_engine.policy.dryrun import DryRunResult
    from acs_engine.policy.presets import PresetSetting
    from acs_engine.scripting import ScriptFault
    from acs_engine.server.auth import AuthFailure
    from acs_engine.store.fleet import FleetView
    from acs_engine.store.history import HistoryRow, Snapshot
    from acs_engine.store.model import DeviceRecord, Param, SessionRecord, TraceEntry
    from acs_engine.store.records import (
        Fault,
        Preset,
        Provision,
        SessionVerdicts,
        Task,
        VirtualParameter,
    )


__all__ = [
    "EVERY_DEVICE",
    "RESTART_FIELDS",
    "ConnectionRequestDone",
    "ConsoleEngine",
    "DeviceFilter",
    "DeviceSummary",
    "DeviceUnknown",
    "EngineStartError",
    "EngineUnavailable",
    "LocalConsoleEngine",
    "ReconfigureError",
    "StepError",
    "StepPending",
    "StepResolved",
    "TaskFinished",
    "console_engine",
]


class EngineUnavailable(RuntimeError):
    """The ACS is not running (stopped, not started yet, or the remote link is down)."""


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """Which devices a listing shows.

    Attributes:
        expression: a GenieACS expression over parameter paths (empty: every device).
        contains: a plain word searched in the id, serial number, product class, tags and
            addresses (used when ``expression`` is empty).
    """

    expression: str = ""
    contains: str = ""


#: The filter that lets every device through.
EVERY_DEVICE: Final[DeviceFilter] = DeviceFilter()


@runtime_checkable
class ConsoleEngine(Protocol):
    """Everything the console uses of an ACS, local or remote.

    Grouped as the console's panels use it; every method's result is a value.
    """

    # ------------------------------------------------------------------ status
    @property
    def bus(self) -> EventBus:
        """The engine's events (session state, wire messages, faults, device updates...)."""
        ...

    @property
    def config(self) -> EngineConfig:
        """The engine's current settings (a snapshot: replace them with :meth:`reconfigure`)."""
        ...

    @property
    def running(self) -> bool:
        """Whether the ACS is running (its data can be read)."""
        ...

    @property
    def provisioning_enabled(self) -> bool:
        """Whether the engine runs provisioning (and so can check and dry-run scripts)."""
        ...

    @property
    def device_count(self) -> int:
        """Devices in the database (kept current from ``DeviceUpdated``)."""
        ...

    def active_session_count(self) -> int:
        """Sessions in flight now."""
        ...

    def cwmp_urls(self) -> list[str]:
        """The ACS URLs a CPE can use (plain HTTP)."""
        ...

    def cwmp_tls_urls(self) -> list[str]:
        """The ACS URLs over HTTPS (empty: no TLS listener)."""
        ...

    @property
    def tls_fingerprint(self) -> str | None:
        """SHA-256 fingerprint of the ACS certificate (None: no TLS)."""
        ...

    @property
    def tls_kind(self) -> str | None:
        """``"self-signed"``, ``"provided"`` or None."""
        ...

    @property
    def tls_ca_fingerprint(self) -> str | None:
        """SHA-256 fingerprint of FieldACS's private CA that CPEs should trust, else None."""
        ...

    @property
    def cpe_auth_enabled(self) -> bool:
        """Whether CPEs must authenticate."""
        ...

    def auth_failures(self) -> list[AuthFailure]:
        """Recent CPE authentication failures."""
        ...

    def proxy_upstream(self) -> str:
        """The upstream ACS URL when the engine runs as a recording proxy, else ""."""
        ...

    def kept_commands(self) -> int:
        """Staged commands kept because the engine could not be reached, not sent yet (a
        remote engine's; always 0 in process). Closing the console loses them."""
        ...

    async def reconfigure(self, config: EngineConfig) -> list[str]:
        """Apply new settings; returns the fields that need a restart of the program."""
        ...

    # ------------------------------------------------------------------ devices
    async def list_devices(self, *, limit: int = 100, offset: int = 0) -> list[DeviceSummary]:
        """One page of every device, by id."""
        ...

    async def search_devices(
        self, where: DeviceFilter, *, limit: int = 100, offset: int = 0,
        order_by: str = "id", descending: bool = False,
    ) -> list[DeviceSummary]:
        """One page of the devices matching ``where``.

        Raises:
            acs_engine.expression.ExpressionError: the expression does not parse.
        """
        ...

    async def count_devices(self, where: DeviceFilter = EVERY_DEVICE) -> int:
        """How many devices match ``where``."""
        ...

    async def devices_by_id(
        self, ids: Iterable[str], where: DeviceFilter = EVERY_DEVICE
    ) -> dict[str, DeviceSummary]:
        """The named devices that exist and match ``where``."""
        ...

    async def get_device(self, device_id: str) -> DeviceRecord | None:
        """A device's record (None: no such device)."""
        ...

    async def load_params(self, device_id: str, prefix: str = "") -> dict[str, Param]:
        """A device's parameters under ``prefix`` (all of them by default)."""
        ...

    async def load_param_values(
        self, device_id: str, paths: Iterable[str]
    ) -> dict[str, Param]:
        """The named parameters of a device (those it has)."""
        ...

    async def set_tags(
        self, device_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> set[str]:
        """Add and remove tags; returns the device's tags after."""
        ...

    def in_session(self, device_id: str) -> bool:
        """Whether the device is in a CWMP session right now."""
        ...

    # ------------------------------------------------------------------ tasks and wake
    async def add_task(self, device_id: str, name: str, args: dict[str, Any]) -> Task:
        """Queue a task (a staged command) for the device's next session.

        Its outcome is published as :class:`TaskFinished`.
        """
        ...

    async def get_task(self, task_id: str) -> Task | None:
        """A queued task (None: it ran, or never was)."""
        ...

    async def wake(self, device_id: str, *, wait_for_session: bool = True) -> ConnectionRequestDone:
        """Send a connection request (respecting a device already in session) and wait for
        its session; the outcome is also published as ``ConnectionRequestDone``.

        Raises:
            acs_engine.reach.wake.DeviceUnknown: no device or no ConnectionRequestURL.
            EngineUnavailable: the ACS is not running.
        """
        ...

    # ------------------------------------------------------------------ step control
    def step_enabled(self, device_id: str) -> bool:
        """Whether the device's sessions are held before each RPC."""
        ...

    def set_step_enabled(self, device_id: str, enabled: bool) -> None:
        """Turn step mode on or off for a device."""
        ...

    def step_pending(self, device_id: str) -> StepPending | None:
        """The device's current hold, if any."""
        ...

    def step_send(self, device_id: str) -> None:
        """Send the held RPC."""
        ...

    def step_skip(self, device_id: str) -> None:
        """Skip the held RPC."""
        ...

    def step_edit(self, device_id: str, message: rpc.Message) -> None:
        """Send ``message`` instead of the held RPC."""
        ...

    def step_insert(self, device_id: str, message: rpc.Message) -> None:
        """Send ``message`` before the held RPC."""
        ...

    def step_pause(self, device_id: str) -> None:
        """Stop the hold's countdown."""
        ...

    def step_resume(self, device_id: str) -> None:
        """Restart the hold's countdown."""
        ...

    # ------------------------------------------------------------------ presets and scripts
    async def list_presets(self) -> list[Preset]: ...
    async def put_preset(self, preset: Preset) -> None: ...
    async def delete_preset(self, preset_id: str) -> bool: ...
    async def last_verdicts(self, device_id: str) -> SessionVerdicts | None:
        """What each preset did in the device's last session."""
        ...

    async def list_provisions(self) -> list[Provision]: ...
    async def put_provision(self, provision: Provision) -> None: ...
    async def delete_provision(self, provision_id: str) -> bool: ...
    async def list_virtual_parameters(self) -> list[VirtualParameter]: ...
    async def put_virtual_parameter(self, vparam: VirtualParameter) -> None: ...
    async def delete_virtual_parameter(self, vparam_id: str) -> bool: ...

    async def check_script(self, text: str) -> ScriptFault | None:
        """The script's syntax error, or None (runs off the event loop).

        Raises:
            EngineUnavailable: provisioning is off (see :attr:`provisioning_enabled`).
        """
        ...

    # ------------------------------------------------------------------ faults
    async def list_faults(self, device_id: str | None = None) -> list[Fault]: ...
    async def delete_fault(self, fault_id: str) -> bool:
        """Delete a fault: its channel runs again in the device's next session (a retry)."""
        ...

    # ------------------------------------------------------------------ dry run
    async def dry_run(
        self, device_id: str, *, events: Sequence[str] = ("2 PERIODIC",), **options: Any
    ) -> DryRunResult:
        """Run one session of a copy of the device; see :func:`acs_engine.policy.dryrun.dry_run`.

        Raises:
            acs_engine.policy.dryrun.DryRunError: the device cannot be copied or run.
        """
        ...

    async def presets_that_set(
        self, device_id: str, values: Mapping[str, tuple[str, str | None]]
    ) -> list[PresetSetting]:
        """The presets that would set these parameters back in the device's next session."""
        ...

    # ------------------------------------------------------------------ sessions and history
    async def list_sessions(self, device_id: str, limit: int = 50) -> list[SessionRecord]: ...
    async def load_trace(self, session_id: str) -> list[TraceEntry]: ...
    async def history_paths(self, device_id: str) -> list[str]: ...
    async def param_history(
        self, device_id: str, paths: Sequence[str], since: int | None = None,
        until: int | None = None,
    ) -> list[HistoryRow]: ...
    async def device_history(self, device_id: str, *, limit: int = 100) -> list[HistoryRow]: ...
    async def list_snapshots(self, device_id: str) -> list[tuple[str, int, str]]: ...
    async def load_snapshot(self, device_id: str, name: str) -> Snapshot | None: ...
    async def save_snapshot(self, snapshot: Snapshot, *, replace: bool = False) -> None: ...
    async def fleet_view(
        self, paths: Sequence[str], *, since: int | None = None, points: int = 48,
        now: int | None = None,
    ) -> FleetView: ...

    async def start_migration(self, device_ids: Sequence[str], url: str) -> Migration:
        """Queue a ManagementServer.URL change to ``url`` for each device (see
        :func:`acs_engine.admin.migrate.start_migration`).

        Raises:
            acs_engine.admin.migrate.MigrationError: the URL or a device is refused.
        """
        ...

    async def migration_status(
        self, migration: Migration, *, nbi_url: str | None = None, token: str | None = None,
    ) -> Migration:
        """Each device's state in ``migration``, updated (see
        :func:`acs_engine.admin.migrate.migration_status`); ``nbi_url``/``token``: the new
        ACS's NBI, asked whether the devices informed it.

        Raises:
            acs_engine.admin.migrate.MigrationError: the new ACS's NBI could not be asked.
        """
        ...

    async def resolve_point(self, device_id: str, spec: str) -> Point:
        """A point in a device's history as a tree (``"now"``, a time, ``"session:ID"``,
        ``"snapshot:NAME"``...; see :func:`acs_engine.admin.treediff.resolve_point`).

        Raises:
            acs_engine.admin.treediff.PointError: no such point.
        """
        ...

    async def plan_bundle(
        self, device_id: str, session_ids: list[str], notes: str = "", *,
        include_secrets: bool = False,
    ) -> Bundle:
        """An escalation bundle of stored sessions, in memory (see
        :func:`acs_engine.inspect.bundle.plan`).

        Raises:
            LookupError: a session is not stored for the device.
        """
        ...


# The in-process implementation lives beside the interface; imported last (it uses the
# names above), so ``from acs_engine.console_api import LocalConsoleEngine`` works.
from acs_engine.console_local import LocalConsoleEngine, console_engine  # noqa: E402
