"""Image folders into clean path and label lists: :func:`index_folder` -> :class:`ImageIndex`.

::

    formats     the one list of image extensions; formats told by content
    names       what folder and file names mean: splits, containers, masks
    listing     the scandir walk into a tree of folders; everything skipped is a Problem
    duplicates  copies of the tree inside itself, by names and sizes (no reads)
    pairs       segmentation: mask folders and _mask files paired with their images
    labelcsv    labels CSVs joined on file names (single- or multi-label)
    multilabel  tag separators, multi-hot arrays, iterative stratification
    parts       the records the detector fills: a Part per split, Detected
    layout      what the folders mean: splits at any depth, classes, CSVs, wrappers
    classes     one class map: case clashes, splits that lack classes
    check       integrity checks in tiers (none, fast, header, full)
    carve       a seeded val split carved from train
    imageindex  ImageIndex: paths, labels, multi-hot, pairs, counts, batches, splits
    build       index_folder(): the steps, and the columns built once as arrays
    sheet       thumbnails decoded small (Image.draft), contact sheets, inline JPEG data URIs
    display     the notebook view: layout, counts with bars, problems, a thumbnail strip

Takes a folder, never a ref: :func:`kagman.index` turns a ref into a folder first.
May import: :mod:`kagman.archive.junk` (the clutter rules extraction uses too),
:mod:`kagman.errors`, :mod:`kagman.fs`, :mod:`kagman.ui`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Loaded on first use (PEP 562), so that importing one light module of this package, such
# as ``check`` in the helper interpreters of ``check="fast"``, does not import pandas.
_LAZY = {
    "CHECK_LEVELS": "kagman.images.check",
    "CheckLevel": "kagman.images.check",
    "DEFAULT_CHECK": "kagman.images.build",
    "ImageIndex": "kagman.images.imageindex",
    "index_folder": "kagman.images.build",
    "save_image": "kagman.images.sheet",
}

__all__ = [
    "CHECK_LEVELS",
    "DEFAULT_CHECK",
    "CheckLevel",
    "ImageIndex",
    "index_folder",
    "save_image",
]

if TYPE_CHECKING:
    from kagman.images.build import DEFAULT_CHECK, index_folder
    from kagman.images.check import CHECK_LEVELS, CheckLevel
    from kagman.images.imageindex import ImageIndex
    from kagman.images.sheet import save_image


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
