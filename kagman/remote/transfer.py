"""Resumable, retrying, verified download of one blob: in parallel parts, or on one connection.

Each attempt (:class:`Transfer`) opens the blob's first answer (asking Kaggle for a fresh
signed URL), and reads what it says: its size, validator (ETag, else Last-Modified), MD5
(``x-goog-hash``) and ``Accept-Ranges``. An object of at least ``KAGMAN_PARALLEL_MIN_BYTES``
(8 MiB) from a storage that accepts ranges is fetched in parts over ``KAGMAN_CONNECTIONS``
connections (:mod:`kagman.remote.parallel`); anything else on this one connection, as
follows.

A partial download lives at ``<part>``, and what it is a prefix of in ``<part>.json``: the
URL (without its signature), the validator, the size and the storage's MD5. The next
attempt, in this process or a later one, asks only for the missing bytes with
``Range: bytes=N-`` guarded by ``If-Range: <validator>``: if the remote object changed, the
server sends the whole new object (200) and the partial file is started over, so two
versions are never spliced together. Dropped connections, timeouts, 429 and 5xx are
retried with backoff (see :mod:`kagman.remote.retry`).

Nothing is taken on trust:

- a 206 is written only when its ``Content-Range`` starts exactly where the partial file
  ends, belongs to an object of the partial's size, and agrees with its ``Content-Length``;
- an answer that runs past the length it declared is cut back off the partial file;
- an answer under the partial's validator but with another MD5 is another object (an
  ETag kept across a change): the partial is started over, never spliced;
- the MD5 of the whole file, computed while writing (:mod:`kagman.remote.integrity`), must
  match ``x-goog-hash``: a mismatch (a short body that said it was complete, a splice)
  discards the partial file and downloads once more from zero, then raises
  :class:`~kagman.errors.CorruptDownloadError`.

The same rules hold for every part of a parallel download, each part checked and resumed
on its own; the MD5 is then computed behind the parts, in order (see
:mod:`kagman.remote.parallel`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from kagman.errors import CorruptDownloadError, RemoteChangedError
from kagman.fs import counted, human_size
from kagman.remote.answers import DownloadResult, Mismatch, RangesRefused, Restart, offer_of
from kagman.remote.hosts import host_of
from kagman.remote.parallel import RangedDownload
from kagman.remote.partial import (
    PartialInfo,
    Progress,
    Span,
    discard_partial,
    partial_progress,
    read_info,
)
from kagman.remote.single import (
    SAMPLE_BYTES,
    DownloadState,
    Opener,
    changed_twice,
    download_prefix,
    note_validator,
    sample_prefix,
)
from kagman.settings import CONNECTIONS_ENV, PARALLEL_MIN_BYTES_ENV, env_number

__all__ = [
    "DownloadResult",
    "PartialInfo",
    "RangedDownload",
    "Transfer",
    "discard_partial",
    "download_to",
    "partial_progress",
    "transfers",
]

logger = logging.getLogger(__name__)
DEFAULT_CONNECTIONS = 8
DEFAULT_PARALLEL_MIN_BYTES = 8 << 20
_MAX_RESTARTS = 2  # changes of the remote object one download lives through
FAST_LINK = 150e6  # bytes/s (1.2 Gbit/s): a connection this fast outruns extraction alone


def connections() -> int:
    """``KAGMAN_CONNECTIONS``: connections of a parallel download (default 8, at least 1)."""
    return max(1, int(env_number(CONNECTIONS_ENV, DEFAULT_CONNECTIONS)))


def parallel_min_bytes() -> int:
    """``KAGMAN_PARALLEL_MIN_BYTES``: smaller objects are fetched with one request."""
    return max(1, int(env_number(PARALLEL_MIN_BYTES_ENV, DEFAULT_PARALLEL_MIN_BYTES)))


def transfers(
    part: Path, open_response: Opener, *, what: str, progress: Progress | None = None
) -> Iterator[Transfer]:
    """The attempts of one download, as many as it takes (see :class:`Transfer`)::

        for transfer in transfers(part, open_response, what=label):
            with transfer:
                ...  # return from here when done

    An attempt ends in a new one when the object changed (:class:`Transfer` starts over)
    or its MD5 did not match (once); otherwise its error goes to the caller.
    """
    state = DownloadState(what)
    while not state.finished:
        yield Transfer(part, open_response, state, progress)


class Transfer:
    """One attempt at a download: its first answer opened, the way to fetch it chosen.

    ``ranged`` says whether to fetch in parts (:meth:`parallel`); else :meth:`sequential`.
    Leaving the ``with`` block closes what is open and decides what an error means: the
    object changed (the partial file is discarded, and :func:`transfers` tries again; a
    third change raises :class:`~kagman.errors.RemoteChangedError`), its MD5 did not match
    (again once from zero, then :class:`~kagman.errors.CorruptDownloadError`), the server
    ignores ``Range`` (again on one connection); anything else is the caller's.
    """

    def __init__(
        self, part: Path, open_response: Opener, state: DownloadState, progress: Progress | None
    ) -> None:
        self.part = part
        self._open = open_response
        self._state = state
        self._progress = progress
        self._stack = contextlib.ExitStack()
        self.ranged = False
        self._at = 0  # bytes of the first answer already read into the partial file

    def __enter__(self) -> Transfer:
        with self._stack.pop_all() as stack:
            self._response = stack.enter_context(self._open())
            self._stack = stack.pop_all()
        self.offer = offer_of(self._response)
        self._state.host = host_of(self.offer.url)
        self.ranged = self._can_range()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self._stack.close()
        return _absorb(self._state, self.part, exc)

    @property
    def host(self) -> str:
        """The storage host (``scheme://host[:port]``), for messages."""
        return self._state.host

    def _can_range(self) -> bool:
        """Whether to fetch in parts: ranges, a validator, size enough, a link not too fast.

        A fresh download of 2 MiB or more first reads up to 1 MiB (7 ms at most) of the
        answer already open: a connection that brings it at more than :data:`FAST_LINK`
        (a local link; loopback brings 0.3-2.6 GB/s) goes on alone, where parts and
        extracting while downloading only add their own costs to a machine that is the
        bottleneck. The bytes read are kept either way.
        """
        offer, headers = self.offer, self._response.headers
        if self._state.no_ranges or headers.get("Accept-Ranges", "").lower() != "bytes":
            return False
        if not offer.validator or offer.total is None or offer.total < parallel_min_bytes():
            return False
        have, total = partial_progress(self.part)
        if have and total == offer.total:
            return have < total  # resume in parts (unless it is done: nothing to fetch)
        if offer.total < 2 * SAMPLE_BYTES:  # a sample would say little, and save less
            return True
        state = self._state
        seconds = SAMPLE_BYTES / FAST_LINK  # any longer, and the link is not that fast
        rate = sample_prefix(self.part, self._response, offer, state, self._progress, seconds)
        self._at = self.part.stat().st_size
        if rate > FAST_LINK:
            logger.debug("%s: %.0f MB/s on one connection: no parts", state.what, rate / 1e6)
            return False
        return True

    def sequential(self) -> DownloadResult:
        """Fetch on one connection (resuming a prefix), hashing while writing; verify."""
        first, state = self._response, self._state
        return download_prefix(self.part, first, self._open, self._progress, state, self._at)

    def parallel(self) -> RangedDownload:
        """The download in parts, resuming what the record says is on disk."""
        self._response.close()
        offer = self.offer
        note_validator(self._state.seen, offer.validator, self.part)
        size = human_size(offer.total) if offer.total is not None else "unknown size"
        logger.debug(
            "Downloading %s (%s) from %s in parts, over up to %s",
            self._state.what,
            size,
            self._state.host,
            counted(connections(), "connection"),
        )
        spans = _resume_spans(self.part, offer)
        if spans and not self._at:
            have = sum(span.done for span in spans)
            percent = 100 * have // max(offer.total or 0, 1)
            logger.debug("Resuming %s: %d%% of it is on disk", self._state.what, percent)
        return RangedDownload(
            self.part,
            offer,
            spans,
            connections=connections(),
            progress=self._progress,
            what=self._state.what,
            host=self._state.host,
        )


def _absorb(state: DownloadState, part: Path, exc: BaseException | None) -> bool:
    """Whether a transfer's error means "try again" (see :class:`Transfer`)."""
    if exc is None:
        state.finished = True
        return False
    if isinstance(exc, Mismatch):
        if state.mismatches:
            msg = (
                f"The download of {state.what} from {state.host} did not match the MD5 the "
                f"storage sent (x-goog-hash), twice ({exc}); it was removed. Run the pull "
                "again later; if it keeps failing, the file on Kaggle may be damaged."
            )
            raise CorruptDownloadError(msg, path=part) from None
        state.mismatches += 1
        logger.info(
            "The download of %s did not match its MD5 (%s); downloading it again.",
            state.what,
            exc,
        )
        return True
    if isinstance(exc, Restart):
        discard_partial(part)
        state.restarts += 1
        if state.restarts > _MAX_RESTARTS:
            raise RemoteChangedError(changed_twice(part)) from None
        why = str(exc)
        logger.info("%s; starting over.", why[:1].upper() + why[1:])
        return True
    if isinstance(exc, RangesRefused):
        state.no_ranges = True
        logger.info("The download server ignores Range requests; using one connection.")
        return True
    return False


def _resume_spans(part: Path, offer: PartialInfo) -> tuple[Span, ...] | None:
    """What a parallel download may keep of ``part``: its parts, a prefix, or nothing."""
    info = read_info(part)
    if info is None or not part.exists() or offer.total is None:
        return None
    if info.validator != offer.validator or info.total != offer.total:
        logger.info("Discarding a partial download of a different remote file.")
        return None
    if None not in (info.md5, offer.md5) and info.md5 != offer.md5:
        logger.info("The remote file changed under the same ETag; starting over.")
        return None
    if info.parts is not None:
        return info.parts
    have = part.stat().st_size
    return (Span(0, offer.total, have),) if have <= offer.total else None


def download_to(
    part: Path,
    open_response: Opener,
    *,
    progress: Progress | None = None,
    what: str | None = None,
) -> DownloadResult:
    """Download into ``part``, resuming what a previous attempt left there, and verify it.

    Parameters
    ----------
    part
        The partial file (in the cache's ``.incomplete`` folder).
    open_response
        Returns a context manager giving a fresh streamed response for the whole
        object (it asks Kaggle for a new blob URL each time, since signed URLs
        expire) and closing its connections on exit.
    progress
        Called as ``progress(n_new_bytes, total, already_have)`` (from the download's
        threads, one call at a time, when it goes in parts).
    what
        How messages name the download (default: the partial file's name).

    Raises
    ------
    NetworkError, ServerError, RateLimitedError
        When retries are exhausted; the partial file is kept for the next run.
    CorruptDownloadError
        The bytes did not match the storage's MD5 twice (the partial file is removed).
    RemoteChangedError
        The object changed more than twice while it downloaded.
    DiskFullError
        When the disk fills up; the partial file is removed to give the space back.
    """
    for transfer in transfers(part, open_response, what=what or part.name, progress=progress):
        with transfer:
            if not transfer.ranged:
                return transfer.sequential()
            with transfer.parallel() as download:
                download.start()
                return download.finish()
    raise AssertionError  # pragma: no cover - transfers() ends only after a return
