"""Dry runs: what a preset or provision would send to a device, before any real device sees it.

:func:`dry_run` replays one session of a stored device against a *copy* of it:

- the device's stored parameter tree becomes a simulated CPE (a
  :class:`~acs_engine.sim.device.SimDevice` over a :class:`~acs_engine.sim.model.BaseModel`
  built from the stored nodes), which answers every RPC the way the real device's stored
  data says it would and accepts writes onto the copy;
- the real :class:`~acs_engine.session.session.Session` and
  :class:`~acs_engine.policy.provisioning.ProvisioningHandler` run unchanged, with no HTTP,
  on a private event bus, over :class:`SnapshotStore`: a read-only, in-memory copy of the
  rows a session reads (device tree, presets, provisions, virtual parameters and, for a
  "next session" run, the device's faults, tasks and pending operations);
- every RPC the ACS would send is collected in order, with the copy's answer.

Nothing is written to the real store: the snapshot is read with plain reads (expiry is
judged in memory, so even the store's expiry clean-up does not run), and the session is
never committed. Extension scripts (``ext()``) do run, as they would in a real session.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from acs_engine import clock
from acs_engine.bus import EventBus
from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.cwmp import values as cwmp_values
from acs_engine.cwmp.envelope import CWMP_NAMESPACES, NS_CWMP_1_0, VERSIONS, Envelope
from acs_engine.kinds import SessionOutcome
from acs_engine.policy.presets import (
    PresetSetting,
    PresetVerdict,
    declared_values,
    preset_settings,
)
from acs_engine.policy.provisioning import ProvisioningHandler
from acs_engine.reach.device_secret import stored_secret
from acs_engine.scripting import Sandbox, ScriptRun
from acs_engine.scripting.model import ScriptResult
from acs_engine.session.coerce import sanitize
from acs_engine.session.driver import SessionDriver
from acs_engine.session.paths import PathError, match
from acs_engine.session.session import Session
from acs_engine.session.tree import ACS_ROOTS
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import BaseModel
from acs_engine.store.db import Store
from acs_engine.store.model import DeviceRecord, Param, SessionCommit, SessionRecord, TraceEntry
from acs_engine.store.records import Fault, Operation, Preset, Provision, Task, VirtualParameter

log = logging.getLogger("fieldacs.dryrun")

#: The id and channel of the preset a provisions-only dry run is wrapped in.
DRY_RUN_PRESET = "(dry run)"
DRY_RUN_CHANNEL = "dryrun"
#: A dry run stops after this many RPCs (a runaway script or an endless loop).
MAX_RPCS = 500

_FORCED_INFORM = (
    "DeviceInfo.HardwareVersion",
    "DeviceInfo.SoftwareVersion",
    "DeviceInfo.ProvisioningCode",
    "ManagementServer.ParameterKey",
    "ManagementServer.ConnectionRequestURL",
)


class DryRunError(Exception):
    """A dry run could not start (unknown device, no stored tree); the message says why."""


@dataclass(slots=True)
class DryRunResult:
    """What one dry-run session did.

    Attributes:
        device_id: the device whose copy was used.
        rpcs: every RPC the ACS would send, in order.
        responses: the copy's answer to each RPC (a response or an ``rpc.Fault``).
        faults: the faults the session would record (code, message, detail, channel).
        verdicts: why each preset matched or not (the last matching cycle).
        log_lines: the scripts' ``log()`` lines (``"<provision>: <text>"``).
        upserts: parameters the session would store (as the copy answered).
        deletes: paths the session would delete.
        truncated: the run was stopped after :data:`MAX_RPCS` RPCs.
        type_warnings: values the session would set that are not valid for their type
            (``xsd:unsignedInt "abc"``): sent as they are, as GenieACS does, but a CPE will
            likely refuse them (fault 9007); see :func:`type_warnings`.
    """

    device_id: str
    rpcs: list[rpc.Message] = field(default_factory=list)
    responses: list[rpc.Message] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    verdicts: list[PresetVerdict] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    upserts: list[Param] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    truncated: bool = False
    #: (channel, provision, parameter, value) of every value the completed runs declared.
    declared: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: The presets the run matched (stored, given, or the provisions' wrapper).
    presets: list[Preset] = field(default_factory=list)
    type_warnings: list[str] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        """The RPC names in order (``["GetParameterValues", "SetParameterValues"]``)."""
        return [m.METHOD for m in self.rpcs]


class SnapshotStore:
    """The store methods a session and the provisioning handler read, over in-memory copies.

    Writes (a commit) are kept in :attr:`commits` and never reach a database; any other
    store method raises ``AttributeError`` so a new store call in the session path shows up
    as a clear failure rather than a silent write.
    """

    def __init__(
        self,
        device: DeviceRecord,
        params: Mapping[str, Param],
        *,
        presets: Sequence[Preset] = (),
        provisions: Sequence[Provision] = (),
        virtual_parameters: Sequence[VirtualParameter] = (),
        faults: Sequence[Fault] = (),
        tasks: Sequence[Task] = (),
        operations: Sequence[Operation] = (),
    ) -> None:
        self.device = device
        self.params = {path: replace(p) for path, p in params.items()}
        self.presets = list(presets)
        self.provisions = list(provisions)
        self.virtual_parameters = list(virtual_parameters)
        self.faults = list(faults)
        self.tasks = list(tasks)
        self.operations = list(operations)
        #: Commits the session asked for (kept, not written).
        self.commits: list[SessionCommit] = []

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"a dry run has no store.{name}")

    async def provisioning_revision(self) -> int:
        return 0

    async def list_presets(self) -> list[Preset]:
        return list(self.presets)

    async def list_provisions(self) -> list[Provision]:
        return list(self.provisions)

    async def list_virtual_parameters(self) -> list[VirtualParameter]:
        return list(self.virtual_parameters)

    async def list_faults(
        self, device_id: str | None = None, *, now_ms: int | None = None
    ) -> list[Fault]:
        now = clock.now_ms() if now_ms is None else now_ms
        return [
            f for f in self.faults
            if (device_id is None or f.device_id == device_id)
            and (f.expiry_ms is None or f.expiry_ms >= now)
        ]

    async def due_tasks(self, device_id: str, now_ms: int) -> list[Task]:
        return [
            t for t in self.tasks
            if t.device_id == device_id and t.timestamp_ms <= now_ms
            and (t.expiry_ms is None or t.expiry_ms >= now_ms)
        ]

    async def get_operations(self, device_id: str) -> list[Operation]:
        return [op for op in self.operations if op.device_id == device_id]

    async def device_work(
        self, device_id: str, now_ms: int
    ) -> tuple[list[Task], list[Fault], list[Operation]]:
        """Due tasks, faults and pending operations, as ``Store.device_work`` reads them."""
        return (
            await self.due_tasks(device_id, now_ms),
            await self.list_faults(device_id, now_ms=now_ms),
            await self.get_operations(device_id),
        )

    async def load_params(self, device_id: str, prefix: str = "") -> dict[str, Param]:
        if device_id != self.device.id:
            return {}
        return {p: replace(v) for p, v in self.params.items() if p.startswith(prefix)}

    async def load_param_values(self, device_id: str, paths: Iterable[str]) -> dict[str, Param]:
        if device_id != self.device.id:
            return {}
        return {p: replace(self.params[p]) for p in paths if p in self.params}

    async def commit_session(self, commit: SessionCommit) -> None:
        self.commits.append(commit)

    async def record_session_only(
        self, device: DeviceRecord, session: SessionRecord, trace: list[TraceEntry]
    ) -> None:
        self.commits.append(SessionCommit(device=device, session=session, trace=trace))


class _LoggingSandbox:
    """The engine's sandbox, keeping the ``log()`` lines of each script's last finished run.

    Scripts are replayed after every RPC, so a finished run's lines repeat; the last run
    of each script (to its end, or to its fault) is what it said.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.lines: dict[str, list[str]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sandbox, name)

    async def run(self, run: ScriptRun) -> ScriptResult:
        result = await self._sandbox.run(run)
        if result.done or result.fault is not None:
            self.lines[run.name] = [f"{run.name}: {line}" for line in result.logs]
        return result


