"""FieldACS's log file, under the platform's log folder (platformdirs ``user_log_dir``).

The console writes INFO and above of every ``fieldacs.*`` logger to ``fieldacs.log`` there
(rotated at 1 MiB, 5 files kept), whatever ``--verbose`` says about the terminal, so a
technician has something to send when a CPE misbehaves. Help → Open log folder opens it.
``FIELDACS_LOG_DIR`` overrides the folder (tests, portable installs).
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

from platformdirs import user_log_dir

from app import APP_NAME, ORGANISATION

LOG_FILE = "fieldacs.log"
MAX_BYTES = 1 << 20
BACKUPS = 5

_installed: Path | None = None


def log_folder() -> Path:
    """Where the log file goes (created when the log is installed)."""
    override = os.environ.get("FIELDACS_LOG_DIR")
    if override:
        return Path(override)
    return Path(user_log_dir(APP_NAME, ORGANISATION))


def installed_folder() -> Path | None:
    """The folder of the log file written by this process, or None (none installed)."""
    return _installed


def install_log_file(folder: Path | None = None) -> Path | None:
    """Write ``fieldacs.*`` INFO records to ``folder/fieldacs.log`` (once per process).

    Returns:
        The log file's path, or None when the folder cannot be written (the console runs on
        without a log file; the reason goes to the terminal's log).
    """
    global _installed
    folder = folder or log_folder()
    path = folder / LOG_FILE
    if _installed is not None:
        return _installed / LOG_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        logging.getLogger("fieldacs.app").warning("no log file in %s: %s", folder, exc)
        return None
    handler.setLevel(logging.INFO)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger = logging.getLogger("fieldacs")
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
        # The terminal keeps its own level: its handler filters what it prints.
        for root_handler in logging.getLogger().handlers:
            if root_handler.level == logging.NOTSET:
                root_handler.setLevel(logging.getLogger().level)
    _installed = folder
    return path
