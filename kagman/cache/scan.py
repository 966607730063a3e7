"""Walk the cache: every entry, complete or not, and what interrupted pulls left behind.

The one place that knows which top-level folder holds what (:data:`COLLECTIONS`):
``datasets/<owner>/<slug>/`` today; competitions (``competitions/<slug>/``) are
one more :class:`Collection`. Inside an item's folder (see :mod:`kagman.cache.paths`)::

    versions/<N>/ + versions/<N>.manifest.json       an entry (a whole version, or a subset)
    files/<N>/<name> + <name>.manifest.json           an entry (one file, --file)
    .incomplete/v<N>.zip (+ .json)                    a partial download
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

from kagman.cache.paths import MANIFEST_SUFFIX, cache_dir, manifest_path

__all__ = [
    "COLLECTIONS",
    "TRASH_PREFIX",
    "Collection",
    "Found",
    "item_of",
    "scan",
    "scan_item",
]

TRASH_PREFIX = "removing-"
_LEFTOVER_VERSION = re.compile(r"v(\d+)\.")

What = Literal["entry", "download", "extraction", "removal", "stray"]


@dataclass(frozen=True)
class Collection:
    """A top-level folder of the cache and how deep its items' names go."""

    folder: str  # "datasets"
    kind: str  # "dataset": what one item is
    depth: int  # folders per item name: 2 for owner/slug


COLLECTIONS: tuple[Collection, ...] = (Collection("datasets", "dataset", 2),)


@dataclass(frozen=True)
class Found:
    """One thing in the cache: an entry (with or without its manifest) or a leftover."""

    collection: Collection
    ref: str  # "owner/slug"
    item: Path  # the item's folder (holds its lock)
    version: int | None
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


def scan(collection: str | None = None, ref: str | None = None) -> Iterator[Found]:
    """Everything in the cache (or in one collection, or of one ``ref``), sorted by path."""
    root = cache_dir()
    for coll in COLLECTIONS:
        if collection not in (None, coll.folder):
            continue
        base = root / coll.folder
        names: list[tuple[str, ...]] = [()]
        for _ in range(coll.depth):
            names = [(*n, sub) for n in names for sub in _subdirs(base.joinpath(*n))]
        for parts in names:
            name = "/".join(parts)
            if ref is None or ref == name:
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


def scan_item(coll: Collection, ref: str, item: Path) -> Iterator[Found]:
    """The entries and leftovers in one item's folder (a dataset's)."""
    versions = item / "versions"
    names = _names(versions)
    for name in sorted(names, key=_version_key):
        if name.isdigit():
            kind: What = "entry" if not _is_link(versions / name) else "stray"
            yield Found(coll, ref, item, int(name), None, versions / name, kind)
        elif name.endswith(MANIFEST_SUFFIX):
            stem = name[: -len(MANIFEST_SUFFIX)]
            if stem.isdigit() and stem not in names:  # a manifest whose folder is gone
                yield Found(coll, ref, item, int(stem), None, versions / name, "stray")
    files = item / "files"
    for name in sorted(_subdirs(files), key=_version_key):
        if name.isdigit():
            yield from _single_files(coll, ref, item, int(name), files / name)
    incomplete = item / ".incomplete"
    leftovers = _names(incomplete)
    for name in sorted(leftovers):
        if name.endswith(".json") and name[:-5] in leftovers:
            continue  # the record of a partial download, listed with it
        match = _LEFTOVER_VERSION.match(name)
        version = int(match.group(1)) if match else None
        what: What = "download"
        if name.startswith(TRASH_PREFIX):
            what = "removal"
        elif ".extract-" in name:
            what = "extraction"
        yield Found(coll, ref, item, version, None, incomplete / name, what)


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
                        yield Found(coll, ref, item, version, name, Path(entry.path), "stray")
        except OSError:
            continue
    for path in sorted(found):
        name = path.relative_to(top).as_posix()
        yield Found(coll, ref, item, version, name, path, "entry")


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
