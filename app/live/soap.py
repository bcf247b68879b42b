"""The SOAP viewer: one message pretty-printed, highlighted, searchable and copyable.

:func:`pretty_print` re-indents a body with a hardened lxml parser (no entities, no network,
no DTD; a DOCTYPE is refused) and falls back to the raw text with a note when it cannot.
:class:`XmlHighlighter` colours tags, attributes, values, text and comments;
:class:`SoapViewer` adds a find bar (Ctrl+F, Enter/Shift+Enter, Esc), a Copy button and,
a "Show secrets" toggle: passwords and keys are masked by default
(:func:`acs_engine.secrets.mask_soap`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QKeySequence,
    QPalette,
    QShortcut,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from acs_engine.secrets import mask_soap
from app.code_editor import char_format

#: Bodies larger than this are shown as received (no re-indenting, no colours).
PRETTY_LIMIT = 1024 * 1024
#: Matches highlighted at most (the count still covers all).
MAX_MARKS = 2000

_DOCTYPE_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _load_masker() -> Callable[[bytes], bytes] | None:
    return mask_soap


#: What the SOAP view shows with no message selected.
_NOTHING_SELECTED = "Select a message in the timeline to see its SOAP."


@dataclass(frozen=True, slots=True)
class Pretty:
    """A body ready to show.

    Attributes:
        text: what to show.
        note: why it is shown as received ("" when pretty-printed).
        xml: True when ``text`` is well-formed XML (worth highlighting).
    """

    text: str
    note: str = ""
    xml: bool = True


def _raw_text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def pretty_print(body: bytes) -> Pretty:
    """Re-indent ``body`` for reading; never expands entities, never fetches anything.

    Args:
        body: an HTTP body as sent or received.

    Returns:
        The indented XML; or the raw text with a note when the body is empty, too large,
        carries a DOCTYPE, or is not well-formed.
    """
    if not body.strip():
        return Pretty("", "Empty body", xml=False)
    if len(body) > PRETTY_LIMIT:
        return Pretty(_raw_text(body), f"Shown as received: larger than {PRETTY_LIMIT // 1024} KB",
                      xml=False)
    if _DOCTYPE_RE.search(body):
        return Pretty(_raw_text(body), "Shown as received: a DOCTYPE is refused, not parsed",
                      xml=False)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_blank_text=True,
    )
    try:
        root = etree.fromstring(body, parser)
    except (etree.LxmlError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Pretty(_raw_text(body), f"Shown as received: not well-formed XML ({reason})",
                      xml=False)
    if root.getroottree().docinfo.doctype:
        return Pretty(_raw_text(body), "Shown as received: a DOCTYPE is refused, not parsed",
                      xml=False)
    etree.indent(root, space="  ")
    return Pretty(etree.tostring(root, encoding="unicode"))


#: Colours for light and dark backgrounds: tag, attribute, value, text, comment, punctuation.
_LIGHT = ("#1d4ed8", "#9333ea", "#047857", "#111827", "#6b7280", "#64748b")
_DARK = ("#7dd3fc", "#d8b4fe", "#86efac", "#e5e7eb", "#9ca3af", "#94a3b8")

_NAME_RE = re.compile(r"[A-Za-z_][\w.:-]*")
_VALUE_RE = re.compile(r"\"[^\"]*\"?|'[^']*'?")

_NORMAL, _IN_COMMENT, _IN_TAG, _IN_PI = 0, 1, 2, 3


class XmlHighlighter(QSyntaxHighlighter):
    """Colours XML: tag names, attribute names and values, text content, comments.

    A small per-line scanner (no regex over the whole document); a comment, a tag or a
    processing instruction may span lines.
    """

    def __init__(self, document: QTextDocument, dark: bool | None = None) -> None:
        """Highlight ``document``; ``dark`` picks colours for a dark background (default:
        from the application palette)."""
        super().__init__(document)
        if dark is None:
            dark = QGuiApplication.palette().color(QPalette.ColorRole.Base).lightness() < 128
        tag, attr, value, text, comment, punct = _DARK if dark else _LIGHT
        self.tag_format = char_format(tag, weight=QFont.Weight.DemiBold)
        self.attribute_format = char_format(attr)
        self.value_format = char_format(value)
        self.text_format = char_format(text, weight=QFont.Weight.DemiBold)
        self.comment_format = char_format(comment, italic=True)
        self.punctuation_format = char_format(punct)

    def highlightBlock(self, text: str) -> None:
        """Colour one line, continuing the previous line's comment, tag or PI."""
        state = max(self.previousBlockState(), _NORMAL)
        i, n = 0, len(text)
        while i < n:
            if state in (_IN_COMMENT, _IN_PI):
                closer = "-->" if state == _IN_COMMENT else "?>"
                end = text.find(closer, i)
                stop = n if end < 0 else end + len(closer)
                fmt = self.comment_format if state == _IN_COMMENT else self.punctuation_format
                self.setFormat(i, stop - i, fmt)
                i = stop
                if end >= 0:
                    state = _NORMAL
            elif state == _IN_TAG:
                if text[i].isspace():
                    i += 1
                elif text.startswith("/>", i) or text[i] == ">":
                    width = 2 if text[i] == "/" else 1
                    self.setFormat(i, width, self.tag_format)
                    i += width
                    state = _NORMAL
                elif text[i] == "=":
                    self.setFormat(i, 1, self.punctuation_format)
                    i += 1
                elif text[i] in "\"'":
                    match = _VALUE_RE.match(text, i)
                    stop = match.end() if match else n
                    self.setFormat(i, stop - i, self.value_format)
                    i = stop
                else:
                    match = _NAME_RE.match(text, i)
                    stop = match.end() if match else i + 1
                    self.setFormat(i, stop - i, self.attribute_format)
                    i = stop
            else:
                start = text.find("<", i)
                if start < 0:
                    self.setFormat(i, n - i, self.text_format)
                    break
                if start > i:
                    self.setFormat(i, start - i, self.text_format)
                if text.startswith("<!--", start):
                    state, i = _IN_COMMENT, start
                elif text.startswith("<?", start):
                    state, i = _IN_PI, start
                else:
                    j = start + (2 if text.startswith("</", start) else 1)
                    match = _NAME_RE.match(text, j)
                    stop = match.end() if match else j
                    self.setFormat(start, stop - start, self.tag_format)
                    state, i = _IN_TAG, stop
        self.setCurrentBlockState(state)


