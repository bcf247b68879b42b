"""Errors of the CWMP wire layer (re-exported by :mod:`acs_engine.cwmp.codec`)."""

from __future__ import annotations


class CwmpParseError(ValueError):
    """A body that is not a CWMP envelope we can read.

    The message is a short human-readable reason (shown in the wire trace and logs).

    Attributes:
        reason: the reason, as in ``str(error)``.
        cwmp_id: the envelope's ``cwmp:ID`` when the header could be read, so a fault
            answering the message can echo it; otherwise None.
        namespace: the cwmp namespace of the message when known, otherwise None.
        method: the Body element's local name when known, otherwise None.
    """

    def __init__(
        self,
        reason: str,
        *,
        cwmp_id: str | None = None,
        namespace: str | None = None,
        method: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cwmp_id = cwmp_id
        self.namespace = namespace
        self.method = method


class UnknownMethodError(CwmpParseError):
    """The Body holds a method this codec does not know (answer with fault 8000 / 9000).

    Attributes:
        method: the unknown method's local name (always set).
        cwmp_id: the envelope's ``cwmp:ID`` (None when absent).
        namespace: the cwmp namespace the sender used.
    """

    method: str

    def __init__(self, method: str, *, cwmp_id: str | None = None,
                 namespace: str | None = None) -> None:
        super().__init__(f"unknown CWMP method {method!r}", cwmp_id=cwmp_id,
                         namespace=namespace, method=method)


class VersionMismatch(CwmpParseError):
    """No CWMP version is supported by both sides (answer the Inform with fault 8006)."""
