"""Plain records the store reads and writes. Timestamps are integer milliseconds since the epoch."""

from __future__ import annotations

from dataclasses import dataclass, field

from acs_engine.kinds import Direction, SessionOutcome

from .records import Fault, Operation, PresetVerdict


@dataclass(slots=True)
class Param:
    """One node of a device's parameter tree (a parameter, or an object when ``path`` ends in '.').

    Each attribute carries the time it was last learned from the CPE (GenieACS's per-attribute
    timestamps); ``None`` means never known.
    """

    path: str
    value: str | None = None
    type: str | None = None  # "xsd:string", "xsd:unsignedInt", ...
    value_ts_ms: int | None = None
    object: bool | None = None
    writable: bool | None = None
    writable_ts_ms: int | None = None  # when object/writable were learned (GetParameterNames)
    notification: int | None = None
    access_list: tuple[str, ...] | None = None
    attr_ts_ms: int | None = None  # when notification/access list were learned
    exist_ts_ms: int | None = None  # when the node's existence was last confirmed


@dataclass(slots=True)
class DeviceRecord:
    """A device's own fields (not its parameters)."""

    id: str
    manufacturer: str
    oui: str
    product_class: str
    serial_number: str
    registered_ms: int
    last_inform_ms: int | None = None
    last_boot_ms: int | None = None
    last_bootstrap_ms: int | None = None
    tags: set[str] = field(default_factory=set)
    remote_address: str = ""
    cwmp_version: str = ""


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One HTTP message of a stored session's wire trace."""

    seq: int
    at_ms: int
    direction: Direction
    rpc: str
    cwmp_id: str | None
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(slots=True)
class SessionRecord:
    """One CWMP session as kept in the store."""

    id: str
    device_id: str
    started_ms: int
    ended_ms: int | None = None
    outcome: SessionOutcome = SessionOutcome.NONE
    detail: str = ""
    remote: str = ""
    events: tuple[str, ...] = ()
    rpc_count: int = 0
    cwmp_version: str = ""


@dataclass(slots=True)
class CommitExtras:
    """What a session's handlers want written with its commit (in the same transaction).

    Attributes:
        faults_put: faults to insert or replace (the device's own).
        faults_deleted: fault ids to delete (deleted before ``faults_put`` are written).
        tasks_deleted: ids of tasks that completed.
        operations_put: pending operations to insert or replace.
        operations_deleted: ``(device id, command key)`` of operations that finished.
        preset_verdicts: why each preset matched or not in this session (the last matching
            cycle); they replace the device's stored verdicts (with the session's id and
            start). None (no presets were judged, e.g. provisioning is off) leaves the stored
            ones as they are.
    """

    faults_put: list[Fault] = field(default_factory=list)
    faults_deleted: list[str] = field(default_factory=list)
    tasks_deleted: list[str | int] = field(default_factory=list)
    operations_put: list[Operation] = field(default_factory=list)
    operations_deleted: list[tuple[str, str]] = field(default_factory=list)
    preset_verdicts: list[PresetVerdict] | None = None

    def copy(self) -> CommitExtras:
        """A copy whose lists are the caller's own."""
        return CommitExtras(
            list(self.faults_put), list(self.faults_deleted), list(self.tasks_deleted),
            list(self.operations_put), list(self.operations_deleted),
            list(self.preset_verdicts) if self.preset_verdicts is not None else None,
        )


@dataclass(slots=True)
class SessionCommit:
    """Everything one session writes, applied by ``Store.commit_session`` in one transaction.

    Attributes:
        device: the device's fields to insert or update.
        upserts: parameter nodes to insert or replace (whole rows).
        deletes: paths to remove; a path ending in '.' removes that object and its subtree.
        session: the session's record.
        trace: the session's wire trace (may be empty when tracing is off).
        extras: the faults, tasks, operations and preset verdicts written with it.
        tags_add: tags the session added.
        tags_remove: tags the session removed (a tag in both is removed).

    Tags: when ``tags_add`` and ``tags_remove`` are both empty, the stored tags are replaced
    by ``device.tags``. When either is non-empty, they are applied on top of the tags
    *stored at commit time* (``device.tags`` is then only the starting point of a device not
    stored yet), so that a tag added from the console while the session ran is kept.
    """

    device: DeviceRecord
    upserts: list[Param] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    session: SessionRecord | None = None
    trace: list[TraceEntry] = field(default_factory=list)
    extras: CommitExtras = field(default_factory=lambda: CommitExtras())
    tags_add: set[str] = field(default_factory=set)
    tags_remove: set[str] = field(default_factory=set)
    #: Apply ``tags_add``/``tags_remove`` to the stored tags even when both are empty (the
    #: stored tags are then kept as they are, whatever ``device.tags`` says).
    tags_delta: bool = False
