"""Resumable, retrying, verified download of one blob into a partial file.

A partial download lives at ``<part>``, and what it is a prefix of in ``<part>.json``: the
URL, the validator (ETag, else Last-Modified), the size and the storage's MD5. The next
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
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.errors import CorruptDownloadError, NetworkError, RemoteChangedError, ServerError
from kagman.fs import ensure_free_space, human_size
from kagman.remote.hosts import host_of, why
from kagman.remote.integrity import RunningMD5, content_range, goog_md5
from kagman.remote.partial import (
    BodyOverrun,
    PartialInfo,
    Progress,
    append_body,
    discard_partial,
    partial_progress,
    read_info,
    write_info,
)
from kagman.remote.retry import RETRYABLE_STATUSES, Retry, parse_retry_after, with_retries

if TYPE_CHECKING:
    import requests

__all__ = ["DownloadResult", "PartialInfo", "discard_partial", "download_to", "partial_progress"]

logger = logging.getLogger(__name__)
TIMEOUT = (15, 60)  # connect, read (seconds)


@dataclass(frozen=True)
class DownloadResult:
    """A finished download: where, how big, from where, and whether its MD5 was checked."""

    path: Path
    size: int
    url: str
    validator: str
    md5: str | None = None
    host: str = ""


def _offer(response: requests.Response) -> PartialInfo:
    """What a full (200) answer says the object is."""
    headers = response.headers
    length = headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    validator = str(headers.get("ETag") or headers.get("Last-Modified") or "")
    return PartialInfo(response.url, validator, total, goog_md5(headers))


@dataclass
class _State:
    """What the attempts of one download share."""

    what: str
    hasher: RunningMD5 = field(default_factory=RunningMD5)
    seen: list[str] = field(default_factory=list)  # validators met: an object that keeps changing
    host: str = ""


def download_to(
    part: Path,
    open_response: Callable[[], AbstractContextManager[requests.Response]],
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
        Called as ``progress(n_new_bytes, total, already_have)``.
    what
        How messages name the download (default: the partial file's name).

    Raises
    ------
    NetworkError, ServerError, RateLimitedError
        When retries are exhausted; the partial file is kept for the next run.
    CorruptDownloadError
        The bytes did not match the storage's MD5 twice (the partial file is removed).
    DiskFullError
        When the disk fills up; the partial file is removed to give the space back.
    """
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error

    state = _State(what or part.name)
    dropped = (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
        Urllib3Error,
    )

    def classify(err: Exception) -> Retry | None:
        if isinstance(err, _RetryableStatus):
            return Retry(f"The download server answered {err.status}", err.retry_after)
        if isinstance(err, (_BadAnswer, BodyOverrun)):
            return Retry(f"The download server sent a bad answer ({err})")
        if isinstance(err, dropped):
            return Retry(f"Download interrupted ({why(err)})")
        return None

    def give_up(err: Exception, retries: int) -> Exception:
        have = part.stat().st_size if part.exists() else 0
        host = state.host or "Kaggle's storage"
        if isinstance(err, (_RetryableStatus, _BadAnswer, BodyOverrun)):
            status = err.status if isinstance(err, _RetryableStatus) else 206
            msg = (
                f"The download server {host} kept failing ({err}) after {retries} retries; "
                f"{have:,} bytes are saved and the next pull resumes from there."
            )
            return ServerError(msg, status=status)
        msg = (
            f"Could not download {state.what} from {host} ({why(err)}) after {retries} "
            f"retries; {have:,} bytes are saved. Check your connection and run the same pull "
            "again: it resumes where it stopped."
        )
        return NetworkError(msg)

    for fresh in (False, True):
        try:
            return with_retries(
                lambda: _attempt(part, open_response, progress, state), classify, give_up=give_up
            )
        except _Mismatch as err:
            if fresh:
                msg = (
                    f"The download of {state.what} from {state.host} did not match the MD5 the "
                    f"storage sent (x-goog-hash), twice ({err}); it was removed. Run the pull "
                    "again later; if it keeps failing, the file on Kaggle may be damaged."
                )
                raise CorruptDownloadError(msg, path=part) from None
            logger.info(
                "The download of %s did not match its MD5 (%s); downloading it again.",
                state.what,
                err,
            )
    raise AssertionError  # pragma: no cover - the loop returns or raises


class _RetryableStatus(Exception):  # noqa: N818 - internal signal, never escapes
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class _BadAnswer(Exception):  # noqa: N818 - internal signal, never escapes
    """A 206 for other bytes than asked, or a body longer or shorter than it declared."""


class _Mismatch(Exception):  # noqa: N818 - internal signal, never escapes
    """The finished file's MD5 is not the storage's (it was discarded)."""


