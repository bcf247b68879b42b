"""Declarations in, one RPC at a time out: GenieACS's sync algorithm, pure and synchronous.

Each :meth:`Planner.plan` call analyses the declarations against what the session knows (see
:mod:`acs_engine.session.reads`) and returns the first thing to do, in GenieACS's order:

1. virtual parameters to evaluate (their declared timestamps are newer than what is known);
2. the read phase, GetParameterNames -> GetParameterValues -> GetParameterAttributes;
3. changes that need no RPC (tags, the virtual ``Downloads.N`` objects), then analyse again;
4. virtual parameters to set;
5. the write phase, strictly DeleteObject -> AddObject (followed by a GetParameterValues of
   the new instance's alias keys and a SetParameterValues of any that differ) ->
   SetParameterValues -> SetParameterAttributes -> Download -> Reboot -> FactoryReset.

None means every declaration is satisfied. The session applies every response to the tree;
the handler then calls :meth:`Planner.handle_response` for the bookkeeping GenieACS does on
top (9005 recovery, listed objects, Reboot/Download records, the AddObject key sequence).

Beside it: :mod:`.reads` (what a pass finds to do), :mod:`.gpn` and :mod:`.gpv` (the read
RPCs' shape), :mod:`.writes` (the SetParameterValues/-Attributes a pass wants),
:mod:`.responses` (what an answer records beyond itself), :mod:`.special` and :mod:`.vparams`.

Limits per provision cycle: a pass (one analysis of the declarations that ends in writes or
starts over with new declarations) is an iteration of 2, and ``max_commit_iterations`` passes
raise ``too_many_commits``; 255 RPCs raise ``too_many_rpcs``; virtual parameters nested 7
deep raise ``deeply_nested_vparams``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.session import special, vparams
from acs_engine.session.coerce import parse_datetime_ms, sanitize, wire_text
from acs_engine.session.declarations import Clear, Declaration
from acs_engine.session.gpn import next_level
from acs_engine.session.gpv import left_out, partial_request
from acs_engine.session.index import Index, Node, depth, parent_name
from acs_engine.session.paths import PathError, parse
from acs_engine.session.reads import LastPass
from acs_engine.session.responses import (
    named_paths,
    record_listed,
    record_missing_attributes,
    record_missing_values,
)
from acs_engine.session.sync import (
    Action,
    DownloadOperation,
    ResponseResult,
    RpcAction,
    SyncFault,
    SyncState,
    VirtualParameterAction,
)
from acs_engine.session.tree import DeviceTree
from acs_engine.session.writes import can_write, set_attributes, set_values
from acs_engine.store.model import DeviceRecord

log = logging.getLogger("fieldacs.sync")

MAX_RPCS = 255
MAX_VPARAM_DEPTH = 7
_LOCAL_LOOPS = 16
_CLEARABLE = (
    rpc.GetParameterNames, rpc.GetParameterValues, rpc.GetParameterAttributes,
    rpc.SetParameterValues, rpc.SetParameterAttributes, rpc.AddObject, rpc.DeleteObject,
)
_WRITES = (
    rpc.SetParameterValues, rpc.SetParameterAttributes, rpc.AddObject, rpc.DeleteObject,
    rpc.Download, rpc.Reboot, rpc.FactoryReset,
)


class Planner:
    """Plans the RPCs that satisfy a session's declarations.

    Args:
        tree: the session's tree (the session keeps it up to date from every response).
        device: the device record (tags are changed in place).
        config: the engine settings (gpn_next_level, gpv_batch_size, ...).
        session_timestamp: the session's start (ms); declared timestamps are capped at it.
        events: the Inform's event codes (``Events.<code>`` for scripts).
        virtual_parameters: names of the defined virtual parameters.
        file_url: file name -> (URL, size) for Download requests; the default points at the
            configured file server and sends size 0.
        partial_gpv: ask for whole objects' values by partial path (default: the config's
            ``gpv_partial_path``); False for a CPE known to refuse them.
    """

    def __init__(
        self,
        tree: DeviceTree,
        device: DeviceRecord,
        config: EngineConfig,
        session_timestamp: int,
        *,
        events: Iterable[str] = (),
        virtual_parameters: Iterable[str] = (),
        file_url: Callable[[str], tuple[str, int]] | None = None,
        partial_gpv: bool | None = None,
    ) -> None:
        self.tree = tree
        self.device = device
        self.config = config
        self.session_timestamp = session_timestamp
        self.events = tuple(events)
        self.virtual_parameters = tuple(virtual_parameters)
        self.file_url = file_url or self._default_file_url
        self.rpc_count = 0
        self.cycle = 0
        self.passes = 0
        # The last declarations planned and whether a new pass must start, per virtual
        # parameter depth: the handler alternates between a provision's declarations and
        # those of the virtual parameter scripts it reads; that alternation is not a new pass.
        self._last: dict[int, tuple[list[Declaration], list[Clear]]] = {}
        self._restart_all()
        self._index: Index | None = None
        self._index_key: tuple[int, tuple[str, ...]] | None = None
        self._last_pass = LastPass()
        #: Bumped whenever the device data the scripts see may have changed.
        self.data_version = 0
        self._snapshot: dict[str, dict[str, Any]] | None = None
        self._chain_message: rpc.Message | None = None
        self._chain_keys: dict[str, str] = {}
        self._chain_parent = ""
        self._downloads: dict[str, DownloadOperation] = {}
        self._pending_vparam: VirtualParameterAction | None = None
        #: The work list of the last pass that found nothing left to do (else None).
        self.last_state: SyncState | None = None
        #: Virtual parameters the last pass found due (name -> attribute timestamps).
        self.vparams_due: dict[str, dict[str, int]] = {}
        self.partial_gpv = config.gpv_partial_path if partial_gpv is None else partial_gpv
        #: The CPE faulted on a partial path or left wanted parameters out: full names now.
        self.partial_refused = False
        #: Partial path sent -> the parameters it was to return.
        self._partial_sent: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ helpers
    def _default_file_url(self, name: str) -> tuple[str, int]:
        host = self.config.fs_host if self.config.fs_host not in ("", "0.0.0.0") else "127.0.0.1"
        return f"http://{host}:{self.config.fs_port}/{quote(name)}", 0

    @property
    def iteration(self) -> int:
        """GenieACS's iteration counter: 2 per pass."""
        return 2 * self.passes

    def _ts(self) -> int:
        """Timestamp for what the planner itself records (newer than any declared one)."""
        return self.session_timestamp + self.iteration + 1

    def rpc_id(self) -> str:
        """GenieACS's RPC id: hex session time, 2 hex of the cycle, 2 hex of the RPC count."""
        return f"{self.session_timestamp:x}{self.cycle % 256:02x}{self.rpc_count % 256:02x}"

    def index(self) -> Index:
        """What the session knows, as GenieACS sees it (rebuilt only after the tree changed)."""
        key = (self.tree.version, tuple(sorted(self.device.tags)))
        if self._index is None or self._index_key != key:
            if (
                self._index is None
                or self._index_key is None
                or self._index_key[1] != key[1]
                or not self._index.refresh(self.tree)
            ):
                self._index = Index(
                    self.tree, self.device, self.session_timestamp, self.events,
                    self.virtual_parameters,
                )
            self._index_key = key
            self._snapshot = None
            self.data_version += 1
        return self._index

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The device data for the sandbox: name -> known attributes, special roots included."""
        index = self.index()
        if self._snapshot is None:
            self._snapshot = index.snapshot()
        return self._snapshot

    def _restart_all(self) -> None:
        self._restart: set[int] = set(range(MAX_VPARAM_DEPTH))

    def new_cycle(self) -> None:
        """Provisions were added or cleared: a new cycle (the RPC and pass counts restart)."""
        self.cycle += 1
        self.rpc_count = 0
        self.passes = 0
        self._last = {}
        self._restart_all()

    # ------------------------------------------------------------------ planning
    def plan(
        self,
        declarations: Sequence[Declaration],
        clears: Sequence[Clear] = (),
        *,
        vparam_depth: int = 0,
    ) -> Action | None:
        """The next thing to do for ``declarations``, or None when all are satisfied.

        Args:
            declarations: every declaration of the session's provisions (deferred ones
                included; a deferred value or instance count is applied only once the handler
                passes it with ``defer=False``, i.e. when every provision has run to the end).
            clears: the provisions' ``clear()`` calls.
            vparam_depth: how deeply nested in virtual parameter scripts these come from.

        Raises:
            SyncFault: ``too_many_commits``, ``too_many_rpcs`` or ``deeply_nested_vparams``.
        """
        self.last_state = None
        if vparam_depth >= MAX_VPARAM_DEPTH:
            raise SyncFault(
                "deeply_nested_vparams",
                "Virtual parameters are referencing other virtual parameters in a deeply "
                "nested manner",
            )
        if not declarations and not clears:
            self._restart.add(vparam_depth)
            return None
        if self.rpc_count >= MAX_RPCS:
            raise SyncFault("too_many_rpcs", "Too many RPC requests")
        if self._chain_message is not None:
            return RpcAction(self._chain_message)
        key = (list(declarations), list(clears))
        if vparam_depth in self._restart or key != self._last.get(vparam_depth):
            self._start_pass(clears)
            self._restart.discard(vparam_depth)
        self._last[vparam_depth] = key
        for _ in range(_LOCAL_LOOPS):
            index = self.index()
            state = self._last_pass.run(index, self._index_key, self.session_timestamp, declarations)
            if state.vparam_get:
                self.vparams_due = dict(state.vparam_get)
                name, get = next(iter(state.vparam_get.items()))
                return self._vparam_action(name, get, {})
            message = self._read_rpc(state, index)
            if message is not None:
                return RpcAction(message)
            if special.apply_local_changes(state, self.tree, self.device, index, self._ts()):
                continue
            vset = self._vparam_set(state, index)
            if vset is not None:
                return vset
            message = self._write_rpc(state, index)
            if message is not None:
                return RpcAction(message)
            self._restart.add(vparam_depth)
            self.last_state = state
            return None
        log.warning("local changes keep changing the declarations' targets; giving up")
        self._restart.add(vparam_depth)
        return None

    def plan_reads(self, declarations: Sequence[Declaration]) -> rpc.Message | None:
        """The read RPC (GetParameterNames, -Values, -Attributes) ``declarations`` need now,
        or None; nothing else is planned. The handler passes the provisions' declarations
        together with those of the virtual parameters about to be evaluated, so that their
        reads go out in the same RPCs (as GenieACS batches them)."""
        if self._chain_message is not None or self.rpc_count >= MAX_RPCS:
            return None
        index = self.index()
        state = self._last_pass.run(index, self._index_key, self.session_timestamp, declarations)
        return self._read_rpc(state, index)

    def _start_pass(self, clears: Sequence[Clear]) -> None:
        self.passes += 1
        if self.passes >= self.config.max_commit_iterations:
            raise SyncFault("too_many_commits", "Too many commit iterations")
        for item in clears:
            try:
                path = parse(item.path)
            except PathError as exc:
                log.warning("clear ignored: %s", exc)
                continue
            stamp = min(item.timestamp, self.session_timestamp)
            attrs = {k: min(v, self.session_timestamp) for k, v in item.attr_timestamps.items()}
            special.clear(self.tree, self.index(), path, stamp, attrs or None)

    # ------------------------------------------------------------------ read phase
    def _read_rpc(self, state: SyncState, index: Index) -> rpc.Message | None:
        self._queue_gpn(state)
        gpn = self._pick_gpn(state, index)
        if gpn is not None:
            return gpn
        batch = self.config.gpv_batch_size
        values = [n for n in state.value if (node := index.get(n)) and node.object is False]
        if values:
            values.sort(key=index.position)
            if self.partial_gpv:
                return self._partial_gpv(values, index, batch)
            return rpc.GetParameterValues(names=tuple(values[:batch]))
        names: list[str] = []
        for name in [*state.notification, *state.access_list]:
            if name not in names and index.has(name):
                names.append(name)
        if names:
            names.sort(key=index.position)
            return rpc.GetParameterAttributes(names=tuple(names[:batch]))
        return None

    def _partial_gpv(self, values: list[str], index: Index, batch: int) -> rpc.GetParameterValues:
        names, self._partial_sent = partial_request(values, index, batch, self.session_timestamp)
        return rpc.GetParameterValues(names=names)

    def _queue_gpn(self, state: SyncState) -> None:
        """Turn existence/object/writable refreshes into GetParameterNames on parents."""
        covered: set[str] = set()

        def cover(name: str) -> None:
            while name not in covered:
                covered.add(name)
                if not name:
                    return
                name = parent_name(name)

        for group in (state.value, state.object, state.writable, state.notification,
                      state.access_list, state.gpn):
            for name in group:
                if name not in covered:
                    cover(name)

        def queue(name: str) -> None:
            parent = parent_name(name)
            state.add_gpn(parent, tuple(parent.split(".")) if parent else (), 1 << depth(parent))
            cover(parent)

        for name in state.exist:
            if name not in covered:
                queue(name)
        value_cover: set[str] = set()
        for name in state.value:
            while name not in value_cover:
                value_cover.add(name)
                if not name:
                    break
                name = parent_name(name)
        strict: set[str] = set()
        for group in (state.object, state.writable, state.notification, state.access_list):
            for name in group:
                up = name
                while up:
                    up = parent_name(up)
                    if up in strict:
                        break
                    strict.add(up)
        for name in state.object:
            if name not in value_cover and name not in strict:
                queue(name)
        for name in state.writable:
            queue(name)

    def _pick_gpn(self, state: SyncState, index: Index) -> rpc.GetParameterNames | None:
        pending = dict(state.gpn)
        while pending:
            shortest = min(depth(n) for n in pending)
            name = [n for n in pending if depth(n) == shortest][-1]
            del pending[name]
            if name and not index.has(name):
                continue
            segments = tuple(name.split(".")) if name else ()
            level = next_level(
                segments, list(state.gpn_patterns.items()), self.config.gpn_next_level
            )
            return rpc.GetParameterNames(
                parameter_path=f"{name}." if name else "", next_level=level
            )
        return None

    # ------------------------------------------------------------------ write phase
    def _write_rpc(self, state: SyncState, index: Index) -> rpc.Message | None:
        for names in state.instances_to_delete.values():
            for name in sorted(names, key=index.position):
                if can_write(index.get(name), self.config):
                    return rpc.DeleteObject(object_name=f"{name}.")
        for parent, pending in state.instances_to_create.items():
            if pending and can_write(index.get(parent), self.config):
                self._chain_parent = parent
                self._chain_keys = dict(pending[0])
                return rpc.AddObject(object_name=f"{parent}.")
        spv = set_values(state, index, self.config)
        if spv is not None:
            return spv
        spa = set_attributes(state, index, self.config.gpv_batch_size)
        if spa is not None:
            return spa
        for name, when in state.downloads_download.items():
            if not 0 < when <= self.session_timestamp:
                continue
            node = index.get(name)
            stored = parse_datetime_ms(node.value) if node and node.value else None
            if stored is None or when > stored:
                message, operation = special.download_request(
                    index, name, self.rpc_id(), self.file_url
                )
                self._downloads[message.command_key] = operation
                return message
        if self._due(state.reboot, index.get("Reboot")):
            return rpc.Reboot(command_key="")
        if self._due(state.factory_reset, index.get("FactoryReset")):
            return rpc.FactoryReset()
        return None

    def _due(self, wanted: int, node: Node | None) -> bool:
        if not 0 < wanted <= self.session_timestamp:
            return False
        stored = parse_datetime_ms(node.value) if node and node.value else None
        return stored is None or stored < wanted

    # ------------------------------------------------------------------ virtual parameters
    def _vparam_action(
        self, name: str, get: dict[str, int], wanted: dict[str, Any]
    ) -> VirtualParameterAction:
        action = VirtualParameterAction(name, dict(get), dict(wanted))
        self._pending_vparam = action
        return action

    def _vparam_set(self, state: SyncState, index: Index) -> VirtualParameterAction | None:
        found = vparams.value_to_set(state, index)
        return self._vparam_action(found[0], {}, found[1]) if found is not None else None

    def apply_virtual_parameter(self, name: str, result: Any) -> None:
        """Store what the virtual parameter script ``name`` returned (``{writable?, value?}``).

        Raises:
            SyncFault: ``script`` when the result lacks what was asked or is malformed.
        """
        pending = self._pending_vparam
        self._pending_vparam = None
        vparams.store_result(self.tree, name, result, pending, self._ts())

    # ------------------------------------------------------------------ responses
    def handle_response(self, request: rpc.Message, response: rpc.Message) -> ResponseResult:
        """Bookkeeping after the CPE answered ``request`` (the tree is already updated).

        Returns:
            Whether a fault was recovered from (9005 on a parameter RPC: the named paths are
            cleared and the session goes on) and any Download left pending.
        """
        self.rpc_count += 1
        ts = self._ts()
        chained = self._chain_message is not None and request == self._chain_message
        self._chain_message = None
        partial = self._partial_sent if isinstance(request, rpc.GetParameterValues) else {}
        self._partial_sent = {}
        if isinstance(response, rpc.Fault):
            self._chain_keys = {}
            self._restart_all()
            if partial:  # the CPE refuses partial paths: ask by full names from now on
                log.info("partial path GetParameterValues refused (%s): full names from now on",
                         response.code)
                self.partial_gpv = False
                self.partial_refused = True
                return ResponseResult(fault_cleared=True)
            if response.code == 9005 and isinstance(request, _CLEARABLE):
                special.clear_named(self.tree, named_paths(request))
                return ResponseResult(fault_cleared=True)
            return ResponseResult()
        if isinstance(request, _WRITES) or chained:
            self._restart_all()
        result = ResponseResult()
        if isinstance(request, rpc.GetParameterValues):
            if partial:
                self._check_partial(partial, response)
            record_missing_values(self.tree, request, response, ts)
            if chained:
                self._set_instance_keys(response)
        elif isinstance(request, rpc.GetParameterAttributes):
            record_missing_attributes(self.tree, request, response, ts)
        elif isinstance(request, rpc.GetParameterNames):
            record_listed(self.tree, request, response, ts)
        elif isinstance(request, rpc.AddObject) and isinstance(response, rpc.AddObjectResponse):
            self._get_instance_keys(request, response)
        elif isinstance(request, rpc.Reboot):
            special.record_reboot(self.tree, "Reboot", self.session_timestamp, ts)
        elif isinstance(request, rpc.FactoryReset):
            special.record_reboot(self.tree, "FactoryReset", self.session_timestamp, ts)
        elif isinstance(request, rpc.Download) and isinstance(response, rpc.DownloadResponse):
            operation = self._downloads.pop(request.command_key, None)
            if operation is not None:
                pending = special.download_done(
                    self.tree, operation, self.session_timestamp, response, ts
                )
                result = ResponseResult(operation=pending)
        return result

    def _check_partial(self, partial: dict[str, list[str]], response: rpc.Message) -> None:
        if left_out(partial, response):
            log.info("partial path GetParameterValues left parameters out: full names from now on")
            self.partial_gpv = False
            self.partial_refused = True

    def _get_instance_keys(self, request: rpc.AddObject, response: rpc.AddObjectResponse) -> None:
        keys = self._chain_keys
        self._chain_keys = {}
        if not keys:
            return
        base = f"{request.object_name}{response.instance_number}."
        self._chain_keys = {base + k: v for k, v in keys.items()}
        self._chain_message = rpc.GetParameterValues(names=tuple(self._chain_keys))

    def _set_instance_keys(self, response: rpc.Message) -> None:
        keys = self._chain_keys
        self._chain_keys = {}
        if not isinstance(response, rpc.GetParameterValuesResponse):
            return
        params: list[rpc.ParameterValue] = []
        for pv in response.parameters:
            wanted = keys.get(pv.name)
            if wanted is None:
                continue
            typed = sanitize(wanted, pv.type)
            if typed == sanitize(pv.value, pv.type):
                continue
            text = wire_text(typed, pv.type, boolean_literal=self.config.boolean_literal,
                             datetime_ms=self.config.datetime_milliseconds)
            params.append(rpc.ParameterValue(pv.name, text, pv.type))
        if params:
            self._chain_message = rpc.SetParameterValues(parameters=tuple(params))

