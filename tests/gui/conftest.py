"""GUI tests: async tests here run on a qasync loop over the one QApplication.

The ``pytest_asyncio_loop_factories`` hook is defined here (not in tests/conftest.py) so the
engine tests elsewhere keep a plain asyncio loop. Qt runs offscreen (tests/conftest.py) and
QSettings write into each test's tmp_path, never into the user's configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app import APP_NAME, ORGANISATION


def _the_application() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APP_NAME)
    return app


def _qasync_loop() -> qasync.QEventLoop:
    return qasync.QEventLoop(_the_application())


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], Any]]:
    """Every async test under tests/gui runs on a qasync loop (never an empty mapping)."""
    return {"qasync": _qasync_loop}


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path) -> Iterator[Path]:
    """Point every QSettings (native and INI, user scope) at a folder in tmp_path."""
    folder = tmp_path / "settings"
    folder.mkdir()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """A QSettings file of its own for one window."""
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
