"""``kagman path``: where a dataset or competition (or a file of it) is cached, with no network."""

from __future__ import annotations

import os
from pathlib import Path

from kagman.cache.entries import answer, holding, newest_answer, touch_hit, version_entries
from kagman.cache.paths import cache_dir, entry_path, require_cache_root
from kagman.cache.scan import entry_of
from kagman.cache.selection import Selection
from kagman.errors import InvalidRefError, NotCachedError
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref, check_file_name, parse_target

__all__ = ["cached_path"]


def cached_path(
    ref: str | Ref | Path,
    *,
    version: int | None = None,
    file: str | os.PathLike[str] | None = None,
) -> Path:
    """The cached path of a dataset version or competition (or of a file in it); never downloads.

    Counts as a use of the entry ("last used" in ``kagman ls``), like a pull
    served from the cache.

    Parameters
    ----------
    ref
        ``owner/slug`` (the newest cached version), ``owner/slug/versions/N``, a dataset
        URL, or a competition: its URL or a :class:`~kagman.CompetitionRef` (the result of
        :func:`kagman.parse_competition`; the latest cached data state). A URL's
        ``?select=FILE`` means ``file=FILE``. Or a path (a :class:`pathlib.Path`, or an
        absolute path) that :func:`kagman.pull` or :func:`kagman.pull_competition`
        returned: that entry.
    version
        Pin a dataset version, like ``/versions/N``.
    file
        A file (or folder, ``train/``) of the data: found in any cached entry that holds
        it, complete or subset, newest version (latest data state) first.

    Returns
    -------
    pathlib.Path
        The entry's folder, or the file or folder inside it.

    Raises
    ------
    InvalidRefError
        ``ref`` or ``file`` is malformed, or ``version`` disagrees with ``ref`` (or is
        given for a competition).
    NotCachedError
        Nothing cached holds it; the message says how to pull it.

    Examples
    --------
    ::

        kagman.cached_path("owner/dataset")                   # newest cached version
        kagman.cached_path("owner/dataset/versions/2", file="train.csv")
        kagman.cached_path("https://www.kaggle.com/competitions/titanic", file="test.csv")
        kagman.cached_path(kagman.pull_competition("titanic"), file="test.csv")
    """
    if isinstance(ref, Path) or (isinstance(ref, str) and Path(ref).is_absolute()):
        return _in_entry(Path(ref), version, file)
    if isinstance(ref, CompetitionRef) and version is not None:
        msg = f"Invalid option for {ref}: competitions have no versions; drop the version."
        raise InvalidRefError(msg, ref=str(ref))
    if isinstance(ref, CompetitionRef) or (isinstance(ref, DatasetRef) and version is None):
        parsed: Ref = ref
        name = check_file_name(file) if file is not None else None
    else:
        parsed, name = parse_target(str(ref), version=version, file=file)
    hit = newest_answer(parsed, Selection(name))
    if hit is not None:
        return touch_hit(hit.entry, hit.path)
    raise _not_cached(parsed, name)


def _in_entry(path: Path, version: int | None, file: str | os.PathLike[str] | None) -> Path:
    """``file`` (or ``path`` itself) in the cache entry ``path`` is, or is inside of."""
    found = entry_of(path.absolute())
    if found is None:
        msg = (
            f"{path} is not in a cache entry of kagman ({cache_dir()}): give a dataset ref "
            "or URL, a competition, or a path that kagman.pull or pull_competition returned."
        )
        raise InvalidRefError(msg, ref=str(path))
    if version is not None:
        msg = f"{path} names its version already (it is inside a cache entry): drop version."
        raise InvalidRefError(msg, ref=str(path))
    ref, entry = found
    inside = path.absolute().relative_to(entry).as_posix()
    if file is not None:
        inside = f"{inside}/{check_file_name(file)}" if inside != "." else check_file_name(file)
    name = None if inside == "." else inside
    hit = answer(entry, Selection(name))
    if hit is None:
        raise _not_cached(ref, name)
    return touch_hit(entry, hit)


def _not_cached(ref: Ref, name: str | None) -> NotCachedError:
    """What is missing, how to pull it, and whether only part of the data is cached."""
    require_cache_root()  # a root that is a file: say so, not "not cached"
    competition = isinstance(ref, CompetitionRef)
    about = f"the competition {ref}" if competition else str(ref)
    what = f"{name!r} of {about}" if name else about
    pull = f"kagman pull -c {ref}" if competition else f"kagman pull {ref}"
    pull += f" --file {name}" if name else ""
    if isinstance(ref, DatasetRef) and ref.version is not None:
        entries = [entry_path(ref)]
    else:
        entries = version_entries(ref)
    part = ""
    if name is None and any(holding(entry).state == "subset" for entry in entries):
        ls = f"kagman ls -c {ref}" if competition else f"kagman ls {ref}"
        part = f" Only part of it is cached: `{ls}` shows which files."
    msg = f"{what} is not in the cache ({cache_dir()}).{part} Download it with `{pull}`."
    return NotCachedError(msg, ref=str(ref))
