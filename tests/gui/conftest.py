"""GUI tests: async tests here run on a qasync loop over the one QApplication.

The ``pytest_asyncio_loop_factories`` hook is defined here (not in tests/conftest.py) so the
engine tests elsewhere keep a plain asyncio loop. Qt runs offscreen (tests/conftest.py) and
QSettings write into each test's tmp_path, never into the user's configuration. Garbage is
collected on the GUI thread only (as in the console), and after each test.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app import APP_NAME, ORGANISATION
from app.collector import GuiThreadCollector, collect_on_gui_thread


def _the_application() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APP_NAME)
    # As in the console (app/bootstrap.py): closing the last window never stops the loop.
    app.setQuitOnLastWindowClosed(False)
    return app


def _qasync_loop() -> qasync.QEventLoop:
    return qasync.QEventLoop(_the_application())


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], Any]]:
    """Every async test under tests/gui runs on a qasync loop (never an empty mapping)."""
    return {"qasync": _qasync_loop}


@pytest.fixture(scope="package", autouse=True)
def gui_thread_collector() -> Iterator[GuiThreadCollector]:
    """Garbage is collected on the GUI thread only, as in the console (app/collector.py).

    Each async test closes its own qasync loop, whose Qt timer object may still hold
    registered timers; collected on an aiosqlite or executor thread, it would leave them
    pointing at freed memory and crash a later test inside Qt.
    """
    collector = GuiThreadCollector(_the_application())
    collector.start()
    yield collector
    collector.stop()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """After every fixture of a test is gone (its loop closed, its widgets closed), delete
    what was left to ``deleteLater()`` and collect, here on the GUI thread."""
    result = yield
    collect_on_gui_thread()
    return result


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
