"""The UPSERT builder: whole-row updates, the key and kept columns left alone."""

from __future__ import annotations

import sqlite3

from acs_engine.store import queries, rows
from acs_engine.store.upsert import upsert


def test_statement_shape() -> None:
    sql = upsert("t", "a, b, c, d", "a, b", keep=("d",))
    assert " ".join(sql.split()) == (
        "INSERT INTO t (a, b, c, d) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (a, b) DO UPDATE SET c = excluded.c"
    )


def test_conflict_updates_all_but_the_key_and_kept_columns() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT, born INTEGER)")
    sql = upsert("t", "k, v, born", "k", keep=("born",))
    db.execute(sql, ("x", "1", 10))
    db.execute(sql, ("x", "2", 20))
    assert db.execute("SELECT k, v, born FROM t").fetchall() == [("x", "2", 10)]


def test_a_device_keeps_its_registration_time() -> None:
    assert "registered = excluded" not in queries.UPSERT_DEVICE
    assert "last_inform = excluded.last_inform" in queries.UPSERT_DEVICE
    for sql in (rows.UPSERT_FAULT, rows.UPSERT_FILE, rows.UPSERT_PRESET, rows.UPSERT_OPERATION,
                rows.UPSERT_VERDICTS, queries.UPSERT_SESSION):
        assert "ON CONFLICT" in sql and "REPLACE" not in sql
