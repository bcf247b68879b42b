"""Tree diff: a device's parameter tree at two points, compared.

A *point* is written as text (the CLI, the NBI and the console all take the same words):

``now``
    the tree as stored now.
``session:ID`` (or just the session id)
    the tree right after that session committed.
``before-download`` / ``after-download``
    just before / right after the session that reported the last Download done
    (``7 TRANSFER COMPLETE`` or ``M Download``); when those sessions were pruned, the last
    change of DeviceInfo.SoftwareVersion marks it.
``snapshot:NAME``
    a saved snapshot.
``time:WHEN``
    the tree at a time: ISO 8601 (``2026-12-07T05:00:00Z``) or epoch milliseconds.

Trees before the first kept change are rebuilt as far as the history reaches; the diff then
says it is incomplete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from acs_engine.store.db import Store
from acs_engine.store.history import NodeState, PastTree, Snapshot, decode_nodes
from acs_engine.store.schema import SOFTWARE_VERSION_PATHS

__all__ = [
    "DOWNLOAD_EVENTS",
    "DiffEntry",
    "Point",
    "PointError",
    "compare",
    "export_snapshot",
    "import_snapshot",
    "render_text",
    "resolve_point",
]

DOWNLOAD_EVENTS = frozenset({"7 TRANSFER COMPLETE", "M Download"})
SNAPSHOT_FORMAT = "fieldacs-snapshot"


class PointError(ValueError):
    """A point of a diff that cannot be found; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Point:
    """A resolved point: what it is called, the tree there."""

    label: str
    tree: PastTree


@dataclass(frozen=True, slots=True)
class DiffEntry:
    """One path compared at two points.

    Attributes:
        path: the node's path (an object's ends with '.').
        kind: "added", "removed", "changed" or "same".
        old: the state at the first point (None: absent there).
        new: the state at the second point (None: absent there).
        fields: what changed: any of "value", "type", "writable".
    """

    path: str
    kind: str
    old: NodeState | None
    new: NodeState | None
    fields: tuple[str, ...] = ()

    @property
    def is_object(self) -> bool:
        return self.path.endswith(".")


def fmt_time(ms: int) -> str:
    """Milliseconds since the epoch as UTC ISO 8601 to the second."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_time(text: str) -> int:
    """ISO 8601 or epoch milliseconds -> epoch milliseconds; ValueError otherwise."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither ISO 8601 nor epoch milliseconds") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


async def _download_times(store: Store, device_id: str) -> tuple[int, int] | None:
    """(before, after) times of the device's last Download, or None when there was none."""
    for session in await store.list_sessions(device_id, limit=1000):
        if DOWNLOAD_EVENTS & set(session.events):
            return session.started_ms - 1, session.ended_ms or session.started_ms
    rows = await store.param_history(device_id, SOFTWARE_VERSION_PATHS)
    changed = [r for r in rows if r.kind == 0]
    if changed:
        return changed[-1].at - 1, changed[-1].at
    return None


async def resolve_point(store: Store, device_id: str, spec: str) -> Point:
    """The tree of ``device_id`` at the point ``spec`` (see the module docstring).

    Raises:
        PointError: the device, session or snapshot is unknown, or the words make no sense.
    """
    if await store.get_device(device_id) is None:
        raise PointError(f"no device {device_id!r}")
    spec = spec.strip()
    if spec == "now":
        return Point("now", await store.tree_at(device_id, None))
    if spec in ("before-download", "after-download"):
        times = await _download_times(store, device_id)
        if times is None:
            raise PointError(f"device {device_id} has no recorded Download")
        at = times[0] if spec == "before-download" else times[1]
        word = "before" if spec == "before-download" else "after"
        return Point(f"{word} the last Download ({fmt_time(at)})", await store.tree_at(device_id, at))
    if spec.startswith("snapshot:"):
        name = spec[len("snapshot:"):]
        snap = await store.load_snapshot(device_id, name)
        if snap is None:
            raise PointError(f"device {device_id} has no snapshot named {name!r}")
        return Point(
            f"snapshot {name!r} ({fmt_time(snap.created)})", PastTree(snap.nodes, True, snap.created)
        )
    if spec.startswith("time:"):
        try:
            at = parse_time(spec[len("time:"):])
        except ValueError as exc:
            raise PointError(str(exc)) from None
        return Point(fmt_time(at), await store.tree_at(device_id, at))
    session_id = spec[len("session:"):] if spec.startswith("session:") else spec
    for session in await store.list_sessions(device_id, limit=1000):
        if session.id == session_id or (len(session_id) >= 6 and session.id.startswith(session_id)):
            at = session.ended_ms or session.started_ms
            return Point(
                f"after session {session.id[:8]} ({fmt_time(at)})", await store.tree_at(device_id, at)
            )
    at_kept = await store.session_time(device_id, session_id)
    if at_kept is not None:  # its record was pruned, its changes are still in the history
        return Point(f"after session {session_id[:8]} ({fmt_time(at_kept)})",
                     await store.tree_at(device_id, at_kept))
    raise PointError(
        f"{spec!r} is not a point of device {device_id}: give now, before-download, "
        "after-download, session:ID, snapshot:NAME or time:WHEN"
    )


