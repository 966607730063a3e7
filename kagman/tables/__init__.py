"""Tables into pandas: a file, by its extension, into a DataFrame (``kagman.load``).

::

    formats   the one list of table extensions and which reader takes each
    readers   read_table(): CSV/TSV (pyarrow engine, C when needed), JSON, Parquet,
              Feather, Excel, zip-wrapped CSV; errors that name the file, reader and line
    sqlite    read-only SQLite: one table, or one read-only query
    diagnose  after a failure only: the undecodable byte, its line, the encoding to try

It reads local files; :func:`kagman.load` (in :mod:`kagman.api`) turns a ref into a file
first. May import: :mod:`kagman.archive` (junk rules), :mod:`kagman.errors`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from pathlib import Path

from kagman.errors import TableError
from kagman.tables.formats import describe_formats, is_table, table_format
from kagman.tables.readers import read_table

__all__ = [
    "choose_table",
    "describe_formats",
    "find_tables",
    "is_table",
    "read_table",
    "table_format",
]


def find_tables(folder: Path) -> list[str]:
    """Paths (posix, relative to ``folder``) of every table file below it, clutter skipped."""
    from kagman.archive.junk import junk_reason

    found: list[str] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not junk_reason(d))
        base = Path(root).relative_to(folder)
        found += [
            (base / n).as_posix() for n in sorted(names) if is_table(n) and not junk_reason(n)
        ]
    return found


def choose_table(
    names: Iterable[str], where: str, *, cli_source: str | None = None, partial: bool = False
) -> str:
    """The one table among ``names``; several or none is an error that lists them.

    ``cli_source`` is how ``kagman load`` names ``where`` (``-c titanic`` for a
    competition); default: ``where`` itself, quoted for the shell. ``partial``: ``names``
    are only the files a partly cached version holds (offline), so even one table may not
    be the only one: it is an error that names what is cached.

    >>> choose_table(["a/readme.md", "a/train.csv"], "owner/slug")
    'a/train.csv'

    Raises
    ------
    TableError
        No table, or more than one (the message lists them and says to pass ``file=``).
    """
    tables = sorted(n for n in names if is_table(n))
    source = cli_source or shlex.quote(where)
    if partial:
        held = ", ".join(tables[:20]) or "no table"
        what = (
            f"Offline, only part of {where} is cached (it holds {held}), so kagman cannot "
            "tell which of its tables to load"
        )
        if not tables:
            msg = f"{what}. Name the file to load, or go online to list them all."
            raise TableError(msg)
        msg = f"{what}. Name the file: file={tables[0]!r}, or go online."
        cli = (
            f"{what}. Name the file: `kagman load {source} {shlex.quote(tables[0])}`. Or drop "
            "--offline (and unset KAGMAN_OFFLINE)."
        )
        raise TableError(msg, cli_message=cli)
    if len(tables) == 1:
        return tables[0]
    if not tables:
        msg = f"{where} holds no table file ({describe_formats()}). Name the file to load."
        raise TableError(msg)
    shown = ", ".join(tables[:20]) + (f" and {len(tables) - 20} more" if len(tables) > 20 else "")
    held = f"{where} holds {len(tables)} tables: {shown}. Say which one"
    msg = f"{held}: file={tables[0]!r}."
    raise TableError(msg, cli_message=f"{held}: `kagman load {source} {shlex.quote(tables[0])}`.")
