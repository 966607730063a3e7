"""An archive, downloaded and extracted into a temporary folder: both at once where possible.

Where the storage accepts ``Range`` and the archive is big enough
(:class:`kagman.remote.transfer.Transfer` decides), the download goes in parallel parts
and extraction overlaps it, so a cold pull costs about the longer of the two, not their
sum:

1. the archive's end is fetched first (a suffix ``Range`` request: the end records, then
   the central directory, as pip's ``lazy_wheel`` reads a remote wheel);
2. the extraction workers start, then the download's connections, and meanwhile every
   member is planned and checked from the directory, exactly as for a file on disk;
   nothing is written until the whole plan is accepted (a hostile archive is refused
   from its central directory: the parts under way stop and the download is removed);
3. each batch of members is written once its bytes are on disk
   (:class:`~kagman.archive.Arrival`), while the MD5 follows the download;
4. the archive is complete and its MD5 matched before the caller commits anything.

Otherwise (a server without ranges, a small archive, a download already complete) the
archive is downloaded on one connection, then extracted from disk. Either way an error
or a Ctrl-C removes the temporary folder; a download's bytes are kept for the next pull
(also when an extraction worker died), unless they were refused (a corrupt or hostile
archive, one that cannot be extracted here) or the disk is full.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.archive import Arrival, ExtractLimits, ExtractReport, extract_zip, is_zip
from kagman.archive.zipformat import has_end_record
from kagman.cache.shared import SharedPartial
from kagman.errors import (
    ArchiveError,
    CacheAccessError,
    CorruptArchiveError,
    DiskFullError,
    WorkerDiedError,
)
from kagman.fs import counted, human_size, remove_tree
from kagman.remote import client
from kagman.remote.transfer import (
    DownloadResult,
    RangedDownload,
    Transfer,
    discard_partial,
    partial_progress,
    transfers,
)
from kagman.ui.interrupt import log_interrupted
from kagman.ui.progress import Bar

if TYPE_CHECKING:
    import requests

    from kagman.remote.refs import Ref

__all__ = ["download_and_extract", "kept_partial"]

logger = logging.getLogger(__name__)


def _next_pull(force: bool) -> str:
    """The pull that uses what was kept: a plain pull of a cached version does not."""
    return "the next pull with --force" if force else "the next pull"


def _kept_download(force: bool) -> str:
    return (
        "the temporary extraction folder was removed; the download is complete and kept, "
        f"so {_next_pull(force)} only extracts it."
    )


def kept_partial(part: Path, *, force: bool = False) -> str:
    """What an interrupted download keeps, in words (for the Ctrl-C line).

    ``force``: the download replaces a cached version (``pull --force``), so only a
    repeated ``--force`` resumes it (a plain pull finds the cached version).
    """
    have, total = partial_progress(part)
    if not have:
        return "nothing had been downloaded yet."
    if not total:
        return f"the partial download ({human_size(have)}) is kept; {_next_pull(force)} resumes it."
    percent = 100 * have // total
    return (
        f"the partial download is kept ({human_size(have)} of {human_size(total)}); "
        f"{_next_pull(force)} resumes at {percent}%."
    )


@contextmanager
def _on_interrupt(say: Callable[[], str]) -> Iterator[None]:
    """Log what was kept when Ctrl-C (or a notebook's interrupt) lands; then let it go on."""
    try:
        yield
    except KeyboardInterrupt:
        log_interrupted(logger, say())
        raise


def download_and_extract(
    ref: Ref,
    open_response: Callable[[], AbstractContextManager[requests.Response]],
    part: Path,
    tmp: Path,
    *,
    show: bool,
    force: bool = False,
) -> tuple[DownloadResult, ExtractReport]:
    """Download the archive of ``ref`` into ``part`` and extract it into ``tmp`` (made here).

    ``open_response`` asks Kaggle for the archive and gives the storage's streamed answer
    (as :func:`kagman.remote.transfer.download_to` takes it). ``force``: the pull replaces
    a cached version (what is kept is then for a repeated ``--force``, and says so).

    Returns the download (verified) and what was extracted. On an error ``tmp`` is
    removed; ``part`` is kept for the next pull unless the archive was refused.

    Raises
    ------
    ArchiveError, DiskFullError
        As :func:`kagman.archive.extract_zip` (the download is removed).
    WorkerDiedError
        An extraction worker died (the download is kept: the message says what the
        next pull does with it).
    NetworkError, ServerError, RateLimitedError, CorruptDownloadError, RemoteChangedError
        As :func:`kagman.remote.transfer.download_to`.
    """
    label = str(ref)
    with Bar(f"Downloading {label}", enabled=show) as bar, client.translate_errors(ref):
        # SharedPartial: in a shared cache, others can resume the partial file
        progress = SharedPartial(part, bar)
        for transfer in transfers(part, open_response, what=label, progress=progress):
            with transfer:
                if transfer.ranged:
                    return _overlapped(ref, transfer, part, tmp, show, force)
                with _on_interrupt(lambda: kept_partial(part, force=force)):
                    result = transfer.sequential()
                break
        else:  # pragma: no cover - transfers() ends only after a break or a return
            raise AssertionError
    if not part.is_file():
        msg = (
            f"The downloaded file {part} disappeared before kagman could use it (was the "
            "cache folder removed or cleaned during the pull?). Run the pull again."
        )
        raise CacheAccessError(msg, path=part)
    if not is_zip(part):
        raise _not_a_zip(ref, part)
    return result, _extract_file(ref, part, tmp, show, force)


def _not_a_zip(ref: Ref, part: Path) -> CorruptArchiveError:
    discard_partial(part)
    msg = (
        f"Kaggle sent something that is not a zip archive for {ref}; the download "
        "was removed. Run the pull again; if it keeps failing, the dataset may be broken."
    )
    return CorruptArchiveError(msg, path=part)


def _extract_file(ref: Ref, part: Path, tmp: Path, show: bool, force: bool) -> ExtractReport:
    """Extract a complete download (today's way: the whole archive is on disk)."""
    extracting = time.perf_counter()
    with _cleanup(part, tmp, lambda: _kept_download(force)):
        tmp.mkdir()
        with Bar(f"Extracting {ref}", enabled=show) as bar:
            report = extract_zip(
                part, tmp, limits=ExtractLimits.from_env(), progress=bar, on_total=bar.set_total
            )
    _extracted(report, extracting)
    return report


def _overlapped(  # noqa: PLR0917 - private, one caller
    ref: Ref, transfer: Transfer, part: Path, tmp: Path, show: bool, force: bool
) -> tuple[DownloadResult, ExtractReport]:
    """Download in parts while extracting what has arrived (see the module docstring)."""
    extracting = time.perf_counter()
    with transfer.parallel() as download:

        def kept() -> str:
            download.stop()  # the record now says what is on disk
            if download.have() == download.size:
                return _kept_download(force)
            removed = "the temporary extraction folder was removed"
            return f"{removed}; {kept_partial(part, force=force)}"

        if not has_end_record(download.read, download.size):
            download.stop()
            raise _not_a_zip(ref, part)
        with _cleanup(part, tmp, kept, download):
            tmp.mkdir()
            arrival = Arrival(
                download.read,
                download.size,
                download.wait,
                download.start,
                reserve=download.size - download.have(),
            )
            with Bar(f"Extracting {ref}", enabled=show) as bar:
                report = extract_zip(
                    part,
                    tmp,
                    limits=ExtractLimits.from_env(),
                    progress=bar,
                    on_total=bar.set_total,
                    arrival=arrival,
                )
            _extracted(report, extracting)
            result = download.finish()  # the rest of the MD5; the record says "verified"
    return result, report


@contextmanager
def _cleanup(
    part: Path, tmp: Path, kept: Callable[[], str], download: RangedDownload | None = None
) -> Iterator[None]:
    """Remove ``tmp`` on any error; remove the download too when the archive is refused.

    A worker that died is not the archive's fault: the download is kept, and the error
    says what the next pull does with it. A full disk removes it to give the space back.
    """
    try:
        yield
    except (ArchiveError, DiskFullError) as err:
        remove_tree(tmp)
        if download is not None:
            download.stop()  # no thread writes into the partial file any more
            if err is download.error:  # the download's own full disk: already said and done
                raise
        if isinstance(err, WorkerDiedError):
            said = kept()
            msg = f"{err} {said[:1].upper()}{said[1:]}"
            raise type(err)(msg, path=part, member=err.member) from err
        discard_partial(part)
        if isinstance(err, DiskFullError):
            msg = f"{err} The downloaded archive was removed to give the space back."
            raise DiskFullError(msg, path=err.path, needed=err.needed, free=err.free) from err
        msg = f"{err} The downloaded archive was removed."
        raise type(err)(msg, path=part, member=err.member) from err
    except KeyboardInterrupt:
        remove_tree(tmp)  # extraction workers have stopped: nothing writes into it any more
        log_interrupted(logger, kept())
        raise
    except BaseException:
        remove_tree(tmp)
        raise


def _extracted(report: ExtractReport, since: float) -> None:
    logger.debug(
        "Extracted %s (%s) in %.2f s; every member's CRC-32 checked",
        counted(len(report.files), "file"),
        human_size(report.total_bytes),
        time.perf_counter() - since,
    )
