"""The NBI's other query-string parameters: ``sort`` (for devices an SQL ``ORDER BY``, for
the other collections column names), a JSON ``query`` decoded, ``projection`` split.

The columns come from :mod:`acs_engine.server.nbi_query`; as there, nothing a client sends
reaches the SQL text (a parameter path travels as a ``?`` parameter).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from acs_engine.server.nbi_query import (
    COLLECTION_FIELDS,
    DEVICE_COLUMNS,
    PARAM_SORT_VALUE,
    QueryError,
    split_param_key,
)

__all__ = ["collection_sort", "device_sort_sql", "parse_json_param", "parse_projection"]


def _sort_items(sort: Any) -> list[tuple[str, int]]:
    if sort is None:
        return []
    if not isinstance(sort, Mapping):
        raise QueryError("sort must be a JSON object such as {\"_lastInform\": -1}")
    items: list[tuple[str, int]] = []
    for key, direction in sort.items():
        if isinstance(direction, bool) or direction not in (1, -1):
            raise QueryError(f"sort direction of {key!r} must be 1 or -1")
        items.append((str(key), int(direction)))
    return items


def device_sort_sql(sort: Any) -> tuple[str, list[Any]]:
    """An ``ORDER BY`` list for devices (``d.id`` breaks ties); a parameter sorts on its value.

    Returns:
        ``(order_sql, params)``.

    Raises:
        QueryError: not an object of field -> 1/-1, or a field that cannot be sorted.
    """
    order: list[str] = []
    params: list[Any] = []
    for key, direction in _sort_items(sort):
        way = "ASC" if direction == 1 else "DESC"
        if key in DEVICE_COLUMNS:
            order.append(f"{DEVICE_COLUMNS[key][0]} {way}")
        elif key == "_tags":
            order.append(f"d.tags {way}")
        elif key.startswith("_"):
            raise QueryError(f"cannot sort devices by {key!r}")
        else:
            path, attr = split_param_key(key)
            if attr != "_value":
                raise QueryError(f"cannot sort devices by {key!r}")
            order.append(
                f"(SELECT {PARAM_SORT_VALUE} FROM params AS p "
                f"WHERE p.device_id = d.id AND p.path = ?) {way}"
            )
            params.append(path)
    if "_id" not in {k for k, _ in _sort_items(sort)}:
        order.append("d.id ASC")
    return ", ".join(order), params


def collection_sort(name: str, sort: Any) -> list[tuple[str, int]]:
    """``(column, direction)`` pairs for ``Store.query_collection``.

    Raises:
        QueryError: a field that has no sortable column.
    """
    fields = COLLECTION_FIELDS.get(name, {})
    out: list[tuple[str, int]] = []
    for key, direction in _sort_items(sort):
        entry = fields.get(key)
        if entry is None or key == "_extra" or entry[1] == "json":
            raise QueryError(f"cannot sort {name} by {key!r}")
        out.append((entry[0], direction))
    return out


def parse_json_param(text: str | None, what: str) -> Any:
    """Decode a JSON query-string parameter (None or blank: None).

    Raises:
        QueryError: the text is not JSON.
    """
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise QueryError(f"{what} is not valid JSON: {exc}") from exc


def parse_projection(text: str | None) -> list[str] | None:
    """``a,b,c`` -> ``["a", "b", "c"]``; None (everything) when absent or blank."""
    if text is None or not text.strip():
        return None
    fields = [part.strip() for part in text.split(",") if part.strip()]
    return fields or None
