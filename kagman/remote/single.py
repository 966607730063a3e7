"""One connection: a download resumed from its prefix, hashed while it is written.

The rules are those of :mod:`kagman.remote.transfer` (``Range: bytes=N-`` with
``If-Range``, ``Content-Range`` and lengths checked, the MD5 computed while writing and
compared at the end); this module is their code for one connection, and the state the
attempts of one download share (:class:`DownloadState`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.errors import RemoteChangedError
from kagman.fs import ensure_free_space, human_size
from kagman.remote.answers import (
    TIMEOUT,
    BadAnswer,
    DownloadResult,
    Mismatch,
    changed_md5,
    check_range,
    check_status,
    classify,
    give_up,
    offer_of,
)
from kagman.remote.hosts import host_of
from kagman.remote.integrity import RunningMD5
from kagman.remote.partial import (
    PartialInfo,
    Progress,
    append_body,
    discard_partial,
    read_info,
    spans_prefix,
    write_at,
    write_info,
)
from kagman.remote.retry import with_retries

if TYPE_CHECKING:
    import requests

__all__ = [
    "DownloadState",
    "changed_twice",
    "download_prefix",
    "note_validator",
    "sample_prefix",
]

logger = logging.getLogger(__name__)
SAMPLE_BYTES = 1 << 20
Opener = Callable[[], AbstractContextManager["requests.Response"]]


@dataclass
class DownloadState:
    """What the attempts of one download share (the MD5 so far, the objects met, ...)."""

    what: str
    hasher: RunningMD5 = field(default_factory=RunningMD5)
    seen: list[str] = field(default_factory=list)  # validators met: an object that keeps changing
    host: str = ""
    mismatches: int = 0
    restarts: int = 0
    no_ranges: bool = False  # a ranged request was answered in full: one connection from now
    finished: bool = False


def sample_prefix(  # noqa: PLR0917 - one caller: Transfer
    part: Path,
    response: requests.Response,
    offer: PartialInfo,
    state: DownloadState,
    progress: Progress | None,
    seconds: float,
) -> float:
    """Read the start of a full answer into a fresh ``part``, for at most ``seconds`` or
    :data:`SAMPLE_BYTES`; return the rate it came at (bytes a second).

    The bytes are kept (and hashed): the download goes on from them, on this connection
    or in parts.
    """
    import time

    discard_partial(part)
    state.hasher.reset()
    write_info(part, offer)
    raw, got = response.raw, 0
    started = time.perf_counter()
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while got < SAMPLE_BYTES and time.perf_counter() - started < seconds:
            chunk = raw.read1(SAMPLE_BYTES - got)
            if not chunk:
                break
            write_at(fd, chunk, got, part)
            got += len(chunk)
            if offer.md5 is not None:
                state.hasher.update(chunk)
            if progress is not None:
                progress(len(chunk), offer.total, 0)
    finally:
        os.close(fd)
    return got / max(time.perf_counter() - started, 1e-6)


def download_prefix(  # noqa: PLR0917 - one caller: Transfer.sequential
    part: Path,
    first: requests.Response,
    open_response: Opener,
    progress: Progress | None,
    state: DownloadState,
    at: int = 0,
) -> DownloadResult:
    """Download on one connection, the answer ``first`` serving the first try (its body
    already read up to byte ``at``, into ``part``).

    Raises what :func:`kagman.remote.transfer.download_to` raises, and ``Mismatch``.
    """
    spare = [first]

    def attempt() -> DownloadResult:
        if spare:
            response = spare.pop()
            return _attempt(part, lambda: response, progress, state, at)
        return _attempt(part, open_response, progress, state)

    def fail(err: Exception, retries: int) -> Exception:
        have = part.stat().st_size if part.exists() else 0
        return give_up(err, retries, host=state.host, what=state.what, have=have)

    return with_retries(attempt, classify, give_up=fail)


def _attempt(
    part: Path,
    open_response: Callable[[], AbstractContextManager[requests.Response]],
    progress: Progress | None,
    state: DownloadState,
    at: int = 0,
) -> DownloadResult:
    import requests

    with contextlib.ExitStack() as stack:
        response = stack.enter_context(open_response())
        offer = offer_of(response)
        state.host = host_of(offer.url)
        info = read_info(part)
        have = _usable_prefix(part, info, offer)
        if have and have == offer.total:
            logger.debug("%s is already downloaded (%s)", state.what, human_size(have))
            return _finish(part, offer, have, state, info)
        declared = offer.total
        ranges = response.headers.get("Accept-Ranges", "").lower() == "bytes"
        if at and have == at:  # the answer goes on where its first bytes stopped
            declared = None if offer.total is None else offer.total - at
        elif have and ranges and offer.validator:
            response.close()
            headers = {"Range": f"bytes={have}-", "If-Range": offer.validator}
            response = _get(stack, offer.url, headers)
            if response.status_code == 206:
                declared = check_range(response, have, offer.total)
                if changed_md5(response, offer):
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
                offer = replace(offer_of(response), url=offer.url)
                declared = offer.total
            else:
                percent = f" ({100 * have // offer.total}%)" if offer.total else ""
                logger.debug("Resuming %s at byte %d%s", state.what, have, percent)
        else:
            have = 0
        note_validator(state.seen, offer.validator, part)
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
    check_status(response)
    return response


def _finish(
    part: Path, offer: PartialInfo, size: int, state: DownloadState, info: PartialInfo | None
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
        raise Mismatch(msg)
    write_info(part, replace(offer, total=size, verified=True))
    logger.debug("%s: MD5 verified (%s bytes, x-goog-hash)", state.what, f"{size:,}")
    return result


def note_validator(seen: list[str], validator: str, part: Path) -> None:
    """Allow one change of the remote object per download (a restart); refuse a second."""
    if validator not in seen:
        seen.append(validator)
    if len(seen) > 2:
        raise RemoteChangedError(changed_twice(part))


def changed_twice(part: Path) -> str:
    return (
        f"The file behind {part.name} changed more than once while it was downloading "
        "(the dataset is being updated). Wait a minute and run the same pull again."
    )


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
            raise BadAnswer(msg)
        logger.info("Discarding a partial download of a different remote file.")
        return 0
    have = part.stat().st_size
    if info.parts is not None:  # parts of a parallel download: only the prefix counts here
        have = spans_prefix(info.parts)
        os.truncate(part, have)
    return have if offer.total is None or have <= offer.total else 0
