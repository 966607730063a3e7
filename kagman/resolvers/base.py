"""What a pull asks for, and what every way of answering it looks like."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kagman.errors import KagmanError
from kagman.remote.refs import DatasetRef

__all__ = ["PullRequest", "Resolver"]


@dataclass(frozen=True)
class PullRequest:
    """One pull, validated: a dataset (``ref.version`` None = latest), maybe one file of it."""

    ref: DatasetRef
    file: str | None = None  # a checked relative path inside the dataset
    force: bool = False  # download again even if cached
    offline: bool = False  # make no network request
    progress: bool | None = None  # bars on stderr; None: only where someone watches
    # Why an earlier resolver could not answer (the network failed), for those that work
    # around it; set by :func:`kagman.resolvers.resolve`, never by callers.
    failure: KagmanError | None = None


class Resolver(Protocol):
    """One way to answer a pull (kagglehub's resolver pattern): a cache, a mount, a download.

    :func:`kagman.resolvers.resolve` asks each resolver in turn; the first that
    supports the request and returns a path wins.
    """

    name: str

    def is_supported(self, request: PullRequest) -> bool:
        """Whether this resolver may answer ``request`` at all (cheap: no network)."""
        ...

    def resolve(self, request: PullRequest) -> Path | None:
        """The path that answers ``request``, or ``None`` to let the next resolver try."""
        ...
