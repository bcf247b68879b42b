"""Deterministic time for scripts: the per-device hash and cron evaluation.

``Date.now(interval, variance)`` in a script rounds the session timestamp down to the interval
with a per-device offset ``device_hash(id) % variance`` (computed in JavaScript from the hash
injected here). ``Date.now("<cron>", variance)`` needs the previous fire time of a cron
expression; JavaScript cannot evaluate cron here, so the run stops with the cron *key* in
``ScriptResult.cron_needed`` and the engine fills ``ScriptRun.cron_cache`` with
:func:`cron_previous`. A key is the expression itself, or ``"<expr>|<offset>"`` when a
variance gives the device a non-zero offset.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime

from croniter import croniter


def device_hash(device_id: str) -> int:
    """Return the 32-bit hash of a device id: the XOR of the four little-endian words of its MD5.

    Args:
        device_id: the device id.

    Returns:
        An unsigned 32-bit integer.
    """
    digest = hashlib.md5(device_id.encode("utf-8"), usedforsecurity=False).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return words[0] ^ words[1] ^ words[2] ^ words[3]


def split_cron_key(key: str) -> tuple[str, float]:
    """Split a cron key into its expression and offset in ms (0 when there is none).

    Args:
        key: ``"<expr>"`` or ``"<expr>|<offset>"``.

    Returns:
        ``(expression, offset_ms)``.

    Raises:
        ValueError: the offset is not a number.
    """
    expr, sep, offset = key.partition("|")
    if not sep:
        return expr, 0.0
    value = float(offset)
    if not math.isfinite(value):
        raise ValueError(f"Invalid cron offset: {offset!r}")
    return expr, value


def _normalize(expr: str) -> str:
    parts = expr.split()
    if len(parts) == 5:
        # Like GenieACS: a five-field expression gets a seconds field of "*" in front.
        parts.insert(0, "*")
    if len(parts) != 6:
        raise ValueError(f"Invalid cron expression: {expr!r}")
    return " ".join(parts)


def is_valid_cron(key: str) -> bool:
    """Tell whether a cron key (expression, optionally with ``|offset``) can be evaluated."""
    try:
        expr, _ = split_cron_key(key)
        return bool(croniter.is_valid(_normalize(expr), second_at_beginning=True))
    except ValueError:
        return False


def cron_previous(expr: str, at_ms: int) -> int:
    """Return the last fire time of a cron expression at or before ``at_ms`` (UTC, whole seconds).

    Args:
        expr: a cron key: a 5-field (seconds ``*`` prepended) or 6-field (seconds first)
            expression, optionally followed by ``|<offset_ms>``; with an offset the schedule is
            shifted so that the result is ``previous(at_ms + offset) - offset``.
        at_ms: the reference time in ms since the epoch (normally the session timestamp).

    Returns:
        The fire time in ms since the epoch.

    Raises:
        ValueError: the expression is invalid.
    """
    cron, offset = split_cron_key(expr)
    normalized = _normalize(cron)
    if not croniter.is_valid(normalized, second_at_beginning=True):
        raise ValueError(f"Invalid cron expression: {cron!r}")
    shifted = at_ms + offset
    # croniter's get_prev is strictly before its start; start one second later, on a whole
    # second, so that a fire time equal to the reference second counts.
    start = datetime.fromtimestamp(math.floor(shifted / 1000) + 1, UTC)
    it = croniter(normalized, start, second_at_beginning=True)
    prev = it.get_prev(datetime)
    return round(prev.timestamp() * 1000 - offset)
