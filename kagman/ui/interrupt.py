"""Saying what a Ctrl-C kept: one log record, which the ``kagman`` command prints as its line.

A pull interrupted by Ctrl-C (or a notebook's interrupt button) cleans up, logs one
WARNING record saying what was kept ("the partial download is kept ...; the next pull
resumes at 41%"), and lets the ``KeyboardInterrupt`` go on, as :class:`Interrupted` (still a
``KeyboardInterrupt``) at the public API, which a notebook shows as the user's own line and
that one sentence rather than the frames of kagman's internals it stopped in. The CLI prints
the record as its only line and exits 130.

Once a pull's work is done and only its commit is left (short, and worth more done than
undone), :func:`finishing` holds a Ctrl-C until the commit is over: the pull then returns
as usual, and the caller says the version is complete.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from kagman.errors import KagmanError

__all__ = [
    "Held",
    "Interrupted",
    "finishing",
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


@dataclass
class Held:
    """How many Ctrl-Cs :func:`finishing` held (and swallowed) while its block ran."""

    count: int = 0


@contextlib.contextmanager
def finishing() -> Iterator[Held]:
    """Hold Ctrl-C (SIGINT) while the block runs; it is not raised afterwards either.

    For the last step of a pull (writing the manifest, removing the download): a
    ``KeyboardInterrupt`` there would report a pull as interrupted that is complete, and
    could stop a clean-up halfway. Outside the main thread (where Python runs signal
    handlers) nothing is held, nor where Ctrl-C is ignored (it stays ignored).
    """
    held = Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):  # ignored, or set from outside Python: leave it
        yield held
        return

    def hold(_signum: int, _frame: object) -> None:
        held.count += 1

    signal.signal(signal.SIGINT, hold)
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)
