"""Making a finished extraction the cache entry, so that a complete entry is never lost.

A new entry is built beside the old one (in ``.incomplete/``) and swapped in only when it
is complete. Replacing an entry (``pull --force``) moves the old one and its manifest
aside first, under names the next pull knows, and removes them only after the new
manifest is written::

    1. versions/N.manifest.json  -> .incomplete/vN.replaced.manifest.json
    2. versions/N/               -> .incomplete/vN.replaced/
    3. .incomplete/vN.extract-P/ -> versions/N/
    4. write versions/N.manifest.json                     (the new entry is complete)
    5. remove .incomplete/vN.replaced*

A pull killed between steps 1 and 4 leaves the old entry recoverable:
:func:`restore_replaced` (run by the next pull, under the dataset's lock) puts it back.
Removal never recurses (:func:`kagman.fs.remove_tree`), so no tree is too deep to clean.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kagman.cache.entries import is_complete
from kagman.cache.manifest import write_manifest
from kagman.cache.paths import entry_path, incomplete_dir, manifest_path
from kagman.cache.shared import make_dirs
from kagman.fs import remove_tree
from kagman.remote.refs import DatasetRef, Ref

__all__ = ["commit_entry", "restore_replaced"]

logger = logging.getLogger(__name__)


def _aside(ref: Ref, name: str) -> tuple[Path, Path]:
    """Where a replaced entry and its manifest wait until the new one is complete."""
    folder = incomplete_dir(ref) / f"{name}.replaced"
    return folder, manifest_path(folder)


def commit_entry(ref: Ref, entry: Path, name: str, tmp: Path, manifest: Mapping[str, Any]) -> Path:
    """Make the finished extraction ``tmp`` the ``entry`` of ``ref``, replacing an older copy.

    ``name`` is the archive's prefix in ``.incomplete/`` (``v3``, or a competition's data
    state): the replaced copy waits there as ``<name>.replaced``.

    Returns
    -------
    pathlib.Path
        The entry (``versions/N``, ``data/<state>``), complete: its manifest is written.
    """
    make_dirs(entry.parent)
    folder, aside_manifest = _aside(ref, name)
    remove_tree(folder)  # debris of a replacement whose new entry was completed
    with contextlib.suppress(FileNotFoundError):
        aside_manifest.unlink()
    replacing = entry.exists()
    if replacing:
        with contextlib.suppress(FileNotFoundError):
            manifest_path(entry).replace(aside_manifest)
        entry.replace(folder)
    tmp.replace(entry)
    write_manifest(entry, manifest)
    if replacing:
        remove_tree(folder)
        with contextlib.suppress(FileNotFoundError):
            aside_manifest.unlink()
    return entry


def restore_replaced(ref: Ref, entry: Path | None = None, name: str | None = None) -> None:
    """Put back an entry a killed ``--force`` moved aside, unless the new one is complete.

    ``entry`` and ``name`` default to a dataset version's (``versions/N``, ``vN``). Call
    with the dataset's (or competition's) lock held.
    """
    if entry is None or name is None:
        if not isinstance(ref, DatasetRef):
            msg = "a competition's entry and name must be given"
            raise ValueError(msg)
        entry, name = entry_path(ref), f"v{ref.version}"
    folder, aside_manifest = _aside(ref, name)
    if not aside_manifest.exists():
        remove_tree(folder)  # without its manifest the old copy was incomplete anyway
        return
    if is_complete(entry):  # killed after the new manifest: finish the clean-up
        remove_tree(folder)
        aside_manifest.unlink()
        return
    if folder.exists():  # killed after the old entry moved: the entry is new and partial
        remove_tree(entry)
        folder.replace(entry)
    aside_manifest.replace(manifest_path(entry))
    logger.info("Restored the complete copy of %s that an interrupted --force had moved.", ref)
