"""``Store.query_collection``: filtered, sorted, paged reads of the non-device tables, for the
NBI's ``GET /<collection>/?query=...`` (the device search has its own SQL compiler).

The caller (the NBI) translates a query into a WHERE fragment over the table's columns with
``?`` placeholders; the collection and the sort columns are checked against the lists here,
so only the fragment is free text, and it comes from code, never from a request verbatim.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from .base import StoreBase

__all__ = ["COLLECTIONS", "QueryMixin"]

#: Collection -> (its columns, the columns holding JSON, the columns holding booleans).
COLLECTIONS: dict[str, tuple[tuple[str, ...], frozenset[str], frozenset[str]]] = {
    "presets": (
        (
            "id",
            "weight",
            "channel",
            "events",
            "schedule",
            "precondition",
            "provisions",
            "configurations",
        ),
        frozenset({"events", "provisions", "configurations"}),
        frozenset(),
    ),
    "provisions": (("id", "script"), frozenset(), frozenset()),
    "virtual_parameters": (("id", "script"), frozenset(), frozenset()),
    "objects": (("id", "doc"), frozenset({"doc"}), frozenset()),
    "config": (("key", "value"), frozenset(), frozenset()),
    "tasks": (
        ("id", "device_id", "name", "args", "timestamp", "expiry"),
        frozenset({"args"}),
        frozenset(),
    ),
    "faults": (
        (
            "id",
            "device_id",
            "channel",
            "timestamp",
            "code",
            "message",
            "detail",
            "retries",
            "expiry",
            "provisions",
            "precondition",
        ),
        frozenset({"detail", "provisions"}),
        frozenset({"precondition"}),
    ),
    "operations": (
        ("device_id", "command_key", "name", "timestamp", "args"),
        frozenset({"args"}),
        frozenset(),
    ),
    "files": (
        ("name", "size", "md5", "file_type", "oui", "product_class", "version", "uploaded"),
        frozenset(),
        frozenset(),
    ),
}


class QueryMixin(StoreBase):
    """Generic reads of the provisioning and operations tables."""

    async def query_collection(
        self,
        name: str,
        *,
        where_sql: str = "",
        params: Sequence[Any] = (),
        sort: Sequence[tuple[str, int]] = (),
        skip: int = 0,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of a collection's rows and the number of rows matching in all.

        Args:
            name: one of ``COLLECTIONS`` (``"tasks"``, ``"faults"``, ``"presets"``, ...).
            where_sql: a condition over the table's columns with ``?`` placeholders, or ""
                for every row.
            params: the values of the placeholders.
            sort: ``(column, 1 | -1)`` pairs, ascending or descending; the table's key
                breaks ties so pages are stable.
            skip: rows to skip.
            limit: most rows to return; None for all.

        Returns:
            ``(rows, total)``: rows as dicts (column -> value, JSON columns decoded,
            booleans as bool), and the count of matching rows ignoring skip and limit.

        Raises:
            ValueError: unknown collection or sort column, bad direction, negative skip
                or limit.
            StoreError: the query failed (e.g. a malformed ``where_sql``).
        """
        if name not in COLLECTIONS:
            raise ValueError(f"unknown collection {name!r}")
        columns, json_cols, bool_cols = COLLECTIONS[name]
        order: list[str] = []
        for column, direction in sort:
            if column not in columns:
                raise ValueError(f"{name} has no column {column!r}")
            if direction not in (1, -1):
                raise ValueError(f"sort direction must be 1 or -1, not {direction!r}")
            order.append(f"{column} {'ASC' if direction == 1 else 'DESC'}")
        key = ("device_id", "command_key") if name == "operations" else (columns[0],)
        order.extend(k for k in key if k not in {c for c, _ in sort})
        if skip < 0 or (limit is not None and limit < 0):
            raise ValueError("skip and limit must not be negative")
        where = f" WHERE {where_sql}" if where_sql.strip() else ""
        select = (
            f"SELECT {', '.join(columns)} FROM {name}{where} ORDER BY {', '.join(order)} "
            "LIMIT ? OFFSET ?"
        )
        count = f"SELECT count(*) FROM {name}{where}"
        values = list(params)

        def read(db: sqlite3.Connection) -> tuple[list[Any], int]:
            db.execute("BEGIN")  # a read transaction: one snapshot for the page and its total
            try:
                rows = db.execute(select, [*values, -1 if limit is None else limit, skip])
                page = rows.fetchall()
                total = int(db.execute(count, values).fetchone()[0])
            finally:
                if db.in_transaction:
                    db.execute("COMMIT")
            return page, total

        page, total = await self._read(read)
        out: list[dict[str, Any]] = []
        for row in page:
            doc = dict(zip(columns, row, strict=True))
            for column in json_cols:
                if doc[column] is not None:
                    doc[column] = json.loads(doc[column])
            for column in bool_cols:
                doc[column] = bool(doc[column])
            out.append(doc)
        return out, total
