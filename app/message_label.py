"""A one-line message that never widens its dock: elided to the room it has, full text in
its tooltip.

Status lines ("The device accepted the connection request …", "the session is about to end:
insert an RPC instead of editing") can be longer than a laptop's dock is wide. A plain QLabel
asks its layout for the width of its whole text, and a dock grows to give it, pushing the
dock's buttons off screen. :class:`MessageLabel` asks for almost nothing, draws what fits with
"…" and keeps the whole message in its tooltip (and its accessible description).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

#: The width a message asks of its layout (it takes more when there is more).
MIN_WIDTH = 40


class MessageLabel(QLabel):
    """A plain-text status line, elided at its right end; the full text is its tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(MIN_WIDTH)
        self.setText(text)

    def setText(self, text: str) -> None:
        """Show ``text`` (elided when it does not fit) and put all of it in the tooltip."""
        super().setText(text)
        self.setToolTip(text)
        self.setAccessibleDescription(text)

    def sizeHint(self) -> QSize:
        """As tall as a line, and only :data:`MIN_WIDTH` wide: the layout gives the rest."""
        hint = super().sizeHint()
        return QSize(MIN_WIDTH, hint.height())

    def minimumSizeHint(self) -> QSize:
        """See :meth:`sizeHint`."""
        return self.sizeHint()

    def is_elided(self) -> bool:
        """Whether the text is longer than the label is wide."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def shown_text(self) -> str:
        """The text as drawn (with "…" when cut)."""
        return self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the elided text in the label's colour."""
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(
            self.contentsRect(),
            int(self.alignment()) | int(Qt.AlignmentFlag.AlignVCenter),
            self.shown_text(),
        )
