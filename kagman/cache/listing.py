"""What the cache holds: one row per entry (and per leftover), as records, a table or a DataFrame.

``kagman ls`` and :func:`kagman.cached` / :func:`kagman.cache_info` read the
cache without changing it: no lock, no network, no "last used" touch. Sizes
are sizes on disk (allocated blocks, like ``du``), found by walking each
entry; the rest comes from the manifests (:func:`~kagman.cache.entries.entry_state`
says what each entry holds).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import shutil
import stat
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kagman.cache.entries import EntryState, entry_state
from kagman.cache.paths import cache_dir
from kagman.cache.scan import Found, scan
from kagman.fs import human_size
from kagman.remote.refs import DatasetRef, parse_ref

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMNS",
    "CacheInfo",
    "EntryInfo",
    "cache_info",
    "cached",
    "disk_usage",
    "entries",
    "held",
]

COLUMNS = (
    "kind",
    "ref",
    "version",
    "file",
    "state",
    "files",
    "size",
    "pulled_at",
    "last_used",
    "newer_version",
    "links",
    "path",
)

_NOTES = {
    "download": "partial download",
    "extraction": "extraction left by a killed pull",
    "removal": "removal in progress or interrupted",
    "stray": "its data is gone or is a link: not used, pruned",
    "entry": "no manifest: not used, pruned",
}


@dataclass(frozen=True)
class EntryInfo:
    """One row of ``kagman ls``: a cached entry, or something an interrupted pull left.

    Attributes
    ----------
    kind
        What the ref names: ``"dataset"``.
    ref
        ``owner/slug``.
    version
        The dataset version, when known.
    file
        For an entry holding one file of a version: the file's name in the dataset.
    state
        ``"complete"`` (a whole version), ``"subset"`` (part of one) or
        ``"incomplete"`` (no manifest: a leftover of an interrupted pull).
    files, size
        Regular files, and bytes on disk (allocated blocks).
    pulled_at, last_used
        When the pull finished (UTC) and when a pull, ``kagman path`` or the
        Python API last served it (for leftovers: last modified).
    newer_version
        A version newer than this one that a later pull saw, or that is cached.
    links
        Links made with ``pull --link`` to this entry (absolute paths).
    path
        Where it is.
    note
        For leftovers, what they are.
    """

    kind: str
    ref: str
    version: int | None
    file: str | None
    state: EntryState
    files: int
    size: int
    pulled_at: datetime | None
    last_used: datetime | None
    newer_version: int | None
    links: tuple[str, ...]
    path: Path
    note: str = ""
    item: Path = field(default=Path(), repr=False)  # the item's folder (holds its lock)
    manifest: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 UTC strings, the path as a string."""
        row: dict[str, Any] = {name: getattr(self, name) for name in COLUMNS}
        row["links"] = list(self.links)
        row["path"] = str(self.path)
        for name in ("pulled_at", "last_used"):
            value = row[name]
            row[name] = value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
        row["note"] = self.note
        return row


def disk_usage(path: Path) -> tuple[int, int]:
    """``(regular files, bytes on disk)`` under ``path``; never follows a symlink."""
    try:
        st = path.lstat()
    except OSError:
        return 0, 0
    if not stat.S_ISDIR(st.st_mode):
        return int(stat.S_ISREG(st.st_mode)), _allocated(st)
    files, size = 0, _allocated(st)
    stack = [os.fspath(path)]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    try:
                        est = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    size += _allocated(est)
                    if stat.S_ISDIR(est.st_mode):
                        stack.append(entry.path)
                    elif stat.S_ISREG(est.st_mode):
                        files += 1
        except OSError:
            continue
    return files, size


def held(entries: int, datasets: int) -> str:
    """``"3 entries of 2 datasets"``, singular where it should be.

    >>> held(1, 1)
    '1 entry of 1 dataset'
    """
    return (
        f"{entries} entr{'y' if entries == 1 else 'ies'} of "
        f"{datasets} dataset{'' if datasets == 1 else 's'}"
    )


def _allocated(st: os.stat_result) -> int:
    blocks = getattr(st, "st_blocks", None)
    return int(blocks) * 512 if blocks is not None else int(st.st_size)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _read(manifest: Path) -> tuple[dict[str, Any] | None, float | None]:
    try:
        mtime = manifest.stat().st_mtime
        data = json.loads(manifest.read_bytes())
    except (OSError, ValueError):
        return None, None
    return (data, mtime) if isinstance(data, dict) else (None, mtime)


