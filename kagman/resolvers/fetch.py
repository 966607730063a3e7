"""Fetching into the cache: download an archive or one file, extract, commit, manifest last.

Called by :class:`~kagman.resolvers.download.DownloadResolver` with the dataset's lock
held and the version pinned. The order of events is what makes a pull safe to kill at
any moment: the download is resumable (and verified) in ``.incomplete/``; extraction goes
to a temporary folder beside it, swapped into place only when complete
(:mod:`kagman.resolvers.commit`); the manifest is written last. Leftovers of a killed or
failed pull (temporary folders, an entry without a manifest) are removed by the next
pull, a partial download is resumed, a complete one is extracted without downloading
again. On Ctrl-C the temporary folder is removed and one log line says what was kept.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from kagman.archive import ExtractLimits, extract_zip, is_zip
from kagman.cache.entries import discard_incomplete_entry
from kagman.cache.manifest import build_manifest, strip_query, write_manifest
from kagman.cache.paths import entry_path, file_entry_path, incomplete_dir
from kagman.credentials import Credentials
from kagman.errors import ArchiveError, CacheAccessError, CorruptArchiveError, DiskFullError
from kagman.fs import human_size, remove_tree
from kagman.remote import client
from kagman.remote.refs import DatasetRef
from kagman.remote.transfer import DownloadResult, discard_partial, download_to, partial_progress
from kagman.resolvers.commit import commit_entry
from kagman.ui.interrupt import log_interrupted
from kagman.ui.progress import ByteProgress

__all__ = ["fetch_dataset", "fetch_file"]

logger = logging.getLogger(__name__)


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


def _work_dir(ref: DatasetRef) -> Path:
    folder = incomplete_dir(ref)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _kept_partial(part: Path) -> str:
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


def _download(
    ref: DatasetRef, part: Path, creds: Credentials, file: str | None, show: bool
) -> DownloadResult:
    label = f"{ref}" if file is None else f"{file} ({ref})"
    with (
        _on_interrupt(lambda: _kept_partial(part)),
        ByteProgress(f"Downloading {label}", enabled=show) as bar,
        client.translate_errors(ref),
    ):
        result = download_to(
            part,
            lambda: client.open_download(ref, file=file, credentials=creds),
            progress=bar,
            what=label,
        )
    if not part.is_file():
        msg = (
            f"The downloaded file {part} disappeared before kagman could use it (was the "
            "cache folder removed or cleaned during the pull?). Run the pull again."
        )
        raise CacheAccessError(msg, path=part)
    return result


def _not_a_zip(ref: DatasetRef, part: Path) -> CorruptArchiveError:
    discard_partial(part)
    msg = (
        f"Kaggle sent something that is not a zip archive for {ref}; the download was "
        "removed. Run the pull again; if it keeps failing, the dataset may be broken."
    )
    return CorruptArchiveError(msg, path=part)


def fetch_dataset(ref: DatasetRef, creds: Credentials, *, show: bool, force: bool) -> Path:
    """Download, verify, extract and commit a whole version; return its entry.

    With ``force`` the archive is downloaded again from zero and the new entry replaces
    the cached one only once it is complete: a failing ``--force`` leaves the old one.
    """
    work = _work_dir(ref)
    part = work / f"v{ref.version}.zip"
    discard_incomplete_entry(entry_path(ref))
    for stale in work.glob(f"v{ref.version}.extract-*"):
        remove_tree(stale)  # we hold the lock: no one else is extracting
    if force:
        discard_partial(part)

    result = _download(ref, part, creds, None, show)
    if not is_zip(part):
        raise _not_a_zip(ref, part)
    tmp = work / f"v{ref.version}.extract-{os.getpid()}"
    started = time.perf_counter()
    try:
        tmp.mkdir()
        with ByteProgress(f"Extracting {ref}", enabled=show) as bar:
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
        "Extracted %s files (%s) in %.2f s; every member's CRC-32 checked",
        f"{len(report.files):,}",
        human_size(report.total_bytes),
        time.perf_counter() - started,
    )
    manifest = build_manifest(
        kind="dataset",
        ref=ref,
        source_url=result.url,
        validator=result.validator,
        total_bytes=report.total_bytes,
        files=report.files,
        archive_bytes=result.size,
        skipped=report.skipped,
    )
    try:
        entry = commit_entry(ref, tmp, manifest)
    except BaseException:
        remove_tree(tmp)
        raise
    discard_partial(part)
    if report.skipped_count:
        logger.info("Skipped %d junk file(s) (%s)", report.skipped_count, _reasons(report.skipped))
    return entry


def fetch_file(ref: DatasetRef, name: str, creds: Credentials, *, show: bool) -> Path:
    """Download and verify one file of a version (unwrapping Kaggle's ``<name>.zip``)."""
    work = _work_dir(ref)
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    part = work / f"v{ref.version}.file-{digest}"
    dest = file_entry_path(ref, name)
    discard_incomplete_entry(dest)
    for stale in work.glob(f"v{ref.version}.extract-*-{digest}"):
        remove_tree(stale)  # left by a killed pull of the same file; we hold the lock
    tmp = work / f"v{ref.version}.extract-{os.getpid()}-{digest}"
    result = _download(ref, part, creds, name, show)
    dest.parent.mkdir(parents=True, exist_ok=True)
    basename = PurePosixPath(name).name
    served_as = PurePosixPath(strip_query(result.url)).name
    wrapped = served_as == f"{basename}.zip" and not basename.endswith(".zip") and is_zip(part)
    if wrapped:
        # Kaggle wraps large single files in <name>.zip; unwrap it like `kaggle -f --unzip`.
        tmp.mkdir()
        try:
            report = extract_zip(part, tmp, limits=ExtractLimits.from_env())
            inner = [p for p, _ in report.files if PurePosixPath(p).name == basename]
            if len(inner) != 1:
                msg = f"Kaggle's zip for {name!r} does not hold that file. Run the pull again."
                raise CorruptArchiveError(msg, path=part)
            (tmp / inner[0]).replace(dest)
        except ArchiveError:
            discard_partial(part)
            raise
        except KeyboardInterrupt:
            remove_tree(tmp)
            log_interrupted(logger, _KEPT_DOWNLOAD)
            raise
        finally:
            remove_tree(tmp)
    else:
        part.replace(dest)
    manifest = build_manifest(
        kind="file",
        ref=ref,
        source_url=result.url,
        validator=result.validator,
        total_bytes=dest.stat().st_size,
        file=name,
        unwrapped_zip=wrapped,
    )
    write_manifest(dest, manifest)
    discard_partial(part)
    return dest


def _reasons(skipped: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
