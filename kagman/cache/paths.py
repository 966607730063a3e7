"""The cache root and the layout of each dataset's folder.

The root is ``$KAGMAN_CACHE`` if set, else ``platformdirs.user_cache_dir("kagman")``
(``~/.cache/kagman`` on Linux), read at call time. A relative ``KAGMAN_CACHE`` is made
absolute once, against the working folder of its first use in the process (with a
warning: every working folder would get a cache of its own). Nothing is created until
something is pulled. Layout::

    <root>/
      datasets/<owner>/<slug>/
        versions/<N>/                  the version's files: all of them, or the part pulled
        versions/<N>.manifest.json     written last; its kind says complete or subset
        files/<N>/<name>               single files pulled by kagman before subsets (still read)
        files/<N>/<name>.manifest.json
        .incomplete/                   partial downloads (resumable) and extractions in progress
        .lock                          one lock per dataset: pulls of different datasets never block
      competitions/<slug>/
        data/<state>/                  one state of the data (named from Kaggle's redirect)
        data/<state>.manifest.json
        latest                         the newest complete state's name
        .incomplete/, .lock            as for datasets
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kagman.errors import CacheAccessError
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref
from kagman.settings import CACHE_ENV

__all__ = [
    "MANIFEST_SUFFIX",
    "cache_dir",
    "cache_root_problem",
    "competition_entry_path",
    "dataset_dir",
    "entry_path",
    "file_entry_path",
    "incomplete_dir",
    "latest_state_path",
    "manifest_path",
    "ref_dir",
    "relative_setting",
    "require_cache_root",
]

MANIFEST_SUFFIX = ".manifest.json"


# A relative KAGMAN_CACHE, made absolute at its first use in this process: a notebook that
# changes its working folder keeps its cache.
_RESOLVED: dict[str, Path] = {}


def cache_dir() -> Path:
    """The cache root: ``$KAGMAN_CACHE`` or the platform's user cache folder (not created).

    A relative ``$KAGMAN_CACHE`` is resolved against the working folder once per process
    (a :class:`~kagman.errors.KagmanWarning` says so; ``kagman doctor`` lists it).

    Returns
    -------
    pathlib.Path
        Absolute; it may not exist yet.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_absolute():
            return path
        if configured not in _RESOLVED:
            _RESOLVED[configured] = path.absolute()
            from kagman.ui.warn import warn

            warn(relative_setting() or "")
        return _RESOLVED[configured]
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kagman", appauthor=False)).absolute()


def relative_setting() -> str | None:
    """What is wrong with a relative ``KAGMAN_CACHE``, with the fix; ``None`` if absolute."""
    configured = os.environ.get(CACHE_ENV)
    if not configured or Path(configured).expanduser().is_absolute():
        return None
    used = _RESOLVED.get(configured) or Path(configured).absolute()
    return (
        f"{CACHE_ENV}={configured} is a relative path: kagman uses {used} (from the working "
        "folder where it was first needed), and each working folder would get a cache of its "
        f"own. Set {CACHE_ENV} to an absolute path."
    )


def cache_root_problem(root: Path | None = None) -> str | None:
    """Why the cache root cannot be a folder (it, or a folder above it, is a file), or ``None``.

    Whether this user may write it is another matter (see
    :func:`kagman.cache.shared.cache_access`): reading needs no write.
    """
    root = cache_dir() if root is None else root
    named = f"{CACHE_ENV} ({root})" if os.environ.get(CACHE_ENV) else f"The cache folder {root}"
    fix = f"Set {CACHE_ENV} to a folder (kagman creates it if needed), or move the file away."
    probe = root
    while True:
        try:
            mode = probe.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            if probe.parent == probe:
                return None
            probe = probe.parent
            continue
        except OSError as err:
            return f"{named} cannot be used: {err.strerror or err} at {probe}. {fix}"
        break
    if stat.S_ISDIR(mode):
        return None
    if probe == root:
        return f"{named} is a file, not a folder. {fix}"
    return f"{named} cannot be created: {probe} is a file, not a folder. {fix}"


def require_cache_root() -> Path:
    """The cache root, when it is (or can become) a folder.

    Raises
    ------
    CacheAccessError
        It, or a folder above it, is a file (see :func:`cache_root_problem`).
    """
    root = cache_dir()
    problem = cache_root_problem(root)
    if problem is not None:
        raise CacheAccessError(problem, path=root)
    return root


def dataset_dir(ref: DatasetRef) -> Path:
    """``<root>/datasets/<owner>/<slug>``; owner and slug are validated, so safe as path parts."""
    return cache_dir() / "datasets" / ref.owner / ref.slug


def ref_dir(ref: Ref) -> Path:
    """The folder of a dataset (:func:`dataset_dir`) or a competition (``competitions/<slug>``)."""
    if isinstance(ref, CompetitionRef):
        return cache_dir() / "competitions" / ref.slug
    return dataset_dir(ref)


def competition_entry_path(ref: CompetitionRef, state: str) -> Path:
    """Folder of one state of a competition's data; ``state`` is a hex name we made."""
    if not state.isalnum():
        msg = f"a data state is named with letters and digits, not {state!r}"
        raise ValueError(msg)
    return ref_dir(ref) / "data" / state


def latest_state_path(ref: CompetitionRef) -> Path:
    """The small file naming the newest complete state of a competition's data."""
    return ref_dir(ref) / "latest"


def _version(ref: DatasetRef) -> str:
    if ref.version is None:
        msg = f"a cache entry needs a pinned version, and {ref} has none"
        raise ValueError(msg)
    return str(ref.version)


def entry_path(ref: DatasetRef) -> Path:
    """Folder of a pinned version's extracted dataset.

    Raises
    ------
    ValueError
        ``ref`` has no version.
    """
    return dataset_dir(ref) / "versions" / _version(ref)


def file_entry_path(ref: DatasetRef, name: str) -> Path:
    """Path of one file pulled on its own (``--file``); ``name`` is a checked relative path.

    Raises
    ------
    ValueError
        ``ref`` has no version.
    """
    return dataset_dir(ref) / "files" / _version(ref) / name


def incomplete_dir(ref: Ref) -> Path:
    """``<dataset>/.incomplete``: partial downloads and extractions in progress (not created)."""
    return ref_dir(ref) / ".incomplete"


def manifest_path(entry: Path) -> Path:
    """The manifest that marks ``entry`` complete (a sibling, so it is not in the data)."""
    return entry.with_name(entry.name + MANIFEST_SUFFIX)
