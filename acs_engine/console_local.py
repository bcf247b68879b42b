"""The in-process implementation of the console's interface.

:class:`LocalConsoleEngine` satisfies :class:`~acs_engine.console_api.ConsoleEngine` over the
:class:`~acs_engine.server.controller.Engine` running in the console's own process: each
method is a call on the engine's store, sandbox, step gate or controller, and its result is
the value those return. Import it from :mod:`acs_engine.console_api`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from acs_engine.bus import EventBus
from acs_engine.config import EngineConfig
from acs_engine.console_api import EVERY_DEVICE, ConsoleEngine, DeviceFilter, EngineUnavailable
from acs_engine.cwmp import rpc
from acs_engine.reach.wake import ConnectionRequestDone
from acs_engine.server.controller import Engine
from acs_engine.session.step import StepPending
from acs_engine.store.queries import DeviceSummary

if TYPE_CHECKING:
    from acs_engine.admin.migrate import Migration
    from acs_engine.admin.treediff import Point
    from acs_engine.inspect.bundle import Bundle
    from acs_engine.policy.dryrun import DryRunResult
    from acs_engine.policy.presets import PresetSetting
    from acs_engine.scripting import ScriptFault
    from acs_engine.server.auth import AuthFailure
    from acs_engine.session.step import StepGate
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


def _filter_sql(where: DeviceFilter) -> tuple[str, list[Any]]:
    from acs_engine import expression
    from acs_engine.store import search

    if where.expression.strip():
        sql, args = expression.compile_sql(
            expression.parse(where.expression), now_ms=int(time.time() * 1000)
        )
        return sql, list(args)
    if where.contains.strip():
        sql, args = search.text_condition(where.contains.strip())
        return sql, list(args)
    return "1", []


class LocalConsoleEngine:
    """:class:`ConsoleEngine` over the in-process :class:`~acs_engine.server.controller.Engine`.

    Args:
        engine: the engine (started or not: calls that need its data raise
            :class:`EngineUnavailable` while it is stopped).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._gate: StepGate | None = None

    # ------------------------------------------------------------------ internals
    @classmethod
    def create(cls, config: EngineConfig) -> LocalConsoleEngine:
        """A new in-process engine with ``config`` (not started: see :meth:`start`)."""
        return cls(Engine(config))

    async def start(self) -> None:
        """Start the engine (the program that owns it does; panels never do).

        Raises:
            EngineStartError: the engine could not start (port in use, database...).
        """
        await self._engine.start()

    async def stop(self) -> None:
        """Stop the engine."""
        await self._engine.stop()

    @property
    def engine(self) -> Engine:
        """The wrapped engine (for the program that owns it: start, stop; not for panels)."""
        return self._engine

    def _store(self) -> Any:
        store = self._engine.store
        if store is None:
            raise EngineUnavailable("the ACS is not running")
        return store

    def _sandbox(self) -> Any:
        sandbox = self._engine.sandbox
        if sandbox is None:
            raise EngineUnavailable("the ACS is not running with provisioning on")
        return sandbox

    def gate(self) -> StepGate:
        """The engine's step gate (installed on first use)."""
        if self._gate is None:
            from acs_engine.session.step import install_step_gate

            self._gate = install_step_gate(self._engine)
        return self._gate

    # ------------------------------------------------------------------ status
    @property
    def bus(self) -> EventBus:
        return self._engine.bus

    @property
    def config(self) -> EngineConfig:
        return self._engine.config

    @property
    def running(self) -> bool:
        return self._engine.store is not None

    @property
    def provisioning_enabled(self) -> bool:
        return self._engine.sandbox is not None

    @property
    def device_count(self) -> int:
        return self._engine.device_count

    def active_session_count(self) -> int:
        return self._engine.active_session_count()

    def cwmp_urls(self) -> list[str]:
        return self._engine.cwmp_urls()

    def cwmp_tls_urls(self) -> list[str]:
        return self._engine.cwmp_tls_urls()

    @property
    def tls_fingerprint(self) -> str | None:
        return self._engine.tls_fingerprint

    @property
    def tls_kind(self) -> str | None:
        return self._engine.tls_kind

    @property
    def tls_ca_fingerprint(self) -> str | None:
        tls = self._engine.tls
        return tls.ca_fingerprint if tls is not None else None

    @property
    def cpe_auth_enabled(self) -> bool:
        return self._engine.cpe_auth_enabled

    def auth_failures(self) -> list[AuthFailure]:
        return self._engine.auth_failures()

    def kept_commands(self) -> int:
        return 0

    def proxy_upstream(self) -> str:
        proxy = self._engine.proxy
        return proxy.upstream if proxy is not None else ""

    async def reconfigure(self, config: EngineConfig) -> list[str]:
        return await self._engine.reconfigure(config)

    # ------------------------------------------------------------------ devices
    async def list_devices(self, *, limit: int = 100, offset: int = 0) -> list[DeviceSummary]:
        return list(await self._store().list_devices(limit=limit, offset=offset))

    async def search_devices(
        self, where: DeviceFilter, *, limit: int = 100, offset: int = 0,
        order_by: str = "id", descending: bool = False,
    ) -> list[DeviceSummary]:
        from acs_engine.store import search

        sql, args = _filter_sql(where)
        return await search.search_devices(
            self._store(), sql, args, limit=limit, offset=offset,
            order_by=order_by, descending=descending,
        )

    async def count_devices(self, where: DeviceFilter = EVERY_DEVICE) -> int:
        from acs_engine.store import search

        sql, args = _filter_sql(where)
        return await search.count_devices_where(self._store(), sql, args)

    async def devices_by_id(
        self, ids: Iterable[str], where: DeviceFilter = EVERY_DEVICE
    ) -> dict[str, DeviceSummary]:
        from acs_engine.store import search

        sql, args = _filter_sql(where)
        return await search.devices_by_id(self._store(), ids, sql, args)

    async def get_device(self, device_id: str) -> DeviceRecord | None:
        return await self._store().get_device(device_id)

    async def load_params(self, device_id: str, prefix: str = "") -> dict[str, Param]:
        return await self._store().load_params(device_id, prefix)

    async def load_param_values(
        self, device_id: str, paths: Iterable[str]
    ) -> dict[str, Param]:
        return await self._store().load_param_values(device_id, paths)

    async def set_tags(
        self, device_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> set[str]:
        return await self._store().set_tags(device_id, add, remove)

    def in_session(self, device_id: str) -> bool:
        cwmp = self._engine.cwmp
        return cwmp is not None and cwmp.session_of_device(device_id) is not None

    # ------------------------------------------------------------------ tasks and wake
    async def add_task(self, device_id: str, name: str, args: dict[str, Any]) -> Task:
        return await self._store().add_task(device_id, name, args)

    async def get_task(self, task_id: str) -> Task | None:
        return await self._store().get_task(task_id)

    async def wake(self, device_id: str, *, wait_for_session: bool = True) -> ConnectionRequestDone:
        if self._engine.store is None:
            raise EngineUnavailable("the ACS is not running")
        return await self._engine.connection_request(device_id, wait_for_session=wait_for_session)

    # ------------------------------------------------------------------ step control
    def step_enabled(self, device_id: str) -> bool:
        return self.gate().is_enabled(device_id)

    def set_step_enabled(self, device_id: str, enabled: bool) -> None:
        self.gate().set_enabled(device_id, enabled)

    def step_pending(self, device_id: str) -> StepPending | None:
        return self.gate().pending(device_id)

    def step_send(self, device_id: str) -> None:
        self.gate().send(device_id)

    def step_skip(self, device_id: str) -> None:
        self.gate().skip(device_id)

    def step_edit(self, device_id: str, message: rpc.Message) -> None:
        self.gate().edit(device_id, message)

    def step_insert(self, device_id: str, message: rpc.Message) -> None:
        self.gate().insert(device_id, message)

    def step_pause(self, device_id: str) -> None:
        self.gate().pause(device_id)

    def step_resume(self, device_id: str) -> None:
        self.gate().resume(device_id)

    # ------------------------------------------------------------------ presets and scripts
    async def list_presets(self) -> list[Preset]:
        return await self._store().list_presets()

    async def put_preset(self, preset: Preset) -> None:
        await self._store().put_preset(preset)

    async def delete_preset(self, preset_id: str) -> bool:
        return await self._store().delete_preset(preset_id)

    async def last_verdicts(self, device_id: str) -> SessionVerdicts | None:
        return await self._store().last_verdicts(device_id)

    async def list_provisions(self) -> list[Provision]:
        return await self._store().list_provisions()

    async def put_provision(self, provision: Provision) -> None:
        await self._store().put_provision(provision)

    async def delete_provision(self, provision_id: str) -> bool:
        return await self._store().delete_provision(provision_id)

    async def list_virtual_parameters(self) -> list[VirtualParameter]:
        return await self._store().list_virtual_parameters()

    async def put_virtual_parameter(self, vparam: VirtualParameter) -> None:
        await self._store().put_virtual_parameter(vparam)

    async def delete_virtual_parameter(self, vparam_id: str) -> bool:
        return await self._store().delete_virtual_parameter(vparam_id)

    async def check_script(self, text: str) -> ScriptFault | None:
        sandbox = self._sandbox()
        return await asyncio.to_thread(sandbox.check_syntax, text)

    # ------------------------------------------------------------------ faults
    async def list_faults(self, device_id: str | None = None) -> list[Fault]:
        return await self._store().list_faults(device_id)

    async def delete_fault(self, fault_id: str) -> bool:
        return await self._store().delete_fault(fault_id)

    # ------------------------------------------------------------------ dry run
    async def dry_run(
        self, device_id: str, *, events: Sequence[str] = ("2 PERIODIC",), **options: Any
    ) -> DryRunResult:
        from acs_engine.policy.dryrun import dry_run

        return await dry_run(
            self._store(), self._engine.config, self._sandbox(), device_id,
            events=events, file_url=self._engine.file_url, **options,
        )

    async def presets_that_set(
        self, device_id: str, values: Mapping[str, tuple[str, str | None]]
    ) -> list[PresetSetting]:
        from acs_engine.policy.dryrun import presets_that_set

        return await presets_that_set(
            self._store(), self._engine.config, self._sandbox(), device_id, values
        )

    # ------------------------------------------------------------------ sessions and history
    async def list_sessions(self, device_id: str, limit: int = 50) -> list[SessionRecord]:
        return await self._store().list_sessions(device_id, limit=limit)

    async def load_trace(self, session_id: str) -> list[TraceEntry]:
        return await self._store().load_trace(session_id)

    async def history_paths(self, device_id: str) -> list[str]:
        return await self._store().history_paths(device_id)

    async def param_history(
        self, device_id: str, paths: Sequence[str], since: int | None = None,
        until: int | None = None,
    ) -> list[HistoryRow]:
        return await self._store().param_history(
            device_id, paths, since=since, until=until
        )

    async def device_history(self, device_id: str, *, limit: int = 100) -> list[HistoryRow]:
        return await self._store().device_history(device_id, limit=limit)

    async def list_snapshots(self, device_id: str) -> list[tuple[str, int, str]]:
        return await self._store().list_snapshots(device_id)

    async def load_snapshot(self, device_id: str, name: str) -> Snapshot | None:
        return await self._store().load_snapshot(device_id, name)

    async def save_snapshot(self, snapshot: Snapshot, *, replace: bool = False) -> None:
        await self._store().save_snapshot(snapshot, replace=replace)

    async def fleet_view(
        self, paths: Sequence[str], *, since: int | None = None, points: int = 48,
        now: int | None = None,
    ) -> FleetView:
        return await self._store().fleet_view(
            paths, since=since, points=points, now=now
        )


    async def start_migration(self, device_ids: Sequence[str], url: str) -> Migration:
        from acs_engine.admin.migrate import start_migration

        return await start_migration(self._store(), device_ids, url)

    async def migration_status(
        self, migration: Migration, *, nbi_url: str | None = None, token: str | None = None,
    ) -> Migration:
        from acs_engine.admin.migrate import migration_status

        return await migration_status(self._store(), migration, nbi_url=nbi_url, token=token)

    async def resolve_point(self, device_id: str, spec: str) -> Point:
        from acs_engine.admin.treediff import resolve_point

        return await resolve_point(self._store(), device_id, spec)

    async def plan_bundle(
        self, device_id: str, session_ids: list[str], notes: str = "", *,
        include_secrets: bool = False,
    ) -> Bundle:
        from acs_engine.inspect import bundle

        return await bundle.plan(
            self._store(), self._engine.config, device_id, session_ids, notes,
            include_secrets=include_secrets,
        )


def console_engine(engine: Engine | ConsoleEngine) -> ConsoleEngine:
    """``engine`` as a :class:`ConsoleEngine` (an Engine is wrapped; an interface returned)."""
    if isinstance(engine, Engine):
        return LocalConsoleEngine(engine)
    return engine
