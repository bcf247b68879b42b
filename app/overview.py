"""The overview page: where to point a CPE (the ACS URLs) and the live counters."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QIcon, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from acs_engine.console_api import ConsoleEngine
from app.icons import icon_svg, render_svg

#: Card look shared by the overview's panels; palette roles keep dark themes readable.
CARD_STYLE = """
QFrame#card {
    background: palette(base);
    border: 1px solid palette(mid);
    border-radius: 10px;
}
QLabel#cardTitle { font-size: 15pt; font-weight: 600; }
QLabel#cardHint, QLabel#urlScope, QLabel#tileCaption, QLabel#tileDetail {
    color: palette(placeholder-text);
}
QLineEdit#urlField {
    border: 1px solid palette(mid);
    border-radius: 6px;
    padding: 6px 10px;
    background: palette(alternate-base);
    selection-background-color: palette(highlight);
}
QLabel#tileValue { font-size: 26pt; font-weight: 600; }
"""


#: What the certificate fingerprint is for (the tooltip of its row).
FINGERPRINT_TIP = (
    "SHA-256 fingerprint of the certificate the ACS's https:// URLs present (made by FieldACS "
    "unless you gave your own). When a CPE or a browser asks whether to trust that "
    "certificate, check it shows this fingerprint; a different one means something between "
    "you and the ACS is intercepting the connection. Select and press Ctrl+C, or use Copy."
)


def merge_urls(*lists: list[str]) -> list[str]:
    """The URLs of ``lists`` in order, each once (the HTTP and the HTTPS ACS URLs)."""
    out: list[str] = []
    for urls in lists:
        out.extend(u for u in urls if u not in out)
    return out


def acs_urls_of(engine: ConsoleEngine) -> list[str]:
    """Every ACS URL of a running engine: plain HTTP ones first, then HTTPS ones.

    Lists the machine's addresses (may resolve the host name): call it off the GUI loop.
    """
    return merge_urls(engine.cwmp_urls(), engine.cwmp_tls_urls())


def url_scope(url: str) -> str:
    """Who can reach ``url``: "this computer only" for loopback, otherwise the network."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "on your network"
    if address.is_loopback:
        return "this computer only"
    if address.is_private:
        return "local network"
    return "network"