def _row(found: Found, measure: bool) -> EntryInfo:
    manifest, used = _read(found.manifest) if found.manifest is not None else (None, None)
    state = entry_state(manifest)
    files, size = disk_usage(found.path) if measure else (0, 0)
    pulled = links = None
    if manifest is not None:
        with contextlib.suppress(ValueError, TypeError):
            pulled = datetime.strptime(str(manifest.get("downloaded_at")), "%Y-%m-%dT%H:%M:%SZ")
            pulled = pulled.replace(tzinfo=timezone.utc)
        links = tuple(str(link) for link in manifest.get("links") or ())
        size += _allocated_or_zero(found.manifest)
    if used is None:
        with contextlib.suppress(OSError):
            used = found.path.lstat().st_mtime
    newer = manifest.get("newer_version") if manifest else None
    return EntryInfo(
        kind=found.collection.kind,
        ref=found.ref,
        version=found.version,
        file=found.file,
        state=state,
        files=files,
        size=size,
        pulled_at=pulled,
        last_used=_utc(used) if used is not None else None,
        newer_version=newer if isinstance(newer, int) else None,
        links=links or (),
        path=found.path,
        note="" if state != "incomplete" else _NOTES[found.what],
        item=found.item,
        manifest=manifest,
    )


def _allocated_or_zero(path: Path | None) -> int:
    try:
        return _allocated(path.lstat()) if path is not None else 0
    except OSError:
        return 0


def _with_newer(rows: list[EntryInfo]) -> list[EntryInfo]:
    """Fill ``newer_version`` from newer complete versions in the cache, too."""
    newest: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.state == "complete" and row.version is not None:
            key = (row.kind, row.ref)
            newest[key] = max(newest.get(key, 0), row.version)
    out = []
    for row in rows:
        known = max(row.newer_version or 0, newest.get((row.kind, row.ref), 0))
        if row.version is None or row.state == "incomplete" or known <= row.version:
            known = 0
        out.append(replace(row, newer_version=known or None))
    return out


def _filter(ref: str | DatasetRef | None) -> tuple[str | None, int | None]:
    if ref is None:
        return None, None
    parsed = ref if isinstance(ref, DatasetRef) else parse_ref(str(ref))
    return parsed.name, parsed.version


def entries(ref: str | DatasetRef | None = None, *, measure: bool = True) -> list[EntryInfo]:
    """Every entry and leftover (of one dataset, or one version of it), sorted by path.

    ``measure=False`` skips the walk that counts files and bytes on disk (``files``
    and ``size`` are then 0), for callers that read the manifests only.

    Raises
    ------
    InvalidRefError
        ``ref`` is not ``owner/slug[/versions/N]``.
    """
    name, version = _filter(ref)
    rows = [_row(found, measure) for found in scan(ref=name)]
    rows = _with_newer(rows)
    if version is not None:
        rows = [row for row in rows if row.version == version]
    return rows


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
        """Leftovers of interrupted pulls (``kagman prune`` removes them)."""
        return tuple(row for row in self.entries if row.state == "incomplete")

    @property
    def df(self) -> pd.DataFrame:
        """One row per entry: the columns of ``kagman ls`` (see :func:`cached`)."""
        return _frame(self.entries)

    def summary(self) -> str:
        """One line: entries, datasets, size, free space, leftovers."""
        done = [row for row in self.entries if row.state != "incomplete"]
        refs = {(row.kind, row.ref) for row in done}
        text = f"{held(len(done), len(refs))}, {human_size(self.size)} on disk in {self.root}"
        if self.free is not None:
            text += f" ({human_size(self.free)} free)"
        if self.incomplete:
            text += f"; {len(self.incomplete)} left by interrupted pulls (kagman prune)"
        return text

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        table = self.df.to_html(index=False) if self.entries else "<p>(empty)</p>"
        return f"<p>{html.escape(self.summary())}</p>{table}"


def cache_info(ref: str | DatasetRef | None = None) -> CacheInfo:
    """The cache's entries, total size and free space; reads only, no network.

    Parameters
    ----------
    ref
        ``owner/slug`` (every version) or ``owner/slug/versions/N``; ``None`` for all.

    Returns
    -------
    CacheInfo
        ``.entries`` (records), ``.df`` (a DataFrame), ``.size`` and ``.free``
        in bytes; shows as a table in a notebook.

    Raises
    ------
    InvalidRefError
        ``ref`` is not a dataset ref.
    """
    root = cache_dir()
    probe = root
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    free = None
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(probe).free
    return CacheInfo(root, tuple(entries(ref)), free)


def cached(ref: str | DatasetRef | None = None) -> pd.DataFrame:
    """What the cache holds, one row per entry (``kagman ls``); reads only, no network.

    Parameters
    ----------
    ref
        ``owner/slug`` (every version) or ``owner/slug/versions/N``; ``None`` for all.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``ref``, ``version`` (Int64), ``file`` (for an entry
        holding one file), ``state`` (``complete``, ``subset`` or ``incomplete``),
        ``files``, ``size`` (bytes on disk), ``pulled_at`` and ``last_used``
        (UTC timestamps), ``newer_version`` (Int64: a newer version a pull saw,
        or that is cached), ``links`` (``pull --link`` links, a list) and ``path``.

    Raises
    ------
    InvalidRefError
        ``ref`` is not a dataset ref.

    Examples
    --------
    ::

        kagman.cached()                      # everything
        kagman.cached("owner/dataset").size.sum()
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
    df["links"] = [list(row.links) for row in rows]
    df["path"] = [str(row.path) for row in rows]
    return df
