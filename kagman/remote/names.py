"""What a ``--file`` name and ``--include``/``--exclude`` patterns may be, checked before any
request: a relative path inside the data (a ``pathlib.Path`` too, as POSIX), and non-empty
globs. :mod:`kagman.remote.refs` re-exports both: the cache reads names through it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath, PurePosixPath

from kagman.errors import InvalidRefError

__all__ = ["check_file_name", "check_patterns"]


def check_file_name(name: str | os.PathLike[str]) -> str:
    """Validate a ``--file`` name: a relative path inside the data, returned unchanged.

    A trailing ``/`` marks a folder (``--file train/``) and is kept. A path object
    (``pathlib.Path("train.csv")``) is taken as its POSIX form, the way Kaggle names files.

    >>> check_file_name("train/labels.csv"), check_file_name("chest_xray/train/")
    ('train/labels.csv', 'chest_xray/train/')
    >>> check_file_name(PurePosixPath("train") / "labels.csv")
    'train/labels.csv'

    Raises
    ------
    InvalidRefError
        Empty, absolute, with ``..``, ``.``, empty parts, backslashes or NUL.
    """
    if isinstance(name, PurePath):  # a Windows path too: its own separators, as POSIX
        name = name.as_posix() if str(name) not in ("", ".") else ""
    elif not isinstance(name, str) and isinstance(name, os.PathLike):
        raw = os.fspath(name)
        name = PurePath(raw).as_posix() if isinstance(raw, str) and raw else name
    text = name if isinstance(name, str) else ""
    bare = text.removesuffix("/")
    if (
        not bare
        or "\x00" in bare
        or "\\" in bare
        or PurePosixPath(bare).is_absolute()
        or any(part in ("", ".", "..") for part in bare.split("/"))
    ):
        msg = (
            f"Invalid file name {name!r}: give the file's (or folder's) path inside the "
            "dataset, like 'train.csv', 'images/cat.jpg' or 'images/'."
        )
        raise InvalidRefError(msg, ref=str(name))
    return text


def check_patterns(patterns: Sequence[str], option: str) -> tuple[str, ...]:
    """Check ``--include``/``--exclude`` patterns: non-empty strings, one per pattern.

    >>> check_patterns("*.csv", "include"), check_patterns(["a/**", "!*.tif"], "include")
    (('*.csv',), ('a/**', '!*.tif'))
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip() or "\x00" in pattern:
            msg = f"Invalid --{option} pattern {pattern!r}: give a glob like '*.csv' or 'train/**'."
            raise InvalidRefError(msg, ref=str(pattern))
    return tuple(patterns)
