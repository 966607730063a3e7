"""Removing cache entries safely: ``kagman rm`` (and the removal step of ``kagman prune``).

Each removal holds the dataset's lock, so it never races a pull of the same
dataset, and it first *renames* the entry into the dataset's ``.incomplete/``
folder (one atomic step), then deletes it there: a process still reading the
entry's files keeps them, and no new reader ever sees half an entry. An
interrupted removal leaves only ``.incomplete/removing-*``, which ``prune``
clears. Nothing is followed through a symbolic link: a link inside an entry is
removed as a link, and a cache folder that is a link to elsewhere is refused.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kagman.cache.listing import EntryInfo, entries
from kagman.cache.lock import folder_lock
from kagman.cache.paths import cache_dir, dataset_dir, manifest_path
from kagman.cache.scan import TRASH_PREFIX
from kagman.cache.shared import make_dirs
from kagman.errors import KagmanError, LockTimeoutError, NotCachedError
from kagman.fs import human_size, remove_tree
from kagman.remote.refs import DatasetRef, check_file_name, parse_ref

__all__ = ["Removal", "RemovalReport", "remove", "remove_entries"]

_counter = itertools.count()


@dataclass(frozen=True)
class Removal:
    """One entry removed (or, in a dry run, that would be), and why."""

    entry: EntryInfo
    reason: str


@dataclass(frozen=True)
class RemovalReport:
    """What ``rm`` or ``prune`` removed, or would remove in a dry run.

    Attributes
    ----------
    removed
        The entries removed (dry run: that would be), with the reason for each.
    dry_run
        Nothing was removed.
    cancelled
        The confirmation was refused: nothing was removed.
    dangling
        ``pull --link`` links that pointed into a removed entry and now point
        at nothing (they are left for you to delete or re-pull).
    kept
        Sentences about what was kept and why (a pull holding the lock).
    """

    removed: tuple[Removal, ...]
    dry_run: bool = False
    cancelled: bool = False
    dangling: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()

    @property
    def freed(self) -> int:
        """Bytes on disk freed (dry run: that would be freed)."""
        return sum(item.entry.size for item in self.removed)

    def lines(self) -> list[str]:
        """What ``kagman rm`` and ``kagman prune`` print."""
        verb = "Would remove" if self.dry_run else "Removed"
        out = [
            f"{verb} {_describe(item.entry)}" + (f"  ({item.reason})" if item.reason else "")
            for item in self.removed
        ]
        n = len(self.removed)
        if self.cancelled:
            out.append("Nothing removed.")
        elif self.dry_run and n:
            out.append(f"{n} would be removed, freeing {human_size(self.freed)}.")
        elif n:
            out.append(f"{n} removed, {human_size(self.freed)} freed.")
        else:
            out.append("Nothing to remove.")
        out += [f"Kept: {sentence}" for sentence in self.kept]
        out += [f"Dangling link (its target was removed): {link}" for link in self.dangling]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _describe(row: EntryInfo) -> str:
    what = row.ref if row.version is None else f"{row.ref}/versions/{row.version}"
    if row.file:
        what += f" file {row.file}"
    if row.state != "complete":
        what += f" [{row.state}{': ' + row.note if row.note else ''}]"
    return f"{what}, {human_size(row.size)}"


def remove(
    ref: str | DatasetRef,
    *,
    file: str | None = None,
    dry_run: bool = False,
    confirm: Callable[[RemovalReport], bool] | None = None,
) -> RemovalReport:
    """Remove a dataset's cached versions (all, or one), or one cached file (``kagman rm``).

    Parameters
    ----------
    ref
        ``owner/slug`` (every version, file entry and leftover of it) or
        ``owner/slug/versions/N``.
    file
        Remove only the entry of this file pulled with ``pull --file``.
    dry_run
        Only report what would be removed and the bytes it would free.
    confirm
        Called with the plan (a dry-run report) before anything is removed;
        returning ``False`` cancels (the CLI asks on a terminal).

    Returns
    -------
    RemovalReport
        What was removed, the bytes freed, and ``pull --link`` links that now dangle.

    Raises
    ------
    InvalidRefError
        ``ref`` or ``file`` is malformed.
    NotCachedError
        Nothing of ``ref`` (or that file) is cached.
    KagmanError
        The file is only held inside a cached whole version (remove the version),
        or the dataset's cache folder is a link out of the cache.
    LockTimeoutError, CacheNotWritableError
        A pull held the dataset's lock too long; this user may not write the cache.
    """
    dref = ref if isinstance(ref, DatasetRef) else parse_ref(str(ref))
    name = check_file_name(file) if file is not None else None
    _refuse_links(dataset_dir(dref))
    rows = entries(dref)
    if name is not None:
        whole = [r for r in rows if r.state == "complete" and (r.path / name).is_file()]
        rows = [r for r in rows if r.file == name]
        if not rows and whole:
            versions = ", ".join(f"{dref.name}/versions/{r.version}" for r in whole)
            msg = (
                f"{name!r} is part of the cached whole version ({versions}), not an entry of "
                f"its own. Remove the version with `kagman rm {dref.name}/versions/"
                f"{whole[0].version}`."
            )
            raise KagmanError(msg)
    if not rows:
        what = f"{name!r} of {dref}" if name else str(dref)
        msg = f"{what} is not in the cache ({cache_dir()}); nothing to remove. See `kagman ls`."
        raise NotCachedError(msg, ref=str(dref))
    plan = [Removal(row, "") for row in rows]
    return remove_entries(plan, dry_run=dry_run, confirm=confirm, wait=None)


def remove_entries(
    plan: list[Removal],
    *,
    dry_run: bool,
    confirm: Callable[[RemovalReport], bool] | None,
    wait: float | None,
    kept: Iterable[str] = (),
) -> RemovalReport:
    """Remove the planned entries, dataset by dataset, each under the dataset's lock.

    ``wait`` is how long to wait for a dataset's lock (``None``: the default
    ``KAGMAN_LOCK_TIMEOUT``; ``0``: skip a dataset that a pull holds, as ``prune`` does).
    """
    kept = list(kept)
    preview = RemovalReport(tuple(plan), dry_run=True, kept=tuple(kept))
    if dry_run:
        return preview
    if confirm is not None and plan and not confirm(preview):
        return RemovalReport((), cancelled=True)
    done: list[Removal] = []
    dangling: list[str] = []
    by_item: dict[Path, list[Removal]] = {}
    for item in plan:
        by_item.setdefault(item.entry.item, []).append(item)
    for folder, items in by_item.items():
        try:
            with folder_lock(folder, items[0].entry.ref, timeout=wait):
                for item in items:
                    if _remove_one(item.entry, kept):
                        done.append(item)
                        dangling += _dangling(item.entry)
                _tidy(folder)
        except LockTimeoutError:
            if wait is None:
                raise
            kept.append(f"{items[0].entry.ref}: a pull is running, so nothing of it was removed.")
    return RemovalReport(tuple(done), dangling=tuple(dangling), kept=tuple(kept))


def _refuse_links(folder: Path) -> None:
    """Refuse a cache folder reached through a symbolic link (it may lead out of the cache)."""
    root = cache_dir()
    probe = folder
    while probe != root and root in probe.parents:
        if probe.is_symlink():
            msg = (
                f"{probe} is a symbolic link, so removing through it could delete files outside "
                f"the cache ({root}). kagman will not follow it; remove the link yourself."
            )
            raise KagmanError(msg)
        probe = probe.parent


def _remove_one(row: EntryInfo, kept: list[str]) -> bool:
    """Rename the entry aside, drop its manifest, then delete it. False if already gone."""
    _refuse_links(row.path.parent)
    trash = row.item / ".incomplete"
    make_dirs(trash)
    aside = trash / f"{TRASH_PREFIX}{row.path.name}-{os.getpid()}-{next(_counter)}"
    if row.path.parent == trash and row.path.name.startswith(TRASH_PREFIX):
        aside = row.path  # an interrupted removal: finish it
    else:
        try:
            row.path.replace(aside)
        except FileNotFoundError:
            return False  # removed meanwhile (by another rm or prune)
    with contextlib.suppress(FileNotFoundError):
        manifest_path(row.path).unlink()
    with contextlib.suppress(FileNotFoundError):
        row.path.with_name(row.path.name + ".json").unlink()  # a partial download's record
    remove_tree(aside)
    if os.path.lexists(aside):
        kept.append(f"{aside}: some files could not be removed (permissions?).")
    return True


def _dangling(row: EntryInfo) -> list[str]:
    """Recorded links into ``row`` that now point at nothing."""
    out = []
    for link in row.links:
        try:
            target = Path(link).parent / Path(link).readlink()
        except OSError:
            continue  # gone, or no longer a link
        inside = target == row.path or row.path in target.parents
        if inside and not target.exists():
            out.append(link)
    return out


def _tidy(item: Path) -> None:
    """Drop the empty ``files/<N>/...`` folders a removal leaves (the item folder stays)."""
    files = item / "files"
    if not files.is_dir():
        return
    for folder in sorted(files.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not folder.is_symlink():
            with contextlib.suppress(OSError):
                folder.rmdir()