def _attempt(
    part: Path,
    open_response: Callable[[], AbstractContextManager[requests.Response]],
    progress: Progress | None,
    state: _State,
) -> DownloadResult:
    import requests

    with contextlib.ExitStack() as stack:
        response = stack.enter_context(open_response())
        offer = _offer(response)
        state.host = host_of(offer.url)
        info = read_info(part)
        have = _usable_prefix(part, info, offer)
        if have and have == offer.total:
            logger.debug("%s is already downloaded (%s)", state.what, human_size(have))
            return _finish(part, offer, have, state, info)
        declared = offer.total
        ranges = response.headers.get("Accept-Ranges", "").lower() == "bytes"
        if have and ranges and offer.validator:
            response.close()
            headers = {"Range": f"bytes={have}-", "If-Range": offer.validator}
            response = _get(stack, offer.url, headers)
            if response.status_code == 206:
                declared = _check_range(response, have, offer)
                if goog_md5(response.headers) not in (None, offer.md5):
                    logger.info("The remote file changed under the same ETag; starting over.")
                    response.close()
                    response = _get(stack, offer.url, {})
                    have = 0
            elif response.status_code == 416:  # our offset is past the end: the object shrank
                response.close()
                response = _get(stack, offer.url, {})
                have = 0
            else:
                # If-Range failed: the object changed. Start over with what was sent.
                logger.info("The remote file changed since the partial download; starting over.")
                have = 0
            if have == 0:
                offer = replace(_offer(response), url=offer.url)
                declared = offer.total
            else:
                percent = f" ({100 * have // offer.total}%)" if offer.total else ""
                logger.debug("Resuming %s at byte %d%s", state.what, have, percent)
        else:
            have = 0
        _note_validator(state.seen, offer.validator, part)
        if offer.total is not None:
            ensure_free_space(part.parent, offer.total - have, what=f"the download of {part.name}")
        if have == 0:
            discard_partial(part)
            state.hasher.reset()
            size_text = human_size(offer.total) if offer.total is not None else "unknown size"
            logger.debug("Downloading %s (%s) from %s", state.what, size_text, state.host)
        elif offer.md5 is not None:
            state.hasher.catch_up(part, have)  # reads the prefix only if another process wrote it
        write_info(part, offer)
        hasher = state.hasher if offer.md5 is not None else None
        written = append_body(response, part, have, declared, hasher, progress, offer.total)
    size = have + written
    if offer.total is not None and size != offer.total:
        # The connection ended early without an exception; treat as a drop and resume.
        msg = f"got {size} of {offer.total} bytes"
        raise requests.exceptions.ChunkedEncodingError(msg)
    if offer.total is None:
        offer = replace(offer, total=size)  # now the size is known
        write_info(part, offer)
    return _finish(part, offer, size, state, None)


def _get(stack: contextlib.ExitStack, url: str, headers: dict[str, str]) -> requests.Response:
    """A streamed GET of the blob URL; 429/5xx become a retry, other errors an HTTPError."""
    import requests

    response: requests.Response = stack.enter_context(
        requests.get(url, headers=headers, stream=True, timeout=TIMEOUT)
    )
    if response.status_code in RETRYABLE_STATUSES:
        after = parse_retry_after(response.headers.get("Retry-After"))
        raise _RetryableStatus(response.status_code, after)
    if response.status_code != 416:
        response.raise_for_status()
    return response


def _check_range(response: requests.Response, have: int, offer: PartialInfo) -> int:
    """The bytes a 206 answer declares, once it is known to be the rest of our object."""
    span = content_range(response.headers.get("Content-Range"))
    if span is None or span.start != have:
        start = span.start if span is not None else None
        msg = f"asked for bytes {have}-, got a Content-Range starting at {start}"
        raise _BadAnswer(msg)
    if span.total is not None and offer.total is not None and span.total != offer.total:
        msg = f"a range of a {span.total}-byte object, for a {offer.total}-byte download"
        raise _BadAnswer(msg)
    declared = span.end - span.start + 1
    length = response.headers.get("Content-Length")
    if length is not None and length != str(declared):
        msg = f"Content-Length {length} for a {declared}-byte Content-Range"
        raise _BadAnswer(msg)
    return declared


def _finish(
    part: Path, offer: PartialInfo, size: int, state: _State, info: PartialInfo | None
) -> DownloadResult:
    """Check a complete file against the storage's MD5, once; record that it passed."""
    result = DownloadResult(part, size, offer.url, offer.validator, offer.md5, state.host)
    if offer.md5 is None:
        logger.debug("%s: the storage sent no MD5; checked its size only", state.what)
        return result
    if info is not None and info.verified and info.md5 == offer.md5:
        logger.debug("%s: MD5 verified earlier", state.what)
        return result
    state.hasher.catch_up(part, size)  # no read: hashed while writing, unless resumed
    got = state.hasher.b64digest()
    if got != offer.md5:
        discard_partial(part)
        state.hasher.reset()
        msg = f"expected {offer.md5}, got {got}"
        raise _Mismatch(msg)
    write_info(part, replace(offer, total=size, verified=True))
    logger.debug("%s: MD5 verified (%s bytes, x-goog-hash)", state.what, f"{size:,}")
    return result


def _note_validator(seen: list[str], validator: str, part: Path) -> None:
    """Allow one change of the remote object per download (a restart); refuse a second."""
    if validator not in seen:
        seen.append(validator)
    if len(seen) > 2:
        msg = (
            f"The file behind {part.name} changed more than once while it was downloading "
            "(the dataset is being updated). Wait a minute and run the same pull again."
        )
        raise RemoteChangedError(msg)


def _usable_prefix(part: Path, info: PartialInfo | None, offer: PartialInfo) -> int:
    """Bytes of ``part`` that belong to the object now on offer (0 if none or changed).

    Raises ``_BadAnswer`` for an answer that claims the partial's object (same validator and
    MD5) with another length: a storage that sends part of a file and says that is all.
    """
    if info is None or not part.exists():
        return 0
    if not offer.validator or info.validator != offer.validator:
        logger.info("Discarding a partial download of a different remote file.")
        return 0
    same_md5 = info.md5 is not None and info.md5 == offer.md5
    if info.md5 is not None and offer.md5 is not None and not same_md5:
        logger.info("The remote file changed under the same ETag; starting over.")
        return 0
    if info.total != offer.total:
        if same_md5:
            msg = f"{offer.total} bytes offered for a {info.total}-byte file"
            raise _BadAnswer(msg)
        logger.info("Discarding a partial download of a different remote file.")
        return 0
    have = part.stat().st_size
    return have if offer.total is None or have <= offer.total else 0