class FindBar(QWidget):
    """A one-line search field with previous/next buttons and a match count.

    Signals:
        searchChanged(str): the search text changed.
        nextRequested(): Enter or the "next" button.
        previousRequested(): Shift+Enter or the "previous" button.
        closed(): Esc or the close button.
    """

    searchChanged = Signal(str)
    nextRequested = Signal()
    previousRequested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        """Build the bar (hidden until the viewer opens it)."""
        super().__init__(parent)
        self.setObjectName("soapFindBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        self.field = QLineEdit()
        self.field.setObjectName("soapFindField")
        self.field.setPlaceholderText("Find in message")
        self.field.setClearButtonEnabled(True)
        self.field.setAccessibleName("Find in message")
        self.count_label = QLabel()
        self.count_label.setObjectName("soapFindCount")
        self.count_label.setMinimumWidth(90)
        self.previous_button = QToolButton()
        self.previous_button.setText("▲")
        self.previous_button.setToolTip("Previous match (Shift+Enter)")
        self.next_button = QToolButton()
        self.next_button.setText("▼")
        self.next_button.setToolTip("Next match (Enter)")
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Close (Esc)")
        close.setAutoRaise(True)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.count_label)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.next_button)
        layout.addWidget(close)
        self.field.textChanged.connect(self.searchChanged)
        self.field.returnPressed.connect(self._on_return)
        self.next_button.clicked.connect(self.nextRequested)
        self.previous_button.clicked.connect(self.previousRequested)
        close.clicked.connect(self.closed)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.closed)

    def _on_return(self) -> None:
        if QGuiApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.previousRequested.emit()
        else:
            self.nextRequested.emit()