# ---------------------------------------------------------------------- the copy of the CPE
def _root_of(params: Mapping[str, Param]) -> str:
    counts: dict[str, int] = {}
    for path in params:
        head = path.split(".", 1)[0]
        if head and head not in ACS_ROOTS:
            counts[head] = counts.get(head, 0) + 1
    if not counts:
        raise DryRunError("the device has no stored parameters to simulate it with")
    return max(counts, key=lambda head: counts[head]) + "."


def _parents(path: str, root: str) -> Iterable[str]:
    trimmed = path[:-1] if path.endswith(".") else path
    parts = trimmed.split(".")
    for n in range(1, len(parts)):
        parent = ".".join(parts[:n]) + "."
        if parent.startswith(root):
            yield parent


def model_from_params(device: DeviceRecord, params: Mapping[str, Param]) -> BaseModel:
    """A simulator model whose tree is the stored one (for a copy of that device).

    Objects missing from the store (only their parameters were learned) are added; a node
    whose writability was never learned is taken as writable, so the copy accepts what the
    planner decides to write (the real device may still refuse it). Every multi-instance
    object gets a table spec whose template is its first instance, so AddObject works.

    Raises:
        DryRunError: the device has no stored data-model parameters.
    """
    root = _root_of(params)
    paths: set[str] = {root}
    for path in params:
        if path.startswith(root):
            paths.add(path)
            paths.update(_parents(path, root))
    ordered = sorted(paths)
    nodes: list[list[Any]] = []
    for path in ordered:
        p = params.get(path)
        if path.endswith("."):
            nodes.append([path, bool(p.writable) if p is not None else False, None, None])
        else:
            writable = True if p is None or p.writable is None else p.writable
            value = "" if p is None or p.value is None else p.value
            typ = (p.type if p is not None else None) or "xsd:string"
            nodes.append([path, writable, typ, value])
    tables: dict[str, dict[str, Any]] = {}
    for path in ordered:
        if not path.endswith("."):
            continue
        name = path[:-1].rsplit(".", 1)[-1]
        if not name.isdigit():
            continue
        table = path[: -len(name) - 1]
        if table in tables:
            continue
        stored = params.get(table)
        template = [
            [sub[len(path):], *node[1:]] for sub, node in
            ((n[0], n) for n in nodes) if sub.startswith(path) and sub != path
        ]
        writable = True if stored is None or stored.writable is None else stored.writable
        tables[table] = {"writable": writable, "template": template}
    data = {
        "model": f"copy of {device.id}",
        "root": root,
        "device": {
            "manufacturer": device.manufacturer, "oui": device.oui,
            "product_class": device.product_class,
        },
        "nodes": nodes,
        "tables": tables,
    }
    model = BaseModel(data, source=f"stored tree of {device.id}")
    model.templated = frozenset()  # stored values are literal text, never placeholders
    return model


