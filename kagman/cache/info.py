"""The cache at a glance: :class:`CacheInfo` (``kagman ls``, :func:`kagman.cache_info`) and the
DataFrame of :func:`kagman.cached`, built on the rows of :mod:`kagman.cache.listing`.

Reads only: no lock, no network, no "last used" touch.
"""

from __future__ import annotations

import contextlib
import html
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.cache.listing import COLUMNS, EntryInfo, entries
from kagman.cache.paths import cache_dir
from kagman.fs import counted, human_size
from kagman.remote.refs import Ref

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

__all__ = ["CacheInfo", "cache_info", "cached", "held", "html_table"]

_WIDEST_PART = 40  # characters of a subset's selections shown in the VERSION column


def html_table(summary: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A notebook's view of a cache report: its summary line, then a plain HTML table.

    >>> html_table("1 <ok>", ("a",), [("x",)])
    '<p>1 &lt;ok&gt;</p><table><tr><th>a</th></tr><tr><td>x</td></tr></table>'
    """
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    table = f"<table><tr>{cells}</tr>{body}</table>" if rows else ""
    return f"<p>{html.escape(summary)}</p>{table}"


def held(entries: int, datasets: int, competitions: int = 0) -> str:
    """``"3 entries of 2 datasets"``, singular where it should be; competitions when there are.

    >>> held(1, 1), held(0, 0)
    ('1 entry of 1 dataset', '0 entries of 0 datasets')
    >>> held(4, 2, 1), held(2, 0, 1)
    ('4 entries of 2 datasets and 1 competition', '2 entries of 1 competition')
    """
    kinds = [counted(datasets, "dataset")] if datasets or not competitions else []
    if competitions:
        kinds.append(counted(competitions, "competition"))
    return f"{counted(entries, 'entry', 'entries')} of {' and '.join(kinds)}"


@dataclass(frozen=True)
class CacheInfo:
    """The cache at a glance: where, how big, what it holds (``.df``), how much room is left.

    Attributes
    ----------
    root
        The cache folder (``KAGMAN_CACHE`` or the platform's user cache folder).
    entries
        One :class:`EntryInfo` per entry and leftover.
    free
        Bytes free on the cache's disk (``None`` when nothing on the path exists).
    """

    root: Path
    entries: tuple[EntryInfo, ...]
    free: int | None

    @property
    def size(self) -> int:
        """Bytes on disk, over every entry and leftover."""
        return sum(row.size for row in self.entries)

    @property
    def incomplete(self) -> tuple[EntryInfo, ...]:
        """Leftovers of interrupted pulls (``kagman prune`` removes them); not the work of a
        pull still running (:attr:`EntryInfo.in_progress`)."""
        return tuple(r for r in self.entries if r.state == "incomplete" and not r.in_progress)

    @property
    def df(self) -> pd.DataFrame:
        """One row per entry: the columns of ``kagman ls`` (see :func:`cached`)."""
        return _frame(self.entries)

    def summary(self) -> str:
        """One line: entries, datasets and competitions, size, free space, leftovers."""
        done = [row for row in self.entries if row.state != "incomplete"]
        refs = {(row.kind, row.ref) for row in done}
        datasets = sum(kind == "dataset" for kind, _ in refs)
        where = f"{human_size(self.size)} on disk in {self.root}"
        if self.free is not None:
            where += f" ({human_size(self.free)} free)"
        left = len(self.incomplete)
        leftovers = counted(
            left, "leftover of an interrupted pull", "leftovers of interrupted pulls"
        )
        removes = f"`kagman prune` removes {'it' if left == 1 else 'them'}"
        pulling = {(row.kind, row.ref) for row in self.entries if row.in_progress}
        running = f"; {counted(len(pulling), 'pull')} running" if pulling else ""
        if left and not done and not pulling:
            return f"Nothing complete is cached; {leftovers}, {where}; {removes}"
        what = held(len(done), datasets, len(refs) - datasets)
        if pulling and not done:
            what = "Nothing complete is cached"
        text = f"{what}, {where}" + (f"; {leftovers} ({removes})" if left else "")
        return text + running

    def lines(self) -> list[str]:
        """The table ``kagman ls`` prints, a line per entry under a header (none when empty)."""
        header = ("REF", "VERSION", "FILES", "SIZE", "PULLED", "LAST USED", "STATE")
        rows = [
            (
                row.ref,
                _version(row),
                str(row.files),
                human_size(row.size),
                _when(row.pulled_at),
                _when(row.last_used),
                _state(row),
            )
            for row in self.entries
        ]
        if not rows:
            return []
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        right = {2, 3}
        return [
            "  ".join(
                cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                for i, cell in enumerate(r)
            ).rstrip()
            for r in [header, *rows]
        ]

    def __str__(self) -> str:
        """What ``kagman ls`` prints: the table, then the summary line."""
        lines = self.lines()
        return "\n".join([*lines, "", self.summary()] if lines else [self.summary()])

    def __repr__(self) -> str:
        return f"<CacheInfo {self.summary()}>"

    def _repr_html_(self) -> str:
        table = self.df.to_html(index=False) if self.entries else "<p>(empty)</p>"
        return f"<p>{html.escape(self.summary())}</p>{table}"


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "-"


def _version(row: EntryInfo) -> str:
    """The VERSION column: a version or a competition's data state, and what a subset holds."""
    if row.kind == "competition":
        text = (row.data_state or "-") + (" (latest)" if row.latest else "")
    else:
        text = "-" if row.version is None else str(row.version)
    if row.file:
        return f"{text}: {row.file}"
    if row.state == "subset":
        part = ", ".join(row.selections) or counted(row.files, "file")
        cut = part if len(part) <= _WIDEST_PART else part[: _WIDEST_PART - 1] + "…"
        return f"{text}: {cut}"
    return text


def _state(row: EntryInfo) -> str:
    text: str = row.state
    if row.note:
        text += f" ({row.note})"
    if row.newer_version is not None:
        text += f", version {row.newer_version} known"
    return text


def cache_info(ref: str | Ref | None = None) -> CacheInfo:
    """The cache's entries, total size and free space; reads only, no network.

    Parameters
    ----------
    ref
        ``owner/slug`` (every version), ``owner/slug/versions/N``, a dataset or
        competition URL, or a :class:`~kagman.CompetitionRef`; ``None`` for all.

    Returns
    -------
    CacheInfo
        ``.entries`` (records), ``.df`` (a DataFrame), ``.size`` and ``.free``
        in bytes; shows as a table in a notebook.

    Raises
    ------
    InvalidRefError
        ``ref`` is not a dataset or competition ref.
    """
    root = cache_dir()
    probe = root
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    free = None
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(probe).free
    return CacheInfo(root, tuple(entries(ref)), free)


def cached(ref: str | Ref | None = None) -> pd.DataFrame:
    """What the cache holds, one row per entry (``kagman ls``); reads only, no network.

    Parameters
    ----------
    ref
        What to list, as for :func:`cache_info`; ``None`` for all.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind`` (``dataset`` or ``competition``), ``ref``, ``version``
        (Int64), ``data_state`` (a competition's), ``file`` (for an entry holding
        one file), ``selections`` (a subset's, a list), ``state`` (``complete``,
        ``subset`` or ``incomplete``), ``files``, ``size`` (bytes on disk),
        ``pulled_at`` and ``last_used`` (UTC timestamps), ``newer_version`` (Int64:
        a newer version a pull saw, or that is cached), ``latest`` (bool: a
        competition's newest complete state), ``links`` (``pull --link`` links,
        a list) and ``path``.

    Raises
    ------
    InvalidRefError
        ``ref`` is not a dataset or competition ref.

    Examples
    --------
    ::

        kagman.cached()                      # everything
        kagman.cached("owner/dataset")["size"].sum()   # bytes (.size is pandas' cell count)
        kagman.cached(kagman.CompetitionRef("titanic"))
    """
    return _frame(tuple(entries(ref)))


def _frame(rows: tuple[EntryInfo, ...]) -> pd.DataFrame:
    import pandas as pd

    df = pd.DataFrame([{name: getattr(row, name) for name in COLUMNS} for row in rows])
    if df.empty:
        df = pd.DataFrame(columns=list(COLUMNS))
    df["version"] = df["version"].astype("Int64")
    df["newer_version"] = df["newer_version"].astype("Int64")
    df["files"] = df["files"].astype("int64")
    df["size"] = df["size"].astype("int64")
    for name in ("pulled_at", "last_used"):
        df[name] = pd.to_datetime(df[name], utc=True)
    df["latest"] = df["latest"].astype("bool")
    df["links"] = [list(row.links) for row in rows]
    df["selections"] = [list(row.selections) for row in rows]
    df["path"] = [str(row.path) for row in rows]
    return df
