"""Parameter history: what each session changed, its retention, trees at a past time, snapshots.

The rows are written by triggers during a session's commit (see ``history_schema``); this
module fills their context in that transaction and reads them back. Retention is applied by
:meth:`HistoryMixin.prune_history` in small bounded transactions, so a session commit waits
at most one chunk (a few milliseconds) behind it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from acs_engine import clock

from .base import StoreBase, immediate
from .errors import StoreError
from .history_schema import KIND_ADDED, KIND_CHANGED, KIND_REMOVED
from .model import SessionCommit

__all__ = [
    "HistoryMixin",
    "HistoryRetention",
    "HistoryRow",
    "NodeState",
    "PastTree",
    "Snapshot",
    "history_context",
]

#: One node's state as the history and the tree diff see it: (value, type, writable).
NodeState = tuple[str | None, str | None, bool | None]

DAY_MS = 86_400_000
#: Retention trims to this share of a limit once the limit is passed: fewer, larger passes,
#: which empty whole index pages instead of touching every device's pages for a few rows.
LOW_WATER = 0.9


@dataclass(frozen=True, slots=True)
class HistoryRetention:
    """How much parameter history is kept; 0 switches a limit off.

    Attributes:
        max_age_days: rows older than this are removed.
        rows_per_device: when a device has more rows than this, its oldest are removed
            down to ``LOW_WATER`` (90 %) of it.
        max_bytes: when the history's estimated size passes this, the oldest rows of the
            whole fleet are removed, down to ``LOW_WATER`` of it.
    """

    max_age_days: float = 90
    rows_per_device: int = 2000
    max_bytes: int = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One change of one parameter (or object) of one device, as a session committed it."""

    id: int
    device_id: str
    at: int
    session_id: str | None
    path: str
    kind: int  # history_schema.KIND_*
    old: NodeState
    new: NodeState

    @property
    def kind_name(self) -> str:
        return {KIND_CHANGED: "changed", KIND_ADDED: "added", KIND_REMOVED: "removed"}[self.kind]

    def to_json(self) -> dict[str, Any]:
        """The row as the NBI and the CLI give it."""
        return {
            "at": self.at,
            "session": self.session_id,
            "path": self.path,
            "kind": self.kind_name,
            "old": {"value": self.old[0], "type": self.old[1], "writable": self.old[2]},
            "new": {"value": self.new[0], "type": self.new[1], "writable": self.new[2]},
        }


@dataclass(frozen=True, slots=True)
class PastTree:
    """A device's tree at some time, rebuilt from the stored tree and the history.

    Attributes:
        nodes: path -> state.
        complete: False when retention removed history this rebuild needed (it is then the
            tree as far back as the kept history reaches).
        at: the time asked for (ms), or None for the stored tree now.
    """

    nodes: dict[str, NodeState]
    complete: bool
    at: int | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A named copy of a device's tree, kept until deleted."""

    device_id: str
    name: str
    created: int
    source: str
    nodes: dict[str, NodeState]


_COLUMNS = (
    "id, device_id, at, session_id, path, kind, old_value, old_type, old_writable, "
    "new_value, new_type, new_writable"
)


