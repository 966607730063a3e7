"""Resumable, retrying download of one blob into a partial file.

A partial download lives at ``<part>`` with its validator (ETag or
Last-Modified), URL and expected size in ``<part>.json``. The next attempt,
in this process or a later one, asks only for the missing bytes with
``Range: bytes=N-`` guarded by ``If-Range: <validator>``: if the remote object
changed, the server sends the whole new object (200) and the partial file is
started over, so two versions are never spliced together. Dropped connections,
timeouts, 429 and 5xx are retried with backoff (see :mod:`kagman.remote.retry`).
A 206 answer is written only when its ``Content-Range`` starts exactly where the
partial file ends.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.errors import DiskFullError, NetworkError, RemoteChangedError, ServerError
from kagman.fs import atomic_write_bytes, ensure_free_space
from kagman.remote.retry import RETRYABLE_STATUSES, Retry, parse_retry_after, with_retries

if TYPE_CHECKING:
    import requests

__all__ = ["DownloadResult", "PartialInfo", "discard_partial", "download_to"]

logger = logging.getLogger(__name__)
CHUNK = 1024 * 1024
TIMEOUT = (15, 60)  # connect, read (seconds)


@dataclass(frozen=True)
class PartialInfo:
    """What we know about the object a partial file is a prefix of."""

    url: str
    validator: str  # ETag, else Last-Modified, else ""
    total: int | None


@dataclass(frozen=True)
class DownloadResult:
    """A finished download."""

    path: Path
    size: int
    url: str
    validator: str


def _info_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _read_info(part: Path) -> PartialInfo | None:
    try:
        data = json.loads(_info_path(part).read_bytes())
        return PartialInfo(str(data["url"]), str(data["validator"]), data.get("total"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _validator(response: requests.Response) -> str:
    return str(response.headers.get("ETag") or response.headers.get("Last-Modified") or "")


def _total(response: requests.Response) -> int | None:
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def discard_partial(part: Path) -> None:
    """Forget a partial download (e.g. after a corrupt archive)."""
    for path in (part, _info_path(part)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def download_to(
    part: Path,
    open_response: Callable[[], AbstractContextManager[requests.Response]],
    *,
    progress: Callable[[int, int | None, int], None] | None = None,
) -> DownloadResult:
    """Download into ``part``, resuming what a previous attempt left there.

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

    Raises
    ------
    NetworkError, ServerError, RateLimitedError
        When retries are exhausted; the partial file is kept for the next run.
    DiskFullError
        When the disk fills up; the partial file is removed to give the space back.
    """
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error

    dropped = (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
        Urllib3Error,
    )

    def classify(err: Exception) -> Retry | None:
        if isinstance(err, _RetryableStatus):
            return Retry(f"The download server answered {err.status}", err.retry_after)
        if isinstance(err, _BadRange):
            return Retry(f"The download server sent the wrong range ({err})")
        if isinstance(err, dropped):
            return Retry(f"Download interrupted ({type(err).__name__})")
        return None

    def give_up(err: Exception, retries: int) -> Exception:
        have = part.stat().st_size if part.exists() else 0
        if isinstance(err, (_RetryableStatus, _BadRange)):
            status = err.status if isinstance(err, _RetryableStatus) else 206
            msg = (
                f"The download server kept failing ({err}) after {retries} retries; "
                f"{have} bytes are saved and the next pull resumes from there."
            )
            return ServerError(msg, status=status)
        msg = (
            f"The download kept failing ({type(err).__name__}) after {retries} retries; "
            f"{have} bytes are saved. Check your connection and run the same pull again: "
            "it resumes where it stopped."
        )
        return NetworkError(msg)

    seen: list[str] = []  # validators met in this call, to notice an object that keeps changing
    return with_retries(
        lambda: _attempt(part, open_response, progress, seen), classify, give_up=give_up
    )


class _RetryableStatus(Exception):  # noqa: N818 - internal signal, never escapes
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class _BadRange(Exception):  # noqa: N818 - internal signal, never escapes
    """A 206 answer for other bytes than asked: never written, retried."""


def _attempt(
    part: Path,
    open_response: Callable[[], AbstractContextManager[requests.Response]],
    progress: Callable[[int, int | None, int], None] | None,
    seen: list[str],
) -> DownloadResult:
    import requests

    with contextlib.ExitStack() as stack:
        response = stack.enter_context(open_response())
        url = response.url
        validator = _validator(response)
        total = _total(response)
        have = _usable_prefix(part, validator, total)
        if have and total is not None and have >= total:
            return DownloadResult(part, have, url, validator)
        if have and response.headers.get("Accept-Ranges", "").lower() == "bytes" and validator:
            response.close()
            headers = {"Range": f"bytes={have}-", "If-Range": validator}
            response = stack.enter_context(
                requests.get(url, headers=headers, stream=True, timeout=TIMEOUT)
            )
            if response.status_code == 416:  # our offset is past the end: the object shrank
                discard_partial(part)
                have = 0
                response = stack.enter_context(requests.get(url, stream=True, timeout=TIMEOUT))
            if response.status_code in RETRYABLE_STATUSES:
                after = parse_retry_after(response.headers.get("Retry-After"))
                raise _RetryableStatus(response.status_code, after)
            response.raise_for_status()
            if response.status_code == 206:
                start = _range_start(response)
                if start != have:
                    msg = f"asked for bytes {have}-, got a Content-Range starting at {start}"
                    raise _BadRange(msg)
                logger.info("Resuming download at %d of %s bytes", have, total)
            else:
                # If-Range failed: the object changed. Start over with what was sent.
                logger.info("The remote file changed since the partial download; starting over.")
                have = 0
                validator = _validator(response)
                total = _total(response)
        else:
            have = 0
        _note_validator(seen, validator, part)
        if total is not None:
            ensure_free_space(part.parent, total - have, what=f"the download of {part.name}")
        if have == 0:
            discard_partial(part)
        _write_info(part, PartialInfo(url, validator, total))
        written = _stream(
            response, part, append=have > 0, progress=progress, total=total, have=have
        )
    size = have + written
    if total is not None and size != total:
        # The connection ended early without an exception; treat as a drop and resume.
        msg = f"got {size} of {total} bytes"
        raise requests.exceptions.ChunkedEncodingError(msg)
    if total is None:
        _write_info(part, PartialInfo(url, validator, size))  # now the size is known
    return DownloadResult(part, size, url, validator)


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


def _write_info(part: Path, info: PartialInfo) -> None:
    """Record what ``part`` is a prefix of, before any of its bytes are written."""
    atomic_write_bytes(_info_path(part), json.dumps(asdict(info)).encode())


def _usable_prefix(part: Path, validator: str, total: int | None) -> int:
    """Bytes of ``part`` that belong to the object now on offer (0 if none or changed)."""
    info = _read_info(part)
    if info is None or not part.exists():
        return 0
    if not validator or info.validator != validator or info.total != total:
        logger.info("Discarding a partial download of a different remote file.")
        return 0
    return part.stat().st_size


def _range_start(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Range", "")  # "bytes 100-999/1000"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """Yield body bytes as they arrive.

    ``iter_content(n)`` waits for ``n`` bytes and drops what it holds when the
    connection breaks; urllib3 2's ``read1`` hands over what has arrived, so a
    dropped download keeps every byte it received.
    """
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # pragma: no cover - urllib3 1.x
        yield from response.iter_content(64 * 1024)
        return
    while True:
        chunk = read1(CHUNK)
        if not chunk:
            return
        yield chunk


def _stream(
    response: requests.Response,
    part: Path,
    *,
    append: bool,
    progress: Callable[[int, int | None, int], None] | None,
    total: int | None,
    have: int,
) -> int:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(part, flags, 0o644)
    written = 0
    full: OSError | None = None
    try:
        with response:
            for chunk in _chunks(response):
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                written += len(chunk)
                if progress is not None and chunk:
                    progress(len(chunk), total, have)
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        full = err
    finally:
        os.close(fd)
    if full is not None:
        discard_partial(part)
        msg = (
            f"The disk filled up while downloading to {part.parent}. The partial file was "
            "removed. Free some space (or set KAGMAN_CACHE to a bigger disk) and pull again."
        )
        raise DiskFullError(msg, path=part.parent) from full
    return written
