"""The store's one way of writing an ``INSERT ... ON CONFLICT DO UPDATE`` statement.

ON CONFLICT DO UPDATE, never INSERT OR REPLACE: REPLACE deletes the old row (firing delete
triggers and foreign-key actions) and would count a parameter twice in the insert trigger.
"""

from __future__ import annotations

__all__ = ["upsert"]


def upsert(table: str, columns: str, key: str, *, keep: tuple[str, ...] = ()) -> str:
    """The UPSERT of a whole row of ``table``.

    Args:
        table: the table.
        columns: its columns in parameter order, comma-separated (the row mapper's order).
        key: the conflict target, comma-separated (e.g. ``"device_id, command_key"``).
        keep: columns an existing row keeps (e.g. a device's ``registered``).

    Returns:
        The statement: every column but the key's and ``keep`` is updated on conflict.
    """
    names = [c.strip() for c in columns.split(",")]
    fixed = {c.strip() for c in key.split(",")} | set(keep)
    marks = ", ".join("?" * len(names))
    updates = ",\n".join(f"    {c} = excluded.{c}" for c in names if c not in fixed)
    return (
        f"\nINSERT INTO {table} ({columns}) VALUES ({marks})\n"
        f"ON CONFLICT ({key}) DO UPDATE SET\n{updates}\n"
    )
