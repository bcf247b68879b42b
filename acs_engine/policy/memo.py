"""What a session's provisioning found, remembered for the device's next sessions.

The performance principle (DESIGN.md, "Work follows its inputs"): a periodic session whose
presets, provision runs and declarations are what they were last time, over data that has not
changed where they looked, has nothing to do, exactly as the last session's final pass found.
Such a session then neither enters V8 nor loads the device's tree nor plans.

Three things are remembered per device, bounded (least recently used first out):

- **The root listing.** When the root's children were last listed (a GetParameterNames of
  ""), so that "``Device.`` does not exist on this TR-098 CPE" is not asked again in every
  session, until a declaration's refresh time is newer than the listing.
- **Partial paths refused.** A CPE that faulted on a partial path GetParameterValues (or left
  wanted parameters out of its answer) is asked by full names from then on.
- **A session memo** (:class:`DeviceMemo`): the final preset cycle of a session that ended
  with nothing left to do: the matched provisions, each script run's inputs (script, args,
  the data entries it read, the ``Date.now(interval)`` buckets, the cron times) and logs, the
  built-in provisions' declarations, and what the "nothing due" verdict depended on.

A later session replays the memo only when every input is provably the same (see
:meth:`DeviceMemo.holds` and ``ProvisioningHandler``): the same configuration revision, tags,
root listing and registration; an Inform that names no parameter the device did not report
last time and changes no value a declaration wants to set; presets that match the same way on
the Inform's data alone; script runs whose buckets, cron times and read entries are unchanged
(a run is a function of those: same inputs, same declarations) and built-ins that declare the
same; declarations that, when the memo was made, had no timestamp newer than that session, no
clears, no aliases and nothing scheduled later (so the planner's verdict cannot change with the
clock); the same settings the planner reads. Anything else runs the ordinary path, which
makes a new memo or forgets the old one. The stored tree changes only through sessions (a
session whose Inform changed what a memo depended on takes the ordinary path); a device
deleted and registered again has a new registration time.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acs_engine.expression import make_resolver
from acs_engine.expression.fields import is_wildcard_segment, split_path
from acs_engine.policy.faults import ProvisionFault
from acs_engine.policy.presets import match_presets
from acs_engine.scripting import ScriptResult, cron_previous
from acs_engine.session.declarations import Clear, Declaration
from acs_engine.session.index import Index
from acs_engine.session.paths import PathError, parse
from acs_engine.session.sync import SyncState
from acs_engine.store.model import DeviceRecord, Param

if TYPE_CHECKING:
    from acs_engine.policy.provisioning import _SessionRun, _Work

log = logging.getLogger("fieldacs.provisioning")

#: Devices whose memo and root listing are kept (about 3 KB each with the seeded presets).
DEFAULT_CAPACITY = 20_000

#: Engine settings the planner's verdict depends on: memos made under others are dropped.
PLANNER_SETTINGS = (
    "skip_writable_check", "datetime_milliseconds", "boolean_literal", "max_commit_iterations",
    "gpn_next_level", "gpv_batch_size", "gpv_partial_path",
)

#: Roots whose entries a run may read that come from the device record and the Inform, not
#: from the stored tree (compared against a view of the Inform's data).
_RECORD_ROOTS = frozenset({"DeviceID", "Tags", "Events"})
#: Roots the preset resolver answers from the device record.
_RESOLVER_ROOTS = frozenset({"DeviceID", "Events", "Tags"})


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def bucket(now: int, interval: int, offset: int) -> int:
    """What ``Date.now(interval)`` returns at ``now`` for a device offset (the prelude's)."""
    return ((now + offset) // interval) * interval - offset


@dataclass(frozen=True, slots=True)
class RunMemo:
    """One finished script run and everything it depended on.

    Attributes:
        source: the script text.
        buckets: ``(interval, offset) -> Date.now(interval)`` values the run saw.
        cron: cron key -> the time it resolved to.
        reads: data key -> its entry as JSON, for every key the run looked up.
        logs: the run's ``log()`` lines (written again when the memo is replayed).

    Its declarations are not kept: a run with the same inputs declares the same things, and
    the planner's verdict on them is what the device memo remembers.
    """

    source: str
    buckets: tuple[tuple[int, int, int], ...]
    cron: tuple[tuple[str, int], ...]
    reads: tuple[tuple[str, str], ...]
    logs: tuple[str, ...]

    def holds(
        self, source: str, now: int, cron_previous: Callable[[str, int], int],
        entry: Callable[[str], str | None],
    ) -> bool:
        """True when a run now would see what this run saw.

        ``entry`` gives a key's entry JSON as the session sees it now, or None when the key is
        not the Inform's or the device record's (then the stored entry has not changed).
        """
        if source != self.source:
            return False
        if any(bucket(now, i, o) != value for i, o, value in self.buckets):
            return False
        try:
            if any(cron_previous(key, now) != value for key, value in self.cron):
                return False
        except ValueError:
            return False
        for key, text in self.reads:
            current = entry(key)
            if current is not None and current != text:
                return False
        return True


def run_memo(
    source: str, result: ScriptResult, now: int, cron: Mapping[str, int], ext: Mapping[str, Any],
    snapshot: Mapping[str, Any],
) -> RunMemo | None:
    """A :class:`RunMemo` of a finished run, or None when the run cannot be replayed later
    (it used ``ext()``, saw the exact time, depended on the whole key set, or did not end)."""
    if ext or result.time is None or result.reads is None or not result.done:
        return None
    if result.fault is not None or result.clears:
        return None
    return RunMemo(
        source=source,
        buckets=tuple((i, o, bucket(now, i, o)) for i, o in result.time),
        cron=tuple(sorted(cron.items())),
        reads=tuple(sorted((sys.intern(k), to_json(snapshot.get(k))) for k in result.reads)),
        logs=tuple(result.logs),
    )


@dataclass(frozen=True, slots=True)
class DeviceMemo:
    """The final preset cycle of a device's last session that had nothing left to do.

    Attributes:
        registered: the device's registration time (a re-registered device starts afresh).
        revision: the provisioning configuration's revision.
        tags: the device's tags, sorted.
        now: that session's time.
        channels: channel -> provision calls the presets matched.
        runs: (provision name, args JSON) -> its run.
        builtins: the declarations of the built-in provisions (in order).
        root_children_ts: the root listing the pass saw.
        inform_names: the parameters of that session's Inform, sorted (they exist in the
            stored tree).
        watched: parameter -> (value, type) for every parameter a declaration sets.
    """

    registered: int
    revision: int
    tags: tuple[str, ...]
    now: int
    channels: dict[str, list[list[Any]]]
    runs: dict[tuple[str, str], RunMemo]
    builtins: list[Declaration]
    root_children_ts: int
    inform_names: tuple[str, ...]
    watched: dict[str, tuple[str | None, str | None]]

    def holds(
        self, device: DeviceRecord, revision: int, now: int, root_children_ts: int,
        inform: Mapping[str, Param],
    ) -> bool:
        """The session-level inputs are unchanged (the presets and runs are checked next)."""
        if (
            device.registered_ms != self.registered
            or revision != self.revision
            or now < self.now
            or root_children_ts != self.root_children_ts
            or tuple(sorted(device.tags)) != self.tags
        ):
            return False
        if not set(self.inform_names).issuperset(inform):
            return False
        for name, (value, kind) in self.watched.items():
            param = inform.get(name)
            if param is not None and (param.value, param.type) != (value, kind):
                return False
        return True


def plannable(
    declarations: Sequence[Declaration], clears: Sequence[Clear], state: SyncState | None,
    now: int,
) -> bool:
    """True when a "nothing due" verdict over these declarations stays true for a later session
    whose data changed only by fresher timestamps: no clears, no aliases (their matches depend
    on values), no timestamp newer than ``now`` (capped at the session time, it would grow
    with the clock), no reboot, factory reset or download scheduled past ``now``, and no
    virtual parameter left to read."""
    if clears or state is None or state.vparam_get:
        return False
    for d in declarations:
        try:
            if parse(d.path).has_alias:
                return False
        except PathError:
            return False
        if (d.path_get or 0) > now or any((v or 0) > now for v in d.attr_get.values()):
            return False
    later = [state.reboot, state.factory_reset, *state.downloads_download.values()]
    return all(when <= now for when in later)


def resolvable(path: str, inform: Mapping[str, Param]) -> bool:
    """True when a preset's precondition reading ``path`` gets the same answer from the
    Inform's parameters as from the whole stored tree."""
    segments = split_path(path)
    if not segments or segments[0] in _RESOLVER_ROOTS:
        return True
    if any("[" in s for s in segments):
        return True  # aliases match nothing in preconditions
    if any(is_wildcard_segment(s) for s in segments):
        return False
    param = inform.get(path)
    return param is not None and not path.endswith(".")


def record_key(key: str, inform: Iterable[str] | Mapping[str, Any]) -> bool:
    """True when a run's data entry under ``key`` may differ from the stored tree's (the
    device record's roots and the Inform's parameters)."""
    return key.partition(".")[0] in _RECORD_ROOTS or key in inform


class Memos:
    """The bounded per-device memory: session memos and root listings."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._memos: OrderedDict[str, DeviceMemo] = OrderedDict()
        self._settings: tuple[Any, ...] = ()
        self._listings: OrderedDict[str, tuple[int, int]] = OrderedDict()
        #: Devices that refused a partial path GetParameterValues -> their registration.
        self._no_partial: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._memos)

    def settings(self, config: Any) -> None:
        """Drop every session memo when a setting the planner depends on changed (the engine
        is reconfigured in place)."""
        key = tuple(getattr(config, name) for name in PLANNER_SETTINGS)
        if key != self._settings:
            self._memos.clear()
            self._settings = key

    def get(self, device_id: str) -> DeviceMemo | None:
        memo = self._memos.get(device_id)
        if memo is not None:
            self._memos.move_to_end(device_id)
        return memo

    def put(self, device_id: str, memo: DeviceMemo | None) -> None:
        if memo is None:
            self._memos.pop(device_id, None)
            return
        self._memos[device_id] = memo
        self._memos.move_to_end(device_id)
        while len(self._memos) > self.capacity:
            self._memos.popitem(last=False)

    def root_listing(self, device: DeviceRecord) -> int:
        """When the device's root was last listed (0: unknown)."""
        entry = self._listings.get(device.id)
        if entry is None or entry[0] != device.registered_ms:
            return 0
        self._listings.move_to_end(device.id)
        return entry[1]

    def put_root_listing(self, device: DeviceRecord, ts: int) -> None:
        self._listings[device.id] = (device.registered_ms, ts)
        self._listings.move_to_end(device.id)
        while len(self._listings) > self.capacity:
            self._listings.popitem(last=False)

    def partial_refused(self, device: DeviceRecord) -> bool:
        """True when the device refused a partial path GetParameterValues before."""
        return self._no_partial.get(device.id) == device.registered_ms

    def refuse_partial(self, device: DeviceRecord) -> None:
        self._no_partial[device.id] = device.registered_ms
        self._no_partial.move_to_end(device.id)
        while len(self._no_partial) > self.capacity:
            self._no_partial.popitem(last=False)

    def clear(self) -> None:
        self._memos.clear()
        self._listings.clear()
        self._no_partial.clear()


# ---------------------------------------------------------------------- the handler's side
def replay(run: _SessionRun) -> bool:
    """Answer the presets from the device's memo when every input is unchanged (see
    :mod:`acs_engine.policy.memo`): no V8, no stored tree, no planning."""
    session = run.session
    run.owner.memos.settings(run.owner.config)
    memo = run.owner.memos.get(session.device_id)
    if memo is None:
        return False
    device = session.device
    params = session.tree.params
    inform = {pv.name: params[pv.name] for pv in session.inform.parameters if pv.name in params}
    if len(inform) != len(session.inform.parameters) or not memo.holds(
        device, run.config.revision, run.now, run.owner.memos.root_listing(device), inform
    ):
        return False
    asked: list[str] = []
    base = make_resolver(device, inform)

    def resolve(path: str) -> list[Any]:
        asked.append(path)
        return base(path)

    found = match_presets(
        run.config.presets, events=session.events, now_ms=run.now, resolve=resolve,
        functions=run.expression_functions(),
    )
    if (
        found.errors
        or {c: [list(call) for call in calls] for c, calls in found.channels.items()}
        != memo.channels
        or not all(resolvable(path, inform) for path in asked)
    ):
        return False
    view: dict[str, dict[str, Any]] | None = None

    def entry(key: str) -> str | None:
        nonlocal view
        if not record_key(key, inform):
            return None
        if view is None:  # the Inform's data and the device record, as the runs see it
            view = Index(
                session.tree, device, run.now, session.events, tuple(run.config.vparams)
            ).snapshot()
        return to_json(view.get(key))

    builtins: list[Declaration] = []
    runs: list[tuple[str, RunMemo]] = []
    for channel, calls in found.channels.items():
        for call in calls:
            name, args = str(call[0]), list(call[1:])
            source = run.config.scripts.get(name)
            if source is None:
                try:
                    decls, done = run.builtin_call(channel, name, args)
                except ProvisionFault:
                    return False
                if not done:
                    return False
                builtins.extend(decls)
                continue
            known = memo.runs.get((name, to_json(args)))
            if known is None or not known.holds(source, run.now, cron_previous, entry):
                return False
            runs.append((name, known))
    if builtins != memo.builtins:
        return False
    run.verdicts = found
    session.commit_extras.preset_verdicts = list(found.verdicts)
    for name, known in runs:
        for line in known.logs:
            log.info("script %s on %s: %s", name, session.device_id, line)
    run.presets_done = True
    run.owner.memo_hits += 1
    return True


def remember(run: _SessionRun, work: _Work) -> None:
    """Keep this cycle (it found nothing to do) as the memo for the next session."""
    candidate, run._candidate = run._candidate, None
    planner = run.planner
    if candidate is None or candidate[0] is not work or planner is None:
        return
    _work, declarations, clears, state = candidate
    if state is None or not plannable(declarations, clears, state, run.now):
        return
    snapshot = planner.snapshot()
    runs: dict[tuple[str, str], RunMemo] = {}
    builtins: list[Declaration] = []
    for p in work.provisions:
        source = run.config.scripts.get(p.name)
        if source is None:
            decls, done = run.builtin_call(p.channel, p.name, p.args)
            if not done:
                return
            builtins.extend(decls)
            continue
        known = run._replays.get((p.name, False, to_json(p.args), p.commits_done))
        memo = known and run_memo(
            source, known.result, run.now, json.loads(known.cron), json.loads(known.ext),
            snapshot,
        )
        if not memo:
            return
        runs[(p.name, to_json(p.args))] = memo
    index = planner.index()
    watched: dict[str, tuple[str | None, str | None]] = {}
    for name in state.spv:
        node = index.get(name)
        watched[sys.intern(name)] = (node.value, node.type) if node is not None else (None, None)
    tree = run.session.tree
    run._memo = (DeviceMemo(
        registered=run.session.device.registered_ms, revision=run.config.revision,
        tags=tuple(sorted(run.session.device.tags)), now=run.now,
        channels={c: [list(call) for call in calls] for c, calls in work.channels.items()},
        runs=runs, builtins=builtins, root_children_ts=tree.root_children_ts,
        inform_names=tuple(sorted({sys.intern(pv.name) for pv in run.session.inform.parameters})),
        watched=watched,
    ), tree.version)


def finish(run: _SessionRun) -> None:
    """The session committed: remember its root listing and its memo (or forget the old
    memo: the stored data changed in ways it does not describe)."""
    if run.planner is None:
        return  # nothing was loaded or planned: what is remembered still holds
    memos = run.owner.memos
    memos.settings(run.owner.config)
    tree = run.session.tree
    memos.put_root_listing(run.session.device, tree.root_children_ts)
    memo = None
    if (
        run._memo is not None and run._memo[1] == tree.version
        and not run.session.commit_extras.faults_put
    ):
        memo = run._memo[0]
    memos.put(run.session.device_id, memo if run.owner.memoize else None)