class SoapViewer(QWidget):
    """A read-only, highlighted view of one SOAP message with find and copy.

    Signals:
        copied(str): the whole message was copied to the clipboard (the text copied).
    """

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """An empty viewer; :meth:`set_body` shows a message."""
        super().__init__(parent)
        self.setObjectName("soapViewer")
        self._body = b""
        self._masker = _load_masker()
        self._matches: list[QTextCursor] = []
        self._current = -1

        self.caption = QLabel()
        self.caption.setObjectName("soapCaption")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Wraps rather than widening the Live session dock past a laptop's window.
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setMinimumWidth(120)
        self.note = QLabel()
        self.note.setObjectName("soapNote")
        self.note.setStyleSheet("color: #b45309;")
        self.note.setWordWrap(True)
        self.note.hide()
        self.secrets_box = QCheckBox("Show secrets")
        self.secrets_box.setToolTip("Passwords and keys are masked unless this is checked")
        self.secrets_box.setVisible(self._masker is not None)
        self.secrets_box.toggled.connect(self._render)
        self.find_button = QToolButton()
        self.find_button.setText("Find")
        self.find_button.setToolTip("Find in this message (Ctrl+F)")
        self.find_button.clicked.connect(self.open_find)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the whole message")
        self.copy_button.clicked.connect(self.copy_all)

        self.text = QPlainTextEdit()
        self.text.setObjectName("soapText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText(_NOTHING_SELECTED)
        self.text.setAccessibleName("SOAP message")
        self.highlighter = XmlHighlighter(self.text.document())
        self.find_bar = FindBar()
        self.find_bar.hide()
        self.find_bar.searchChanged.connect(self._search)
        self.find_bar.nextRequested.connect(self.find_next)
        self.find_bar.previousRequested.connect(self.find_previous)
        self.find_bar.closed.connect(self.close_find)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.caption, 1)
        header.addWidget(self.secrets_box)
        header.addWidget(self.find_button)
        header.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.note)
        layout.addWidget(self.find_bar)
        layout.addWidget(self.text, 1)

        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self.open_find)
        for key, slot in ((QKeySequence.StandardKey.FindNext, self.find_next),
                          (QKeySequence.StandardKey.FindPrevious, self.find_previous)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # ------------------------------------------------------------------ content
    @property
    def masking_available(self) -> bool:
        """Whether secrets can be masked (``acs_engine.secrets.mask_soap`` exists)."""
        return self._masker is not None

    def set_body(self, body: bytes, caption: str = "") -> None:
        """Show ``body`` (masked unless "Show secrets" is checked) under ``caption``."""
        self._body = body
        self.caption.setText(caption)
        # An empty POST or 204 is a message too: say its body is empty, not "select one".
        self.text.setPlaceholderText(
            "This message has no body." if caption else _NOTHING_SELECTED)
        self._render()

    def clear(self) -> None:
        """Show nothing."""
        self.set_body(b"", "")

    def plain_text(self) -> str:
        """The text shown."""
        return self.text.toPlainText()

    def _shown_body(self) -> bytes:
        if self._masker is None or self.secrets_box.isChecked():
            return self._body
        try:
            return self._masker(self._body)
        except Exception:  # a masker bug must not show secrets: show nothing instead
            return b""

    def _render(self) -> None:
        pretty = pretty_print(self._shown_body()) if self._body else Pretty("", xml=False)
        self.highlighter.setDocument(self.text.document() if pretty.xml else None)
        self.text.setPlainText(pretty.text)
        self.note.setText(pretty.note if self._body else "")
        self.note.setVisible(bool(self._body) and bool(pretty.note))
        self._search(self.find_bar.field.text() if self.find_bar.isVisible() else "")

    # ------------------------------------------------------------------ copy
    def copy_all(self) -> None:
        """Copy the whole message as shown."""
        text = self.plain_text()
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(text)

    # ------------------------------------------------------------------ find
    def open_find(self) -> None:
        """Show the find bar and focus its field (the current search is kept)."""
        self.find_bar.show()
        self.find_bar.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.find_bar.field.selectAll()
        self._search(self.find_bar.field.text())

    def close_find(self) -> None:
        """Hide the find bar and its marks."""
        self.find_bar.hide()
        self._search("")
        self.text.setFocus(Qt.FocusReason.OtherFocusReason)

    def match_count(self) -> int:
        """How many matches the current search has."""
        return len(self._matches)

    def current_match(self) -> int:
        """The index of the selected match, -1 for none."""
        return self._current

    def search(self, needle: str) -> int:
        """Search for ``needle`` (case-insensitive); returns the number of matches."""
        if self.find_bar.field.text() != needle:
            self.find_bar.field.setText(needle)  # triggers _search
        else:
            self._search(needle)
        return len(self._matches)

    def _search(self, needle: str) -> None:
        self._matches = []
        self._current = -1
        document = self.text.document()
        if needle:
            cursor = document.find(needle, 0)
            while not cursor.isNull():
                self._matches.append(cursor)
                cursor = document.find(needle, cursor)
        self._current = 0 if self._matches else -1
        self._show_marks()

    def find_next(self) -> None:
        """Select the next match (wrapping)."""
        if self._matches:
            self._current = (self._current + 1) % len(self._matches)
            self._show_marks()

    def find_previous(self) -> None:
        """Select the previous match (wrapping)."""
        if self._matches:
            self._current = (self._current - 1) % len(self._matches)
            self._show_marks()

    def _show_marks(self) -> None:
        marks: list[QTextEdit.ExtraSelection] = []
        every = QTextCharFormat()
        every.setBackground(QColor("#fde68a"))
        every.setForeground(QColor("#111827"))
        current = QTextCharFormat()
        current.setBackground(QColor("#f59e0b"))
        current.setForeground(QColor("#111827"))
        for i, cursor in enumerate(self._matches[:MAX_MARKS]):
            mark = QTextEdit.ExtraSelection()
            mark.cursor = cursor
            mark.format = current if i == self._current else every
            marks.append(mark)
        self.text.setExtraSelections(marks)
        needle = self.find_bar.field.text()
        if not needle:
            self.find_bar.count_label.setText("")
        elif not self._matches:
            self.find_bar.count_label.setText("No matches")
        else:
            self.find_bar.count_label.setText(f"{self._current + 1} of {len(self._matches)}")
        if 0 <= self._current < len(self._matches):
            self.text.setTextCursor(self._matches[self._current])
            self.text.ensureCursorVisible()
