"""How many GetParameterNames a discovery would take with NextLevel=true (GenieACS's heuristic).

A pattern is a path (segments, ``*`` for any) plus flags: bit *i* set means the segment at
depth *i* still has to be discovered. Undiscovered wildcard levels are assumed to hold two
instances each and the estimate stops growing below depth 7. The planner sends
``NextLevel=false`` (the whole subtree at once) when the estimate for an object at depth *d*
reaches ``2 ** max(0, 8 - d)``.
"""

from __future__ import annotations

from collections.abc import Sequence

WILDCARD_MULTIPLIER = 2
UNDISCOVERED_DEPTH = 7

Pattern = tuple[tuple[str, ...], int]


def estimate(patterns: Sequence[Pattern], depth: int = 0) -> int:
    """Estimated number of GetParameterNames calls needed to discover ``patterns``."""
    groups: dict[str, list[Pattern]] = {}
    wildcards: list[Pattern] = []
    wildcard_known = False
    count = 0
    for pattern in patterns:
        segments, flags = pattern
        pending = (flags >> depth) & 1
        if depth >= len(segments):
            if pending:
                count = 1
            continue
        segment = segments[depth]
        if pending:
            count = 1
            if depth > UNDISCOVERED_DEPTH:
                continue
        elif segment == "*":
            wildcard_known = True
        if segment == "*":
            wildcards.append(pattern)
        else:
            groups.setdefault(segment, []).append(pattern)
    below_wildcard = 0
    if wildcards and not wildcard_known:
        below_wildcard = estimate(wildcards, depth + 1) * WILDCARD_MULTIPLIER
    for members in groups.values():
        found = estimate(members + wildcards, depth + 1)
        below_wildcard -= found
        count += found
    return count + max(0, below_wildcard)


def next_level(
    segments: tuple[str, ...], patterns: Sequence[Pattern], gpn_next_level: int
) -> bool:
    """NextLevel for a GetParameterNames on the object ``segments``.

    Args:
        segments: the object's path segments (empty for the root).
        patterns: every pending discovery pattern of the session.
        gpn_next_level: cwmp.gpnNextLevel: above this depth no estimate is made.
    """
    d = len(segments)
    if d < gpn_next_level:
        return True
    relevant: list[Pattern] = [(segments, 0)]
    for pat_segments, flags in patterns:
        if len(pat_segments) < d:
            continue
        if all(p in ("*", s) for p, s in zip(pat_segments, segments, strict=False)):
            relevant.append((pat_segments, (flags >> d) << d))
    return estimate(relevant) < 2 ** max(0, 8 - d)
