"""The one line that stays after a long job: what was done, how big, how long, where.

Progress bars clear themselves when they end (``leave=False``), so a finished cell
or command would otherwise say nothing about what it downloaded. :func:`summary`
writes one line where the bar was::

    owner/ds v3: 3,082 files, 1.2 GiB, downloaded in 41 s -> /home/ada/.cache/kagman/...

It always becomes an INFO record of the ``kagman`` logger (for applications, and for
the ``kagman`` command, which prints kagman's records on stderr). When nobody has set
up logging (a notebook, a plain script) and a person can see stderr (a Jupyter cell,
a terminal), the line is also written to stderr directly, so it shows with no
``logging.basicConfig`` at all. It is never written to stdout.
"""

from __future__ import annotations

import logging
import sys

from kagman.ui.progress import watching

__all__ = ["SUMMARY_FLAG", "duration", "summary"]

logger = logging.getLogger("kagman")

#: Set on the summary's log record (``record.kagman_summary``), for handlers that
#: want to tell it apart.
SUMMARY_FLAG = "kagman_summary"


def duration(seconds: float) -> str:
    """Seconds for people: tenths below 10 s, then whole seconds, then minutes.

    >>> duration(0.42), duration(41.4), duration(125)
    ('0.4 s', '41 s', '2 min 5 s')
    """
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _logging_set_up() -> bool:
    """Whether a handler (the application's, or the CLI's) will see kagman's records."""
    return logger.hasHandlers()


def summary(line: str) -> None:
    """Log ``line`` (INFO, ``kagman`` logger) and, with no logging set up, show it on stderr.

    Parameters
    ----------
    line
        One line, no secret in it (paths, sizes, counts, seconds).
    """
    logger.info("%s", line, extra={SUMMARY_FLAG: True})
    if not _logging_set_up() and watching():
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):  # a closed or missing stderr
            pass
