"""Removing cache entries safely: ``kagman rm`` (and the removal step of ``kagman prune``).

Each removal holds the dataset's (or competition's) lock, so it never races a pull
of it. It drops the entry's manifest (no new reader uses it from then on), *renames*
the entry into the item's ``.incomplete/`` folder (one atomic step), then deletes it
there: a process still reading the entry's files keeps them, and no reader ever sees
half an entry. An interrupted removal leaves only ``.incomplete/removing-*`` (or a
folder without its manifest), which ``prune`` clears. Nothing is followed through a
symbolic link: a link inside an entry is removed as a link, and a cache folder that is
a link to elsewhere is refused.

``rm --file`` takes files out of subset entries: the manifest is rewritten first
(atomically, without them), then the files go, so the manifest never names a
file that is not there; the entry's last file takes the entry with it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from kagman.cache.entries import holding, latest_state, manifest_holding
from kagman.cache.failures import cache_os_error
from kagman.cache.info import html_table
from kagman.cache.listing import EntryInfo, entries, parse_cached_ref
from kagman.cache.lock import folder_lock
from kagman.cache.manifest import drop_files, update_manifest
from kagman.cache.paths import cache_dir, latest_state_path, manifest_path, ref_dir
from kagman.cache.scan import TRASH_PREFIX
from kagman.cache.shared import make_dirs
from kagman.cache.sizes import allocated
from kagman.errors import InvalidArgumentError, KagmanError, LockTimeoutError, NotCachedError
from kagman.fs import human_size, remove_tree
from kagman.remote.refs import CompetitionRef, Ref, check_file_name, parse_target

__all__ = ["Removal", "RemovalReport", "remove", "remove_entries"]

_counter = itertools.count()


@dataclass(frozen=True)
class Removal:
    """One entry removed (or, in a dry run, that would be), and why.

    ``files`` names the files taken out of a subset entry (``rm --file``), which stays
    unless they were its last; empty: the whole entry goes.
    """

    entry: EntryInfo
    reason: str
    files: tuple[str, ...] = ()


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
            f"{verb} {_describe(item)}" + (f"  ({item.reason})" if item.reason else "")
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

    def __repr__(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return f"<RemovalReport {verb} {len(self.removed)}, {human_size(self.freed)}>"

    def _repr_html_(self) -> str:
        lines = self.lines()
        notes = [line for line in lines if line.startswith(("Kept: ", "Dangling link"))]
        summary = " ".join(
            line
            for line in lines
            if line not in notes and not line.startswith(("Removed ", "Would remove "))
        )
        rows = [
            (_describe(item).rsplit(", ", 1)[0], human_size(item.entry.size), item.reason)
            for item in self.removed
        ]
        rows += [(note, "", "") for note in notes]
        return html_table(summary, ("entry", "size", "why"), rows)


def _describe(item: Removal) -> str:
    row = item.entry
    what = row.label
    if item.files:
        shown = ", ".join(item.files[:3]) + (
            f" and {len(item.files) - 3} more" * (len(item.files) > 3)
        )
        what += f" file{'s' if len(item.files) > 1 else ''} {shown}"
    elif row.file:
        what += f" file {row.file}"
    if row.state == "incomplete":  # name the leftover, not the version it was meant to be
        what = f"a leftover of {what} ({row.note or 'an interrupted pull'})"
    elif row.state != "complete":
        what += f" [{row.state}{': ' + row.note if row.note else ''}]"
    return f"{what}, {human_size(row.size)}"


def remove(
    ref: str | Ref,
    *,
    file: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    confirm: Callable[[RemovalReport], bool] | None = None,
) -> RemovalReport:
    """Remove cached versions of a dataset, a competition's data, or files (``kagman rm``).

    Parameters
    ----------
    ref
        ``owner/slug`` (every version, file and leftover of it), ``owner/slug/versions/N``,
        a dataset URL, or a competition (its URL, or a :class:`~kagman.CompetitionRef`):
        every data state and leftover of it. A URL's ``?select=FILE`` means ``file=FILE``.
    file
        Take only this file (or folder, ``train/``) out of the subset entries that hold it
        (pulled with ``--file``, ``--include``/``--exclude``): the manifest is rewritten
        without it, and an entry left with no file is removed.
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
        Nothing of ``ref`` (or that file) is cached, or only what a running pull is writing.
    InvalidArgumentError
        The file is only held inside a cached whole version (remove the version; exit 2).
    KagmanError
        The cache folder is a link out of the cache.
    LockTimeoutError, CacheNotWritableError, CacheAccessError
        A pull held the lock too long; this user may not write the cache (a read-only
        mount, no permission); the cache root is a file (exit code 6, each).
    """
    if isinstance(ref, str):
        parsed, name = parse_target(ref, file=file)
    else:
        parsed, name = parse_cached_ref(ref), check_file_name(file) if file is not None else None
    _refuse_links(ref_dir(parsed))
    every = entries(parsed)
    rows = [row for row in every if not row.in_progress]  # a running pull's work is its own
    plan = [Removal(row, "") for row in rows] if name is None else _file_plan(parsed, rows, name)
    if not plan:
        about = f"the competition {parsed}" if isinstance(parsed, CompetitionRef) else str(parsed)
        what = f"{name!r} of {about}" if name else about
        msg = f"{what} is not in the cache ({cache_dir()}); nothing to remove. See `kagman ls`."
        if len(rows) < len(every):
            msg = (
                f"{what} is not in the cache yet: a pull of it is running. Wait for it to "
                "finish (or stop it), then remove it."
            )
        raise NotCachedError(msg, ref=str(parsed))
    return remove_entries(plan, dry_run=dry_run, confirm=confirm, wait=None)


def _file_plan(ref: Ref, rows: list[EntryInfo], name: str) -> list[Removal]:
    """The subset entries holding ``name`` (a file, or a folder's files), and which files."""
    bare = name.rstrip("/")

    def wanted(held: str) -> bool:
        return held.startswith(f"{bare}/") or (held == bare and not name.endswith("/"))

    plan = []
    for row in rows:
        if row.state != "subset":
            continue
        if row.single_file:  # files/<N>/<name>, the layout before subsets: the entry is the file
            if wanted(row.file or ""):
                plan.append(Removal(row, ""))
            continue
        names = tuple(sorted(filter(wanted, manifest_holding(row.manifest or {}, row.path).files)))
        if names:
            size = sum(allocated(row.path / held) for held in names)
            plan.append(Removal(replace(row, files=len(names), size=size), "", names))
    whole = [r for r in rows if r.state == "complete" and (r.path / bare).exists()]
    if not plan and whole:
        fix = (
            f"kagman rm -c {ref}"
            if isinstance(ref, CompetitionRef)
            else f"kagman rm {ref.name}/versions/{whole[0].version}"
        )
        versions = ", ".join(r.label for r in whole)
        msg = (
            f"{name!r} is part of the cached whole version ({versions}), not an entry of "
            f"its own. Remove the version with `{fix}`."
        )
        raise InvalidArgumentError(msg)
    return plan


def remove_entries(
    plan: list[Removal],
    *,
    dry_run: bool,
    confirm: Callable[[RemovalReport], bool] | None,
    wait: float | None,
    kept: Iterable[str] = (),
) -> RemovalReport:
    """Remove the planned entries, item by item, each under its dataset's (competition's) lock.

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
                    remove_one = _remove_files if item.files else _remove_entry
                    if remove_one(item, kept):
                        done.append(item)
                        dangling += _dangling(item.entry)
                _tidy(items[0].entry)
        except LockTimeoutError:
            if wait is None:
                raise
            kept.append(f"{items[0].entry.ref}: a pull is running, so nothing of it was removed.")
        except OSError as err:  # a read-only cache, a folder we may not write: exit 6, not 1
            if isinstance(err, KagmanError):
                raise
            raise cache_os_error(err, then="run the command again") from err
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


def _remove_entry(item: Removal, kept: list[str]) -> bool:
    """Drop the entry's manifest, rename the entry aside, then delete it. False if gone.

    The manifest goes first, as a pull un-marks an entry it replaces: from then on no
    reader uses the entry, and a removal killed at any point leaves either a folder without
    a manifest or ``.incomplete/removing-*``, both leftovers ``prune`` clears.
    """
    row = item.entry
    _refuse_links(row.path.parent)
    trash = row.item / ".incomplete"
    make_dirs(trash)
    aside = trash / f"{TRASH_PREFIX}{row.path.name}-{os.getpid()}-{next(_counter)}"
    if row.path.parent == trash and row.path.name.startswith(TRASH_PREFIX):
        aside = row.path  # an interrupted removal: finish it
    else:
        with contextlib.suppress(FileNotFoundError):
            manifest_path(row.path).unlink()
        try:
            row.path.replace(aside)
        except FileNotFoundError:
            return False  # removed meanwhile (by another rm or prune)
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


def _remove_files(item: Removal, kept: list[str]) -> bool:
    """Take ``item.files`` out of a subset entry: the manifest first, then the files.

    Decided again under the lock: a pull may have changed the entry since the plan.
    """
    row = item.entry
    _refuse_links(row.path)
    held = holding(row.path)
    if held.state != "subset":
        if held.state == "complete":
            kept.append(f"{row.label}: a pull made it complete meanwhile; nothing taken out.")
        return False
    names = [name for name in item.files if name in held.files]
    if not names:
        return False
    if set(held.files) <= set(names):
        return _remove_entry(item, kept)  # its last files: the entry goes whole
    update_manifest(row.path, lambda manifest: drop_files(manifest, names))
    for name in names:
        path = row.path / name
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        for folder in path.parents:
            if folder == row.path or row.path not in folder.parents:
                break
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
    return True


def _tidy(row: EntryInfo) -> None:
    """Drop the empty ``files/<N>/...`` folders a removal leaves, and a ``latest`` that names
    a competition's data state no longer cached (the item folder stays)."""
    ref = row.to_ref()
    if isinstance(ref, CompetitionRef):
        if latest_state(ref) is None:
            with contextlib.suppress(FileNotFoundError):
                latest_state_path(ref).unlink()
        return
    files = row.item / "files"
    if not files.is_dir():
        return
    for folder in sorted(files.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not folder.is_symlink():
            with contextlib.suppress(OSError):
                folder.rmdir()
