"""Links from a project folder to cache entries (``pull --link``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from kagman.cache.paths import cache_dir
from kagman.errors import KagmanError

__all__ = ["make_link"]


def _link_name(target: Path) -> str:
    """The slug for a whole entry (``datasets/o/<slug>/versions/N``,
    ``competitions/<slug>/data/<state>``), else the file's or folder's own name."""
    try:
        parts = target.relative_to(cache_dir()).parts
    except ValueError:
        return target.name
    if (parts[:1] == ("datasets",) and len(parts) == 5) or (
        parts[:1] == ("competitions",) and len(parts) == 4
    ):
        return parts[-3]
    return target.name


def make_link(target: Path, folder: Path) -> Path:
    """Create or update ``folder/<target name>`` as a symlink to ``target``, atomically."""
    name = _link_name(target)
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / name
    if link.exists() and not link.is_symlink():
        msg = (
            f"{link} already exists and is not a symlink, so --link will not replace it. "
            "Remove or rename it, or choose another --link folder."
        )
        raise KagmanError(msg)
    tmp = folder / f".{name}.kagman-link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(target, target_is_directory=target.is_dir())
    tmp.replace(link)
    return link
