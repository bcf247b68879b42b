"""The console's side of a remote engine: :class:`RemoteEngine` over the NBI and its event
stream, and the errors a console shows (lost connection, wrong token, version mismatch,
an HTTPS certificate that does not verify, step mode held elsewhere). No Qt here: the
console wraps it."""

from acs_engine.remote.engine import RemoteEngine
from acs_engine.remote.errors import (
    CertificateRejected,
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
    "CertificateRejected", "CommandQueued", "ConnectionLost", "RemoteEngine", "RemoteError",
    "RemoteStatus",
    "StagedCommand", "StagedCommandSent", "StepHeldElsewhere", "Unauthorized",
    "VersionMismatch",
]