def copy_of_device(device: DeviceRecord, params: Mapping[str, Param]) -> SimDevice:
    """A simulated CPE that answers like the stored ``device`` (see :func:`model_from_params`)."""
    model = model_from_params(device, params)
    return SimDevice(
        model, device.serial_number,
        context={"manufacturer": device.manufacturer, "oui": device.oui,
                 "product_class": device.product_class},
    )


# ---------------------------------------------------------------------- the run
def _inform(device: DeviceRecord, params: Mapping[str, Param], root: str,
            events: Sequence[str]) -> rpc.Inform:
    values = []
    for suffix in _FORCED_INFORM:
        p = params.get(root + suffix)
        if p is not None and p.value is not None:
            values.append(rpc.ParameterValue(p.path, p.value, p.type or "xsd:string"))
    return rpc.Inform(
        device_id=rpc.DeviceId(
            device.manufacturer, device.oui, device.product_class, device.serial_number
        ),
        events=tuple(rpc.EventStruct(code) for code in events),
        current_time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        parameters=tuple(values),
    )


def _namespace(version: str) -> str:
    try:
        return CWMP_NAMESPACES[VERSIONS.index(version)]
    except ValueError:
        return NS_CWMP_1_0


async def snapshot(
    store: Store,
    device_id: str,
    *,
    presets: list[Preset] | None = None,
    provisions: list[list[Any]] | None = None,
    scripts_override: Mapping[str, str] | None = None,
    vparams_override: Mapping[str, str] | None = None,
    params_override: Mapping[str, tuple[str, str | None]] | None = None,
) -> SnapshotStore:
    """Read what a dry run of ``device_id`` needs from ``store`` into a :class:`SnapshotStore`.

    See :func:`dry_run` for the arguments.

    Raises:
        DryRunError: the device is unknown or has no stored tree.
    """
    device = await store.get_device(device_id)
    if device is None:
        raise DryRunError(f"no device {device_id!r} in the database")
    params = await store.load_params(device_id)
    if not params:
        raise DryRunError(f"device {device_id!r} has no stored parameters yet")
    now = clock.now_ms()
    for path, (value, xsd_type) in (params_override or {}).items():
        if path in params:  # as if just set and read back (a staged edit, committed)
            old = params[path]
            params[path] = replace(old, value=value, type=xsd_type or old.type, value_ts_ms=now)
    scripts = {p.id: p.script for p in await store.list_provisions()}
    scripts.update(scripts_override or {})
    vparams = {v.id: v.script for v in await store.list_virtual_parameters()}
    vparams.update(vparams_override or {})
    next_session = presets is None and provisions is None
    chosen: list[Preset] = []
    if next_session:
        chosen = await store.list_presets()
    else:
        chosen = list(presets or [])
        if provisions:
            chosen.append(Preset(
                id=DRY_RUN_PRESET, channel=DRY_RUN_CHANNEL,
                provisions=[list(p) for p in provisions],
            ))
    faults: list[Fault] = []
    tasks: list[Task] = []
    operations: list[Operation] = []
    if next_session:
        # now_ms=0: nothing counts as expired, so the store deletes nothing; the snapshot
        # judges expiry itself.
        faults = await store.list_faults(device_id, now_ms=0)
        tasks = await store.list_tasks(device_id)
        operations = await store.get_operations(device_id)
    return SnapshotStore(
        device, params, presets=chosen,
        provisions=[Provision(k, v) for k, v in scripts.items()],
        virtual_parameters=[VirtualParameter(k, v) for k, v in vparams.items()],
        faults=faults, tasks=tasks, operations=operations,
    )


