"""Sizes and durations as people write them (``50GB``, ``50GiB``, ``30d``), and sizes on disk.

Sizes are decimal or binary exactly as written (``GB`` = 10**9 bytes, ``GiB`` =
2**30), as ``du --si`` and ``du -h`` print them. A bare ``G`` is refused rather
than guessed: the two readings differ by 7 %.
"""

from __future__ import annotations

import os
import re
import stat
from decimal import Decimal
from pathlib import Path

from kagman.errors import InvalidArgumentError

__all__ = ["allocated", "disk_usage", "parse_duration", "parse_size"]

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*")
_DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?)\s*(min|[smhdw])", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number, optionally with a decimal or binary unit.

    Raises
    ------
    InvalidArgumentError
        Not a size (a ``ValueError`` too); the message shows how to write one.

    Examples
    --------
    >>> parse_size("50GB"), parse_size("50GiB"), parse_size("1.5 kb"), parse_size("0")
    (50000000000, 53687091200, 1500, 0)
    >>> try:
    ...     parse_size("50G")
    ... except ValueError as err:  # an InvalidArgumentError
    ...     print(err)
    '50G' is ambiguous: write 50GB (10**9 bytes each) or 50GiB (2**30).
    """
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match and unit in ("k", "m", "g", "t", "p"):
        number = match.group(1)
        msg = (
            f"{text!r} is ambiguous: write {number}{unit.upper()}B (10**{_power(unit)} bytes "
            f"each) or {number}{unit.upper()}iB (2**{_power(unit) // 3 * 10})."
        )
        raise InvalidArgumentError(msg)
    if match is None or unit not in _SIZE_UNITS:
        msg = f"{text!r} is not a size: write e.g. 50GB, 50GiB, 500MB or a number of bytes."
        raise InvalidArgumentError(msg)
    return int(Decimal(match.group(1)) * _SIZE_UNITS[unit])


def _power(unit: str) -> int:
    return 3 * (1 + "kmgtp".index(unit))


def parse_duration(text: str) -> float:
    """Seconds in ``text``: numbers with units ``s``, ``m``/``min``, ``h``, ``d``, ``w``.

    Raises
    ------
    InvalidArgumentError
        Not a duration (a ``ValueError`` too); the message shows how to write one.

    Examples
    --------
    >>> parse_duration("30d"), parse_duration("12h"), parse_duration("1w2d"), parse_duration("90m")
    (2592000.0, 43200.0, 777600.0, 5400.0)
    """
    compact = re.sub(r"\s+", "", text)
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts).lower() != compact.lower():
        msg = f"{text!r} is not a duration: write e.g. 30d, 12h, 2w or 1d12h."
        raise InvalidArgumentError(msg)
    return float(sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in parts))


def disk_usage(path: Path) -> tuple[int, int]:
    """``(regular files, bytes on disk)`` under ``path``; never follows a symlink."""
    try:
        st = path.lstat()
    except OSError:
        return 0, 0
    if not stat.S_ISDIR(st.st_mode):
        return int(stat.S_ISREG(st.st_mode)), _blocks(st)
    files, size = 0, _blocks(st)
    stack = [os.fspath(path)]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    try:
                        est = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    size += _blocks(est)
                    if stat.S_ISDIR(est.st_mode):
                        stack.append(entry.path)
                    elif stat.S_ISREG(est.st_mode):
                        files += 1
        except OSError:
            continue
    return files, size


def _blocks(st: os.stat_result) -> int:
    blocks = getattr(st, "st_blocks", None)
    return int(blocks) * 512 if blocks is not None else int(st.st_size)


def allocated(path: Path | None) -> int:
    """Bytes on disk of one file (its allocated blocks); 0 when it is not there."""
    try:
        return _blocks(path.lstat()) if path is not None else 0
    except OSError:
        return 0
