"""Fixtures for the store tests: a real SQLite file per test, always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acs_engine.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "fieldacs.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_path, trace_sessions_per_device=3)
    try:
        yield s
    finally:
        await s.close()
