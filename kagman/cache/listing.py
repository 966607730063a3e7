"""What the cache holds: one row per entry (and per leftover), as records.

``kagman ls``, ``rm``, ``prune``, ``verify`` and :mod:`kagman.cache.info` build on these
rows. Reading them changes nothing: no lock, no network, no "last used" touch. Datasets
and competitions are listed alike: a dataset's entries by version, a competition's by
data state (``latest`` marks the newest complete one). Sizes are sizes on disk (allocated
blocks, like ``du``), found by walking each entry; the rest comes from the manifests
(:func:`~kagman.cache.entries.manifest_holding` says what each entry holds).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kagman.cache.entries import EntryState, latest_state, manifest_holding
from kagman.cache.lock import is_locked
from kagman.cache.scan import Found, scan
from kagman.cache.selection import Selection
from kagman.cache.sizes import allocated, disk_usage
from kagman.fs import human_size
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref, parse_target

__all__ = ["COLUMNS", "EntryInfo", "entries", "parse_cached_ref"]

COLUMNS = (
    "kind",
    "ref",
    "version",
    "data_state",
    "file",
    "selections",
    "state",
    "files",
    "size",
    "pulled_at",
    "last_used",
    "newer_version",
    "latest",
    "links",
    "path",
)

_NOTES = {
    "download": "partial download",
    "extraction": "extraction left by a killed pull",
    "removal": "removal in progress or interrupted",
    "stray": "its data is gone or is a link: not used, pruned",
    "entry": "no manifest: not used, pruned",
    "running": "a pull is running",
}


@dataclass(frozen=True)
class EntryInfo:
    """One row of ``kagman ls``: a cached entry, or something an interrupted pull left.

    Attributes
    ----------
    kind
        What the ref names: ``"dataset"`` or ``"competition"``.
    ref
        ``owner/slug``, or the competition's name.
    version
        The dataset version, when known.
    data_state
        A competition's data state (named from Kaggle's download redirect), when known.
    file
        For an entry holding one file of a version (or data state): the file's name.
    selections
        For a subset: the selections it answers in full, as short text (``train/``,
        ``t.csv``, ``--include '*.csv'``).
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
    latest
        The competition's newest complete data state (what ``kagman path -c`` returns).
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
    data_state: str | None
    file: str | None
    selections: tuple[str, ...]
    state: EntryState
    files: int
    size: int
    pulled_at: datetime | None
    last_used: datetime | None
    newer_version: int | None
    latest: bool
    links: tuple[str, ...]
    path: Path
    note: str = ""
    item: Path = field(default=Path(), repr=False)  # the item's folder (holds its lock)
    manifest: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    single_file: bool = field(default=False, repr=False)  # files/<N>/<name>: path is the file
    #: An incomplete row of a dataset (competition) whose lock a running pull holds: that
    #: pull's own work in progress, not a leftover (``prune`` leaves it, ``verify`` says so).
    in_progress: bool = False

    @property
    def label(self) -> str:
        """How messages name it: ``owner/slug/versions/3``, ``titanic (data 746ac060d0f192ab)``.

        >>> row = EntryInfo("competition", "titanic", None, "746ac", None, (), "complete", 0, 0,
        ...                 None, None, None, True, (), Path("."))
        >>> row.label
        'titanic (data 746ac)'
        """
        if self.kind == "competition":
            return self.ref + (f" (data {self.data_state})" if self.data_state else "")
        return self.ref if self.version is None else f"{self.ref}/versions/{self.version}"

    def to_ref(self) -> Ref:
        """The dataset version (pinned when known) or competition this row belongs to."""
        if self.kind == "competition":
            return CompetitionRef(self.ref)
        owner, slug = self.ref.split("/")
        return DatasetRef(owner, slug, self.version)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 UTC strings, the path as a string."""
        row: dict[str, Any] = {name: getattr(self, name) for name in COLUMNS}
        row["links"] = list(self.links)
        row["selections"] = list(self.selections)
        row["path"] = str(self.path)
        for name in ("pulled_at", "last_used"):
            value = row[name]
            row[name] = value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
        row["note"] = self.note
        return row


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _read(manifest: Path) -> tuple[dict[str, Any] | None, float | None]:
    try:
        mtime = manifest.stat().st_mtime
        data = json.loads(manifest.read_bytes())
    except (OSError, ValueError):
        return None, None
    return (data, mtime) if isinstance(data, dict) else (None, mtime)


def _row(found: Found, measure: bool, latest: str | None, locked: dict[Path, bool]) -> EntryInfo:
    """``locked`` caches, per item folder, whether a running pull holds its lock."""
    manifest, used = _read(found.manifest) if found.manifest is not None else (None, None)
    held = manifest_holding(manifest or {}, found.path)
    running = False
    if held.state == "incomplete":
        if found.item not in locked:
            locked[found.item] = is_locked(found.item)
        running = locked[found.item]
    files, size = disk_usage(found.path) if measure else (0, 0)
    pulled = links = None
    if manifest is not None:
        with contextlib.suppress(ValueError, TypeError):
            pulled = datetime.strptime(str(manifest.get("downloaded_at")), "%Y-%m-%dT%H:%M:%SZ")
            pulled = pulled.replace(tzinfo=timezone.utc)
        links = tuple(str(link) for link in manifest.get("links") or ())
        size += allocated(found.manifest)
    if used is None:
        with contextlib.suppress(OSError):
            used = found.path.lstat().st_mtime
    newer = manifest.get("newer_version") if manifest else None
    one = next(iter(held.files)) if held.state == "subset" and len(held.files) == 1 else None
    return EntryInfo(
        kind=found.collection.kind,
        ref=found.ref,
        version=found.version,
        data_state=found.data_state,
        file=found.file or one,
        selections=_selections(held.selections),
        state=held.state,
        files=files,
        size=size,
        pulled_at=pulled,
        last_used=_utc(used) if used is not None else None,
        newer_version=newer if isinstance(newer, int) else None,
        latest=held.state == "complete"
        and found.data_state is not None
        and found.data_state == latest,
        links=links or (),
        path=found.path,
        note="" if held.state != "incomplete" else _NOTES["running"] if running else _note(found),
        item=found.item,
        manifest=manifest,
        single_file=found.file is not None,
        in_progress=running,
    )


def _note(found: Found) -> str:
    """What a leftover is; for a partial download, how far it got, or that it is complete and
    only waits to be extracted (a pull stopped while extracting keeps the download)."""
    if found.what != "download":
        return _NOTES[found.what]
    # The record beside a partial download (kagman.remote.partial's PartialInfo, as JSON):
    # read here, tolerantly, since the cache layer does not import the transfer code.
    try:
        have = found.path.stat().st_size
        record = json.loads(found.path.with_name(found.path.name + ".json").read_bytes())
        total, verified, md5 = record.get("total"), record.get("verified"), record.get("md5")
        parts = record.get("parts")
        if parts is not None:  # a parallel download's file has its full size from the start
            have = sum(int(done) for _start, _end, done in parts)
    except (OSError, ValueError, TypeError, AttributeError):
        return _NOTES["download"]
    if not isinstance(total, int) or total <= 0:
        return _NOTES["download"]
    if verified is True or (md5 is None and have >= total):
        what = "not extracted" if found.path.suffix == ".zip" else "not in place yet"
        return f"download complete, {what}: the next pull uses it"
    return f"{_NOTES['download']}, {min(99, 100 * have // total)}% of {human_size(total)}"


def _selections(keys: frozenset[str]) -> tuple[str, ...]:
    """A subset's recorded selections as short text (``train/``, ``--include '*.csv'``)."""
    out = []
    for key in sorted(keys):
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            out.append(Selection.from_key(key).short)
    return tuple(out)


