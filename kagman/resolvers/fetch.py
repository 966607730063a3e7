"""Fetching a whole archive into the cache: download, verify, extract, commit, manifest last.

The archive is a dataset version's (``DownloadDataset``) or a competition's data
(``DownloadDataFiles``, from :mod:`kagman.resolvers.competition`): the same steps for both.

Called with the dataset's (or competition's) lock held and the version pinned. The order
of events is what makes a pull safe to kill at any moment: the download is resumable
(and verified) in ``.incomplete/``; extraction goes to a temporary folder beside it
(while the download runs, where it can: :mod:`kagman.resolvers.unpack`), swapped into
place only when complete and verified (:mod:`kagman.resolvers.commit`); the manifest is
written last. Leftovers of a killed or failed pull (temporary folders, an entry without
a manifest) are removed by the next pull, a partial download is resumed, a complete one
is extracted without downloading again (also by ``--force``: its bytes are checked
against the storage's ETag and MD5 as any resumed download's). On Ctrl-C the temporary
folder is removed and one log line says what was kept; once the extraction is done, a
Ctrl-C waits for the commit, and the pull completes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kagman.cache.entries import discard_incomplete_entry, is_complete
from kagman.cache.manifest import build_manifest, later_fields
from kagman.cache.paths import entry_path, incomplete_dir
from kagman.cache.shared import claim_partials, make_dirs, share_tree
from kagman.credentials import Credentials
from kagman.fs import counted, human_size, remove_tree
from kagman.remote import datasets
from kagman.remote.refs import DatasetRef, Ref
from kagman.remote.transfer import discard_partial
from kagman.resolvers.commit import commit_entry
from kagman.resolvers.unpack import download_and_extract
from kagman.ui.interrupt import finishing
from kagman.ui.summary import duration, summary

if TYPE_CHECKING:
    import requests

    from kagman.archive import ExtractReport
    from kagman.remote.transfer import DownloadResult

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
    # A partial download is resumed even by --force (what an interrupted --force kept):
    # a resume is checked against the storage's ETag and MD5 like any download.
    replacing = force and is_complete(entry)

    tmp = work / f"{archive.name}.extract-{os.getpid()}"
    result, report = download_and_extract(
        ref, archive.open_response, part, tmp, show=show, force=replacing
    )
    with finishing() as held:
        _commit(archive, part, tmp, result, report)
    if held.count:
        logger.warning(
            "Ctrl-C came while %s was being committed; the pull finished: the version is complete.",
            _label(ref),
        )
    announce(ref, entry, counted(len(report.files), "file"), report.total_bytes, started)
    return entry


def _commit(
    archive: Archive, part: Path, tmp: Path, result: DownloadResult, report: ExtractReport
) -> None:
    """The manifest, the swap into place, then the download removed (record first)."""
    ref, entry = archive.ref, archive.entry
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
    share_tree(tmp)  # a shared cache: the group may read (and remove) what we extracted
    kept = later_fields(entry)  # a subset made whole, or a forced pull: keep --link links
    try:
        commit_entry(ref, entry, archive.name, tmp, {**manifest, **kept})
    except BaseException:
        remove_tree(tmp)
        raise
    discard_partial(part)
    if report.skipped_count:
        skipped = counted(report.skipped_count, "junk file")
        logger.info("Skipped %s (%s)", skipped, _reasons(report.skipped))


def announce(ref: Ref, path: Path, what: str, nbytes: int, started: float) -> None:
    """The line that stays after a download (:func:`kagman.ui.summary.summary`)::

    owner/ds v3: 3,082 files, 1.2 GiB, downloaded in 41 s -> /home/ada/.cache/kagman/...
    """
    took = duration(time.monotonic() - started)
    summary(f"{_label(ref)}: {what}, {human_size(nbytes)}, downloaded in {took} -> {path}")


def _label(ref: Ref) -> str:
    return f"{ref.name} v{ref.version}" if isinstance(ref, DatasetRef) else str(ref)


def _reasons(skipped: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
