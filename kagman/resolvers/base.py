"""What a pull asks for, and what every way of answering it looks like."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from kagman.cache.selection import Selection
from kagman.remote.refs import DatasetRef

__all__ = ["PullRequest", "Resolver"]


@dataclass(frozen=True)
class PullRequest:
    """One pull, validated: a dataset (``ref.version`` None = latest), maybe part of it."""

    ref: DatasetRef
    file: str | None = None  # a checked path inside the dataset; a trailing "/": a folder
    force: bool = False  # download again even if cached
    offline: bool = False  # make no network request
    progress: bool | None = None  # bars on stderr; None: only where someone watches
    mount: bool = True  # a notebook platform may mount it (False: --no-mount)
    include: tuple[str, ...] = ()  # gitignore-style patterns (--include)
    exclude: tuple[str, ...] = ()  # gitignore-style patterns (--exclude)

    @property
    def selection(self) -> Selection:
        """The part of the version asked for (whole when no file and no patterns)."""
        return Selection(self.file, self.include, self.exclude)


Req_contra = TypeVar("Req_contra", contravariant=True)


class Resolver(Protocol[Req_contra]):
    """One way to answer a pull (kagglehub's resolver pattern): a cache, a mount, a download.

    :func:`kagman.resolvers.resolve` asks each resolver in turn; the first that
    supports the request and returns a path wins. ``Req_contra`` is the kind of request it
    answers: :class:`PullRequest` (datasets) or a competition's request.
    """

    name: str

    def available(self) -> bool:
        """Whether this resolver can answer anything in this environment (cheap: no network)."""
        ...

    def is_supported(self, request: Req_contra) -> bool:
        """Whether this resolver may answer ``request`` at all (cheap: no network)."""
        ...

    def resolve(self, request: Req_contra) -> Path | None:
        """The path that answers ``request``, or ``None`` to let the next resolver try."""
        ...
