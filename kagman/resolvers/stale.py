"""The stale-cache resolver: the network failed, so answer from the cache, with a warning.

When Kaggle cannot be reached (DNS, refused, timeout, 5xx after retries) on a pull that
asks for "latest", the newest complete cached version is better than an error: a
notebook on a train keeps working. The warning says which version and that it may be
stale. Never for a pinned version (the cache resolver already answered, or it is not
cached), never with ``force`` (the user asked to download), and never when Kaggle
answered 401, 403 or 404: those are answers, not a missing network.
"""

from __future__ import annotations

from pathlib import Path

from kagman.cache.entries import newest_answer, touch_hit
from kagman.errors import NetworkError, ServerError, StaleCacheWarning
from kagman.resolvers.base import PullRequest
from kagman.settings import OFFLINE_ENV, env_flag
from kagman.ui.warn import warn

__all__ = ["StaleCacheResolver", "falls_back"]


def falls_back(failure: Exception) -> bool:
    """Whether a failure means "the network failed" (a cached version may stand in)."""
    return isinstance(failure, (NetworkError, ServerError))


class StaleCacheResolver:
    """The newest cached answer, after the network failed on an unpinned pull."""

    name = "stale-cache"

    def available(self) -> bool:
        """Unless ``KAGMAN_OFFLINE`` is on (offline pulls never try the network first)."""
        return not env_flag(OFFLINE_ENV)

    def is_supported(self, request: PullRequest) -> bool:
        """Unpinned, not forced, online pulls whose download resolver hit a network failure."""
        return (
            request.failure is not None
            and falls_back(request.failure)
            and request.ref.version is None
            and not request.force
            and not request.offline
        )

    def resolve(self, request: PullRequest) -> Path | None:
        """The newest cached version that answers in full (warning it may be stale).

        Only a full answer: a complete version, or a subset that holds the whole
        selection. A subset that holds part of it is not offered as if it were all.
        """
        found = newest_answer(request.ref, request.selection)
        if found is None:
            return None
        version = found.entry.name
        what = f"{request.file!r} of " if request.file else ""
        reason = str(request.failure).split(". ", 1)[0].rstrip(".")
        warn(
            f"{reason}. Using {what}version {version} of {request.ref.name} from the cache "
            "instead; it may be stale (a newer version may exist).",
            StaleCacheWarning,
        )
        return touch_hit(found.entry, found.path)
