"""Logging to stderr in a form journald reads well.

Under systemd (``JOURNAL_STREAM`` set) each line starts with a syslog priority prefix
such as ``<4>``, which journald turns into the entry's priority, and carries no time
stamp (journald adds its own). Elsewhere lines carry a local time stamp and the level.
"""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """``<priority>logger: message`` (see sd-daemon(3), SyslogLevelPrefix=)."""

    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6)
        text = f"<{prio}>{record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text.replace("\n", f"\n<{prio}>  ")


def setup(level: str = "info") -> None:
    """Send the ``pulsed`` loggers (and warnings of libraries) to stderr at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("pulsed").setLevel(level.upper())