class UrlField(QLineEdit):
    """A read-only, selectable ACS URL. Ctrl+C copies the selection, or the whole URL.

    Signals:
        copied(str): the text put on the clipboard by Ctrl+C.
    """

    copied = Signal(str)

    def __init__(self, url: str, parent: QWidget | None = None, *, scale: float = 1.25) -> None:
        super().__init__(url, parent)
        self.setObjectName("urlField")
        self.setReadOnly(True)
        self.setCursorPosition(0)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font.pointSizeF(), 10.0) * scale)
        self.setFont(font)
        self.setAccessibleName("ACS URL")
        self.setToolTip("Select and press Ctrl+C, or use the copy button")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Copy the selection, or the whole URL when nothing is selected."""
        if event.matches(QKeySequence.StandardKey.Copy):
            text = self.selectedText() or self.text()
            QGuiApplication.clipboard().setText(text)
            self.copied.emit(text)
            event.accept()
            return
        super().keyPressEvent(event)


class AcsUrlPanel(QFrame):
    """The "Point your CPE at:" card: one row per ACS URL, each with a copy button.

    Signals:
        urlCopied(str): a URL (or part of one) was copied to the clipboard.
    """

    urlCopied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 18)
        layout.setSpacing(8)
        title = QLabel("Point your CPE at:")
        title.setObjectName("cardTitle")
        hint = QLabel(
            "Enter this as the ACS URL (Management Server URL) in the CPE's TR-069 settings."
        )
        hint.setObjectName("cardHint")
        hint.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(hint)
        self._rows = QGridLayout()
        self._rows.setHorizontalSpacing(10)
        self._rows.setVerticalSpacing(8)
        self._rows.setColumnStretch(0, 1)
        layout.addSpacing(4)
        layout.addLayout(self._rows)
        self._fields: list[UrlField] = []
        waiting = QLabel("Starting the ACS…")
        waiting.setObjectName("cardHint")
        self._rows.addWidget(waiting, 0, 0)
        data = icon_svg("copy")
        self._copy_icon = QIcon(render_svg(data, 48)) if data is not None else QIcon()
        # The HTTPS certificate's fingerprint (hidden without an HTTPS listener).
        self.fingerprint_row = QWidget()
        self.fingerprint_row.setObjectName("fingerprintRow")
        self.fingerprint_row.setToolTip(FINGERPRINT_TIP)
        row = QHBoxLayout(self.fingerprint_row)
        row.setContentsMargins(0, 4, 0, 0)
        row.setSpacing(10)
        caption = QLabel("HTTPS certificate SHA-256:")
        caption.setObjectName("cardHint")
        caption.setToolTip(FINGERPRINT_TIP)
        self.fingerprint_field = UrlField("", scale=0.9)
        self.fingerprint_field.setObjectName("fingerprintField")
        self.fingerprint_field.setAccessibleName("HTTPS certificate SHA-256 fingerprint")
        self.fingerprint_field.setToolTip(FINGERPRINT_TIP)
        self.fingerprint_field.copied.connect(self.urlCopied)
        self.fingerprint_copy = self._copy_button("fingerprint")
        self.fingerprint_copy.clicked.connect(
            lambda _=False: self._copy(self.fingerprint_field.text())
        )
        row.addWidget(caption)
        row.addWidget(self.fingerprint_field, 1)
        row.addWidget(self.fingerprint_copy)
        layout.addWidget(self.fingerprint_row)
        self.fingerprint_row.hide()
        # Which certificate that is: FieldACS's (issued by its private CA) or the user's own.
        self.fingerprint_kind = QLabel()
        self.fingerprint_kind.setObjectName("tlsKind")
        self.fingerprint_kind.setWordWrap(True)
        layout.addWidget(self.fingerprint_kind)
        self.fingerprint_kind.hide()

    def _copy_button(self, what: str) -> QToolButton:
        button = QToolButton()
        button.setIcon(self._copy_icon)
        button.setText("Copy")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setToolTip(f"Copy {what}")
        button.setAccessibleName(f"Copy {what}")
        button.setAutoRaise(False)
        return button

    def fingerprint(self) -> str:
        """The certificate fingerprint shown ("" when none)."""
        return self.fingerprint_field.text() if not self.fingerprint_row.isHidden() else ""

    def set_fingerprint(self, fingerprint: str | None, kind: str | None = None) -> None:
        """Show the HTTPS certificate's SHA-256 ``fingerprint`` (None or "": hide the row)
        and ``kind``, which certificate it is (FieldACS's own or the user's)."""
        self.fingerprint_kind.setText(f"Certificate in use: {kind}" if kind else "")
        self.fingerprint_kind.setHidden(not (fingerprint and kind))
        self.fingerprint_field.setText(fingerprint or "")
        self.fingerprint_field.setCursorPosition(0)
        # Wide enough to read whole: it is compared by eye with what a CPE or browser shows.
        width = self.fingerprint_field.fontMetrics().horizontalAdvance(fingerprint or "")
        self.fingerprint_field.setMinimumWidth(width + 16 if fingerprint else 0)
        self.fingerprint_row.setHidden(not fingerprint)

    def urls(self) -> list[str]:
        """The URLs shown, in order."""
        return [field.text() for field in self._fields]

    def fields(self) -> list[UrlField]:
        """The URL fields, in order."""
        return list(self._fields)

    def set_urls(self, urls: list[str]) -> None:
        """Show ``urls`` (replacing any shown before)."""
        while self._rows.count():
            item = self._rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._fields = []
        if not urls:
            empty = QLabel("The ACS is not listening.")
            empty.setObjectName("cardHint")
            self._rows.addWidget(empty, 0, 0)
            return
        for row, url in enumerate(urls):
            field = UrlField(url)
            field.copied.connect(self.urlCopied)
            scope = QLabel(url_scope(url))
            scope.setObjectName("urlScope")
            scope.setMinimumWidth(scope.fontMetrics().horizontalAdvance("this computer only") + 8)
            button = self._copy_button(url)
            button.clicked.connect(lambda _=False, u=url: self._copy(u))
            self._rows.addWidget(field, row, 0)
            self._rows.addWidget(scope, row, 1)
            self._rows.addWidget(button, row, 2)
            self._fields.append(field)

    def copy_button(self, row: int) -> QToolButton:
        """The copy button of URL ``row``."""
        item = self._rows.itemAtPosition(row, 2)
        widget = item.widget() if item is not None else None
        if not isinstance(widget, QToolButton):
            raise IndexError(row)
        return widget

    def _copy(self, url: str) -> None:
        QGuiApplication.clipboard().setText(url)
        self.urlCopied.emit(url)


class CounterTile(QFrame):
    """A big number with a caption and a smaller detail line under it."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 14)
        layout.setSpacing(2)
        self._caption = QLabel(caption)
        self._caption.setObjectName("tileCaption")
        self._value = QLabel("0")
        self._value.setObjectName("tileValue")
        self._value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._detail = QLabel(" ")
        self._detail.setObjectName("tileDetail")
        layout.addWidget(self._caption)
        layout.addWidget(self._value)
        layout.addWidget(self._detail)
        self.setAccessibleName(caption)

    @property
    def value(self) -> int:
        """The number shown."""
        return int(self._value.text())

    def set_value(self, value: int, detail: str = "") -> None:
        """Show ``value`` with an optional ``detail`` line."""
        self._value.setText(str(value))
        self._detail.setText(detail or " ")
        self.setAccessibleDescription(f"{value} {detail}".strip())

    def detail(self) -> str:
        """The detail line shown ("" when none)."""
        return self._detail.text().strip()


class CountersPanel(QWidget):
    """Three tiles: sessions in flight, sessions completed, devices known."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        self.in_flight = CounterTile("Sessions in flight")
        self.completed = CounterTile("Sessions completed")
        self.devices = CounterTile("Devices known")
        for tile in (self.in_flight, self.completed, self.devices):
            layout.addWidget(tile)


class OverviewPage(QWidget):
    """The console's first page: the ACS URL card above the counter tiles."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(CARD_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.setSpacing(12)
        self.urls = AcsUrlPanel()
        self.counters = CountersPanel()
        layout.addWidget(self.urls)
        layout.addWidget(self.counters)
        layout.addStretch(1)
