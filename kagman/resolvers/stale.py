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

from kagman.cache.entries import cached_path
from kagman.cache.paths import dataset_dir
from kagman.errors import NetworkError, ServerError, StaleCacheWarning
from kagman.remote.refs import DatasetRef
from kagman.resolvers.base import PullRequest
from kagman.ui.warn import warn

__all__ = ["StaleCacheResolver", "falls_back"]


def falls_back(failure: Exception) -> bool:
    """Whether a failure means "the network failed" (a cached version may stand in)."""
    return isinstance(failure, (NetworkError, ServerError))


def _cached_versions(ref: DatasetRef) -> list[int]:
    numbers: set[int] = set()
    for kind in ("versions", "files"):
        folder = dataset_dir(ref) / kind
        if folder.is_dir():
            numbers |= {int(p.name) for p in folder.iterdir() if p.name.isdigit()}
    return sorted(numbers, reverse=True)


class StaleCacheResolver:
    """The newest complete cached version, after the network failed on an unpinned pull."""

    name = "stale-cache"

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
        """The newest cached version holding what was asked for (warning it may be stale)."""
        for version in _cached_versions(request.ref):
            pinned = request.ref.with_version(version)
            hit = cached_path(pinned, request.file)
            if hit is not None:
                what = f"{request.file!r} of " if request.file else ""
                reason = str(request.failure).split(". ", 1)[0].rstrip(".")
                warn(
                    f"{reason}. Using {what}version {version} of {request.ref.name} from the "
                    "cache instead; it may be stale (a newer version may exist).",
                    StaleCacheWarning,
                )
                return hit
        return None
