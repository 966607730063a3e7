"""Complete cache entries: is one there, the newest cached version, and every entry.

An entry folder without its manifest is debris of a killed pull: it is never
returned, and the next pull removes it. What an entry holds is read from its
manifest's ``kind`` by :func:`entry_state`, the one place that maps kinds to
the states ``ls``, ``rm``, ``prune`` and ``verify`` show.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kagman.cache.paths import (
    cache_dir,
    dataset_dir,
    entry_path,
    file_entry_path,
    manifest_path,
)
from kagman.errors import NotCachedError
from kagman.fs import remove_tree
from kagman.remote.refs import DatasetRef

__all__ = [
    "CacheEntry",
    "EntryState",
    "cache_hit",
    "cached_path",
    "discard_incomplete_entry",
    "entry_state",
    "is_complete",
    "iter_entries",
    "latest_cached_version",
    "note_newer_version",
    "touch",
]

EntryState = Literal["complete", "subset", "incomplete"]


def entry_state(manifest: Mapping[str, Any] | None) -> EntryState:
    """What an entry holds, from its manifest: the whole version, part of it, or unknown.

    ``"complete"``: a whole version (kind ``"dataset"``). ``"subset"``: part of a
    version (kind ``"file"`` today: one file pulled with ``--file``; ``"subset"``:
    files, folders or globs). ``"incomplete"``: no (readable) manifest, so
    nothing in it can be trusted.

    >>> entry_state({"kind": "dataset"}), entry_state({"kind": "file"}), entry_state(None)
    ('complete', 'subset', 'incomplete')
    """
    if manifest is None:
        return "incomplete"
    kind = manifest.get("kind")
    if kind == "dataset":
        return "complete"
    if kind in ("file", "subset"):
        return "subset"
    return "incomplete"


def is_complete(entry: Path) -> bool:
    """An entry is complete when it and its manifest exist (the manifest is written last)."""
    return manifest_path(entry).is_file() and entry.exists()


def touch(manifest: Path) -> None:
    """Record "now" as the entry's last use: one ``utime`` on its manifest, no lock.

    The manifest's modification time is the entry's "last used" time (rewrites
    keep it: :func:`kagman.cache.manifest.update_manifest`). Silently does
    nothing when the cache is read-only for this user (a shared cache, a
    read-only mount) or the manifest just went away.
    """
    with contextlib.suppress(OSError):
        os.utime(manifest)


def _locate(ref: DatasetRef, name: str | None) -> tuple[Path, Path] | None:
    """``(path served, entry holding it)`` for a pinned ref (and file), or ``None``."""
    entry = entry_path(ref)
    if name is None:
        return (entry, entry) if is_complete(entry) else None
    single = file_entry_path(ref, name)
    if is_complete(single):
        return single, single
    inside = entry / name
    if is_complete(entry) and inside.is_file():
        return inside, entry
    return None


def cached_path(ref: DatasetRef, name: str | None) -> Path | None:
    """The complete cached path for a pinned ref (and file), or ``None``; no network.

    A single file is served from its own entry, else from a complete copy of the
    whole version that holds it.
    """
    found = _locate(ref, name)
    return None if found is None else found[0]


def cache_hit(ref: DatasetRef, name: str | None) -> Path | None:
    """:func:`cached_path`, recording the use: one ``utime`` on the entry's manifest.

    No lock and no rewrite, so a hit stays a few microseconds; skipped silently
    when this user may not write the cache.
    """
    found = _locate(ref, name)
    if found is None:
        return None
    touch(manifest_path(found[1]))
    return found[0]


def latest_cached_version(ref: DatasetRef) -> DatasetRef:
    """Newest complete cached version of ``ref``'s dataset (for offline use).

    Raises
    ------
    NotCachedError
        When no complete version is cached.
    """
    versions_dir = dataset_dir(ref) / "versions"
    best: int | None = None
    if versions_dir.is_dir():
        for child in versions_dir.iterdir():
            if child.name.isdigit() and is_complete(child):
                best = max(best or 0, int(child.name))
    if best is None:
        msg = (
            f"{ref.name} is not in the cache ({cache_dir()}), and offline mode forbids "
            "downloading it. Retry without --offline (and unset KAGMAN_OFFLINE) to download it."
        )
        raise NotCachedError(msg, ref=str(ref))
    return ref.with_version(best)


def note_newer_version(ref: DatasetRef) -> None:
    """Note in older cached entries' manifests that version ``ref.version`` exists.

    Called by a pull that learned the current version; ``kagman ls`` shows it
    as "newer version known". The caller holds the dataset's lock. Manifests
    keep their modification time ("last used"); unwritable ones are skipped.
    """
    from kagman.cache.manifest import update_manifest
    from kagman.cache.scan import scan

    newest = ref.version or 0

    def change(manifest: dict[str, Any]) -> bool:
        if int(manifest.get("newer_version") or 0) >= newest:
            return False
        manifest["newer_version"] = newest
        return True

    for found in scan(ref=ref.name):
        if found.what == "entry" and found.version is not None and found.version < newest:
            with contextlib.suppress(OSError, ValueError):
                update_manifest(found.path, change)


def discard_incomplete_entry(entry: Path) -> None:
    """Remove an entry folder that has no manifest (left by a killed pull)."""
    if entry.exists() and not manifest_path(entry).is_file():
        remove_tree(entry)


@dataclass(frozen=True)
class CacheEntry:
    """One complete cached dataset version or single file."""

    ref: DatasetRef
    path: Path
    kind: str  # "dataset" or "file"
    manifest: Path


def iter_entries() -> Iterator[CacheEntry]:
    """Every complete entry in the cache (whole versions and single files), sorted by path.

    Built on :func:`kagman.cache.scan.scan`, so a data file that happens to be
    named ``*.manifest.json`` inside a version is never taken for an entry.
    """
    from kagman.cache.scan import scan

    for found in scan():
        manifest = found.manifest
        if found.what != "entry" or manifest is None or found.version is None:
            continue
        if not (manifest.is_file() and found.path.exists()):
            continue
        owner, slug = found.ref.split("/")
        kind = "dataset" if found.file is None else "file"
        yield CacheEntry(DatasetRef(owner, slug, found.version), found.path, kind, manifest)
