"""Warnings that point at the user's line, not at kagman's internals.

``warnings.warn(stacklevel=N)`` needs N to match the depth of the call chain,
which changes whenever the code is refactored, and a wrong N points at
``sys:1`` in scripts or at IPython internals in notebooks. :func:`warn` walks
the stack to the first frame outside the ``kagman`` package instead (what
Python 3.12's ``skip_file_prefixes`` does, on every supported Python).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable

from kagman.errors import KagmanWarning

__all__ = ["Name", "cli_text", "user_stacklevel", "warn", "worded"]

#: Names an option in a message: ``name("label_col=", "--label-col")``.
Name = Callable[[str, str], str]


def worded(make: Callable[[Name], str]) -> tuple[str, str]:
    """A message in Python's words and in the command line's: ``make(name)`` writes it,
    calling ``name(python, flag)`` wherever it names an option. The second is what an
    error's ``cli_message`` (or a warning's) holds.

    >>> worded(lambda name: f"Name it with {name('label_col=', '--label-col')}.")
    ('Name it with label_col=.', 'Name it with --label-col.')
    """
    return make(lambda python, _flag: python), make(lambda _python, flag: flag)


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` (called by our caller) name user code.

    Counts frames from the caller of this function up to the first frame whose
    module is not ``kagman`` or a submodule of it.
    """
    frame = sys._getframe(1)  # the function that will call warnings.warn
    level = 1
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name != "kagman" and not name.startswith("kagman."):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def cli_text(message: Warning | str) -> str:
    """A warning as the command line words it: its ``cli_message``, else its text."""
    return str(getattr(message, "cli_message", None) or message)


def warn(message: str, category: type[Warning] = KagmanWarning, *, cli: str | None = None) -> None:
    """``warnings.warn(message, category)`` attributed to the first frame outside kagman.

    ``category`` is a :class:`~kagman.errors.KagmanWarning` subclass for anything a
    user must act on, so ``warnings.filterwarnings(..., kagman.KagmanWarning)`` sees
    all of them. ``cli``: the message as the command line shows it (its ``cli_message``).
    """
    instance = category(message)
    if cli is not None:
        instance.cli_message = cli  # type: ignore[attr-defined]
    warnings.warn(instance, stacklevel=user_stacklevel())
