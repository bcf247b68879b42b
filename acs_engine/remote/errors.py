"""What can go wrong between a console and a remote engine, one class per cause.

Each has its own message for the console: a lost connection (it reconnects by itself), a
wrong token (it does not: the user must give another), a version mismatch (neither), an
HTTPS certificate that does not verify (give the ACS's CA), and step mode held by another
console.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from acs_engine.admin.migrate import MigrationError
from acs_engine.admin.treediff import PointError
from acs_engine.console_api import EngineUnavailable
from acs_engine.expression import ExpressionError
from acs_engine.policy.dryrun import DryRunError
from acs_engine.reach.wake import DeviceUnknown

__all__ = [
    "ERROR_KINDS",
    "CertificateRejected",
    "CommandQueued",
    "ConnectionLost",
    "RemoteError",
    "RemoteStatus",
    "StagedCommand",
    "StagedCommandSent",
    "StepHeldElsewhere",
    "Unauthorized",
    "VersionMismatch",
]


class RemoteError(Exception):
    """A remote engine refused or could not be reached (see the subclasses)."""


class ConnectionLost(RemoteError, EngineUnavailable):
    """The engine cannot be reached now; the console reconnects by itself."""


class CommandQueued(ConnectionLost):
    """A staged command could not be sent now: it is kept and sent on reconnection.

    Attributes:
        ref: the kept command's reference; the :class:`StagedCommandSent` that says it was
            sent carries the same one.
    """

    def __init__(self, message: str, ref: str = "") -> None:
        super().__init__(message)
        self.ref = ref


class CertificateRejected(RemoteError):
    """The engine's HTTPS certificate does not verify against the CA the console trusts
    (the system's, or the one given): give the ACS's CA certificate (``fieldacs-ca.pem``)."""


class Unauthorized(RemoteError):
    """The engine refused the token (HTTP 401): give the right one."""


class VersionMismatch(RemoteError):
    """The engine speaks another version of the console protocol.

    Attributes:
        server: the engine's protocol version (None: not a FieldACS engine).
        client: this console's.
        engine_version: the engine's program version ("" when unknown).
    """

    def __init__(self, message: str, server: int | None, client: int,
                 engine_version: str = "") -> None:
        super().__init__(message)
        self.server = server
        self.client = client
        self.engine_version = engine_version


class StepHeldElsewhere(RemoteError):
    """Step mode is held by another console.

    Attributes:
        holder: its holder's name ("" when nobody holds it and we must claim it first).
    """

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True, slots=True)
class RemoteStatus:
    """The link to a remote engine changed (published on the console's bus).

    Attributes:
        state: ``"connecting"``, ``"connected"``, ``"reconnecting"`` (lost; trying again),
            ``"unauthorized"``, ``"version_mismatch"``, ``"certificate"`` (at connect: the
            HTTPS certificate does not verify) or ``"closed"``.
        message: plain words for the status bar.
        url: the engine's URL.
        attempt: reconnection attempts so far (0 when connected).
        retry_in: seconds until the next attempt (0 when none is planned).
        at: when (``time.time()`` seconds).
    """

    state: str
    message: str
    url: str
    attempt: int = 0
    retry_in: float = 0.0
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class StagedCommandSent:
    """A staged command kept while the engine was unreachable has been accepted by it.

    Attributes:
        device_id: the device.
        name: the task's name.
        task_id: the id the engine gave it ("" when the engine refused it).
        error: why the engine refused it ("" when accepted).
        ref: the reference :class:`CommandQueued` gave when the command was kept.
    """

    device_id: str
    name: str
    task_id: str
    error: str = ""
    ref: str = ""


@dataclass(frozen=True, slots=True)
class StagedCommand:
    """A task the console staged, kept until the engine accepted it.

    Attributes:
        ref: this console's reference for it (told in :class:`CommandQueued` and
            :class:`StagedCommandSent`, so the console can follow it).
    """

    device_id: str
    name: str
    args: dict[str, Any]
    ref: str = field(default_factory=lambda: uuid.uuid4().hex)


#: The ``kind`` of an error the engine answered a call with -> the exception raised again here.
ERROR_KINDS: dict[str, type[Exception]] = {
    "DeviceUnknown": DeviceUnknown, "DryRunError": DryRunError,
    "ExpressionError": ExpressionError, "EngineUnavailable": EngineUnavailable,
    "ValueError": ValueError, "LookupError": LookupError, "PointError": PointError,
    "MigrationError": MigrationError,
}
