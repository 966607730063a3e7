"""Cache entries and their state: complete, subset or incomplete, the same rule everywhere.

An entry is the folder of one dataset version (or one state of a competition's data) with
its manifest beside it. :func:`entry_state` is the one rule that says what an entry is:

- ``complete``: the manifest's kind is ``dataset`` (or ``competition``): every file is there;
- ``subset``: the manifest's kind is ``subset`` and its ``files`` list names exactly the files
  the entry holds (single files pulled before subsets existed, ``files/<N>/<name>`` of kind
  ``file``, are read as subsets of one file);
- ``incomplete``: no manifest (debris of a killed pull): never used; the next pull removes it.

Pulls, ``--offline``, the offline fallback, ``ls``, ``rm``, ``prune`` and ``verify`` all ask
this module, never the manifest's fields.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from kagman.cache.manifest import read_manifest
from kagman.cache.paths import (
    cache_dir,
    competition_entry_path,
    dataset_dir,
    entry_path,
    file_entry_path,
    latest_state_path,
    manifest_path,
    ref_dir,
)
from kagman.cache.selection import Selection, nothing_matches
from kagman.cache.shared import write_shared
from kagman.errors import NotCachedError
from kagman.fs import remove_tree
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref

__all__ = [
    "EntryState",
    "Hit",
    "Holding",
    "answer",
    "cache_hit",
    "cached_versions",
    "discard_incomplete_entry",
    "entry_state",
    "holding",
    "is_complete",
    "latest_cached_version",
    "latest_state",
    "manifest_holding",
    "newest_answer",
    "note_newer_version",
    "pinned_answer",
    "set_latest_state",
    "state_of",
    "target",
    "touch",
    "touch_hit",
    "version_entries",
]

EntryState = Literal["complete", "subset", "incomplete"]
_COMPLETE_KINDS = frozenset({"dataset", "competition"})
_SUBSET_KINDS = frozenset({"subset", "file"})
# build_manifest writes compact JSON with "kind" second: the head of the file names it.
_KIND_RE = re.compile(rb'"kind":\s*"([a-z]+)"')


def entry_state(manifest: Mapping[str, Any] | None) -> EntryState:
    """The state of an entry, from its manifest (``None``: no manifest).

    >>> entry_state({"kind": "dataset"}), entry_state({"kind": "subset"}), entry_state(None)
    ('complete', 'subset', 'incomplete')
    """
    kind = manifest.get("kind") if manifest is not None else None
    if kind in _COMPLETE_KINDS:
        return "complete"
    if kind in _SUBSET_KINDS:
        return "subset"
    return "incomplete"


def state_of(entry: Path) -> EntryState:
    """:func:`entry_state` of the entry at ``entry``, reading only the head of its manifest.

    A cache hit on a 30,000-file dataset must not parse a megabyte of JSON: our manifests
    name their kind in the first bytes; anything else is parsed whole.
    """
    try:
        with manifest_path(entry).open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return "incomplete"
    if not entry.exists():
        return "incomplete"
    found = _KIND_RE.search(head)
    if found:
        return entry_state({"kind": found.group(1).decode()})
    try:
        return entry_state(read_manifest(entry))
    except (OSError, ValueError):
        return "incomplete"


def is_complete(entry: Path) -> bool:
    """Whether ``entry`` holds the whole version (or state)."""
    return state_of(entry) == "complete"


@dataclass(frozen=True)
class Holding:
    """What an entry holds: its state, and for a subset its files and answered selections."""

    state: EntryState
    files: Mapping[str, int]  # name -> size; empty for complete entries (not read)
    selections: frozenset[str]  # keys of the selections it answers in full

    def has(self, entry: Path, name: str) -> bool:
        """Whether the entry holds the file ``name``."""
        if self.state == "complete":
            return (entry / name).is_file()
        return name in self.files


_NOTHING = Holding("incomplete", {}, frozenset())


def holding(entry: Path) -> Holding:
    """Read what ``entry`` holds (a subset's manifest is read whole, a complete one never)."""
    state = state_of(entry)
    if state != "subset":
        return Holding(state, {}, frozenset()) if state == "complete" else _NOTHING
    try:
        manifest = read_manifest(entry)
    except (OSError, ValueError):
        return _NOTHING
    return manifest_holding(manifest, entry)


def manifest_holding(manifest: Mapping[str, Any], entry: Path) -> Holding:
    """What an entry holds, from its manifest already read (``kagman ls`` reads them all)."""
    state = entry_state(manifest)
    if state != "subset":
        return Holding(state, {}, frozenset()) if state == "complete" else _NOTHING
    if manifest.get("kind") == "file":  # a single file of the old layout
        name = str(manifest.get("file") or entry.name)
        return Holding("subset", {name: int(manifest.get("total_bytes") or 0)}, frozenset())
    files = {str(item[0]): int(item[1]) for item in manifest.get("files") or ()}
    return Holding("subset", files, frozenset(manifest.get("selections") or ()))


def target(entry: Path, selection: Selection) -> Path:
    """The path a pull of ``selection`` answers with: the file or folder, else the entry."""
    return entry / selection.name if selection.name is not None else entry


def answer(entry: Path, selection: Selection, held: Holding | None = None) -> Path | None:
    """The path answering ``selection`` from ``entry`` in full, or ``None``; no network.

    A complete entry answers the whole, any file it has and any folder; a subset answers a
    file it holds and a selection it recorded (``--file``, ``--include``/``--exclude``).

    Raises
    ------
    EmptySelectionError
        ``entry`` is complete and the patterns take none of its files: the same answer
        the listing from Kaggle gives, so it does not depend on what is cached.
    """
    held = held if held is not None else holding(entry)
    if held.state == "incomplete":
        return None
    if held.state == "complete" and selection.patterns:
        _require_some(entry, selection)
    name = selection.name
    if selection.maybe_single_file and name is not None and held.has(entry, name):
        return entry / name
    if held.state == "complete" and (name is None or (entry / name).is_dir()):
        return target(entry, selection)
    if (
        held.state == "complete"
        and name is not None
        and (entry / name).is_file()
        and selection.select([name], folder=False)
    ):
        return target(entry, selection)  # --file NAME (a file it has) that the patterns take
    for folder in (True, False):
        if selection.key(folder=folder) in held.selections:
            return target(entry, selection)
    return None


def _require_some(entry: Path, selection: Selection) -> None:
    """Raise the "nothing matches" a fresh cache gives when ``selection`` (with patterns)
    takes none of the files of the complete entry ``entry`` (its manifest lists them)."""
    try:
        manifest = read_manifest(entry)
    except (OSError, ValueError):
        return  # unreadable: the pull goes on as if uncached, and lists from Kaggle
    names = [str(item[0]) for item in manifest.get("files") or ()]
    if selection.takes_any(names):
        return
    competition = manifest.get("competition")
    if competition:
        label, command = f"the competition {competition}", f"kagman files -c {competition}"
    else:
        label = f"{manifest.get('ref')}/versions/{manifest.get('version')}"
        command = f"kagman files {label}"
    raise nothing_matches(label, selection, names, command)


def pinned_answer(ref: DatasetRef, selection: Selection) -> Path | None:
    """What the cache answers in full for a pinned version, or ``None``; no network.

    :func:`answer` of the version's entry; a single file is also found in an entry of the
    layout before subsets (``files/<N>/<name>``).
    """
    hit = answer(entry_path(ref), selection)
    if hit is None and selection.maybe_single_file:
        single = file_entry_path(ref, str(selection.name))
        if state_of(single) != "incomplete":
            hit = single
    return hit


class Hit(NamedTuple):
    """A cached answer: the path, and the entry whose manifest records its use."""

    entry: Path
    path: Path


def newest_answer(ref: Ref, selection: Selection) -> Hit | None:
    """The newest cached answer in full: a dataset's newest version (``ref`` unpinned) or a
    competition's latest state first, then older ones; ``None`` when none answers."""
    if isinstance(ref, CompetitionRef):
        found = ((entry, answer(entry, selection)) for entry in version_entries(ref))
    else:
        versions = [ref.version] if ref.version is not None else cached_versions(ref)
        found = (
            (entry_path(ref.with_version(v)), pinned_answer(ref.with_version(v), selection))
            for v in versions
        )
    return next((Hit(entry, hit) for entry, hit in found if hit is not None), None)


def touch(manifest: Path) -> None:
    """Record "now" as the entry's last use: one ``utime`` on its manifest, no lock.

    The manifest's modification time is the entry's "last used" time (rewrites
    keep it: :func:`kagman.cache.manifest.update_manifest`). Silently does
    nothing when the cache is read-only for this user (a shared cache, a
    read-only mount) or the manifest just went away.
    """
    with contextlib.suppress(OSError):
        os.utime(manifest)


def touch_hit(entry: Path, hit: Path) -> Path:
    """Mark the use of ``hit``, served from ``entry`` or an old single-file entry; return it."""
    touch(manifest_path(entry if hit == entry or entry in hit.parents else hit))
    return hit


def cache_hit(ref: DatasetRef, selection: Selection) -> Path | None:
    """:func:`pinned_answer`, recording the use: one ``utime`` on the entry's manifest.

    No lock and no rewrite, so a hit stays a few microseconds; skipped silently
    when this user may not write the cache.
    """
    hit = pinned_answer(ref, selection)
    return None if hit is None else touch_hit(entry_path(ref), hit)


def version_entries(ref: DatasetRef | CompetitionRef) -> list[Path]:
    """Entries of a dataset (newest version first) or competition (latest state first)."""
    if isinstance(ref, CompetitionRef):
        found = [p for p in (ref_dir(ref) / "data").glob("*") if p.is_dir()]
        found.sort(key=lambda p: _mtime(manifest_path(p)), reverse=True)
        latest = latest_state(ref)
        if latest is not None:
            found.sort(key=lambda p: p.name != latest)
        return found
    versions_dir = dataset_dir(ref) / "versions"
    if not versions_dir.is_dir():
        return []
    numbered = [p for p in versions_dir.iterdir() if p.name.isdigit() and p.is_dir()]
    return sorted(numbered, key=lambda p: int(p.name), reverse=True)


def cached_versions(ref: DatasetRef) -> list[int]:
    """The versions of a dataset with a folder in the cache (``versions/<N>``, and
    ``files/<N>`` of the layout before subsets), newest first; whatever their state."""
    found: set[int] = set()
    for folder in ("versions", "files"):
        with contextlib.suppress(OSError):
            found.update(
                int(p.name) for p in (dataset_dir(ref) / folder).iterdir() if p.name.isdigit()
            )
    return sorted(found, reverse=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def latest_cached_version(ref: DatasetRef) -> DatasetRef:
    """Newest complete cached version of ``ref``'s dataset (for offline use).

    Raises
    ------
    NotCachedError
        When no complete version is cached.
    """
    for entry in version_entries(ref):
        if is_complete(entry):
            return ref.with_version(int(entry.name))
    msg = (
        f"{ref.name} is not in the cache ({cache_dir()}), and offline mode forbids "
        "downloading it. Retry without --offline (and unset KAGMAN_OFFLINE) to download it."
    )
    raise NotCachedError(msg, ref=str(ref))


def latest_state(ref: CompetitionRef) -> str | None:
    """The newest complete state of a competition's data, as recorded by the last pull."""
    try:
        state = latest_state_path(ref).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        entry = competition_entry_path(ref, state)
    except ValueError:
        return None
    return state if is_complete(entry) else None


def set_latest_state(ref: CompetitionRef, state: str) -> None:
    """Record ``state`` as the newest complete state of a competition's data (atomically)."""
    if latest_state(ref) != state and is_complete(competition_entry_path(ref, state)):
        write_shared(latest_state_path(ref), state.encode())


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

    for found in scan(ref):
        if found.what == "entry" and found.version is not None and found.version < newest:
            with contextlib.suppress(OSError, ValueError):
                update_manifest(found.path, change)


def discard_incomplete_entry(entry: Path) -> None:
    """Remove an entry folder that has no manifest (left by a killed pull)."""
    if entry.exists() and not manifest_path(entry).is_file():
        remove_tree(entry)
