"""Links from a project folder to cache entries (``pull --link``), recorded in the entry's manifest.

The record lets ``kagman rm`` and ``kagman prune`` say which links a removal
leaves dangling. Recording needs the dataset's lock for a moment; when another
process holds it for long, or this user may not write the cache, the link is
still made, just not recorded (and a log line says so).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kagman.cache.lock import folder_lock
from kagman.cache.manifest import update_manifest
from kagman.cache.paths import manifest_path
from kagman.cache.scan import item_of
from kagman.errors import InvalidArgumentError, KagmanError
from kagman.ui.warn import Name, worded

__all__ = ["check_link", "make_link", "record_link"]

logger = logging.getLogger(__name__)
_RECORD_WAIT = 10.0  # seconds to wait for the lock before giving up on the record


def _link_name(target: Path) -> str:
    """The slug for a whole entry (``datasets/o/<slug>/versions/N``,
    ``competitions/<slug>/data/<state>``), else the file's or folder's own name."""
    found = item_of(target)
    if found is not None and target.parent == found[2] / found[0].entries:
        return found[1].rsplit("/", 1)[-1]
    return target.name


def check_link(folder: Path, name: str) -> None:
    """Refuse a ``--link`` that could not be made: ``folder/name`` exists and is no symlink
    (kagman replaces only its own links), or ``folder`` is a file. Checked before a pull
    downloads anything, and again when the link is made.

    Raises
    ------
    InvalidArgumentError
        The message names the path and what to do (bad input: exit 2).
    """
    link = folder / name
    above = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if above is not None and not above.is_dir():
        why = "is a file" if above == folder else f"cannot be made: {above} is a file"
        raise _refused(
            lambda name: (
                f"The {name('link=', '--link')} folder {folder} {why}. Choose another "
                f"{name('link=', '--link')} folder."
            )
        )
    if link.exists() and not link.is_symlink():
        raise _refused(
            lambda name: (
                f"{link} already exists and is not a symlink, so "
                f"{name('link=', '--link')} will not replace it. Remove or rename it, or choose "
                f"another {name('link=', '--link')} folder."
            )
        )


def _refused(make: Callable[[Name], str]) -> InvalidArgumentError:
    python, cli = worded(make)
    err = InvalidArgumentError(python)
    err.cli_message = cli
    return err


def make_link(target: Path, folder: Path) -> Path:
    """Create or update ``folder/<target name>`` as a symlink to ``target``, atomically.

    The link is recorded in the manifest of the entry that holds ``target``.
    """
    name = _link_name(target)
    check_link(folder, name)
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / name
    tmp = folder / f".{name}.kagman-link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(target, target_is_directory=target.is_dir())
    tmp.replace(link)
    record_link(target, link)
    return link


def record_link(target: Path, link: Path) -> bool:
    """Add ``link`` (made absolute) to the manifest of the cache entry holding ``target``.

    Returns
    -------
    bool
        Whether it is recorded now (``False``: not a cache entry, or not writable).
    """
    found = item_of(target)
    if found is None:
        return False
    _, ref, item = found
    entry = next((p for p in (target, *target.parents) if manifest_path(p).is_file()), None)
    if entry is None or item not in entry.parents:
        return False
    text = os.path.abspath(link)  # noqa: PTH100 - keep the user's own symlinks in the path

    def change(manifest: dict[str, Any]) -> bool:
        links = list(manifest.get("links", []))
        if text in links:
            return False
        manifest["links"] = [*links, text]
        return True

    try:
        with folder_lock(item, ref, timeout=_RECORD_WAIT):
            update_manifest(entry, change)
    except (KagmanError, OSError, ValueError) as err:
        logger.info("The link %s was made but not recorded in the cache: %s", link, err)
        return False
    return True
