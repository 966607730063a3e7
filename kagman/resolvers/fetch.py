"""Fetching a whole archive into the cache: download, extract, commit, manifest last.

The archive is a dataset version's (``DownloadDataset``) or a competition's data
(``DownloadDataFiles``, from :mod:`kagman.resolvers.competition`): the same steps for both.

Called by :class:`~kagman.resolvers.download.DownloadResolver` with the dataset's lock
held and the version pinned. The order of events is what makes a pull safe to kill at
any moment: the download is resumable in ``.incomplete/``; extraction goes to a temporary
folder beside it, which is renamed into place; the manifest is written last.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kagman.archive import ExtractLimits, extract_zip, is_zip
from kagman.cache.entries import discard_incomplete_entry
from kagman.cache.manifest import build_manifest, write_manifest
from kagman.cache.paths import entry_path, incomplete_dir, manifest_path
from kagman.cache.shared import SharedPartial, claim_partials, make_dirs, share_tree
from kagman.credentials import Credentials
from kagman.errors import ArchiveError, CorruptArchiveError, DiskFullError
from kagman.fs import human_size, remove_tree
from kagman.remote import client, datasets
from kagman.remote.refs import DatasetRef, Ref
from kagman.remote.transfer import DownloadResult, discard_partial, download_to
from kagman.ui.progress import Bar
from kagman.ui.summary import duration, summary

if TYPE_CHECKING:
    import requests

__all__ = ["Archive", "announce", "fetch_archive", "fetch_dataset", "work_dir"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Archive:
    """One whole archive to fetch into one entry: a dataset version, or a competition's data."""

    ref: Ref
    entry: Path
    name: str  # the prefix of its files in .incomplete/: "v3", or the competition's data state
    open_response: Callable[[], AbstractContextManager[requests.Response]]
    kind: Literal["dataset", "competition"] = "dataset"
    state: str | None = None  # a competition's data state, recorded in the manifest


def work_dir(ref: Ref) -> Path:
    """``.incomplete/`` of ``ref``, made with the cache's sharing; another user's partial
    downloads there are claimed, so this pull can resume them (a shared cache)."""
    folder = incomplete_dir(ref)
    make_dirs(folder)
    claim_partials(folder)
    return folder


def _download(archive: Archive, part: Path, show: bool) -> DownloadResult:
    with (
        Bar(f"Downloading {archive.ref}", enabled=show) as bar,
        client.translate_errors(archive.ref),
    ):
        # SharedPartial: in a shared cache, others can resume the partial file
        return download_to(part, archive.open_response, progress=SharedPartial(part, bar))


def fetch_dataset(ref: DatasetRef, creds: Credentials, *, show: bool, force: bool) -> Path:
    """Download, extract and commit a pinned version whole (``DownloadDataset``)."""
    archive = Archive(
        ref,
        entry_path(ref),
        f"v{ref.version}",
        lambda: datasets.open_download(ref, credentials=creds),
    )
    return fetch_archive(archive, show=show, force=force)


def fetch_archive(archive: Archive, *, show: bool, force: bool) -> Path:
    """Download ``archive`` (resumably), extract it beside its entry, commit, manifest last."""
    started = time.monotonic()
    ref, entry = archive.ref, archive.entry
    work = work_dir(ref)
    part = work / f"{archive.name}.zip"
    discard_incomplete_entry(entry)
    for stale in work.glob(f"{archive.name}.extract-*"):
        remove_tree(stale)  # we hold the lock: no one else is extracting
    if force:
        discard_partial(part)

    result = _download(archive, part, show)
    if not is_zip(part):
        discard_partial(part)
        msg = (
            f"Kaggle sent something that is not a zip archive for {ref}; the download was "
            "removed. Run the pull again; if it keeps failing, the dataset may be broken."
        )
        raise CorruptArchiveError(msg, path=part)
    tmp = work / f"{archive.name}.extract-{os.getpid()}"
    try:
        tmp.mkdir()
        with Bar(f"Extracting {ref}", enabled=show) as bar:
            report = extract_zip(
                part, tmp, limits=ExtractLimits.from_env(), progress=bar, on_total=bar.set_total
            )
    except ArchiveError as err:  # the free-space check before writing is in extract_zip
        remove_tree(tmp)
        discard_partial(part)
        msg = f"{err} The downloaded archive was removed."
        raise type(err)(msg, path=part) from err
    except DiskFullError as err:
        remove_tree(tmp)
        discard_partial(part)
        msg = f"{err} The downloaded archive was removed to give the space back."
        raise DiskFullError(msg, path=err.path, needed=err.needed, free=err.free) from err
    except BaseException:
        remove_tree(tmp)
        raise
    share_tree(tmp)  # a shared cache: the group may read (and remove) what we extracted
    _commit(tmp, entry)
    manifest = build_manifest(
        kind=archive.kind,
        ref=ref,
        source_url=result.url,
        validator=result.validator,
        total_bytes=report.total_bytes,
        files=report.files,
        archive_bytes=result.size,
        skipped=report.skipped,
        state=archive.state,
    )
    write_manifest(entry, manifest)
    discard_partial(part)
    if report.skipped_count:
        logger.info("Skipped %d junk file(s) (%s)", report.skipped_count, _reasons(report.skipped))
    announce(ref, entry, f"{len(report.files):,} files", report.total_bytes, started)
    return entry


def announce(ref: Ref, path: Path, what: str, nbytes: int, started: float) -> None:
    """The line that stays after a download (:func:`kagman.ui.summary.summary`)::

    owner/ds v3: 3,082 files, 1.2 GiB, downloaded in 41 s -> /home/ada/.cache/kagman/...
    """
    took = duration(time.monotonic() - started)
    label = f"{ref.name} v{ref.version}" if isinstance(ref, DatasetRef) else str(ref)
    summary(f"{label}: {what}, {human_size(nbytes)}, downloaded in {took} -> {path}")


def _commit(tmp: Path, entry: Path) -> None:
    """Rename a finished extraction into place, replacing an older copy (``force``)."""
    make_dirs(entry.parent)
    old: Path | None = None
    if entry.exists():
        with contextlib.suppress(FileNotFoundError):
            manifest_path(entry).unlink()  # first un-mark it, so a crash never leaves a mix
        old = tmp.with_name(tmp.name + ".old")
        entry.replace(old)
    tmp.replace(entry)
    if old is not None:
        remove_tree(old)


def _reasons(skipped: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
