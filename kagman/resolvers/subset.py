"""Part of a version: the selected files, downloaded one by one, in parallel, into its entry.

Each file is its own resumable download (:func:`kagman.remote.transfer.download_to`, a
partial file in ``.incomplete/`` per file), several at a time on separate connections, and
lands in the version's own entry folder by an atomic rename. The manifest (kind ``subset``)
is rewritten last with every file the entry now holds and the selections it answers in
full; a later pull downloads only what the entry lacks. A pull of the whole version
replaces the entry with a complete one (:mod:`kagman.resolvers.fetch`).

Called with the dataset's (or competition's) lock held. Works for any :class:`Source`:
datasets and competitions differ only in how they list and open one file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from kagman.archive import ExtractLimits, extract_zip, is_zip
from kagman.archive.junk import maybe_junk, path_junk_reason
from kagman.cache.entries import (
    Holding,
    answer,
    discard_incomplete_entry,
    holding,
    target,
    touch_hit,
)
from kagman.cache.manifest import (
    build_manifest,
    later_fields,
    read_manifest,
    strip_query,
    write_manifest,
)
from kagman.cache.paths import entry_path, incomplete_dir
from kagman.cache.selection import Selection, nothing_matches, top_level
from kagman.cache.shared import SharedPartial, claim_partials, make_dirs, share_file
from kagman.cache.verify import sha256_file
from kagman.credentials import Credentials
from kagman.errors import (
    ArchiveError,
    CorruptArchiveError,
    DiskFullError,
    NotFoundError,
)
from kagman.fs import counted, disk_full_message, human_size, remove_tree
from kagman.remote import datasets
from kagman.remote.client import RemoteFile
from kagman.remote.refs import DatasetRef, Ref
from kagman.remote.transfer import DownloadResult, discard_partial, download_to
from kagman.resolvers.fetch import announce
from kagman.ui.progress import Bar

if TYPE_CHECKING:
    import requests

__all__ = ["CONNECTIONS", "Source", "dataset_source", "pull_subset"]

logger = logging.getLogger(__name__)
CONNECTIONS = 8  # files downloading at once (kagglehub's folder download uses 8 too)


@dataclass(frozen=True)
class Source:
    """Where a subset's files come from, and where they go."""

    ref: Ref  # pinned: a dataset with its version, or a competition
    label: str  # for messages and bars: "owner/slug/versions/3", "titanic"
    entry: Path  # the version's (or data state's) entry folder
    work: Path  # .incomplete/ of the dataset or competition
    prefix: str  # partial-file name prefix in ``work`` ("v3", the state)
    list_files: Callable[[], list[RemoteFile]]
    open_file: Callable[[str], AbstractContextManager[requests.Response]]
    files_command: str  # how the user lists every file: "kagman files owner/slug/versions/3"
    state: str | None = None  # a competition's data state


def dataset_source(ref: DatasetRef, creds: Credentials) -> Source:
    """A pinned dataset version as a :class:`Source` (``ListDatasetFiles``, ``DownloadDataset``)."""
    return Source(
        ref=ref,
        label=str(ref),
        entry=entry_path(ref),
        work=incomplete_dir(ref),
        prefix=f"v{ref.version}",
        list_files=lambda: datasets.list_files(ref, creds),
        open_file=lambda name: datasets.open_download(ref, file=name, credentials=creds),
        files_command=f"kagman files {ref}",
    )


def pull_subset(source: Source, selection: Selection, *, force: bool, show: bool) -> Path:
    """Bring the files of ``selection`` into ``source.entry``; return the file or folder.

    A lone ``--file NAME`` is first downloaded as a file (no listing needed); when Kaggle
    has no such file, the listing decides whether it is a folder.

    Raises
    ------
    EmptySelectionError
        Nothing of the version matches (the message lists the top-level folders).
    NotFoundError
        ``--file NAME`` is neither a file nor a folder of the data.
    CredentialsError, RemoteError, NetworkError, DiskFullError, ArchiveError
        From the listing or a download; files finished before the failure are kept.
    """
    held = holding(source.entry)
    if not force and (hit := answer(source.entry, selection, held)):
        return touch_hit(source.entry, hit)  # another pull brought it meanwhile
    if selection.maybe_single_file:
        name = str(selection.name)
        try:
            _download(source, held, [RemoteFile(name, 0)], selection.key(folder=False), show)
        except NotFoundError as err:
            listing = source.list_files()
            if not any(f.name.startswith(name + "/") for f in listing):
                msg = f"{err} Its top level has {top_level(f.name for f in listing)}."
                raise type(err)(msg, ref=err.ref, status=err.status) from err
        else:
            return source.entry / name
    else:
        listing = source.list_files()
    chosen = _choose(source, selection, listing)
    held = holding(source.entry)
    missing = chosen if force else [f for f in chosen if not held.has(source.entry, f.name)]
    folder = selection.folder_in({f.name for f in listing})  # --file NAME: a file or a folder
    _download(source, held, missing, selection.key(folder=folder), show)
    return target(source.entry, selection)


def _choose(source: Source, selection: Selection, listing: list[RemoteFile]) -> list[RemoteFile]:
    by_name = {f.name: f for f in listing}
    names = selection.select(by_name)
    junk = [n for n in names if maybe_junk(n) and path_junk_reason(n.split("/"))]
    if junk:  # the same clutter rules as extraction: __MACOSX/, .DS_Store, ...
        logger.info("Skipping %s such as %s", counted(len(junk), "junk file"), junk[0])
        names = [n for n in names if n not in set(junk)]
    if not names:
        raise nothing_matches(source.label, selection, by_name.keys(), source.files_command)
    chosen = [by_name[n] for n in names]
    size = sum(f.size for f in chosen)
    total = sum(f.size for f in listing)
    logger.info(
        "Selected %d of %d files (%s of %s) of %s.",
        len(chosen),
        len(listing),
        human_size(size),
        human_size(total),
        source.label,
    )
    return chosen


