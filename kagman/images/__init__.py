"""Image folders into clean path and label lists: :func:`index_folder` -> :class:`ImageIndex`.

::

    formats     the one list of image extensions; formats told by content
    listing     the scandir walk; everything skipped becomes a Problem
    labelcsv    labels CSVs joined on file names
    layout      what the folders mean: splits, classes, CSV labels, wrappers
    check       integrity checks in tiers (none, fast, header, full)
    imageindex  ImageIndex: paths, labels, counts, batches, splits
    build       index_folder(): the steps, and the columns built once as arrays

Takes a folder, never a ref: :func:`kagman.index` turns a ref into a folder first.
May import: :mod:`kagman.archive.junk` (the clutter rules extraction uses too),
:mod:`kagman.errors`, :mod:`kagman.fs`, :mod:`kagman.ui`.
"""

from kagman.images.build import DEFAULT_CHECK, index_folder
from kagman.images.check import CHECK_LEVELS, CheckLevel
from kagman.images.imageindex import ImageIndex

__all__ = ["CHECK_LEVELS", "DEFAULT_CHECK", "CheckLevel", "ImageIndex", "index_folder"]
