"""Complete cache entries: is one there, the newest cached version, and every entry.

An entry folder without its manifest is debris of a killed pull: it is never
returned, and the next pull removes it. ``ls``, ``rm``, ``prune`` and ``verify``
work from :func:`iter_entries` and the manifests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kagman.cache.paths import (
    MANIFEST_SUFFIX,
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
    "cached_path",
    "discard_incomplete_entry",
    "is_complete",
    "iter_entries",
    "latest_cached_version",
]


def is_complete(entry: Path) -> bool:
    """An entry is complete when it and its manifest exist (the manifest is written last)."""
    return manifest_path(entry).is_file() and entry.exists()


def cached_path(ref: DatasetRef, name: str | None) -> Path | None:
    """The complete cached path for a pinned ref (and file), or ``None``; no network.

    A single file is served from its own entry, else from a complete copy of the
    whole version that holds it.
    """
    entry = entry_path(ref)
    if name is None:
        return entry if is_complete(entry) else None
    single = file_entry_path(ref, name)
    if is_complete(single):
        return single
    inside = entry / name
    if is_complete(entry) and inside.is_file():
        return inside
    return None


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
    """Every complete entry in the cache, sorted by manifest path."""
    root = cache_dir() / "datasets"
    if not root.is_dir():
        return
    for manifest in sorted(root.glob(f"*/*/*/**/*{MANIFEST_SUFFIX}")):
        entry = manifest.with_name(manifest.name[: -len(MANIFEST_SUFFIX)])
        owner, slug, kind, version, *_ = manifest.relative_to(root).parts
        if kind not in ("versions", "files") or not entry.exists():
            continue
        version_text = version.removesuffix(MANIFEST_SUFFIX)
        if not version_text.isdigit():
            continue
        ref = DatasetRef(owner, slug, int(version_text))
        yield CacheEntry(ref, entry, "dataset" if kind == "versions" else "file", manifest)
