"""Saying what a Ctrl-C kept: one log record, which the ``kagman`` command prints as its line.

A pull interrupted by Ctrl-C (or a notebook's interrupt button) cleans up, logs one
WARNING record saying what was kept ("the partial download is kept ...; the next pull
resumes at 41%"), and lets the ``KeyboardInterrupt`` go on. In Python that record is the
log line; the CLI prints it as its only line and exits 130.
"""

from __future__ import annotations

import logging

__all__ = ["is_interrupt_record", "log_interrupted"]

_FLAG = "kagman_interrupt"


def log_interrupted(logger: logging.Logger, message: str) -> None:
    """Log ``Interrupted: <message>`` at WARNING, marked as the interrupt's record."""
    logger.warning("Interrupted: %s", message, extra={_FLAG: True})


def is_interrupt_record(record: logging.LogRecord) -> bool:
    """Whether ``record`` is the one :func:`log_interrupted` made."""
    return bool(getattr(record, _FLAG, False))