def _with_newer(rows: list[EntryInfo]) -> list[EntryInfo]:
    """Fill ``newer_version`` from newer complete versions in the cache, too."""
    newest: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.state != "incomplete" and row.version is not None:
            key = (row.kind, row.ref)
            newest[key] = max(newest.get(key, 0), row.version)
    out = []
    for row in rows:
        known = max(row.newer_version or 0, newest.get((row.kind, row.ref), 0))
        if row.version is None or row.state == "incomplete" or known <= row.version:
            known = 0
        out.append(replace(row, newer_version=known or None))
    return out


def parse_cached_ref(ref: str | Ref) -> Ref:
    """A ref of the cache commands: ``owner/slug[/versions/N]``, a dataset or competition URL,
    or a :class:`DatasetRef` / :class:`CompetitionRef` (a bare name is never a competition:
    the CLI's ``-c`` makes one).

    Raises
    ------
    InvalidRefError
        Anything else.
    """
    if isinstance(ref, (DatasetRef, CompetitionRef)):
        return ref
    return parse_target(str(ref)).ref


def entries(ref: str | Ref | None = None, *, measure: bool = True) -> list[EntryInfo]:
    """Every entry and leftover (of one dataset, one version of it, or one competition),
    sorted by path.

    ``measure=False`` skips the walk that counts files and bytes on disk (``files``
    and ``size`` are then 0), for callers that read the manifests only.

    Raises
    ------
    InvalidRefError
        ``ref`` is not a dataset or competition ref (see :func:`parse_cached_ref`).
    """
    parsed = parse_cached_ref(ref) if ref is not None else None
    version = parsed.version if isinstance(parsed, DatasetRef) else None
    if isinstance(parsed, DatasetRef):
        parsed = parsed.with_version(None)
    latest: dict[str, str | None] = {}
    locked: dict[Path, bool] = {}  # asked only of items with something incomplete
    rows = []
    for found in scan(parsed):
        if found.collection.kind == "competition" and found.ref not in latest:
            latest[found.ref] = latest_state(CompetitionRef(found.ref))
        rows.append(_row(found, measure, latest.get(found.ref), locked))
    rows = _with_newer(rows)
    if version is not None:
        rows = [row for row in rows if row.version == version]
    return rows
