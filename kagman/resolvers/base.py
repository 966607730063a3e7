"""What a pull asks for (a dataset or a competition), and what every way of answering is like."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from kagman.cache.selection import Selection
from kagman.errors import KagmanError
from kagman.remote.refs import CompetitionRef, DatasetRef

__all__ = ["CompetitionRequest", "PullRequest", "Request", "Resolver"]


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

    # Why an earlier resolver could not answer (the network failed), for those that work
    # around it; set by :func:`kagman.resolvers.resolve`, never by callers.
    failure: KagmanError | None = None


@dataclass(frozen=True)
class CompetitionRequest:
    """One pull of a competition's data, validated; maybe part of it."""

    ref: CompetitionRef
    file: str | None = None  # a checked path inside the data; a trailing "/": a folder
    force: bool = False
    offline: bool = False
    progress: bool | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    wait_for_rules: float | None = None  # minutes to wait for the rules to be accepted
    mount: bool = True  # a Kaggle notebook may mount it (False: --no-mount)

    @property
    def selection(self) -> Selection:
        """The part of the data asked for (whole when no file and no patterns)."""
        return Selection(self.file, self.include, self.exclude)


Request = PullRequest | CompetitionRequest

Req_contra = TypeVar("Req_contra", contravariant=True)


class Resolver(Protocol[Req_contra]):
    """One way to answer a pull (kagglehub's resolver pattern): a cache, a mount, a download.

    :func:`kagman.resolvers.resolve` asks each resolver in turn; the first that
    supports the request and returns a path wins. ``Req_contra`` is the kind of request it
    answers: :class:`PullRequest` (datasets), :class:`CompetitionRequest`, or both.
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
