"""The pull flow: resolve the version, use the cache if it can, else download,
extract and commit.

Decisions are made by small helpers; the order of events is what makes a pull
safe to kill at any moment:

1. parse and validate the ref (no network);
2. a pinned version already complete in the cache -> return it (no network, no lock);
3. ``--offline`` -> newest complete cached version, or :class:`NotCachedError`;
4. otherwise one ``GetDataset`` call pins "latest"; a complete entry -> return it;
5. take the dataset's lock (another process may have finished meanwhile: check again);
6. download (resumable) into ``.incomplete/``, extract into a temp folder beside the
   entry, rename it into place, and write the manifest last.

The module is called ``datasets`` rather than ``pull`` so that importing it never
shadows the function ``kagman.pull``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from kagman.cache import (
    dataset_dir,
    dataset_lock,
    discard_incomplete_entry,
    entry_path,
    file_entry_path,
    is_complete,
    latest_cached_version,
    manifest_path,
    write_manifest,
)
from kagman.errors import (
    ArchiveError,
    CorruptArchiveError,
    DiskFullError,
    KagmanError,
    NotCachedError,
)
from kagman.fsutil import remove_tree
from kagman.handle import DatasetRef, parse_ref
from kagman.progress import ByteProgress, progress_enabled

if TYPE_CHECKING:
    from kagman.credentials import Credentials

__all__ = ["pull"]

logger = logging.getLogger(__name__)
OFFLINE_ENV = "KAGMAN_OFFLINE"
_TRUTHY = {"1", "true", "yes", "on"}


def pull(
    ref: str | DatasetRef,
    *,
    version: int | None = None,
    file: str | None = None,
    force: bool = False,
    offline: bool = False,
    link: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> Path:
    """Download a dataset (or one of its files) into the cache and return its path.

    Parameters
    ----------
    ref
        ``owner/slug`` or ``owner/slug/versions/N`` (or a kaggle.com dataset URL).
    version
        Pin a version, like ``/versions/N``.
    file
        Pull only this file of the dataset; the returned path is the file.
    force
        Download again even if the version is cached.
    offline
        Make no network request: use the newest complete cached version
        (also on when ``KAGMAN_OFFLINE=1``).
    link
        Also create ``<link>/<slug>`` (or ``<link>/<file name>``), a symlink to the cache entry.
    progress
        Show progress bars on stderr; ``None`` means only on a terminal or in Jupyter.

    Returns
    -------
    pathlib.Path
        Absolute path of the extracted dataset folder (or of the file).

    Raises
    ------
    InvalidRefError, CredentialsError, DatasetNotFoundError, TermsNotAcceptedError,
    RateLimitedError, NetworkError, NotCachedError, DiskFullError, ArchiveError

    Examples
    --------
    These need Kaggle, so they are shown, not doctested::

        path = kagman.pull("owner/dataset")
        path = kagman.pull("owner/dataset", version=3, link="data")
    """
    if isinstance(ref, DatasetRef) and version is None:
        dref = ref
    else:  # parse_ref also checks that a version in the ref agrees with `version`
        dref = parse_ref(str(ref), version=version)
    name = _check_file_name(file) if file is not None else None
    offline = offline or os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUTHY
    if offline and force:
        msg = "--force downloads again, --offline forbids downloading: use one or the other."
        raise KagmanError(msg)

    if dref.version is not None and not force and (hit := cached_path(dref, name)):
        return _finish(hit, link)
    if offline:
        pinned = dref if dref.version is not None else latest_cached_version(dref)
        hit = cached_path(pinned, name)
        if hit is None:
            what = f"{name!r} of {pinned}" if name else str(pinned)
            msg = (
                f"{what} is not in the cache, and offline mode forbids downloading it. "
                "Retry without --offline (and unset KAGMAN_OFFLINE) to download it."
            )
            raise NotCachedError(msg, ref=str(pinned))
        return _finish(hit, link)

    from kagman import kaggle_api
    from kagman.credentials import resolve_credentials

    creds = resolve_credentials()
    if dref.version is None:
        dref = kaggle_api.get_dataset(dref, creds).ref
        if not force and (hit := cached_path(dref, name)):
            return _finish(hit, link)
    with dataset_lock(dref):
        hit = None if force else cached_path(dref, name)
        if hit is None:
            show = progress_enabled(progress)
            if name is None:
                hit = _fetch_dataset(dref, creds, show=show, force=force)
            else:
                hit = _fetch_file(dref, name, creds, show=show)
    return _finish(hit, link)


def cached_path(ref: DatasetRef, name: str | None) -> Path | None:
    """The complete cached path for a pinned ref (and file), or ``None``."""
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


def _check_file_name(name: str) -> str:
    """Validate a ``--file`` name: a relative path inside the dataset.

    >>> _check_file_name("train/labels.csv")
    'train/labels.csv'
    """
    posix = PurePosixPath(name)
    if (
        not name
        or "\x00" in name
        or "\\" in name
        or posix.is_absolute()
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        msg = (
            f"Invalid file name {name!r}: give the file's path inside the dataset, "
            "like 'train.csv' or 'images/cat.jpg'."
        )
        raise KagmanError(msg)
    return name


def _incomplete_dir(ref: DatasetRef) -> Path:
    folder = dataset_dir(ref) / ".incomplete"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _download(ref: DatasetRef, part: Path, creds: Credentials, file: str | None, show: bool) -> Any:
    from kagman import kaggle_api
    from kagman.transfer import download_to

    label = f"{ref}" if file is None else f"{file} ({ref})"
    with (
        ByteProgress(f"Downloading {label}", enabled=show) as bar,
        kaggle_api.translate_errors(ref),
    ):
        return download_to(
            part, lambda: kaggle_api.open_download(ref, file=file, credentials=creds), progress=bar
        )


def _fetch_dataset(ref: DatasetRef, creds: Credentials, *, show: bool, force: bool) -> Path:
    from kagman.archive import ExtractLimits, extract_zip, is_zip
    from kagman.transfer import discard_partial

    work = _incomplete_dir(ref)
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
    _commit(tmp, entry)
    write_manifest(
        entry,
        {
            "kind": "dataset",
            "ref": ref.name,
            "version": ref.version,
            "source": result.url.split("?", 1)[0],  # never store a signed URL's token
            "validator": result.validator,
            "archive_bytes": result.size,
            "downloaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "total_bytes": report.total_bytes,
            "skipped": dict(report.skipped),
            "files": [list(item) for item in report.files],
        },
    )
    discard_partial(part)
    if report.skipped_count:
        logger.info("Skipped %d junk file(s) (%s)", report.skipped_count, _reasons(report.skipped))
    return entry


def _fetch_file(ref: DatasetRef, name: str, creds: Credentials, *, show: bool) -> Path:
    from kagman.archive import ExtractLimits, extract_zip, is_zip
    from kagman.transfer import discard_partial

    work = _incomplete_dir(ref)
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    part = work / f"v{ref.version}.file-{digest}"
    dest = file_entry_path(ref, name)
    discard_incomplete_entry(dest)
    result = _download(ref, part, creds, name, show)
    dest.parent.mkdir(parents=True, exist_ok=True)
    basename = PurePosixPath(name).name
    served_as = PurePosixPath(result.url.split("?", 1)[0]).name
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
    write_manifest(
        dest,
        {
            "kind": "file",
            "ref": ref.name,
            "version": ref.version,
            "file": name,
            "source": result.url.split("?", 1)[0],
            "validator": result.validator,
            "unwrapped_zip": wrapped,
            "downloaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "total_bytes": dest.stat().st_size,
        },
    )
    discard_partial(part)
    return dest


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


def _finish(path: Path, link: str | os.PathLike[str] | None) -> Path:
    if link is not None:
        make_link(path, Path(link))
    return path


def make_link(target: Path, folder: Path) -> Path:
    """Create or update ``folder/<target name>`` as a symlink to ``target``, atomically."""
    name = target.name if target.parent.name != "versions" else target.parent.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / name
    if link.exists() and not link.is_symlink():
        msg = (
            f"{link} already exists and is not a symlink, so --link will not replace it. "
            "Remove or rename it, or choose another --link folder."
        )
        raise KagmanError(msg)
    tmp = folder / f".{name}.kagman-link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(target, target_is_directory=target.is_dir())
    tmp.replace(link)
    return link


def _reasons(skipped: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))