def _writable(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _row(row: Sequence[Any]) -> HistoryRow:
    return HistoryRow(
        int(row[0]), row[1], int(row[2]), row[3], row[4], int(row[5]),
        (row[6], row[7], _writable(row[8])), (row[9], row[10], _writable(row[11])),
    )


class _Context:
    """The ``history_ctx`` rows of one commit batch: written first, removed before COMMIT."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[tuple[str, str | None, int]]) -> None:
        self._rows = rows

    def open(self, db: sqlite3.Connection) -> None:
        """Fill ``history_ctx``; call before the device rows are upserted (a device not
        stored yet is marked ``initial``)."""
        if not self._rows:
            return
        db.execute(
            "INSERT INTO history_ctx (device_id, session_id, at, initial) "
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
            "json_extract(value, '$[2]'), "
            "NOT EXISTS (SELECT 1 FROM devices WHERE id = json_extract(value, '$[0]')) "
            "FROM json_each(?)",
            (json.dumps(self._rows, ensure_ascii=False),),
        )

    def close(self, db: sqlite3.Connection) -> None:
        if self._rows:
            db.execute("DELETE FROM history_ctx")


def history_context(commits: Iterable[SessionCommit]) -> _Context:
    """The history context of a commit batch: the devices whose parameters it writes."""
    now = clock.now_ms()
    rows: list[tuple[str, str | None, int]] = []
    for commit in commits:
        if not commit.upserts and not commit.deletes:
            continue
        session = commit.session
        at = now if session is None else (session.ended_ms or session.started_ms)
        rows.append((commit.device.id, None if session is None else session.id, at))
    return _Context(rows)


def encode_nodes(nodes: dict[str, NodeState]) -> str:
    """A tree as the compact JSON snapshots keep: {path: [value, type, writable]}."""
    return json.dumps({p: list(s) for p, s in nodes.items()}, ensure_ascii=False)


def decode_nodes(text: str | bytes) -> dict[str, NodeState]:
    """The inverse of :func:`encode_nodes`; raises ValueError on anything else."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a snapshot's parameters must be a JSON object")
    out: dict[str, NodeState] = {}
    for path, state in data.items():
        if not isinstance(state, list) or len(state) != 3:
            raise ValueError(f"{path}: expected [value, type, writable]")
        value, xsd, writable = state
        if value is not None and not isinstance(value, str):
            value = json.dumps(value) if not isinstance(value, (int, float)) else str(value)
        if xsd is not None and not isinstance(xsd, str):
            raise ValueError(f"{path}: the type must be a string or null")
        out[str(path)] = (value, xsd, None if writable is None else bool(writable))
    return out