async def dry_run(
    store: Store,
    config: EngineConfig,
    sandbox: Sandbox,
    device_id: str,
    *,
    presets: list[Preset] | None = None,
    provisions: list[list[Any]] | None = None,
    events: Sequence[str] = ("2 PERIODIC",),
    scripts_override: Mapping[str, str] | None = None,
    vparams_override: Mapping[str, str] | None = None,
    file_url: Callable[[str, str, bool], tuple[str, int]] | None = None,
    params_override: Mapping[str, tuple[str, str | None]] | None = None,
) -> DryRunResult:
    """Run one session of a copy of ``device_id`` and list the RPCs the ACS would send.

    Args:
        store: the engine's store (only read).
        config: the engine's settings (retry delay, batch sizes, ...).
        sandbox: the engine's script sandbox.
        device_id: the stored device to copy.
        presets: run these presets (matched as usual: events, schedule, precondition) instead
            of the stored ones. The device's faults, tasks and pending operations are left
            out, so every channel runs afresh.
        provisions: run these provision calls (``[[name, *args], ...]``) in the channel
            :data:`DRY_RUN_CHANNEL`, on every event; with ``presets`` both run.
            With neither, the session is the device's next one: the stored presets, with
            its faults, due tasks and pending operations.
        events: the Inform events of the session.
        scripts_override: provision scripts by name that replace (or add to) the stored
            ones, e.g. the editor's unsaved text.
        vparams_override: the same for virtual-parameter scripts.
        file_url: the engine's ``file_url`` (for Download RPCs); None plans none.
        params_override: parameter -> (value, type) the copy has instead of the stored
            value, read just now (e.g. staged edits, to see what the presets do to them).

    Returns:
        The RPCs with the copy's answers, faults, preset verdicts, script logs and the
        parameter changes the session would store.

    Raises:
        DryRunError: the device is unknown or has no stored tree.
    """
    snap = await snapshot(
        store, device_id, presets=presets, provisions=provisions,
        scripts_override=scripts_override, vparams_override=vparams_override,
        params_override=params_override,
    )
    device = snap.device
    cpe = copy_of_device(device, snap.params)
    result = DryRunResult(device_id=device_id)
    bus = EventBus()  # private: the console never sees the dry-run session
    logging_sandbox = _LoggingSandbox(sandbox)
    handler = ProvisioningHandler(
        cast(Store, snap), cast(Sandbox, logging_sandbox),
        config, bus, file_url=file_url,
    )
    handler.device_secret = await stored_secret(store)  # the passwords a session would set
    handler.declared = []
    namespace = _namespace(device.cwmp_version)
    inform = _inform(device, snap.params, cpe.model.root, events)
    session = Session(
        session_id="dryrun-" + uuid.uuid4().hex,
        inform_envelope=Envelope(inform, cwmp_id="dryrun", namespace=namespace),
        device=replace(device, tags=set(device.tags)),
        created=False,
        namespace=namespace,
        cwmp_version=device.cwmp_version or "1.0",
        use_cwmp_version=None,
        config=config,
        load_tree=lambda: snap.load_params(device_id),
        remote=device.remote_address,
        local_host="127.0.0.1",
    )
    driver = SessionDriver(session, cast(Store, snap), handler, bus)
    try:
        await driver.start()
        reply = await driver.handle(None)
        while reply.envelope is not None:
            request = reply.envelope.message
            if len(result.rpcs) >= MAX_RPCS:
                result.truncated = True
                break
            response = cpe.handle(request)
            result.rpcs.append(request)
            result.responses.append(response)
            reply = await driver.handle(
                Envelope(response, cwmp_id=reply.envelope.cwmp_id, namespace=namespace)
            )
    finally:
        await handler.on_end(session, SessionOutcome.DRY_RUN)
    # The dry run's own verdicts: its session is never committed, so they are not stored.
    result.verdicts = list(session.commit_extras.preset_verdicts or [])
    result.faults = list(session.commit_extras.faults_put)
    result.log_lines = [line for lines in logging_sandbox.lines.values() for line in lines]
    result.upserts, result.deletes = session.tree.changes()
    result.type_warnings = type_warnings(result.rpcs)
    result.presets = list(snap.presets)

    def expand(path: str) -> list[str]:
        try:
            return match(path, session.tree)
        except PathError:
            return []

    result.declared = declared_values(handler.declared, expand)
    log.info(
        "dry run of %s: %d RPCs, %d faults", device_id, len(result.rpcs), len(result.faults)
    )
    return result