def _download(source: Source, held: Holding, files: list[RemoteFile], key: str, show: bool) -> None:
    """Download ``files`` in parallel into the entry, then record them (also on failure)."""
    if held.state == "incomplete":
        discard_incomplete_entry(source.entry)
    started = time.monotonic()
    make_dirs(source.entry)
    done: dict[str, tuple[int, tuple[str, str, bool], str]] = {}
    failed: BaseException | None = None
    total = sum(f.size for f in files)
    with Bar(f"Downloading {counted(len(files), 'file')} of {source.label}", enabled=show) as bar:
        if total:
            bar.set_total(total)
        with ThreadPoolExecutor(max_workers=min(CONNECTIONS, max(1, len(files)))) as pool:
            futures: dict[Future[Any], str] = {
                pool.submit(_fetch_one, source, f.name, bar): f.name for f in files
            }
            finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in [*finished, *(f for f in pending if not f.cancelled())]:
                try:
                    done[futures[future]] = future.result()
                except BaseException as err:  # the first one is re-raised below
                    failed = failed or err
    _record(source, held, done, key if failed is None else None)
    if failed is not None:
        raise failed
    if done:
        what = counted(len(done), "file")
        announce(source.ref, source.entry, what, sum(d[0] for d in done.values()), started)


def _fetch_one(source: Source, name: str, bar: Bar) -> tuple[int, tuple[str, str, bool], str]:
    """Download one file into the entry: its size, where it came from, its SHA-256."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    part = source.work / f"{source.prefix}.file-{digest}"
    make_dirs(source.work)
    claim_partials(source.work)
    what = f"{name} of {source.label}"  # how -v and errors name it: never the partial's id
    try:
        result = download_to(
            part, lambda: source.open_file(name), progress=SharedPartial(part, bar), what=what
        )
    except DiskFullError as err:
        # transfer.py's own free-space check names the partial file (v1.file-<hash>); say
        # which file it is instead.
        if err.path is None or not err.needed:
            raise
        raise DiskFullError(
            disk_full_message(f"the download of {what}", err.needed, err.free, err.path),
            path=err.path,
            needed=err.needed,
            free=err.free,
        ) from None
    dest = source.entry / name
    make_dirs(dest.parent)
    wrapped = _place(source, part, dest, name, result, digest)
    discard_partial(part)
    share_file(dest)
    return dest.stat().st_size, (result.url, result.validator, wrapped), sha256_file(dest)


def _place(  # noqa: PLR0917 - private helper
    source: Source, part: Path, dest: Path, name: str, result: DownloadResult, digest: str
) -> bool:
    """Move the download to ``dest``; unwrap Kaggle's ``<name>.zip`` like ``kaggle -f --unzip``."""
    basename = PurePosixPath(name).name
    served_as = PurePosixPath(strip_query(result.url)).name
    wrapped = served_as == f"{basename}.zip" and not basename.endswith(".zip") and is_zip(part)
    if not wrapped:
        part.replace(dest)
        return False
    for stale in source.work.glob(f"{source.prefix}.extract-*-{digest}"):
        remove_tree(stale)  # left by a killed pull of the same file; we hold the lock
    tmp = source.work / f"{source.prefix}.extract-{os.getpid()}-{digest}"
    tmp.mkdir()
    try:
        report = extract_zip(part, tmp, limits=ExtractLimits.from_env(), workers=1)
        inner = [f.path for f in report.files if PurePosixPath(f.path).name == basename]
        if len(inner) != 1:
            msg = f"Kaggle's zip for {name!r} does not hold that file. Run the pull again."
            raise CorruptArchiveError(msg, path=part)
        (tmp / inner[0]).replace(dest)
    except ArchiveError:
        discard_partial(part)
        raise
    finally:
        remove_tree(tmp)
    return True


def _record(
    source: Source,
    held: Holding,
    done: dict[str, tuple[int, tuple[str, str, bool], str]],
    key: str | None,
) -> None:
    """Rewrite the manifest: what the entry held plus what arrived (and the selection)."""
    if held.state == "complete":
        return  # a forced re-download of some files of a complete entry: still complete
    if not done and held.state == "incomplete":
        remove_tree(source.entry)  # nothing arrived: leave no empty folder behind
        return
    files = dict(held.files)
    sources: dict[str, tuple[str, str, bool]] = {}
    digests: dict[str, str] = {}
    with contextlib.suppress(OSError, ValueError):
        old = read_manifest(source.entry) if held.state == "subset" else {}
        for name, value in (old.get("sources") or {}).items():
            sources[name] = (str(value[0]), str(value[1]), bool(value[2]))
        digests = {str(f[0]): str(f[2]) for f in old.get("files") or () if len(f) > 2}
    for name, (size, origin, sha) in done.items():
        files[name] = size
        sources[name] = origin
        digests[name] = sha
    selections = set(held.selections) | ({key} if key else set())
    manifest = build_manifest(
        kind="subset",
        ref=source.ref,
        total_bytes=sum(files.values()),
        files=sorted(files.items()),
        sha256=digests,
        selections=sorted(selections),
        sources=sources,
        state=source.state,
    )
    manifest.update(later_fields(source.entry))  # --link links, a newer version seen
    write_manifest(source.entry, manifest)
