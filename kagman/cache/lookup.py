"""``kagman path``: where a dataset (or one of its files) is cached, with no network at all."""

from __future__ import annotations

from pathlib import Path

from kagman.cache.entries import cache_hit
from kagman.cache.listing import entries
from kagman.cache.paths import cache_dir
from kagman.errors import NotCachedError
from kagman.remote.refs import DatasetRef, check_file_name, parse_ref

__all__ = ["cached_path"]


def cached_path(
    ref: str | DatasetRef, *, version: int | None = None, file: str | None = None
) -> Path:
    """The cached path of a dataset version (or of one file of it); never downloads.

    Counts as a use of the entry ("last used" in ``kagman ls``), like a pull
    served from the cache.

    Parameters
    ----------
    ref
        ``owner/slug`` (the newest cached version) or ``owner/slug/versions/N``.
    version
        Pin a version, like ``/versions/N``.
    file
        A file of the dataset: its own cached entry (``pull --file``), else the
        file inside a cached whole version.

    Returns
    -------
    pathlib.Path
        The entry's folder, or the file.

    Raises
    ------
    InvalidRefError
        ``ref`` or ``file`` is malformed, or ``version`` disagrees with ``ref``.
    NotCachedError
        Nothing cached holds it; the message says how to pull it.

    Examples
    --------
    ::

        kagman.cached_path("owner/dataset")                   # newest cached version
        kagman.cached_path("owner/dataset/versions/2", file="train.csv")
    """
    if isinstance(ref, DatasetRef) and version is None:
        dref = ref
    else:
        dref = parse_ref(str(ref), version=version)
    name = check_file_name(file) if file is not None else None
    if dref.version is not None:
        candidates = [dref.version]
    else:
        rows = [row for row in entries(dref) if row.state != "incomplete" and row.version]
        wanted = [r for r in rows if r.state == "complete" or (name and r.file == name)]
        candidates = sorted({r.version for r in wanted if r.version is not None}, reverse=True)
    for candidate in candidates:
        hit = cache_hit(dref.with_version(candidate), name)
        if hit is not None:
            return hit
    what = f"{name!r} of {dref}" if name else str(dref)
    pull = f"kagman pull {dref}" + (f" --file {name}" if name else "")
    msg = f"{what} is not in the cache ({cache_dir()}). Download it with `{pull}`."
    raise NotCachedError(msg, ref=str(dref))
