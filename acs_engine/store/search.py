"""The device search: pages of the device list filtered by a condition and sorted by a column.

A condition is an SQL fragment over ``devices AS d`` with ``?`` placeholders, as
:func:`acs_engine.expression.compile_sql` makes it (or :func:`text_condition` for a plain
substring search). Column names for sorting come from a fixed list, never from the caller's
text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..regex import RegexError, compile_pattern
from . import queries as q
from .queries import DeviceSummary

if TYPE_CHECKING:
    from .db import Store

__all__ = [
    "SORT_COLUMNS",
    "TEXT_COLUMNS",
    "count_devices_where",
    "device_ids_where",
    "devices_by_id",
    "regexp_match",
    "search_devices",
    "text_condition",
]

#: Columns a device page can be sorted by (``d.id`` breaks ties).
SORT_COLUMNS = frozenset(
    {"id", "product_class", "software_version", "remote_address", "last_inform", "tags",
     "serial_number", "registered", "param_count"}
)

#: Columns a plain-word search looks in (what the device list shows).
TEXT_COLUMNS = (
    "id", "product_class", "serial_number", "software_version", "remote_address", "tags"
)

_COLUMNS = ", ".join(f"d.{c.strip()}" for c in q.SUMMARY_COLUMNS.split(","))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_condition(text: str) -> tuple[str, list[Any]]:
    """A condition matching devices whose id, product class, serial number, software
    version, remote address or tags contain ``text`` (case-insensitive for ASCII): the
    columns the device list shows.

    Returns:
        ``(fragment, args)`` for :func:`search_devices`; an empty text matches everything.
    """
    text = text.strip()
    if not text:
        return "1", []
    pattern = f"%{_escape_like(text)}%"
    fragment = "(" + " OR ".join(f"d.{column} LIKE ? ESCAPE '\\'" for column in TEXT_COLUMNS) + ")"
    return fragment, [pattern] * len(TEXT_COLUMNS)


def _order(order_by: str, descending: bool) -> str:
    if order_by not in SORT_COLUMNS:
        raise ValueError(f"cannot sort devices by {order_by!r}")
    direction = "DESC" if descending else "ASC"
    if order_by == "id":
        return f"d.id {direction}"
    nulls = "NULLS FIRST" if descending else "NULLS LAST"
    if order_by == "last_inform":  # never-informed devices after the others either way
        nulls = "NULLS LAST"
    return f"d.{order_by} {direction} {nulls}, d.id {direction}"


async def search_devices(
    store: Store,
    where_sql: str = "1",
    params: Sequence[Any] = (),
    *,
    limit: int = 100,
    offset: int = 0,
    order_by: str = "id",
    descending: bool = False,
) -> list[DeviceSummary]:
    """One page of the devices matching a condition.

    Args:
        store: the open store.
        where_sql: a condition over ``devices AS d`` (``compile_sql``'s fragment).
        params: the values of its ``?`` placeholders.
        limit: page size.
        offset: rows to skip.
        order_by: one of :data:`SORT_COLUMNS`.
        descending: sort direction.

    Returns:
        The page, in order.

    Raises:
        ValueError: ``order_by`` is not a sortable column.
        StoreError: the query failed.
    """
    sql = (
        f"SELECT {_COLUMNS} FROM devices AS d WHERE {where_sql} "
        f"ORDER BY {_order(order_by, descending)} LIMIT ? OFFSET ?"
    )
    rows = await store._fetch(sql, [*params, int(limit), int(offset)])
    return [q.summary_from_row(row) for row in rows]


async def count_devices_where(
    store: Store, where_sql: str = "1", params: Sequence[Any] = ()
) -> int:
    """How many devices match a condition (see :func:`search_devices`)."""
    rows = await store._fetch(f"SELECT count(*) FROM devices AS d WHERE {where_sql}", params)
    return int(rows[0][0])


async def devices_by_id(
    store: Store, ids: Iterable[str], where_sql: str = "1", params: Sequence[Any] = ()
) -> dict[str, DeviceSummary]:
    """The named devices that exist and match a condition, by id (one query)."""
    wanted = json.dumps(list(dict.fromkeys(ids)), ensure_ascii=False)
    sql = (
        f"SELECT {_COLUMNS} FROM devices AS d "
        f"WHERE d.id IN (SELECT value FROM json_each(?)) AND ({where_sql})"
    )
    rows = await store._fetch(sql, [wanted, *params])
    return {summary.id: summary for summary in (q.summary_from_row(row) for row in rows)}


def regexp_match(pattern: Any, flags: Any, value: Any) -> int | None:
    """The SQL function ``nbi_regexp(pattern, flags, value)``: 1 when RE2 (linear-time,
    :mod:`acs_engine.regex`) finds ``pattern`` in ``value`` (flags ``i m s``), 0 when not or
    when the pattern does not compile, NULL for a NULL value.

    Registered on every store connection; the NBI's ``$regex`` compiles to it.
    """
    if value is None or pattern is None:
        return None
    try:
        regex = compile_pattern(str(pattern), str(flags or ""))
    except RegexError:
        return 0
    return 1 if regex.contains(str(value)) else 0


async def device_ids_where(
    store: Store,
    where_sql: str = "1",
    params: Sequence[Any] = (),
    *,
    order_sql: str = "d.id ASC",
    order_params: Sequence[Any] = (),
    skip: int = 0,
    limit: int | None = None,
) -> tuple[list[str], int]:
    """Ids of one page of the devices matching a condition, and how many match in all.

    Both come from one read transaction, so the page and its total agree.

    Args:
        store: the open store.
        where_sql: a condition over ``devices AS d`` with ``?`` placeholders (as made by
            ``acs_engine.server.nbi_query.mongo_to_sql``; it may call ``nbi_regexp``).
        params: the values of its placeholders.
        order_sql: an ``ORDER BY`` list over ``d`` made by code (never by a client), with
            ``?`` placeholders for paths.
        order_params: the values of those placeholders.
        skip: rows to skip.
        limit: most ids to return; None for all.

    Returns:
        ``(ids, total)``.

    Raises:
        ValueError: negative skip or limit.
        StoreError: the query failed.
    """
    if skip < 0 or (limit is not None and limit < 0):
        raise ValueError("skip and limit must not be negative")
    select = (
        f"SELECT d.id FROM devices AS d WHERE {where_sql} ORDER BY {order_sql} "
        "LIMIT ? OFFSET ?"
    )
    count = f"SELECT count(*) FROM devices AS d WHERE {where_sql}"
    page_args = [*params, *order_params, -1 if limit is None else int(limit), int(skip)]
    count_args = list(params)

    def read(db: sqlite3.Connection) -> tuple[list[str], int]:
        db.execute("BEGIN")  # one snapshot for the page and its total
        try:
            ids = [str(row[0]) for row in db.execute(select, page_args).fetchall()]
            total = int(db.execute(count, count_args).fetchone()[0])
        finally:
            if db.in_transaction:
                db.execute("COMMIT")
        return ids, total

    return await store._read(read)
