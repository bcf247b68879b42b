"""Records of the provisioning and operations tables: presets, provisions, virtual parameters,
tasks, faults, pending operations, file metadata, the preset verdicts of a device's last session.

Timestamps are integer milliseconds since the epoch, like everywhere in the store. The
records are frozen; their list and dict fields are the caller's to treat as read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Fault",
    "FileRecord",
    "Operation",
    "Preset",
    "PresetVerdict",
    "Provision",
    "SessionVerdicts",
    "Task",
    "VirtualParameter",
    "fault_id",
    "is_legacy_precondition",
    "task_channel",
]


def is_legacy_precondition(precondition: str) -> bool:
    """Whether a precondition is GenieACS's legacy form: a JSON Mongo-style query object.

    Such text (e.g. ``{"_tags": "lab"}``) is kept as given; the engine converts it to an
    expression when it loads the preset.
    """
    text = precondition.strip()
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def fault_id(device_id: str, channel: str) -> str:
    """A fault's id: ``"<device id>:<channel>"`` (GenieACS's ``_id``)."""
    return f"{device_id}:{channel}"


def task_channel(task_id: str) -> str:
    """The channel a task runs (and faults) in: ``"task_<id>"``."""
    return f"task_{task_id}"


@dataclass(frozen=True, slots=True)
class Preset:
    """A preset: when (events, schedule, precondition) to run which provisions, in a channel.

    Attributes:
        id: the preset's name (GenieACS ``_id``).
        weight: presets apply in ascending weight, ties broken by id.
        channel: the fault channel its provisions run in.
        events: event name -> True (must be present) or False (must be absent). Names are
            kept as given (``"0 BOOTSTRAP"`` or ``"0_BOOTSTRAP"``); matching treats a space
            and ``_`` alike.
        schedule: ``"<duration seconds> <cron>"``, or None.
        precondition: an expression string ("" matches every device), or a legacy JSON
            query (see ``legacy_precondition``).
        provisions: ``[[name, *argument expressions], ...]``, what the engine runs.
        configurations: the raw GenieACS ``configurations`` list the preset was imported
            from, kept for export round trips; None when the preset was written from
            ``provisions`` (set it to None when editing ``provisions``).
    """

    id: str
    weight: int = 0
    channel: str = "default"
    events: dict[str, bool] = field(default_factory=dict)
    schedule: str | None = None
    precondition: str = ""
    provisions: list[list[Any]] = field(default_factory=list)
    configurations: list[dict[str, Any]] | None = None

    @property
    def legacy_precondition(self) -> bool:
        """True when ``precondition`` is a legacy JSON Mongo-style query to be converted."""
        return is_legacy_precondition(self.precondition)


@dataclass(frozen=True, slots=True)
class Provision:
    """A provision script (JavaScript body), run by name from presets and tasks."""

    id: str
    script: str


@dataclass(frozen=True, slots=True)
class VirtualParameter:
    """A virtual parameter's script; it appears at ``VirtualParameters.<id>``."""

    id: str
    script: str


@dataclass(frozen=True, slots=True)
class Task:
    """A queued task of one device.

    Attributes:
        id: the task id (24 hex digits, like a GenieACS ObjectId).
        device_id: the device it is for.
        name: the task type (``"getParameterValues"``, ``"download"``, ...).
        args: the whole task document as given (``name`` and type-specific fields).
        timestamp_ms: not due before this time.
        expiry_ms: dropped (with its fault) once this time has passed; None for never.
    """

    id: str
    device_id: str
    name: str
    args: dict[str, Any]
    timestamp_ms: int
    expiry_ms: int | None = None

    @property
    def channel(self) -> str:
        """The channel the task runs in: ``"task_<id>"``."""
        return task_channel(self.id)


@dataclass(frozen=True, slots=True)
class Fault:
    """A channel's fault for a device.

    Attributes:
        id: ``"<device id>:<channel>"`` (see ``fault_id``).
        device_id: the device.
        channel: the channel that faulted (``"default"``, ``"task_<id>"``, ...).
        timestamp_ms: when it (last) happened.
        code: ``"cwmp.9002"``, ``"script.Error"``, ``"timeout"``, ...
        message: the human-readable text.
        detail: any JSON value (a stack, the CPE's fault struct), or None.
        retries: 0 for the first fault, then incremented on each retry that faults again.
        expiry_ms: the fault is dropped once this time has passed; None for never.
        provisions: the channel's provisions, replayed on retry.
        precondition: raised while fetching precondition parameters.
    """

    id: str
    device_id: str
    channel: str
    timestamp_ms: int
    code: str
    message: str = ""
    detail: Any = None
    retries: int = 0
    expiry_ms: int | None = None
    provisions: list[list[Any]] = field(default_factory=list)
    precondition: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    """A pending asynchronous operation (a Download awaiting its TransferComplete).

    Attributes:
        device_id: the device.
        command_key: the CommandKey sent with the RPC.
        name: the RPC, e.g. ``"Download"``.
        timestamp_ms: when it was sent.
        args: what finishing it needs: provisions, channels, retries, file info.
    """

    device_id: str
    command_key: str
    name: str
    timestamp_ms: int
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """Metadata of a stored file (the bytes stay on disk beside the database).

    Attributes:
        name: the file name (its URL path on the file server).
        size: length in bytes.
        md5: lower-case hex MD5 of the content.
        file_type: TR-069 FileType, e.g. ``"1 Firmware Upgrade Image"``.
        oui: the OUI of the devices it is meant for (may be empty).
        product_class: their product class (may be empty).
        version: the software version it carries (may be empty).
        uploaded_ms: when it was stored.
    """

    name: str
    size: int
    md5: str
    file_type: str = ""
    oui: str = ""
    product_class: str = ""
    version: str = ""
    uploaded_ms: int = 0


@dataclass(frozen=True, slots=True)
class PresetVerdict:
    """Whether one preset applied to a session, and why (plain words).

    ``notes`` says what its provisions asked for that was not done and why, e.g.
    ``"Device.DeviceInfo.Manufacturer = 'X': not writable: skipped"`` (GenieACS skips
    such declarations too, without a word).
    """

    preset: str
    channel: str
    matched: bool
    reason: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionVerdicts:
    """Why each preset matched or not in a device's last committed session.

    Attributes:
        device_id: the device.
        session_id: the session the presets were matched in.
        at_ms: when (the session's start, the time preset schedules were judged at).
        verdicts: one per preset, in weight order (the session's last matching cycle);
            empty when there were no presets.
    """

    device_id: str
    session_id: str
    at_ms: int
    verdicts: tuple[PresetVerdict, ...] = ()
