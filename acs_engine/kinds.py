"""Closed sets of values the engine publishes and stores, as ``StrEnum``s.

Each member *is* its string (``SessionOutcome.OK == "ok"``), so the database, the NBI's JSON
and the console see the same text as before; code gets a type to check against.
This module imports nothing of the engine: the bus, the store and the session all use it.
"""

from __future__ import annotations

import enum

__all__ = ["Direction", "NoticeLevel", "SessionOutcome"]


class SessionOutcome(enum.StrEnum):
    """How a session ended (``SessionEnded.outcome``, ``SessionRecord.outcome``)."""

    #: Not ended yet, or not known (a session read from a capture that stops early).
    NONE = ""
    OK = "ok"
    #: Its data was committed but a fault was recorded (the CPE's or a script's).
    FAULT = "fault"
    #: No message from the CPE within the session timeout.
    TIMEOUT = "timeout"
    #: Ended by the ACS or by a new Inform of the CPE.
    ABORTED = "aborted"
    #: A malformed message, a protocol violation, a failed commit or an internal error.
    ERROR = "error"
    #: A dry run's session (never stored): handlers keep nothing of it.
    DRY_RUN = "dryrun"


class Direction(enum.StrEnum):
    """Which way an HTTP message of a session went."""

    #: From the CPE (its POST).
    IN = "in"
    #: To the CPE (the ACS's answer).
    OUT = "out"


class NoticeLevel(enum.StrEnum):
    """How much an :class:`~acs_engine.bus.EngineNotice` matters."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
