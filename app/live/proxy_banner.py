"""The proxy-mode banner of the live session panel: says that FieldACS only watches.

Shown while the engine forwards CPE requests to another ACS
(:class:`~acs_engine.server.proxy.ProxyServer`); hidden otherwise. :meth:`ProxyBanner.refresh`
reads the engine again (the panel calls it on every engine notice, so a settings change that
switches proxy mode on or off shows at once).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from acs_engine.console_api import ConsoleEngine, console_engine


class ProxyBanner(QLabel):
    """One line over the live panel in proxy mode."""

    def __init__(self, engine: ConsoleEngine, parent: QWidget | None = None) -> None:
        """Hidden until :meth:`refresh` finds the engine in proxy mode."""
        super().__init__(parent)
        self.setObjectName("proxyBanner")
        self._engine = console_engine(engine)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet("QLabel#proxyBanner { background: #fef3c7; color: #78350f; "
                           "border: 1px solid #f59e0b; border-radius: 4px; padding: 4px 8px; }")
        self.refresh()

    @property
    def upstream(self) -> str:
        """The upstream ACS URL shown ("" when not in proxy mode)."""
        return self._engine.proxy_upstream()

    def refresh(self, *_args: object) -> None:
        """Show or hide the banner as the engine is now."""
        upstream = self.upstream
        self.setVisible(bool(upstream))
        if upstream:
            self.setText(
                f"<b>Proxy mode</b> — every CPE request goes unchanged to <b>{upstream}</b>; "
                "FieldACS only watches. Sessions are shown and linted here, not stored: "
                "save one with the File button beside the Lint tab.")
            self.setToolTip("Settings ▸ Proxy mode: clear the upstream ACS URL to be the ACS "
                            "again")