class HistoryMixin(StoreBase):
    """The history part of ``Store``."""

    #: A size trim in progress: (cutoff time, last device trimmed), between chunks.
    _history_trim: tuple[int, str] | None = None

    # ------------------------------------------------------------------ reading
    async def param_history(
        self,
        device_id: str,
        paths: Sequence[str],
        since: int | None = None,
        until: int | None = None,
        limit: int = 100_000,
    ) -> list[HistoryRow]:
        """Changes of the given parameters of one device, oldest first.

        Args:
            device_id: the device.
            paths: exact parameter (or object) paths.
            since: only changes at or after this time (ms).
            until: only changes at or before this time (ms).
            limit: most rows returned (the oldest ones).
        """
        sql = (
            f"SELECT {_COLUMNS} FROM history WHERE device_id = ? AND path = ? "
            "AND at >= ? AND at <= ? ORDER BY at, id LIMIT ?"
        )
        lo, hi = since if since is not None else -(2**62), until if until is not None else 2**62

        def read(db: sqlite3.Connection) -> list[HistoryRow]:
            out: list[HistoryRow] = []
            for path in dict.fromkeys(paths):
                out.extend(_row(r) for r in db.execute(sql, (device_id, path, lo, hi, limit)))
            out.sort(key=lambda r: (r.at, r.id))
            return out[:limit]

        return await self._run(read)

    async def device_history(
        self,
        device_id: str,
        since: int | None = None,
        until: int | None = None,
        limit: int = 10_000,
    ) -> list[HistoryRow]:
        """Every change of one device in a time range, newest first."""
        lo, hi = since if since is not None else -(2**62), until if until is not None else 2**62
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM history WHERE device_id = ? AND at >= ? AND at <= ? "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (device_id, lo, hi, limit),
        )
        return [_row(r) for r in rows]

    async def history_paths(self, device_id: str) -> list[str]:
        """The paths of a device that have at least one recorded change, sorted."""
        rows = await self._fetch(
            "SELECT DISTINCT path FROM history WHERE device_id = ? ORDER BY path", (device_id,)
        )
        return [str(r[0]) for r in rows]

    async def session_time(self, device_id: str, session_id: str) -> int | None:
        """When a session's changes were committed, from the history (its session record may
        have been pruned sooner); None when none of its changes are kept."""
        rows = await self._fetch(
            "SELECT max(at) FROM history WHERE device_id = ? AND session_id = ?",
            (device_id, session_id),
        )
        return None if rows[0][0] is None else int(rows[0][0])

    async def history_stats(self) -> tuple[int, int]:
        """(rows, estimated bytes) of the whole history."""
        rows = await self._fetch("SELECT total(rows), total(bytes) FROM history_devices")
        return int(rows[0][0]), int(rows[0][1])

    async def tree_at(self, device_id: str, at: int | None) -> PastTree:
        """A device's tree as it was at ``at`` (ms), or as stored now when None.

        The stored tree with every change committed after ``at`` undone, newest first.
        """

        def read(db: sqlite3.Connection) -> PastTree:
            nodes: dict[str, NodeState] = {
                r[0]: (r[1], r[2], _writable(r[3]))
                for r in db.execute(
                    "SELECT path, value, type, writable FROM params WHERE device_id = ?",
                    (device_id,),
                )
            }
            if at is None:
                return PastTree(nodes, True, None)
            registered = db.execute(
                "SELECT registered FROM devices WHERE id = ?", (device_id,)
            ).fetchone()
            if registered is not None and at < int(registered[0]):
                return PastTree({}, True, at)  # the device was not known yet
            undo = db.execute(
                f"SELECT {_COLUMNS} FROM history WHERE device_id = ? AND at > ? "
                "ORDER BY at DESC, id DESC",
                (device_id, at),
            )
            for raw in undo:
                row = _row(raw)
                if row.kind == KIND_ADDED:
                    nodes.pop(row.path, None)
                else:
                    nodes[row.path] = row.old
            pruned = db.execute(
                "SELECT pruned_before FROM history_devices WHERE device_id = ?", (device_id,)
            ).fetchone()
            complete = pruned is None or int(pruned[0]) <= at
            return PastTree(dict(sorted(nodes.items())), complete, at)

        return await self._run(read)

    # ------------------------------------------------------------------ snapshots
    async def save_snapshot(self, snapshot: Snapshot, *, replace: bool = False) -> None:
        """Keep a named snapshot of a device's tree.

        Raises:
            StoreError: the name is empty, or taken and ``replace`` is False.
        """
        if not snapshot.name.strip():
            raise StoreError("a snapshot needs a name")
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            await self._fetch(
                f"{verb} INTO snapshots (device_id, name, created, source, params) "
                "VALUES (?, ?, ?, ?, ?)",
                (snapshot.device_id, snapshot.name, snapshot.created, snapshot.source,
                 encode_nodes(snapshot.nodes)),
            )
        except StoreError as exc:
            if "UNIQUE" in str(exc):
                raise StoreError(
                    f"device {snapshot.device_id} already has a snapshot named {snapshot.name!r}"
                ) from exc
            raise

    async def list_snapshots(self, device_id: str) -> list[tuple[str, int, str]]:
        """(name, created, source) of a device's snapshots, newest first."""
        rows = await self._fetch(
            "SELECT name, created, source FROM snapshots WHERE device_id = ? "
            "ORDER BY created DESC, name",
            (device_id,),
        )
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    async def load_snapshot(self, device_id: str, name: str) -> Snapshot | None:
        """A device's snapshot by name, or None."""
        rows = await self._fetch(
            "SELECT created, source, params FROM snapshots WHERE device_id = ? AND name = ?",
            (device_id, name),
        )
        if not rows:
            return None
        created, source, params = rows[0]
        return Snapshot(device_id, name, int(created), str(source), decode_nodes(params))

    async def delete_snapshot(self, device_id: str, name: str) -> bool:
        """Forget a snapshot; True if it existed."""
        rows = await self._fetch(
            "DELETE FROM snapshots WHERE device_id = ? AND name = ? RETURNING id",
            (device_id, name),
        )
        return bool(rows)

    # ------------------------------------------------------------------ retention
    async def prune_history(
        self, retention: HistoryRetention, *, now: int | None = None, budget: int = 2000
    ) -> int:
        """Remove at most ``budget`` history rows that ``retention`` no longer keeps.

        One short transaction: by age first, then devices over their row count, then the
        oldest rows of the fleet while the estimated size is over the cap. Call again while
        it returns ``budget`` (there is more to remove).

        Returns:
            How many rows were removed.
        """
        now_ms = clock.now_ms() if now is None else now

        def prune(db: sqlite3.Connection) -> int:
            done = 0
            with immediate(db):
                if retention.max_age_days > 0:
                    cutoff = now_ms - int(retention.max_age_days * DAY_MS)
                    done += db.execute(
                        "DELETE FROM history WHERE id IN "
                        "(SELECT id FROM history ORDER BY id LIMIT ?) AND at < ?",
                        (budget, cutoff),
                    ).rowcount
                cap = retention.rows_per_device
                if cap > 0 and done < budget:
                    over = db.execute(
                        "SELECT device_id, rows FROM history_devices WHERE rows > ? LIMIT 64",
                        (cap,),
                    ).fetchall()
                    for device_id, rows in over:
                        n = min(int(rows) - int(cap * LOW_WATER), budget - done)
                        if n <= 0:
                            break
                        done += db.execute(
                            "DELETE FROM history WHERE id IN (SELECT id FROM history "
                            "WHERE device_id = ? ORDER BY at, id LIMIT ?)",
                            (device_id, n),
                        ).rowcount
                if retention.max_bytes > 0 and done < budget:
                    done += self._trim_to_size(db, retention.max_bytes, budget - done)
            return done

        return await self._run(prune)

    def _trim_to_size(self, db: sqlite3.Connection, max_bytes: int, budget: int) -> int:
        """Remove up to ``budget`` of the fleet's oldest rows while the size is over the cap
        (then down to ``LOW_WATER`` of it). Runs inside the caller's transaction.

        The oldest rows are those up to a cutoff time, found once per trim (the time of the
        row that many ids after the first: ids follow commit order); they are removed
        device by device (a range of each device's ``(device_id, at)`` keys), continuing
        from the last device of the previous chunk.
        """
        done = 0
        for _ in range(2):  # the current cutoff's last devices, then a new cutoff
            count, size = db.execute(
                "SELECT total(rows), total(bytes) FROM history_devices"
            ).fetchone()
            state = self._history_trim  # a trim in progress runs to the end of its cutoff
            if count <= 0 or (state is None and size <= max_bytes):
                self._history_trim = None
                return done
            if state is None:
                excess = int((size - max_bytes * LOW_WATER) / (size / count)) + 1
                # ids are handed out in commit order and retention removes mostly the
                # oldest: the row ``excess`` ids after the first is about ``excess`` rows in
                # (fewer with gaps: then the next pass trims again). One seek, no scan.
                row = db.execute(
                    "SELECT at FROM history WHERE id >= (SELECT min(id) FROM history) + ? "
                    "ORDER BY id LIMIT 1",
                    (excess,),
                ).fetchone() or db.execute("SELECT max(at) FROM history").fetchone()
                state = (int(row[0]) if row else 2**62, "")
            cutoff, cursor = state
            devices = db.execute(
                "SELECT device_id FROM history_devices WHERE device_id > ? ORDER BY device_id",
                (cursor,),
            ).fetchall()
            for (device_id,) in devices:
                done += db.execute(
                    "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE device_id = ? "
                    "AND at <= ? ORDER BY at LIMIT ?)",
                    (device_id, cutoff, budget - done),
                ).rowcount
                cursor = device_id
                if done >= budget:
                    self._history_trim = (cutoff, cursor)
                    return done
            self._history_trim = None  # every device is trimmed to this cutoff
        return done
