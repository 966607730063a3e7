"""When and how long to wait before retrying a transient failure.

Shared by the API calls (:mod:`kagman.kaggle_api`) and the blob download
(:mod:`kagman.transfer`). Settings are read at call time:
``KAGMAN_RETRIES`` (attempts after the first, default 5) and
``KAGMAN_RETRY_BACKOFF`` (first backoff in seconds, default 1; doubled each
time, capped at 30 s). A server's ``Retry-After`` wins when it is given (capped
at 5 minutes).
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from dataclasses import dataclass

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

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
        retries = int(os.environ.get("KAGMAN_RETRIES", "5"))
        backoff = float(os.environ.get("KAGMAN_RETRY_BACKOFF", "1"))
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

    def sleep(self, attempt: int, retry_after: float | None = None) -> None:
        """Wait as :meth:`delay` says."""
        time.sleep(self.delay(attempt, retry_after))


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
