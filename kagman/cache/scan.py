"""Walk the cache: every entry, complete or not, and what interrupted pulls left behind.

The one place that knows which top-level folder holds what (:data:`COLLECTIONS`):
``datasets/<owner>/<slug>/`` and ``competitions/<slug>/``. Inside an item's folder (see
:mod:`kagman.cache.paths`)::

    versions/<N>/ + versions/<N>.manifest.json       a dataset's entry (whole, or a subset)
    data/<state>/ + data/<state>.manifest.json       a competition's entry (whole, or a subset)
    files/<N>/<name> + <name>.manifest.json           one file, of the layout before subsets
    .incomplete/v<N>.zip (+ .json), <state>.zip       a partial download
    .incomplete/v<N>.file-<hash> (+ .json)            a partial download of one file
    .incomplete/v<N>.extract-<pid>...                 an extraction in progress (or killed)
    .incomplete/removing-...                          an entry being removed

Nothing here reads a manifest or follows a symbolic link: a linked folder is
not walked into, so nothing outside the cache is ever listed (or removed).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kagman.cache.paths import MANIFEST_SUFFIX, cache_dir, manifest_path, require_cache_root
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref

__all__ = [
    "COLLECTIONS",
    "TRASH_PREFIX",
    "Collection",
    "Found",
    "entry_of",
    "item_of",
    "scan",
    "scan_item",
]

TRASH_PREFIX = "removing-"

What = Literal["entry", "download", "extraction", "removal", "stray"]


@dataclass(frozen=True)
class Collection:
    """A top-level folder of the cache, how deep its items' names go, and how entries are named.

    >>> dataset, competition = COLLECTIONS
    >>> dataset.entry_name("3"), competition.entry_name("746ac060d0f192ab")
    ((3, None), (None, '746ac060d0f192ab'))
    >>> dataset.leftover_name("v3.zip"), competition.leftover_name("746ac060d0f192ab.zip")
    ((3, None), (None, '746ac060d0f192ab'))
    """

    folder: str  # "datasets"
    kind: Literal["dataset", "competition"]  # what one item is
    depth: int  # folders per item name: 2 for owner/slug
    entries: str  # the folder of an item's entries: "versions", "data"
    leftover: re.Pattern[str]  # the name of a leftover in .incomplete/: its version or state

    def entry_name(self, name: str) -> tuple[int | None, str | None] | None:
        """``(version, data state)`` an entry folder's name gives, ``None`` if not an entry."""
        if not name.isascii() or not name.isalnum():
            return None
        if self.kind == "dataset":
            return (int(name), None) if name.isdigit() else None
        return None, name

    def leftover_name(self, name: str) -> tuple[int | None, str | None]:
        """``(version, data state)`` of a leftover in ``.incomplete/``, as far as its name says."""
        match = self.leftover.match(name)
        if match is None:
            return None, None
        return self.entry_name(match.group(1)) or (None, None)

    def ref(self, name: str) -> Ref:
        """The (unpinned) ref an item's name stands for."""
        if self.kind == "dataset":
            owner, slug = name.split("/")
            return DatasetRef(owner, slug)
        return CompetitionRef(name)


COLLECTIONS: tuple[Collection, ...] = (
    Collection("datasets", "dataset", 2, "versions", re.compile(r"v(\d+)\.")),
    Collection("competitions", "competition", 1, "data", re.compile(r"([0-9a-z]+)\.")),
)


@dataclass(frozen=True)
class Found:
    """One thing in the cache: an entry (with or without its manifest) or a leftover."""

    collection: Collection
    ref: str  # "owner/slug", or a competition's slug
    item: Path  # the item's folder (holds its lock)
    version: int | None  # a dataset's version
    data_state: str | None  # a competition's data state
    file: str | None  # for entries under files/<N>/: the file's name in the dataset
    path: Path
    what: What

    @property
    def manifest(self) -> Path | None:
        """The manifest that marks this entry complete (``None`` for leftovers)."""
        return manifest_path(self.path) if self.what == "entry" else None


