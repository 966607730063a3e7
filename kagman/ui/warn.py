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

from kagman.errors import KagmanWarning

__all__ = ["user_stacklevel", "warn"]


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


def warn(message: str, category: type[Warning] = KagmanWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the first frame outside kagman.

    ``category`` is a :class:`~kagman.errors.KagmanWarning` subclass for anything a
    user must act on, so ``warnings.filterwarnings(..., kagman.KagmanWarning)`` sees
    all of them.
    """
    warnings.warn(message, category, stacklevel=user_stacklevel())
