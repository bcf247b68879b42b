"""The console's icons: plain SVG files under ``resources/icons``, read with importlib.resources."""

from __future__ import annotations

import functools
import logging
from importlib import resources

from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

log = logging.getLogger("fieldacs.app")

_PACKAGE = "resources.icons"
_APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def icon_svg(name: str) -> bytes | None:
    """The bytes of ``resources/icons/<name>.svg``, or None (logged) when it is missing."""
    try:
        return resources.files(_PACKAGE).joinpath(f"{name}.svg").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        log.warning("icon %s.svg not found: %s", name, exc)
        return None


def render_svg(data: bytes, size: int) -> QPixmap:
    """Render SVG ``data`` into a transparent square pixmap of ``size`` pixels."""
    renderer = QSvgRenderer(QByteArray(data))
    image = QImage(QSize(size, size), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    try:
        renderer.render(painter)
    finally:
        painter.end()
    return QPixmap.fromImage(image)


@functools.cache
def app_icon() -> QIcon:
    """The FieldACS application icon at the usual sizes (a null icon if the file is missing)."""
    data = icon_svg("fieldacs")
    icon = QIcon()
    if data is None:
        return icon
    for size in _APP_ICON_SIZES:
        icon.addPixmap(render_svg(data, size))
    return icon
