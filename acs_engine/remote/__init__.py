"""The console's side of a remote engine: :class:`RemoteEngine` over the NBI and its event
stream, and the errors a console shows (lost connection, wrong token, version mismatch,
step mode held elsewhere). No Qt here: the console wraps it."""

from acs_engine.remote.engine import RemoteEngine
from acs_engine.remote.errors import (
    CommandQueued,
    ConnectionLost,
    RemoteError,
    RemoteStatus,
    StagedCommand,
    StagedCommandSent,
    StepHeldElsewhere,
    Unauthorized,
    VersionMismatch,
)

__all__ = [
    "CommandQueued", "ConnectionLost", "RemoteEngine", "RemoteError", "RemoteStatus",
    "StagedCommand", "StagedCommandSent", "StepHeldElsewhere", "Unauthorized",
    "VersionMismatch",
]
