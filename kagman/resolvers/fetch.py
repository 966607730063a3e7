"""Fetching into the cache: download an archive or one file, extract, commit, manifest last.

Called by :class:`~kagman.resolvers.download.DownloadResolver` with the dataset's lock
held and the version pinned. The order of events is what makes a pull safe to kill at
any moment: the download is resumable in ``.incomplete/``; extraction goes to a temporary
folder beside it, which is renamed into place; the manifest is written last.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from pathlib import Path, PurePosixPath

from kagman.archive import ExtractLimits, extract_zip, is_zip
from kagman.cache.entries import discard_incomplete_entry
from kagman.cache.manifest import build_manifest, strip_query, write_manifest
from kagman.cache.paths import entry_path, file_entry_path, incomplete_dir, manifest_path
from kagman.credentials import Credentials
from kagman.errors import ArchiveError, CorruptArchiveError, DiskFullError
from kagman.fs import human_size, remove_tree
from kagman.remote import client
from kagman.remote.refs import DatasetRef
from kagman.remote.transfer import DownloadResult, discard_partial, download_to
from kagman.ui.progress import Bar
from kagman.ui.summary import duration, summary

__all__ = ["fetch_dataset", "fetch_file"]

logger = logging.getLogger(__name__)


def _work_dir(ref: DatasetRef) -> Path:
    folder = incomplete_dir(ref)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _download(
    ref: DatasetRef, part: Path, creds: Credentials, file: str | None, show: bool
) -> DownloadResult:
    label = f"{ref}" if file is None else f"{file} ({ref})"
    with (
        Bar(f"Downloading {label}", enabled=show) as bar,
        client.translate_errors(ref),
    ):
        return download_to(
            part, lambda: client.open_download(ref, file=file, credentials=creds), progress=bar
        )


def fetch_dataset(ref: DatasetRef, creds: Credentials, *, show: bool, force: bool) -> Path:
    started = time.monotonic()
    work = _work_dir(ref)
    part = work / f"v{ref.version}.zip"
    entry = entry_path(ref)
    discard_incomplete_entry(entry)
    for stale in work.glob(f"v{ref.version}.extract-*"):
        remove_tree(stale)  # we hold the lock: no one else is extracting
    if force:
        discard_partial(part)

    result = _download(ref, part, creds, None, show)
    if not is_zip(part):
        discard_partial(part)
        msg = (
            f"Kaggle sent something that is not a zip archive for {ref}; the download was "
            "removed. Run the pull again; if it keeps failing, the dataset may be broken."
        )
        raise CorruptArchiveError(msg, path=part)
    tmp = work / f"v{ref.version}.extract-{os.getpid()}"
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
    _commit(tmp, entry)
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
    write_manifest(entry, manifest)
    discard_partial(part)
    if report.skipped_count:
        logger.info("Skipped %d junk file(s) (%s)", report.skipped_count, _reasons(report.skipped))
    _announce(ref, entry, f"{len(report.files):,} files", report.total_bytes, started)
    return entry


def fetch_file(ref: DatasetRef, name: str, creds: Credentials, *, show: bool) -> Path:
    started = time.monotonic()
    work = _work_dir(ref)
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    part = work / f"v{ref.version}.file-{digest}"
    dest = file_entry_path(ref, name)
    discard_incomplete_entry(dest)
    result = _download(ref, part, creds, name, show)
    dest.parent.mkdir(parents=True, exist_ok=True)
    basename = PurePosixPath(name).name
    served_as = PurePosixPath(strip_query(result.url)).name
    wrapped = served_as == f"{basename}.zip" and not basename.endswith(".zip") and is_zip(part)
    if wrapped:
        # Kaggle wraps large single files in <name>.zip; unwrap it like `kaggle -f --unzip`.
        tmp = work / f"v{ref.version}.extract-{os.getpid()}-{digest}"
        remove_tree(tmp)
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
    _announce(ref, dest, name, manifest["total_bytes"], started)
    return dest


def _announce(ref: DatasetRef, path: Path, what: str, nbytes: int, started: float) -> None:
    """The line that stays after a download (:func:`kagman.ui.summary.summary`)::

    owner/ds v3: 3,082 files, 1.2 GiB, downloaded in 41 s -> /home/ada/.cache/kagman/...
    """
    took = duration(time.monotonic() - started)
    summary(
        f"{ref.name} v{ref.version}: {what}, {human_size(nbytes)}, downloaded in {took} -> {path}"
    )


def _commit(tmp: Path, entry: Path) -> None:
    """Rename a finished extraction into place, replacing an older copy (``force``)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
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
