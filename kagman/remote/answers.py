"""One storage answer, judged: what an offer says, which failures are retried, whether a
206 holds the bytes asked for, and the words a download gives up with.

Shared by the one-connection download (:mod:`kagman.remote.transfer`) and the parallel one
(:mod:`kagman.remote.parallel`). The exceptions here are signals between those modules
and the attempt loop of :class:`kagman.remote.transfer.Transfer`; none reaches a caller.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.errors import NetworkError, ServerError
from kagman.remote.hosts import why
from kagman.remote.integrity import content_range, goog_md5
from kagman.remote.partial import BodyOverrun, PartialInfo
from kagman.remote.retry import RETRYABLE_STATUSES, Retry, parse_retry_after

if TYPE_CHECKING:
    import requests

__all__ = [
    "TIMEOUT",
    "BadAnswer",
    "DownloadResult",
    "Mismatch",
    "RangesRefused",
    "Restart",
    "RetryableStatus",
    "changed_md5",
    "check_range",
    "check_status",
    "classify",
    "give_up",
    "judge_range",
    "offer_of",
    "wake",
]

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


class RetryableStatus(Exception):  # noqa: N818 - internal signal, never escapes
    """A 429 or 5xx answer: retried, honouring ``Retry-After``."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class BadAnswer(Exception):  # noqa: N818 - internal signal, never escapes
    """A 206 for other bytes than asked, or a body longer or shorter than it declared."""


class Mismatch(Exception):  # noqa: N818 - internal signal, never escapes
    """The finished file's MD5 is not the storage's (it was discarded)."""


class Restart(Exception):  # noqa: N818 - internal signal, never escapes
    """The object changed under a parallel download (``If-Range`` failed, another MD5 under
    the same ETag, or it shrank): its parts are discarded and it starts over, never spliced."""


class RangesRefused(Exception):  # noqa: N818 - internal signal, never escapes
    """A ranged request was answered 200 with the same object: the server ignores ``Range``."""


def offer_of(response: requests.Response) -> PartialInfo:
    """What a full (200) answer says the object is."""
    headers = response.headers
    length = headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    validator = str(headers.get("ETag") or headers.get("Last-Modified") or "")
    return PartialInfo(response.url, validator, total, goog_md5(headers))


def check_status(response: requests.Response) -> None:
    """429/5xx become :class:`RetryableStatus`; other errors but 416 an ``HTTPError``."""
    if response.status_code in RETRYABLE_STATUSES:
        after = parse_retry_after(response.headers.get("Retry-After"))
        raise RetryableStatus(response.status_code, after)
    if response.status_code != 416:
        response.raise_for_status()


def check_range(
    response: requests.Response, start: int, total: int | None, last: int | None = None
) -> int:
    """The bytes a 206 answer declares, once it is known to be ours from byte ``start``.

    ``total`` is the object's size; ``last``, when given, the last byte asked for: an
    answer may stop before it (then the rest is asked again), never go past it.
    """
    span = content_range(response.headers.get("Content-Range"))
    if span is None or span.start != start:
        got = span.start if span is not None else None
        msg = f"asked for bytes {start}-, got a Content-Range starting at {got}"
        raise BadAnswer(msg)
    if span.total is not None and total is not None and span.total != total:
        msg = f"a range of a {span.total}-byte object, for a {total}-byte download"
        raise BadAnswer(msg)
    if last is not None and span.end > last:
        msg = f"asked for bytes {start}-{last}, got a Content-Range ending at {span.end}"
        raise BadAnswer(msg)
    declared = span.end - span.start + 1
    length = response.headers.get("Content-Length")
    if length is not None and length != str(declared):
        msg = f"Content-Length {length} for a {declared}-byte Content-Range"
        raise BadAnswer(msg)
    return declared


def changed_md5(response: requests.Response, offer: PartialInfo) -> bool:
    """Whether a 206 says it is part of an object with another MD5 than the offer's."""
    return goog_md5(response.headers) not in (None, offer.md5)


def judge_range(response: requests.Response, start: int, last: int, offer: PartialInfo) -> int:
    """The bytes an answer to ``Range: bytes=<start>-<last>`` (with ``If-Range``) declares,
    once it is known to hold them.

    Raises
    ------
    RangesRefused
        A 200 for the same object (validator and MD5): the server ignores ``Range``.
    Restart
        A 200 for another object (``If-Range`` failed), a 416 (it shrank), or a 206 that
        names another MD5 (another object under the same ETag).
    RetryableStatus, BadAnswer, requests.HTTPError
        As :func:`check_status` and :func:`check_range`.
    """
    if response.status_code == 200:
        validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
        if validator == offer.validator and not changed_md5(response, offer):
            raise RangesRefused
        msg = "the remote file changed while it was downloading (If-Range)"
        raise Restart(msg)
    if response.status_code == 416:
        msg = "the remote file shrank while it was downloading"
        raise Restart(msg)
    check_status(response)
    if response.status_code != 206:
        msg = f"answered {response.status_code} to a Range request"
        raise BadAnswer(msg)
    declared = check_range(response, start, offer.total, last)
    if changed_md5(response, offer):
        msg = "the remote file changed under the same ETag"
        raise Restart(msg)
    return declared


def wake(response: requests.Response) -> None:
    """Shut a streamed response's socket, so a thread blocked reading it returns at once."""
    raw = getattr(response, "raw", None)
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def classify(err: Exception) -> Retry | None:
    """The retry loop's view of a download failure: retried, or not (see :mod:`.retry`)."""
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error

    if isinstance(err, RetryableStatus):
        return Retry(f"The download server answered {err.status}", err.retry_after)
    if isinstance(err, (BadAnswer, BodyOverrun)):
        return Retry(f"The download server sent a bad answer ({err})")
    dropped = (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
        Urllib3Error,
    )
    if isinstance(err, dropped):
        return Retry(f"Download interrupted ({why(err)})")
    return None


def give_up(err: Exception, retries: int, *, host: str, what: str, have: int) -> Exception:
    """The error a download raises once its retries are spent; ``have`` bytes are kept."""
    host = host or "Kaggle's storage"
    if isinstance(err, (RetryableStatus, BadAnswer, BodyOverrun)):
        status = err.status if isinstance(err, RetryableStatus) else 206
        msg = (
            f"The download server {host} kept failing ({err}) after {retries} retries; "
            f"{have:,} bytes are saved and the next pull resumes from there."
        )
        return ServerError(msg, status=status)
    msg = (
        f"Could not download {what} from {host} ({why(err)}) after {retries} "
        f"retries; {have:,} bytes are saved. Check your connection and run the same pull "
        "again: it resumes where it stopped."
    )
    return NetworkError(msg)
