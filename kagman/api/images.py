"""Image indexes: a folder, or a dataset's cached copy, into an ``ImageIndex``.

The one place that turns a ref into a folder for :mod:`kagman.images`, which only ever
sees folders.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.api.pulling import pull
from kagman.errors import DatasetNotFoundError, ImageFolderError
from kagman.fs import counted
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref, competition_hint, looks_like_ref

if TYPE_CHECKING:
    from PIL import Image

    from kagman.images import CheckLevel, ImageIndex

__all__ = ["index", "show"]

logger = logging.getLogger("kagman")

#: An index that takes longer than this (seconds) ends with a summary line.
LONG_INDEX_SECONDS = 2.0


def index(
    source: str | os.PathLike[str] | Ref,
    *,
    check: CheckLevel | None = None,
    labels: str | os.PathLike[str] | None = None,
    path_col: str | None = None,
    label_col: str | None = None,
    label_sep: str | None = None,
    case_insensitive_classes: bool = False,
    follow_symlinks: bool = True,
) -> ImageIndex:
    """Index the images under a folder, or under a dataset's cached copy.

    Parameters
    ----------
    source
        A folder, or a dataset ref ``owner/slug[/versions/N]`` (pulled first when
        it is not cached; in a Kaggle notebook or in Colab, mounted, as :func:`pull`
        does, and the index only reads the mount). A string that exists as a folder
        is a folder; one that looks like a path (starts with ``.``, ``/`` or ``~``,
        holds a backslash, or has more ``/`` than ``owner/slug/versions/N``) is never
        sent to Kaggle; a ``pathlib.Path`` is always a path. A competition: its URL or a
        :class:`~kagman.CompetitionRef` (a bare name is a folder).
    check
        ``"none"``, ``"fast"`` (size, magic bytes, end marker; the default),
        ``"header"`` (Pillow parses the header) or ``"full"`` (decode every image
        in a process pool). Bad files go to ``.problems``, never into ``.paths()``.
    labels, path_col, label_col
        A labels CSV and its file-name and label columns, overriding detection.
    label_sep
        The tag separator of a multi-label CSV column; ``None`` decides from the
        data, ``""`` keeps every cell whole (single-label).
    case_insensitive_classes
        Merge class names that differ only in case (``Cat``, ``cat``); by default
        they stay apart with a :class:`UserWarning`.
    follow_symlinks
        Follow symlinked files and folders (loops are detected and skipped).

    Returns
    -------
    ImageIndex

    Raises
    ------
    ImageFolderError
        No such folder (a path, or a ref that is neither a local folder nor a
        Kaggle dataset), no images in it, or the labels CSV does not fit it.
    KagmanError
        Pulling a dataset ref failed for another reason (see :func:`pull`).

    Examples
    --------
    ::

        idx = kagman.index("chest_xray")      # or kagman.index("owner/slug")
        idx.classes                           # ['NORMAL', 'PNEUMONIA']
        train = idx.paths("train"), idx.labels("train")
    """
    from kagman.images import DEFAULT_CHECK, index_folder
    from kagman.ui.summary import duration, summary

    folder = _folder_for(source)
    started = time.monotonic()
    idx = index_folder(
        folder,
        check=DEFAULT_CHECK if check is None else check,
        labels=labels,
        path_col=path_col,
        label_col=label_col,
        label_sep=label_sep,
        case_insensitive_classes=case_insensitive_classes,
        follow_symlinks=follow_symlinks,
    )
    idx.name = display_name(idx.root)
    took = time.monotonic() - started
    if took >= LONG_INDEX_SECONDS:
        summary(
            f"Indexed {counted(len(idx), 'image')} ({counted(len(idx.splits), 'split')}, "
            f"{counted(len(idx.classes), 'class', 'classes')}, {len(idx.problems):,} skipped) "
            f"in {duration(took)} -> {idx.root}"
        )
    return idx


def show(
    source: str | os.PathLike[str] | Ref | ImageIndex,
    *,
    out: str | os.PathLike[str] | None = None,
    per_class: int = 8,
    size: int = 96,
    split: str | None = None,
    seed: int = 0,
) -> Image.Image:
    """A contact sheet of a folder, a dataset ref or an index: one labelled row per class.

    Parameters
    ----------
    source
        A folder or dataset ref (indexed as :func:`index` does, with its default
        ``check``), or an :class:`~kagman.images.ImageIndex`.
    out
        Also write the sheet there, atomically; the format follows the extension
        (``.png``, ``.jpg``, ``.webp``, ...).
    per_class, size, split, seed
        As for :meth:`ImageIndex.show <kagman.images.ImageIndex.show>`.

    Returns
    -------
    PIL.Image.Image
        RGB; shows inline in a notebook.

    Raises
    ------
    ImageFolderError
        As :func:`index`.
    InvalidArgumentError
        ``split`` is not a split of the index, ``per_class`` or ``size`` is too small,
        or ``out`` has an extension Pillow cannot write (a ``ValueError`` too).
    OutputPathError
        ``out`` cannot be written: its folder is missing or not writable (exit code 2).

    Examples
    --------
    ::

        kagman.show("data/chest_xray", per_class=6, out="sheet.png")
    """
    from kagman.images import ImageIndex, save_image

    idx = source if isinstance(source, ImageIndex) else index(source)
    sheet = idx.show(per_class=per_class, size=size, split=split, seed=seed)
    if out is not None:
        save_image(sheet, Path(out))
    return sheet


def _folder_for(source: str | os.PathLike[str] | Ref) -> Path:
    """A local folder as it is; a dataset ref that is no local folder, pulled.

    The decision is made here, not in :mod:`kagman.images`, which takes folders only.
    """
    if isinstance(source, (DatasetRef, CompetitionRef)):
        return _pulled_folder(pull(source), str(source))
    text = os.fspath(source)
    # abspath, unlike resolve(), drops ".." but keeps the symlinks the user chose.
    path = Path(os.path.abspath(Path(text).expanduser()))  # noqa: PTH100
    if path.exists():
        return path  # index_folder says what is wrong with it, if anything
    missing = f"No folder {path} (from the working folder {Path.cwd()})"
    # Kaggle's slug rules reject every path shape (a leading ".", "/" or "~", a
    # backslash, more parts than owner/slug/versions/N), so such a string is never
    # sent to Kaggle; a PathLike is a path whatever it spells.
    if not isinstance(source, str) or not looks_like_ref(text):
        python, cli = (
            competition_hint(text, command="index") if isinstance(source, str) else ("", "")
        )
        absent = ImageFolderError(f"{missing}. Check the path.{python}", path=path)
        absent.cli_message = f"{missing}. Check the path.{cli}"
        raise absent
    logger.info(
        "No folder %s here, so %s is taken as a Kaggle dataset: indexing its cached copy "
        "(pulled if needed).",
        text,
        text,
    )
    try:
        folder = pull(text)
    except DatasetNotFoundError as err:
        msg = (
            f"{missing}, and no Kaggle dataset {text} ({err}). Check the path if you meant "
            "a local folder, or the ref if you meant a dataset."
        )
        raise ImageFolderError(msg, path=path) from err
    return _pulled_folder(folder, text)


def display_name(root: Path) -> str:
    """What titles call an indexed folder: for a cache entry the dataset and its version
    (``owner/slug v3``, ``owner/slug v3/chest_xray``) or the competition, not ``3``.

    >>> display_name(Path("/data/chest_xray"))
    'chest_xray'
    """
    from kagman.cache.scan import entry_of

    found = entry_of(root)
    if found is None:
        return root.name
    ref, entry = found
    name = f"{ref.name} v{ref.version}" if isinstance(ref, DatasetRef) else ref.name
    inside = root.relative_to(entry).as_posix()
    return name if inside == "." else f"{name}/{inside}"


def _pulled_folder(folder: Path, text: str) -> Path:
    if not folder.is_dir():
        msg = f"The dataset {text} is a single file ({folder}), not a folder of images."
        raise ImageFolderError(msg, path=folder)
    return folder.absolute()