def compare(a: dict[str, NodeState], b: dict[str, NodeState]) -> list[DiffEntry]:
    """Every path of either tree, compared, in path order ("same" entries included)."""
    out: list[DiffEntry] = []
    for path in sorted(a.keys() | b.keys()):
        old, new = a.get(path), b.get(path)
        if old is None:
            out.append(DiffEntry(path, "added", None, new))
        elif new is None:
            out.append(DiffEntry(path, "removed", old, None))
        else:
            fields = tuple(
                name
                for name, i in (("value", 0), ("type", 1), ("writable", 2))
                if old[i] != new[i] and not (i > 0 and (old[i] is None or new[i] is None))
            )
            out.append(DiffEntry(path, "changed" if fields else "same", old, new, fields))
    return out


def _state(state: NodeState, path: str) -> str:
    if path.endswith("."):
        return "(object)"
    value, xsd, writable = state
    shown = "null" if value is None else json.dumps(value, ensure_ascii=False)
    flags = [xsd or "?"]
    if writable is not None:
        flags.append("writable" if writable else "read-only")
    return f"{shown} [{', '.join(flags)}]"


def render_text(
    entries: list[DiffEntry], device_id: str, a: Point, b: Point, *, changed_only: bool = True
) -> str:
    """The diff as plain text a vendor can read (UTF-8, one line per path).

    Lines start with ``+`` (added at B), ``-`` (removed at B), ``~`` (changed) or a space
    (unchanged, only when ``changed_only`` is False).
    """
    counts = {k: sum(1 for e in entries if e.kind == k) for k in ("added", "removed", "changed")}
    lines = [
        "FieldACS parameter tree diff",
        f"Device: {device_id}",
        f"A: {a.label}",
        f"B: {b.label}",
        f"Changes: {counts['changed']} changed, {counts['added']} added, "
        f"{counts['removed']} removed",
    ]
    for point, name in ((a, "A"), (b, "B")):
        if not point.tree.complete:
            lines.append(f"Note: {name} is rebuilt from incomplete history (retention removed older changes)")
    lines.append("")
    for e in entries:
        if e.kind == "same" and changed_only:
            continue
        if e.kind == "added" and e.new is not None:
            lines.append(f"+ {e.path} = {_state(e.new, e.path)}")
        elif e.kind == "removed" and e.old is not None:
            lines.append(f"- {e.path} = {_state(e.old, e.path)}")
        elif e.kind == "changed" and e.old is not None and e.new is not None:
            lines.append(
                f"~ {e.path}: {_state(e.old, e.path)} -> {_state(e.new, e.path)}"
                f"  ({', '.join(e.fields)})"
            )
        elif e.new is not None:
            lines.append(f"  {e.path} = {_state(e.new, e.path)}")
    return "\n".join(lines) + "\n"


def export_snapshot(snapshot: Snapshot) -> str:
    """A snapshot as a self-describing JSON document (a file to keep or send)."""
    return json.dumps(
        {
            "format": SNAPSHOT_FORMAT,
            "version": 1,
            "device": snapshot.device_id,
            "name": snapshot.name,
            "created": snapshot.created,
            "source": snapshot.source,
            "params": {p: list(s) for p, s in snapshot.nodes.items()},
        },
        ensure_ascii=False,
        indent=1,
    )


def import_snapshot(text: str | bytes, *, device_id: str | None = None, name: str | None = None) -> Snapshot:
    """A snapshot from :func:`export_snapshot`'s JSON.

    Args:
        text: the file's content.
        device_id: the device to attach it to (default: the one it was taken from).
        name: its name here (default: its own).

    Raises:
        ValueError: not a FieldACS snapshot file, or a malformed one.
    """
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a snapshot file (not JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
        raise ValueError("not a FieldACS snapshot file (no \"format\": \"fieldacs-snapshot\")")
    if doc.get("version") != 1:
        raise ValueError(f"snapshot file version {doc.get('version')!r} is not supported")
    nodes = decode_nodes(json.dumps(doc.get("params", {})))
    device = device_id or doc.get("device")
    label = name or doc.get("name")
    if not isinstance(device, str) or not device or not isinstance(label, str) or not label:
        raise ValueError("the snapshot file names no device or no snapshot name")
    created = doc.get("created")
    return Snapshot(
        device, label, int(created) if isinstance(created, int) else 0,
        str(doc.get("source", "imported")), nodes,
    )
