"""A small code editor: line numbers, JavaScript highlighting, one marked error line.

:class:`CodeEditor` is a ``QPlainTextEdit`` (undo and redo built in) with a gutter of line
numbers, the current line tinted, and :meth:`CodeEditor.mark_error` to put a red band and a
gutter marker on the line a compile error points at. :class:`JsHighlighter` colours
JavaScript keywords, strings, numbers, comments and GenieACS's script API names.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

JS_KEYWORDS = (
    "async", "await", "break", "case", "catch", "class", "const", "continue", "default",
    "delete", "do", "else", "false", "finally", "for", "function", "if", "in", "instanceof",
    "let", "new", "null", "of", "return", "switch", "this", "throw", "true", "try", "typeof",
    "undefined", "var", "void", "while",
)
#: The names a GenieACS provision or virtual-parameter script calls.
GENIEACS_API = ("declare", "clear", "commit", "ext", "log", "args")

_ERROR_BAND = QColor("#fee2e2")
_CURRENT_LINE = QColor("#f1f5f9")
_GUTTER_BG = QColor("#f8fafc")
_GUTTER_FG = QColor("#94a3b8")
_ERROR_MARK = QColor("#dc2626")


def _format(color: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class JsHighlighter(QSyntaxHighlighter):
    """JavaScript colouring, with GenieACS's API names (``declare``, ``commit``, ...) apart."""

    _IN_COMMENT = 1

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.keyword = _format("#7c3aed", bold=True)
        self.api = _format("#0369a1", bold=True)
        self.string = _format("#15803d")
        self.number = _format("#c2410c")
        self.comment = _format("#64748b", italic=True)
        words = "|".join(JS_KEYWORDS)
        self._rules: list[tuple[re.Pattern[str], QTextCharFormat]] = [
            (re.compile(rf"\b(?:{words})\b"), self.keyword),
            (re.compile(rf"\b(?:{'|'.join(GENIEACS_API)})\b"), self.api),
            (re.compile(r"\b(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\b"), self.number),
        ]
        # Strings and comments are scanned left to right so a "//" inside a string stays text.
        self._token = re.compile(r"""//|/\*|"(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?|`(?:\\.|[^`\\])*`?""")

    def highlightBlock(self, text: str) -> None:
        """Colour one line; a ``/* ... */`` comment carries over to the next lines."""
        for pattern, fmt in self._rules:
            for found in pattern.finditer(text):
                self.setFormat(found.start(), found.end() - found.start(), fmt)
        self.setCurrentBlockState(0)
        start = 0
        if self.previousBlockState() == self._IN_COMMENT:
            end = text.find("*/")
            if end < 0:
                self.setFormat(0, len(text), self.comment)
                self.setCurrentBlockState(self._IN_COMMENT)
                return
            self.setFormat(0, end + 2, self.comment)
            start = end + 2
        while True:
            m = self._token.search(text, start)
            if m is None:
                return
            token = m.group(0)
            if token == "//":
                self.setFormat(m.start(), len(text) - m.start(), self.comment)
                return
            if token == "/*":
                end = text.find("*/", m.end())
                if end < 0:
                    self.setFormat(m.start(), len(text) - m.start(), self.comment)
                    self.setCurrentBlockState(self._IN_COMMENT)
                    return
                self.setFormat(m.start(), end + 2 - m.start(), self.comment)
                start = end + 2
                continue
            self.setFormat(m.start(), len(token), self.string)
            start = m.end()


class _Gutter(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self._editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._editor.paint_gutter(event)


class CodeEditor(QPlainTextEdit):
    """A plain-text editor for scripts: line numbers, highlighting, an error line marker."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 2)
        self.highlighter = JsHighlighter(self.document())
        self.gutter = _Gutter(self)
        self._error_line: int | None = None
        self._error_message = ""
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._refresh_selections)
        self._update_gutter_width()
        self._refresh_selections()

    # ------------------------------------------------------------------ error marker
    @property
    def error_line(self) -> int | None:
        """The 1-based line marked as the error, or None."""
        return self._error_line

    @property
    def error_message(self) -> str:
        """The message of the marked error ("" when none)."""
        return self._error_message

    def mark_error(self, line: int, message: str) -> None:
        """Mark 1-based ``line`` (clamped to the text) as where ``message`` applies."""
        line = max(1, min(line, self.blockCount()))
        self._error_line = line
        self._error_message = message
        self._refresh_selections()
        self.gutter.update()

    def clear_error(self) -> None:
        """Remove the error marker."""
        if self._error_line is None:
            return
        self._error_line = None
        self._error_message = ""
        self._refresh_selections()
        self.gutter.update()

    def go_to_line(self, line: int, column: int = 1) -> None:
        """Put the cursor at 1-based ``line`` and ``column`` and show it."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        cursor = QTextCursor(block)
        cursor.movePosition(
            QTextCursor.MoveOperation.Right, n=max(0, min(column - 1, block.length() - 1))
        )
        self.setTextCursor(cursor)
        self.centerCursor()

    def _refresh_selections(self) -> None:
        selections: list[QTextEdit.ExtraSelection] = []
        current = QTextEdit.ExtraSelection()
        current.format.setBackground(_CURRENT_LINE)
        current.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        current.cursor = self.textCursor()
        current.cursor.clearSelection()
        selections.append(current)
        if self._error_line is not None:
            block = self.document().findBlockByNumber(self._error_line - 1)
            error = QTextEdit.ExtraSelection()
            error.format.setBackground(_ERROR_BAND)
            error.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            error.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            error.format.setUnderlineColor(_ERROR_MARK)
            error.format.setToolTip(self._error_message)
            error.cursor = QTextCursor(block)
            selections.append(error)
        self.setExtraSelections(selections)

    # ------------------------------------------------------------------ the gutter
    def gutter_width(self) -> int:
        """Pixels for the line numbers and the error marker."""
        digits = max(3, len(str(max(1, self.blockCount()))))
        return 14 + self.fontMetrics().horizontalAdvance("9") * digits + 8

    def _update_gutter_width(self, _count: int = 0) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_gutter_width()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the gutter as tall as the editor."""
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        """Draw the line numbers (and the error marker) for the visible blocks."""
        painter = QPainter(self.gutter)
        painter.fillRect(event.rect(), _GUTTER_BG)
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        width = self.gutter.width()
        while block.isValid() and top <= event.rect().bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                if self._error_line == number + 1:
                    painter.setBrush(_ERROR_MARK)
                    painter.setPen(Qt.PenStyle.NoPen)
                    size = max(6, height // 2)
                    painter.drawEllipse(4, top + (height - size) // 2, size, size)
                    painter.setPen(_ERROR_MARK)
                else:
                    painter.setPen(_GUTTER_FG)
                painter.drawText(
                    0, top, width - 6, height,
                    int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                    str(number + 1),
                )
            block = block.next()
            top = bottom
            number += 1
        painter.end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Tab inserts two spaces; Enter keeps the line's indentation."""
        if event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.insertPlainText("  ")
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            line = self.textCursor().block().text()
            indent = line[: len(line) - len(line.lstrip(" "))]
            super().keyPressEvent(event)
            self.insertPlainText(indent)
            return
        super().keyPressEvent(event)
