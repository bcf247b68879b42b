"""The device search box: what a search text means, and where its error is.

A search text is a GenieACS expression compiled to SQL (:func:`build_query`), or one word
matched as a substring against the columns the device list shows (id, product class, serial,
software version, address, tags). A parameter that is not a full path (``PeriodicInformInterval
= 300``) gets a hint: expressions match parameters by their whole path, as in GenieACS.
:class:`SearchField` underlines an expression error at its position with a red wave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor, QInputMethodEvent, QTextCharFormat
from PySide6.QtWidgets import QLineEdit, QWidget

from acs_engine import expression
from acs_engine.console_api import DeviceFilter
from app.timefmt import now_ms


@dataclass(frozen=True, slots=True)
class Query:
    """A device filter, as the engine takes it, and how it reads.

    Attributes:
        filter: what the engine filters on (an expression or a word; empty: every device).
        label: how the filter reads to a user.
        hint: advice shown under the search box ("" for none), e.g. that a bare parameter
            name needs its full path or a wildcard.
    """

    filter: DeviceFilter = field(default_factory=DeviceFilter)
    label: str = ""
    hint: str = ""


@dataclass(frozen=True, slots=True)
class SearchProblem:
    """Why a search text is not a usable expression.

    Attributes:
        message: the parser's or compiler's message.
        position: 0-based offset of the problem, or None when it has no single place.
    """

    message: str
    position: int | None = None

    @property
    def text(self) -> str:
        """The message with its column (1-based), for the line under the search box."""
        if self.position is None:
            return self.message
        return f"Column {self.position + 1}: {self.message}"


def build_query(text: str, now: int | None = None) -> Query | SearchProblem:
    """The filter a search text asks for.

    One word (no spaces, quotes, parentheses or comparisons), or an expression that is just
    a path or a string, is a substring search of id, product class and serial; anything
    else is a GenieACS expression (checked here, so that an error is shown at its position;
    the engine compiles it).
    """
    stripped = text.strip()
    if not stripped:
        return Query()
    if not any(c.isspace() or c in "=<>()'\"" for c in stripped):
        return _text_query(stripped)  # one word, even "HGW-A" (not HGW minus A)
    try:
        tree = expression.parse(stripped)
    except expression.ExpressionError as exc:
        message = re.sub(r"^at \d+:\s*", "", str(exc))
        return SearchProblem(message, _shift(exc.position, text))
    if isinstance(tree, expression.ParamRef) or (
        isinstance(tree, expression.Literal) and isinstance(tree.value, str | int)
    ):
        return _text_query(stripped if isinstance(tree, expression.ParamRef) else str(tree.value))
    try:
        expression.compile_sql(tree, now_ms=now_ms() if now is None else now)
    except expression.ExpressionError as exc:
        return SearchProblem(str(exc), None)
    return Query(DeviceFilter(expression=stripped), stripped,
                 _path_hint(expression.parameters(tree)))


#: First path segments a device's parameters (and the expression language's fields) start with.
ROOTS = frozenset(
    {"Device", "InternetGatewayDevice", "DeviceID", "Tags", "Events", "VirtualParameters",
     "Downloads", "Reboot", "FactoryReset"}
)

#: The syntax help one click away from the search box (plain text, shown in a dialog).
SYNTAX_HELP = """A word (no spaces) finds devices whose id, product class, serial number, software version,
address or tags contain it:  3.4.1   HGW   lab

An expression filters on parameters by their full path (GenieACS's language):
  Device.ManagementServer.PeriodicInformInterval = 300
  InternetGatewayDevice.DeviceInfo.SoftwareVersion LIKE "3.4%"
  *.ManagementServer.PeriodicInformInterval > 60      (* stands for one level)
  DeviceID.ProductClass = "SimGW-181" AND Tags.lab IS NOT NULL
  DeviceID.SerialNumber, DeviceID.OUI, DeviceID.ID, Events.Inform > NOW() - 3600000

Operators: = <> < <= > >= LIKE (with % and _), NOT LIKE, IS NULL, IS NOT NULL,
AND, OR, NOT, parentheses. Strings in "double" or 'single' quotes.
"""


def _path_hint(paths: set[str]) -> str:
    """Advice for parameters named without their full path (they match nothing)."""
    bare = sorted(
        p for p in paths
        if p.split(".", 1)[0] not in ROOTS and not p.split(".", 1)[0].startswith("*")
    )
    if not bare:
        return ""
    name = bare[0]
    return (
        f"“{name}” is not a full parameter path, so it matches no device. Write the whole "
        f"path (e.g. Device.ManagementServer.{name.rsplit('.', 1)[-1]}) or a wildcard for "
        f"each level before it (*.*.{name.rsplit('.', 1)[-1]})."
    )


def _shift(position: int | None, text: str) -> int | None:
    """A position in the stripped text as a position in ``text``."""
    if position is None:
        return None
    return position + (len(text) - len(text.lstrip()))


def _text_query(word: str) -> Query:
    return Query(DeviceFilter(contains=word), f"contains “{word}”")


class SearchField(QLineEdit):
    """A line edit that underlines an error at its position (red wave) and says why."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """An empty search box."""
        super().__init__(parent)
        self._error: tuple[int, int] | None = None

    def show_error(self, position: int | None, message: str) -> None:
        """Underline the text from ``position`` to the end of its word; tooltip ``message``."""
        self.setToolTip(message)
        self.setProperty("invalid", True)
        if position is None:
            self._error = None
            self._format([])
            return
        text = self.text()
        end = position + 1
        while end < len(text) and not text[end].isspace():
            end += 1
        start = min(position, max(len(text) - 1, 0))
        self._error = (start, max(1, end - start))
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor("#dc2626"))
        fmt.setForeground(QColor("#b91c1c"))
        cursor = self.cursorPosition()
        self._format([
            QInputMethodEvent.Attribute(
                QInputMethodEvent.AttributeType.TextFormat, start - cursor, self._error[1], fmt
            )
        ])

    def clear_error(self) -> None:
        """Remove the underline and tooltip."""
        if self._error is None and not self.property("invalid"):
            return
        self._error = None
        self.setProperty("invalid", False)
        self.setToolTip("")
        self._format([])

    def error_span(self) -> tuple[int, int] | None:
        """(start, length) of the underlined text, or None."""
        return self._error

    def _format(self, attributes: list[QInputMethodEvent.Attribute]) -> None:
        event = QInputMethodEvent("", attributes)
        QCoreApplication.sendEvent(self, event)
