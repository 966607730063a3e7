"""Fetching a whole archive into the cache: download, verify, extract, commit, manifest last.

The archive is a dataset version's (``DownloadDataset``) or a competition's data
(``DownloadDataFiles``, from :mod:`kagman.resolvers.competition`): the same steps for both.

Called with the dataset's (or competition's) lock held and the version pinned. The order
of events is what makes a pull safe to kill at any moment: the download is resumable
(and verified) in ``.incomplete/``; extraction goes to a temporary folder beside it,
swapped into place only when complete (:mod:`kagman.resolvers.commit`); the manifest is
written last. Leftovers of a killed or failed pull (temporary folders, an entry without
a manifest) are removed by the next pull, a partial download is resumed, a complete one
is extracted without downloading again. On Ctrl-C the temporary folder is removed and
one log line says what was kept.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kagman.archive import ExtractLimits, extract_zip, is_zip
from kagman.cache.entries import discard_incomplete_entry
from kagman.cache.manifest import build_manifest, later_fields
from kagman.cache.paths import entry_path, incomplete_dir
from kagman.cache.shared import SharedPartial, claim_partials, make_dirs, share_tree
from kagman.credentials import Credentials
from kagman.errors import ArchiveError, CacheAccessError, CorruptArchiveError, DiskFullError
from kagman.fs import counted, human_size, remove_tree
from kagman.remote import client, datasets
from kagman.remote.refs import DatasetRef, Ref
from kagman.remote.transfer import DownloadResult, discard_partial, download_to, partial_progress
from kagman.resolvers.commit import commit_entry
from kagman.ui.interrupt import log_interrupted
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


_KEPT_DOWNLOAD = (
    "the temporary extraction folder was removed; the download is complete and kept, "
    "so the next pull only extracts it."
)


@contextmanager
def _on_interrupt(say: Callable[[], str]) -> Iterator[None]:
    """Log what was kept when Ctrl-C (or a notebook's interrupt) lands; then let it go on."""
    try:
        yield
    except KeyboardInterrupt:
        log_interrupted(logger, say())
        raise


def kept_partial(part: Path) -> str:
    """What an interrupted download keeps, in words (for the Ctrl-C line)."""
    have, total = partial_progress(part)
    if not have:
        return "nothing had been downloaded yet."
    if not total:
        return f"the partial download ({human_size(have)}) is kept; the next pull resumes it."
    percent = 100 * have // total
    return (
        f"the partial download is kept ({human_size(have)} of {human_size(total)}); "
        f"the next pull resumes at {percent}%."
    )


def _download(archive: Archive, part: Path, show: bool) -> DownloadResult:
    label = str(archive.ref)
    with (
        _on_interrupt(lambda: kept_partial(part)),
        Bar(f"Downloading {label}", enabled=show) as bar,
        client.translate_errors(archive.ref),
    ):
        # SharedPartial: in a shared cache, others can resume the partial file
        result = download_to(
            part, archive.open_response, progress=SharedPartial(part, bar), what=label
        )
    if not part.is_file():
        msg = (
            f"The downloaded file {part} disappeared before kagman could use it (was the "
            "cache folder removed or cleaned during the pull?). Run the pull again."
        )
        raise CacheAccessError(msg, path=part)
    return result


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
    extracting = time.perf_counter()
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
        raise type(err)(msg, path=part, member=err.member) from err
    except DiskFullError as err:
        remove_tree(tmp)
        discard_partial(part)
        msg = f"{err} The downloaded archive was removed to give the space back."
        raise DiskFullError(msg, path=err.path, needed=err.needed, free=err.free) from err
    except KeyboardInterrupt:
        remove_tree(tmp)  # extraction workers have stopped: nothing writes into it any more
        log_interrupted(logger, _KEPT_DOWNLOAD)
        raise
    except BaseException:
        remove_tree(tmp)
        raise
    logger.debug(
        "Extracted %s (%s) in %.2f s; every member's CRC-32 checked",
        counted(len(report.files), "file"),
        human_size(report.total_bytes),
        time.perf_counter() - extracting,
    )
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
    announce(ref, entry, counted(len(report.files), "file"), report.total_bytes, started)
    return entry


def announce(ref: Ref, path: Path, what: str, nbytes: int, started: float) -> None:
    """The line that stays after a download (:func:`kagman.ui.summary.summary`)::

    owner/ds v3: 3,082 files, 1.2 GiB, downloaded in 41 s -> /home/ada/.cache/kagman/...
    """
    took = duration(time.monotonic() - started)
    label = f"{ref.name} v{ref.version}" if isinstance(ref, DatasetRef) else str(ref)
    summary(f"{label}: {what}, {human_size(nbytes)}, downloaded in {took} -> {path}")


def _reasons(skipped: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
