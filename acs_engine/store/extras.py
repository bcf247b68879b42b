"""The parts of a ``SessionCommit`` beyond the device tree: faults, tasks, operations, tags,
preset verdicts.

``Store._apply`` collects them for a batch of commits with ``ExtrasRows.collect`` (outside
the database thread, so a value that cannot be encoded fails before anything is written),
then, inside its transaction, calls ``resolve_tags`` before upserting the device rows and
``write`` after them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import rows as r
from .model import SessionCommit
from .queries import decode_tags

__all__ = ["ExtrasRows"]


@dataclass(slots=True)
class ExtrasRows:
    """Statement parameters for the :class:`~.model.CommitExtras` of a batch of session commits."""

    faults_put: list[tuple[Any, ...]] = field(default_factory=list)
    faults_deleted: list[tuple[str]] = field(default_factory=list)
    tasks_deleted: list[tuple[str]] = field(default_factory=list)
    operations_put: list[tuple[Any, ...]] = field(default_factory=list)
    operations_deleted: list[tuple[str, str]] = field(default_factory=list)
    verdicts_put: list[tuple[Any, ...]] = field(default_factory=list)
    #: device id -> (tags of a device not stored yet, tags to add, tags to remove)
    tag_deltas: dict[str, tuple[set[str], set[str], set[str]]] = field(default_factory=dict)

    @classmethod
    def collect(cls, commits: Sequence[SessionCommit]) -> ExtrasRows:
        """Encode the extras of ``commits`` (one commit per device)."""
        extras = cls()
        for commit in commits:
            wanted = commit.extras
            extras.faults_put.extend(r.fault_row(f) for f in wanted.faults_put)
            extras.faults_deleted.extend((fid,) for fid in wanted.faults_deleted)
            extras.tasks_deleted.extend((str(tid),) for tid in wanted.tasks_deleted)
            extras.operations_put.extend(r.operation_row(op) for op in wanted.operations_put)
            extras.operations_deleted.extend(
                (str(dev), str(key)) for dev, key in wanted.operations_deleted
            )
            if wanted.preset_verdicts is not None and commit.session is not None:
                extras.verdicts_put.append(r.verdicts_row(
                    commit.device.id, commit.session.id, commit.session.started_ms,
                    wanted.preset_verdicts,
                ))
            if commit.tags_delta or commit.tags_add or commit.tags_remove:
                extras.tag_deltas[commit.device.id] = (
                    set(commit.device.tags),
                    {tag for tag in commit.tags_add if tag},
                    set(commit.tags_remove),
                )
        return extras

    def resolve_tags(self, db: sqlite3.Connection) -> dict[str, set[str]]:
        """The tags each device with a tag delta ends up with (read inside the transaction).

        Returns:
            device id -> final tags, for the devices whose commit had a delta.
        """
        if not self.tag_deltas:
            return {}
        ids = json.dumps(list(self.tag_deltas), ensure_ascii=False)
        stored = {
            row[0]: decode_tags(row[1])
            for row in db.execute(
                "SELECT id, tags FROM devices WHERE id IN (SELECT value FROM json_each(?))",
                (ids,),
            )
        }
        return {
            device_id: (stored.get(device_id, initial) | add) - remove
            for device_id, (initial, add, remove) in self.tag_deltas.items()
        }

    def write(self, db: sqlite3.Connection) -> None:
        """Run the statements (inside the caller's transaction, after the device upserts)."""
        if self.faults_deleted:
            db.executemany(r.DELETE_FAULT, self.faults_deleted)
        if self.faults_put:
            db.executemany(r.UPSERT_FAULT, self.faults_put)
        if self.tasks_deleted:
            db.executemany(r.DELETE_TASK, self.tasks_deleted)
        if self.operations_deleted:
            db.executemany(r.DELETE_OPERATION, self.operations_deleted)
        if self.operations_put:
            db.executemany(r.UPSERT_OPERATION, self.operations_put)
        if self.verdicts_put:
            db.executemany(r.UPSERT_VERDICTS, self.verdicts_put)
