"""The download resolver: pin the version, take the dataset's lock, download, extract, commit.

The order of events is what makes a pull safe to kill at any moment:

1. one ``GetDataset`` call pins "latest"; a complete entry of that version -> return it;
2. take the dataset's lock (another process may have finished meanwhile: check again);
3. download (resumable) into ``.incomplete/``, extract into a temp folder beside the
   archive, rename it into place, and write the manifest last.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kagman.archive import ExtractLimits, extract_zip, is_zip
from kagman.cache.entries import cache_hit, discard_incomplete_entry, note_newer_version
from kagman.cache.lock import dataset_lock
from kagman.cache.manifest import build_manifest, strip_query, write_manifest
from kagman.cache.paths import entry_path, file_entry_path, incomplete_dir, manifest_path
from kagman.cache.shared import SharedPartial, claim_partials, make_dirs, share_file, share_tree
from kagman.credentials import resolve_credentials
from kagman.errors import ArchiveError, CorruptArchiveError, DiskFullError
from kagman.fs import remove_tree
from kagman.remote import client
from kagman.remote.refs import DatasetRef
from kagman.remote.transfer import DownloadResult, discard_partial, download_to
from kagman.resolvers.base import PullRequest
from kagman.ui.progress import ByteProgress, progress_enabled

if TYPE_CHECKING:
    from kagman.credentials import Credentials

__all__ = ["DownloadResolver"]

logger = logging.getLogger(__name__)


class DownloadResolver:
    """Downloads what the cache does not have (never used offline)."""

    name = "download"

    def is_supported(self, request: PullRequest) -> bool:
        """Any pull that may use the network."""
        return not request.offline

    def resolve(self, request: PullRequest) -> Path:
        """Pin the version, then return the cached entry or download it.

        Raises
        ------
        CredentialsError, DatasetNotFoundError, TermsNotAcceptedError, RateLimitedError,
        ServerError, NetworkError, LockTimeoutError, DiskFullError, ArchiveError
        """
        creds = resolve_credentials()
        ref, name = request.ref, request.file
        if ref.version is None:
            ref = client.get_dataset(ref, creds).ref
            if not request.force and (hit := cache_hit(ref, name)):
                return hit
        with dataset_lock(ref):
            hit = None if request.force else cache_hit(ref, name)
            if hit is not None:
                return hit
            if request.ref.version is None:
                note_newer_version(ref)  # for `kagman ls`: older entries now have a newer one
            show = progress_enabled(request.progress)
            if name is None:
                return _fetch_dataset(ref, creds, show=show, force=request.force)
            return _fetch_file(ref, name, creds, show=show)


def _work_dir(ref: DatasetRef) -> Path:
    folder = incomplete_dir(ref)
    make_dirs(folder)
    claim_partials(folder)  # a shared cache: resume partial downloads another user left
    return folder


def _download(
    ref: DatasetRef, part: Path, creds: Credentials, file: str | None, show: bool
) -> DownloadResult:
    label = f"{ref}" if file is None else f"{file} ({ref})"
    with (
        ByteProgress(f"Downloading {label}", enabled=show) as bar,
        client.translate_errors(ref),
    ):
        return download_to(
            part,
            lambda: client.open_download(ref, file=file, credentials=creds),
            progress=SharedPartial(part, bar),  # a shared cache: others can resume it
        )


def _fetch_dataset(ref: DatasetRef, creds: Credentials, *, show: bool, force: bool) -> Path:
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
        with ByteProgress(f"Extracting {ref}", enabled=show) as bar:
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
    share_tree(tmp)
    _commit(tmp, entry)
    manifest = build_manifest(
        kind="dataset",
        ref=ref,
        source_url=result.url,
        validator=result.validator,
        total_bytes=report.total_bytes,
        files=report.files,
        sha256=report.sha256,
        archive_bytes=result.size,
        skipped=report.skipped,
    )
    write_manifest(entry, manifest)
    discard_partial(part)
    if report.skipped_count:
        logger.info("Skipped %d junk file(s) (%s)", report.skipped_count, _reasons(report.skipped))
    return entry


def _fetch_file(ref: DatasetRef, name: str, creds: Credentials, *, show: bool) -> Path:
    work = _work_dir(ref)
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    part = work / f"v{ref.version}.file-{digest}"
    dest = file_entry_path(ref, name)
    discard_incomplete_entry(dest)
    result = _download(ref, part, creds, name, show)
    make_dirs(dest.parent)
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
            digest = report.sha256.get(inner[0], "")
        except ArchiveError:
            discard_partial(part)
            raise
        finally:
            remove_tree(tmp)
    else:
        from kagman.cache.verify import sha256_file  # only here: a cache hit never pays for it

        part.replace(dest)
        digest = sha256_file(dest)  # one read, from the page cache: ~1 ns per byte
    share_file(dest)
    size = dest.stat().st_size
    manifest = build_manifest(
        kind="file",
        ref=ref,
        source_url=result.url,
        validator=result.validator,
        total_bytes=size,
        files=[(name, size)],
        sha256={name: digest},
        file=name,
        unwrapped_zip=wrapped,
    )
    write_manifest(dest, manifest)
    discard_partial(part)
    return dest


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