def _subdirs(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _collection(ref: Ref) -> Collection:
    return COLLECTIONS[1] if isinstance(ref, CompetitionRef) else COLLECTIONS[0]


def scan(ref: Ref | None = None) -> Iterator[Found]:
    """Everything in the cache (or of one dataset or competition), sorted by path.

    Raises
    ------
    CacheAccessError
        The cache root is a file, not a folder (an empty listing would hide it).
    """
    root = require_cache_root()
    for coll in COLLECTIONS:
        if ref is not None and coll is not _collection(ref):
            continue
        base = root / coll.folder
        names: list[tuple[str, ...]] = [()]
        for _ in range(coll.depth):
            names = [(*n, sub) for n in names for sub in _subdirs(base.joinpath(*n))]
        for parts in names:
            name = "/".join(parts)
            if ref is None or ref.name == name:
                yield from scan_item(coll, name, base.joinpath(*parts))


def item_of(path: Path) -> tuple[Collection, str, Path] | None:
    """``(collection, ref, item folder)`` of a path inside the cache, or ``None``.

    >>> item_of(Path("/elsewhere/file")) is None
    True
    """
    root = cache_dir()
    for coll in COLLECTIONS:
        base = root / coll.folder
        try:
            parts = path.relative_to(base).parts
        except ValueError:
            continue
        if len(parts) > coll.depth:
            return coll, "/".join(parts[: coll.depth]), base.joinpath(*parts[: coll.depth])
    return None


def entry_of(path: Path) -> tuple[Ref, Path] | None:
    """The pinned ref (a dataset's version, a competition's data state) and the entry folder
    that ``path`` is or is inside of, or ``None`` (not in an entry of the cache).

    >>> entry_of(Path("/elsewhere/file")) is None
    True
    """
    found = item_of(path)
    if found is None:
        return None
    coll, name, item = found
    try:
        first = path.relative_to(item / coll.entries).parts[0]
    except (ValueError, IndexError):
        return None
    key = coll.entry_name(first)
    if key is None:
        return None
    ref = coll.ref(name)
    if isinstance(ref, DatasetRef):
        ref = ref.with_version(key[0])
    return ref, item / coll.entries / first


def scan_item(coll: Collection, ref: str, item: Path) -> Iterator[Found]:
    """The entries and leftovers in one item's folder (a dataset's or a competition's)."""
    folder = item / coll.entries
    names = _names(folder)
    for name in sorted(names, key=_version_key):
        stem = name.removesuffix(MANIFEST_SUFFIX)
        key = coll.entry_name(stem)
        if key is None:
            continue
        if stem == name:
            kind: What = "entry" if not _is_link(folder / name) else "stray"
            yield Found(coll, ref, item, *key, None, folder / name, kind)
        elif stem not in names:  # a manifest whose folder is gone
            yield Found(coll, ref, item, *key, None, folder / name, "stray")
    files = item / "files"
    for name in sorted(_subdirs(files), key=_version_key):
        if name.isdigit():
            yield from _single_files(coll, ref, item, int(name), files / name)
    incomplete = item / ".incomplete"
    leftovers = _names(incomplete)
    for name in sorted(leftovers):
        if name.endswith(".json") and name[:-5] in leftovers:
            continue  # the record of a partial download, listed with it
        what: What = "download"
        if name.startswith(TRASH_PREFIX):
            what = "removal"
        elif ".extract-" in name:
            what = "extraction"
        yield Found(coll, ref, item, *coll.leftover_name(name), None, incomplete / name, what)


def _single_files(
    coll: Collection, ref: str, item: Path, version: int, top: Path
) -> Iterator[Found]:
    """Entries under ``files/<N>/``: every file that is not a manifest."""
    stack = [top]
    found: list[Path] = []
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif not entry.name.endswith(MANIFEST_SUFFIX):
                        found.append(Path(entry.path))
                    elif not Path(entry.path[: -len(MANIFEST_SUFFIX)]).exists():
                        rel = Path(entry.path).relative_to(top).as_posix()
                        name = rel[: -len(MANIFEST_SUFFIX)]
                        yield Found(coll, ref, item, version, None, name, Path(entry.path), "stray")
        except OSError:
            continue
    for path in sorted(found):
        name = path.relative_to(top).as_posix()
        yield Found(coll, ref, item, version, None, name, path, "entry")


def _names(folder: Path) -> set[str]:
    try:
        return {path.name for path in folder.iterdir()}
    except OSError:
        return set()


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(path.lstat().st_mode)
    except OSError:
        return False


def _version_key(name: str) -> tuple[int, str]:
    stem = name.split(".", 1)[0]
    return (int(stem) if stem.isdigit() else -1, name)
