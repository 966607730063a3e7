"""The cache root and the layout of each dataset's folder.

The root is ``$KAGMAN_CACHE`` if set, else ``platformdirs.user_cache_dir("kagman")``
(``~/.cache/kagman`` on Linux), read at call time. Nothing is created until
something is pulled. Layout::

    <root>/
      datasets/<owner>/<slug>/
        versions/<N>/                  the extracted dataset (complete entries only)
        versions/<N>.manifest.json     written last: its presence means "complete"
        files/<N>/<name>               single files pulled with --file
        files/<N>/<name>.manifest.json
        .incomplete/                   partial downloads (resumable) and extractions in progress
        .lock                          one lock per dataset: pulls of different datasets never block
"""

from __future__ import annotations

import os
from pathlib import Path

from kagman.remote.refs import DatasetRef
from kagman.settings import CACHE_ENV

__all__ = [
    "MANIFEST_SUFFIX",
    "cache_dir",
    "dataset_dir",
    "entry_path",
    "file_entry_path",
    "incomplete_dir",
    "manifest_path",
]

MANIFEST_SUFFIX = ".manifest.json"


def cache_dir() -> Path:
    """The cache root: ``$KAGMAN_CACHE`` or the platform's user cache folder (not created).

    Returns
    -------
    pathlib.Path
        Absolute; it may not exist yet.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kagman", appauthor=False)).absolute()


def dataset_dir(ref: DatasetRef) -> Path:
    """``<root>/datasets/<owner>/<slug>``; owner and slug are validated, so safe as path parts."""
    return cache_dir() / "datasets" / ref.owner / ref.slug


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


def incomplete_dir(ref: DatasetRef) -> Path:
    """``<dataset>/.incomplete``: partial downloads and extractions in progress (not created)."""
    return dataset_dir(ref) / ".incomplete"


def manifest_path(entry: Path) -> Path:
    """The manifest that marks ``entry`` complete (a sibling, so it is not in the data)."""
    return entry.with_name(entry.name + MANIFEST_SUFFIX)
