"""Saying what a Ctrl-C kept: one log record, which the ``kagman`` command prints as its line.

A pull interrupted by Ctrl-C (or a notebook's interrupt button) cleans up, logs one
WARNING record saying what was kept ("the partial download is kept ...; the next pull
resumes at 41%"), and lets the ``KeyboardInterrupt`` go on, as :class:`Interrupted` (still a
``KeyboardInterrupt``) at the public API, which a notebook shows as the user's own line and
that one sentence rather than the frames of kagman's internals it stopped in. The CLI prints
the record as its only line and exits 130.
"""

from __future__ import annotations

import logging

from kagman.errors import KagmanError

__all__ = [
    "Interrupted",
    "forget_interrupts",
    "interrupted",
    "is_interrupt_record",
    "log_interrupted",
]

_FLAG = "kagman_interrupt"
_said: list[str] = []  # what the last interrupt kept, for Interrupted's message


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or a notebook's interrupt button stopped a kagman call: a ``KeyboardInterrupt``
    (``except KeyboardInterrupt`` catches it), shown in a notebook like a
    :class:`~kagman.errors.KagmanError`: the caller's lines and what was kept."""

    cause = KagmanError.cause
    _render_traceback_ = KagmanError._render_traceback_


def interrupted(what: str) -> Interrupted:
    """The :class:`Interrupted` to raise for a stopped ``what`` (``"kagman.pull('o/s')"``),
    saying what the interrupted step kept when it logged that."""
    kept = _said.pop() if _said else ""
    _said.clear()
    return Interrupted(kept or f"{what} was stopped.")


def forget_interrupts() -> None:
    """Forget what earlier interrupts kept (a call starts afresh)."""
    _said.clear()


def log_interrupted(logger: logging.Logger, message: str) -> None:
    """Log ``Interrupted: <message>`` at WARNING, marked as the interrupt's record."""
    _said.append(message)
    logger.warning("Interrupted: %s", message, extra={_FLAG: True})


def is_interrupt_record(record: logging.LogRecord) -> bool:
    """Whether ``record`` is the one :func:`log_interrupted` made."""
    return bool(getattr(record, _FLAG, False))