def type_warnings(rpcs: Iterable[rpc.Message]) -> list[str]:
    """One line per value of a SetParameterValues in ``rpcs`` that is not valid for the type
    it is sent with: ``'Device.X: not an integer: 'abc' (sent as xsd:unsignedInt; the CPE
    will likely refuse it with fault 9007)'``."""
    lines = []
    for message in rpcs:
        if not isinstance(message, rpc.SetParameterValues):
            continue
        for parameter in message.parameters:
            reason = cwmp_values.check(parameter.value, parameter.type)
            if reason is not None:
                lines.append(
                    f"{parameter.name}: {reason} (sent as {parameter.type}; the CPE will "
                    "likely refuse it with fault 9007)"
                )
    return lines


async def presets_that_set(
    store: Store,
    config: EngineConfig,
    sandbox: Sandbox,
    device_id: str,
    values: Mapping[str, tuple[str, str | None]],
) -> list[PresetSetting]:
    """The presets whose provisions would set these parameters back in the device's next
    session, once they have these values (a technician's staged edits).

    A dry run of the next session on a copy of the device that already has ``values``; a
    preset counts when it matched and one of its provisions declares a different value.

    Args:
        store, config, sandbox: the engine's.
        device_id: the device.
        values: parameter -> (value, type or None).

    Raises:
        DryRunError: the device is unknown or has no stored tree.
    """
    result = await dry_run(store, config, sandbox, device_id, params_override=values)
    types = {p.path: p.type for p in result.upserts}
    settings = preset_settings(result.declared, result.verdicts, result.presets, values)
    out = []
    for setting in settings:
        value, xsd_type = values[setting.path]
        kind = xsd_type or types.get(setting.path) or "xsd:string"
        try:
            same = sanitize(setting.value, kind) == sanitize(value, kind)
        except (TypeError, ValueError):
            same = setting.value == value
        if not same:
            out.append(setting)
    return out
