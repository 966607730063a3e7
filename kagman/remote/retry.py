"""The one retry loop: when and how long to wait before retrying a transient failure.

Used by the API calls (:mod:`kagman.remote.client`) and the blob download
(:mod:`kagman.remote.transfer`). Settings are read at call time:
``KAGMAN_RETRIES`` (attempts after the first, default 5) and
``KAGMAN_RETRY_BACKOFF`` (first backoff in seconds, default 1; doubled each
time, capped at 30 s). A server's ``Retry-After`` wins when it is given (capped
at 5 minutes).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kagman.settings import RETRIES_ENV, RETRY_BACKOFF_ENV, env_number

__all__ = ["RETRYABLE_STATUSES", "Retry", "RetryPolicy", "parse_retry_after", "with_retries"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 300.0
_MAX_BACKOFF = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait between tries."""

    retries: int = 5
    backoff: float = 1.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """Read ``KAGMAN_RETRIES`` and ``KAGMAN_RETRY_BACKOFF`` now."""
        retries = int(env_number(RETRIES_ENV, 5))
        backoff = env_number(RETRY_BACKOFF_ENV, 1.0)
        return cls(retries=max(0, retries), backoff=max(0.0, backoff))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based).

        >>> RetryPolicy(backoff=1.0).delay(0, retry_after=2.5)
        2.5
        >>> 0.5 <= RetryPolicy(backoff=1.0).delay(0) <= 1.0
        True
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), _MAX_RETRY_AFTER)
        base = min(self.backoff * float(2**attempt), _MAX_BACKOFF)
        return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto


@dataclass(frozen=True)
class Retry:
    """A failure worth retrying: why (for the log), a server's ``Retry-After``, a retry cap."""

    reason: str
    retry_after: float | None = None
    max_retries: int | None = None  # e.g. fewer for a dead network: fail in seconds


def with_retries(
    attempt: Callable[[], T],
    classify: Callable[[Exception], Retry | None],
    *,
    give_up: Callable[[Exception, int], Exception] | None = None,
    policy: RetryPolicy | None = None,
) -> T:
    """Call ``attempt`` until it returns, retrying the failures ``classify`` accepts.

    Parameters
    ----------
    attempt
        One try; anything it raises goes to ``classify``.
    classify
        Returns a :class:`Retry` for a transient failure, ``None`` to re-raise at once.
    give_up
        Builds the error raised (from the last failure) once retries are spent,
        given the failure and the number of retries made; default: re-raise it.
    policy
        Defaults to :meth:`RetryPolicy.from_env`.
    """
    policy = policy if policy is not None else RetryPolicy.from_env()
    retries = 0
    while True:
        try:
            return attempt()
        except Exception as err:
            decision = classify(err)
            if decision is None:
                raise
            limit = policy.retries
            if decision.max_retries is not None:
                limit = min(limit, decision.max_retries)
            if retries >= limit:
                if give_up is None:
                    raise
                raise give_up(err, retries) from err
            wait = policy.delay(retries, decision.retry_after)
            logger.info("%s; retrying in %.1f s", decision.reason, wait)
            time.sleep(wait)
            retries += 1


def parse_retry_after(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date).

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after(None) is None
    True
    >>> parse_retry_after("soon") is None
    True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
