"""The provisioning handler: tasks and presets -> provisions -> declarations -> RPCs.

Per session (GenieACS's ``cwmp.ts`` loop, done as a :class:`Handler`):

1. Due tasks run first, one at a time, each in its own channel ``task_<id>``.
2. Then presets are matched (events, schedule, precondition); their provisions run grouped
   by channel. A channel with a fault that is not yet due for retry is skipped; a fault that is
   due runs that channel alone, with its saved provisions.
3. Provisions (built-ins in Python, user scripts in the V8 sandbox) are replayed from the
   start after every round of RPCs; their declarations go to the :class:`Planner`, which says
   what to send. When the planner has nothing left and every script ran to its end, the
   channel succeeded: its fault is cleared (a task is deleted). Presets are matched again
   when the data changed, at most ``MAX_CYCLES`` times (then the fault ``preset_loop``).
4. A failure (script error, CPE fault, planner limit) becomes a fault on the channel(s) with
   GenieACS's codes and retry counting; the session goes on with the other work.

Everything the session decides to write (faults, finished tasks, pending downloads, and why
each preset matched or not) goes into the session's own commit, in one transaction with its
parameters; the console reads the verdicts back with ``Store.last_verdicts``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from acs_engine.bus import EventBus, TaskFinished
from acs_engine.clock import now_ms
from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.expression import make_resolver
from acs_engine.kinds import SessionOutcome
from acs_engine.policy import memo, virtual
from acs_engine.policy.faults import FaultRecorder, ProvisionFault
from acs_engine.policy.memo import DeviceMemo, Memos
from acs_engine.policy.presets import (
    PresetMatch,
    ProvisionCall,
    match_presets,
    note_skipped,
    skipped_values,
    task_provisions,
)
from acs_engine.policy.provision_run import ProvisionRunner, Replay, RunningProvision
from acs_engine.reach.device_secret import FUNCTION as PASSWORD_FUNCTION
from acs_engine.reach.device_secret import password_function
from acs_engine.scripting import (
    Sandbox,
)
from acs_engine.session import special
from acs_engine.session.declarations import Clear, Declaration
from acs_engine.session.handler import Handler, Outgoing
from acs_engine.session.paths import PathError, match, parse
from acs_engine.session.planner import Planner
from acs_engine.session.session import Session
from acs_engine.session.sync import DownloadOperation, RpcAction, SyncFault, SyncState
from acs_engine.store.db import Store
from acs_engine.store.records import Operation, Preset, Task

log = logging.getLogger("fieldacs.provisioning")

#: Preset re-evaluations per session before the fault ``preset_loop``.
MAX_CYCLES = 4


@dataclass(slots=True)
class _Work:
    """What the session is doing now: one task, or one cycle of presets."""

    channels: dict[str, list[ProvisionCall]]
    task: Task | None = None
    provisions: list[RunningProvision] = field(default_factory=list)
    #: (channel, provision, declaration) of the last run of the provisions.
    declared: list[tuple[str, str, Declaration]] = field(default_factory=list)
    steps: int = 0  # planning steps taken (each but the last ends in an RPC)

    def __post_init__(self) -> None:
        self.provisions = [
            RunningProvision(channel, str(call[0]), list(call[1:]))
            for channel, calls in self.channels.items()
            for call in calls
        ]


@dataclass(slots=True)
class _Config:
    revision: int
    presets: list[Preset]
    scripts: dict[str, str]
    vparams: dict[str, str]


class ProvisioningHandler(Handler):
    """Runs tasks, presets, provisions and virtual parameters for every session."""

    def __init__(
        self, store: Store, sandbox: Sandbox, config: EngineConfig, bus: EventBus,
        *, file_url: Callable[[str, str, bool], tuple[str, int]] | None = None,
    ) -> None:
        self.store = store
        self.sandbox = sandbox
        self.config = config
        self.bus = bus
        self.file_url = file_url
        #: The database's secret behind ``CONNECTION_REQUEST_PASSWORD()`` (None: NULL).
        self.device_secret: bytes | None = None
        self._config: _Config | None = None
        self._runs: dict[str, _SessionRun] = {}
        #: Skip a script replay whose result is already known (see :class:`Replay`).
        self.skip_replays = True
        #: Script runs done in the sandbox, and replays skipped, since the engine started.
        self.script_runs = 0
        self.replays_skipped = 0
        #: When a list (the dry run sets one): (channel, provision, declaration) of every
        #: provision run that completed, to tell which preset sets what.
        self.declared: list[tuple[str, str, Declaration]] | None = None
        #: Replay a device's last session memo when nothing it depended on changed (see
        #: :mod:`acs_engine.policy.memo`); the root listings are remembered either way.
        self.memoize = True
        self.memos = Memos()
        #: Sessions whose provisioning was answered by a memo since the engine started.
        self.memo_hits = 0

    async def load_config(self) -> _Config:
        """Presets, provisions and virtual parameters, reloaded only when they changed."""
        revision = await self.store.provisioning_revision()
        if self._config is None or self._config.revision != revision:
            presets = await self.store.list_presets()
            scripts = {p.id: p.script for p in await self.store.list_provisions()}
            vparams = {v.id: v.script for v in await self.store.list_virtual_parameters()}
            self._config = _Config(revision, presets, scripts, vparams)
        return self._config

    async def on_inform(self, session: Session) -> None:
        run = _SessionRun(self, session, await self.load_config())
        self._runs[session.id] = run
        await run.prepare()

    async def next_rpc(self, session: Session) -> Outgoing | None:
        run = self._runs.get(session.id)
        return await run.next_rpc() if run is not None else None

    async def on_response(
        self, session: Session, request: rpc.Message, response: rpc.Message
    ) -> None:
        run = self._runs.get(session.id)
        if run is not None:
            await run.on_response(request, response)

    async def on_skipped(self, session: Session, request: rpc.Message) -> None:
        """A technician skipped ``request``: the work that asked for it stays undone in this
        session, without a fault (a task stays queued; presets run again next session)."""
        run = self._runs.get(session.id)
        if run is not None and run.work is not None:
            if run.work.task is None:
                run.presets_done = True
            run.work = None

    async def on_cpe_request(self, session: Session, request: rpc.Message) -> None:
        run = self._runs.get(session.id)
        if run is not None and isinstance(request, rpc.TransferComplete):
            await run.transfer_complete(request)

    async def on_end(self, session: Session, outcome: SessionOutcome) -> None:
        run = self._runs.pop(session.id, None)
        if run is not None and outcome == SessionOutcome.OK:
            memo.finish(run)
        if run is not None and outcome in ("ok", "fault"):  # committed: tell who follows tasks
            for task, channel in run.finished_tasks:
                self.bus.publish(TaskFinished(
                    session.device_id, task.id, task.name, run.faults.raised.get(channel),
                    session.id, now_ms(session.clock),
                ))


class _SessionRun(ProvisionRunner):
    """The provisioning state of one session."""

    def __init__(self, owner: ProvisioningHandler, session: Session, config: _Config) -> None:
        self.owner = owner
        self.session = session
        self.config = config
        self.now = session.started_ms
        self.tasks: list[Task] = []
        #: Tasks that completed or faulted in this session, with their channel.
        self.finished_tasks: list[tuple[Task, str]] = []
        self.work: _Work | None = None
        self.cycles = 0
        self.presets_done = False
        self.data_version = 0
        self.verdicts = PresetMatch()
        # Stored with the commit (an empty list when no preset gets judged: no presets).
        session.commit_extras.preset_verdicts = []
        self.pending_ops: dict[str, Operation] = {}
        self.faults = FaultRecorder(session, owner.config.retry_delay_ms, self.now)
        self.planner: Planner | None = None
        self._vparam_runs: dict[str, RunningProvision] = {}
        #: (name, virtual parameter?, args JSON, commits done) -> the last such run.
        self._replays: dict[tuple[str, bool, str, int], Replay] = {}
        #: ``data_version`` when the current preset cycle started (unchanged: no new cycle).
        self._cycle_start_version = 0
        #: The preset work whose first pass found nothing to do: (work, declarations,
        #: clears, the planner's work list); a memo for the next session, with the tree's
        #: version then (a later change voids it).
        self._candidate: tuple[_Work, list[Declaration], list[Clear], SyncState | None] | None = None
        self._memo: tuple[DeviceMemo, int] | None = None

    # ------------------------------------------------------------------ set-up
    async def prepare(self) -> None:
        store = self.owner.store
        device_id = self.session.device_id
        tasks, faults, operations = await store.device_work(device_id, self.now)
        self.faults.add_existing(faults)
        self.tasks = tasks
        self.pending_ops = {op.command_key: op for op in operations}
        self._expire_operations()
        if not (self.tasks or self.config.presets or self.pending_ops):
            self.presets_done = True
            return
        if (
            self.owner.memoize and not (self.tasks or self.pending_ops or faults)
            and memo.replay(self)
        ):
            return
        tree = await self.session.ensure_full_tree()
        if tree.root_children_ts == 0:
            listed = self.owner.memos.root_listing(self.session.device)
            if listed:
                tree.root_children_ts = listed
        self.planner = Planner(
            tree, self.session.device, self.owner.config, self.now,
            events=self.session.events, virtual_parameters=tuple(self.config.vparams),
            file_url=self._file_url if self.owner.file_url is not None else None,
            partial_gpv=(
                self.owner.config.gpv_partial_path
                and not self.owner.memos.partial_refused(self.session.device)
            ),
        )

    def _file_url(self, name: str) -> tuple[str, int]:
        assert self.owner.file_url is not None
        return self.owner.file_url(name, self.session.local_host, self.session.secure)

    def _expire_operations(self) -> None:
        """Downloads with no TransferComplete within the download timeout become faults."""
        limit = self.now - self.owner.config.download_timeout_ms
        for key, op in list(self.pending_ops.items()):
            if op.timestamp_ms < limit:
                del self.pending_ops[key]
                self.session.commit_extras.operations_deleted.append((op.device_id, key))
                channels = op.args.get("channels") or ["default"]
                self.faults.fail(
                    channels, ProvisionFault("timeout", "Download operation timed out"),
                    provisions=op.args.get("provisions") or [],
                )

    # ------------------------------------------------------------------ the loop
    async def next_rpc(self) -> Outgoing | None:
        if self.planner is None:
            return None
        while True:
            if self.work is None:
                self.work = self._next_work()
                if self.work is None:
                    return None
            try:
                message = await self._step(self.work)
            except ProvisionFault as fault:
                self._fail(self.work, fault)
                self.work = None
                continue
            if message is not None:
                return Outgoing(message)
            self._succeed(self.work)
            self.work = None

    def _next_work(self) -> _Work | None:
        while self.tasks:
            task = self.tasks.pop(0)
            if self.faults.has(task.channel):
                continue  # a faulted task waits for a retry from the user
            try:
                calls = task_provisions(task)
            except ValueError as exc:
                self.faults.fail([task.channel], ProvisionFault("invalid_task", str(exc)), [])
                self.finished_tasks.append((task, task.channel))
                continue
            return _Work({task.channel: calls}, task=task)
        if self.presets_done:
            return None
        self.cycles += 1
        if self.cycles > MAX_CYCLES:
            self.presets_done = True
            channels = list(self.verdicts.channels) or ["default"]
            self.faults.fail(
                channels,
                ProvisionFault("preset_loop", "The presets are stuck in an endless configuration loop"),
                [],
            )
            return None
        match = self._match()
        self.verdicts = match
        self.session.commit_extras.preset_verdicts = list(match.verdicts)
        for channel, error in match.errors.items():
            self.faults.fail([channel], ProvisionFault("preset", error), [], precondition=True)
        if not match.channels:
            self.presets_done = True
            return None
        assert self.planner is not None
        self.planner.new_cycle()
        self._cycle_start_version = self.data_version
        self._candidate = None
        return _Work(match.channels)

    def _match(self) -> PresetMatch:
        retry = self.faults.due_channel()
        blocked = self.faults.blocked_channels()
        match = match_presets(
            self.config.presets, events=self.session.events, now_ms=self.now,
            resolve=self._resolver(), functions=self.expression_functions(),
            channels_blocked=blocked, only_channel=retry,
        )
        if retry is not None:  # replay the fault's saved provisions, then newly matched ones
            saved = self.faults.saved_provisions(retry)
            match.channels[retry] = saved + [
                c for c in match.channels.get(retry, []) if c not in saved
            ]
        return match

    def expression_functions(self) -> dict[str, Callable[..., Any]]:
        """The functions a preset's precondition and provision arguments may call."""
        return {
            "REMOTE_ADDRESS": lambda: self.session.remote,
            PASSWORD_FUNCTION: password_function(
                self.owner.device_secret, self.session.device_id
            ),
        }

    def _resolver(self) -> Callable[[str], list[Any]]:
        return make_resolver(self.session.device, self.session.tree.params)

    async def _step(self, work: _Work) -> rpc.Message | None:
        """Run the provisions and plan until an RPC is needed (None: the work is done)."""
        planner = self.planner
        assert planner is not None
        work.steps += 1
        quiet = work.steps == 1 and work.task is None  # no RPC, no virtual parameter yet
        for _ in range(virtual.MAX_REPLAYS):
            declarations, clears, all_done = await self._run_provisions(work)
            if all_done:
                declarations = [replace(d, defer=False) for d in declarations]
            try:
                action = planner.plan(declarations, clears)
            except SyncFault as exc:
                raise ProvisionFault(exc.code, exc.message) from exc
            if isinstance(action, RpcAction):
                return action.message
            if action is not None:  # a virtual parameter to evaluate (may need RPCs itself)
                quiet = False
                if not action.set:  # read the due virtual parameters' inputs in one go
                    message = await virtual.batched_reads(self, declarations)
                    if message is not None:
                        return message
                message = await virtual.evaluate(self, action.name, action.get, action.set)
                if message is not None:
                    return message
                continue
            if all_done:
                if quiet:  # a memo candidate: this cycle found nothing to do
                    self._candidate = (work, declarations, list(clears), planner.last_state)
                return None
            for p in work.provisions:  # their declarations are in place: go on past commit()
                if not p.done:
                    if p.name == "instances" and p.current is None:
                        p.current = self._instance_count(p.args)
                    else:
                        p.commits_done += 1
        raise ProvisionFault("too_many_commits", "Too many commit iterations")

    def _instance_count(self, args: list[Any]) -> int:
        try:
            return len(match(parse(str(args[0])), self.session.tree))
        except (PathError, IndexError):
            return 0

    async def _run_provisions(self, work: _Work) -> tuple[list[Declaration], list[Clear], bool]:
        declarations: list[Declaration] = []
        clears: list[Clear] = []
        all_done = True
        snapshot: dict[str, dict[str, Any]] | None = None
        data_key = ""
        work.declared = []
        for p in work.provisions:
            script = self.config.scripts.get(p.name)
            if script is None:
                try:
                    decls, done = self._builtin(p)
                except ProvisionFault as fault:
                    fault.channel = p.channel
                    raise
                declarations.extend(decls)
                work.declared.extend((p.channel, p.name, d) for d in decls)
                all_done = all_done and done
                p.done = done
                continue
            if snapshot is None:
                assert self.planner is not None
                snapshot = self.planner.snapshot()
                data_key = self._data_key()
            try:
                result = await self._run_script(p, script, snapshot, data_key)
            except ProvisionFault as fault:
                fault.channel = p.channel
                raise
            declarations.extend(result.declarations)
            work.declared.extend((p.channel, p.name, d) for d in result.declarations)
            clears.extend(result.clears)
            p.done = result.done
            all_done = all_done and result.done
            if result.done:
                for line in result.logs:
                    log.info("script %s on %s: %s", p.name, self.session.device_id, line)
        return declarations, clears, all_done

    # ------------------------------------------------------------------ responses
    async def on_response(self, request: rpc.Message, response: rpc.Message) -> None:
        planner = self.planner
        work = self.work
        if planner is None or work is None:
            return
        self.data_version += 1
        result = planner.handle_response(request, response)
        if planner.partial_refused:
            self.owner.memos.refuse_partial(self.session.device)
        anomalies = self.session.tree.take_anomalies()
        if anomalies:  # what the CPE said contradicts itself: stop this work, say why
            self._fail(work, ProvisionFault("cpe_inconsistent", "; ".join(anomalies)))
            self.work = None
            return
        if result.operation is not None:
            self._remember_download(result.operation, work)
        if isinstance(response, rpc.Fault) and not result.fault_cleared:
            # GenieACS keeps the SOAP texts: codes are strings, and no
            # SetParameterValuesFault entries is null (an unset field), not [].
            spv_faults = [
                {"parameterName": f.name, "faultCode": str(f.code), "faultString": f.string}
                for f in response.set_parameter_values_faults
            ]
            detail = {
                "faultCode": str(response.code), "faultString": response.string,
                "setParameterValuesFault": spv_faults or None,
            }
            self._fail(work, ProvisionFault(f"cwmp.{response.code}", response.string, detail))
            self.work = None

    def _remember_download(self, op: DownloadOperation, work: _Work) -> None:
        record = Operation(
            device_id=self.session.device_id, command_key=op.command_key, name="Download",
            timestamp_ms=op.timestamp_ms,
            args={
                "instance": op.instance, "fileType": op.file_type, "fileName": op.file_name,
                "targetFileName": op.target_file_name, "channels": list(work.channels),
                "provisions": [c for calls in work.channels.values() for c in calls],
            },
        )
        self.pending_ops[op.command_key] = record
        self.session.commit_extras.operations_put.append(record)

    async def transfer_complete(self, request: rpc.TransferComplete) -> None:
        op = self.pending_ops.pop(request.command_key, None)
        if op is None:
            log.info(
                "TransferComplete %r from %s matches no pending download",
                request.command_key, self.session.device_id,
            )
            return
        self.session.commit_extras.operations_deleted.append((op.device_id, op.command_key))
        pending = DownloadOperation(
            command_key=op.command_key, instance=str(op.args.get("instance", "")),
            file_type=str(op.args.get("fileType", "")), file_name=str(op.args.get("fileName", "")),
            target_file_name=str(op.args.get("targetFileName", "")), timestamp_ms=op.timestamp_ms,
        )
        await self.session.ensure_full_tree()
        code = special.transfer_complete(self.session.tree, pending, request, self.now)
        channels = list(op.args.get("channels") or ["default"])
        if code is not None:
            self.faults.fail(
                channels, ProvisionFault(
                    code, request.fault.string, {"faultCode": str(request.fault.code)}
                ),
                op.args.get("provisions") or [],
            )
        self.data_version += 1

    # ------------------------------------------------------------------ outcomes
    def _fail(self, work: _Work, fault: ProvisionFault) -> None:
        """Fault the channel of the provision to blame, or every channel of the work."""
        channels = (
            {fault.channel: work.channels[fault.channel]}
            if fault.channel in work.channels else dict(work.channels)
        )
        log.info(
            "device %s: fault %s in %s: %s", self.session.device_id, fault.code,
            ", ".join(channels), fault.message,
        )
        expiry = work.task.expiry_ms if work.task is not None else None
        self.faults.fail(channels, fault, expiry=expiry)
        if work.task is not None:
            self.finished_tasks.append((work.task, work.task.channel))
        if work.task is None:
            self.presets_done = True  # GenieACS stops the presets after a fault

    def _note_skipped(self, work: _Work) -> None:
        """Say which declared values were not sent because the parameter is read-only."""
        if self.planner is None or self.owner.config.skip_writable_check:
            return
        skipped = skipped_values(work.declared, self.planner.index())
        for s in skipped:
            log.info("device %s: %s", self.session.device_id, s.note)
        if skipped and work.task is None:
            self.verdicts.verdicts = note_skipped(
                self.verdicts.verdicts, self.config.presets, skipped
            )
            self.session.commit_extras.preset_verdicts = list(self.verdicts.verdicts)

    def _succeed(self, work: _Work) -> None:
        self._note_skipped(work)
        if self.owner.declared is not None:
            self.owner.declared.extend(work.declared)
        for channel in work.channels:
            self.faults.clear(channel)
        if work.task is not None:
            self.session.commit_extras.tasks_deleted.append(work.task.id)
            self.finished_tasks.append((work.task, work.task.channel))
        elif self.data_version == self._cycle_start_version:
            self.presets_done = True  # nothing changed: no need to match the presets again
            memo.remember(self, work)
