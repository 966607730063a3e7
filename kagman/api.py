"""The public Python API that composes the packages: ``pull``, ``index``, ``show``, ``environment``.

The one place that turns user input (a ref string, a URL, a folder) into the
validated requests the domain packages take: :func:`pull` builds a
:class:`~kagman.resolvers.PullRequest`, :func:`index` turns a ref into a
folder before :func:`kagman.images.index_folder` sees it, :func:`environment`
joins the platform (:mod:`kagman.platforms`) with the resolvers a pull tries
there, :func:`show` indexes a folder or ref and draws its contact sheet. The CLI calls
these functions; nothing below this module imports it.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.errors import DatasetNotFoundError, ImageFolderError, KagmanError
from kagman.remote.refs import DatasetRef, check_file_name, looks_like_ref, parse_ref
from kagman.settings import OFFLINE_ENV, env_flag

if TYPE_CHECKING:
    from PIL import Image

    from kagman.images import CheckLevel, ImageIndex
    from kagman.platforms import Environment

__all__ = ["environment", "index", "pull", "show"]

logger = logging.getLogger("kagman")

#: An index that takes longer than this (seconds) ends with a summary line.
LONG_INDEX_SECONDS = 2.0


def pull(
    ref: str | DatasetRef,
    *,
    version: int | None = None,
    file: str | None = None,
    force: bool = False,
    offline: bool = False,
    link: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    mount: bool = True,
) -> Path:
    """Download a dataset (or one of its files) into the cache and return its path.

    In a Kaggle notebook or in Colab, the platform mounts the dataset instead
    (read-only, no download, no call to Kaggle's API), as kagglehub does; see
    ``mount``. The same code then runs unchanged on a laptop and in both notebooks.

    Parameters
    ----------
    ref
        ``owner/slug`` or ``owner/slug/versions/N`` (or a kaggle.com dataset URL).
    version
        Pin a version, like ``/versions/N``.
    file
        Pull only this file of the dataset; the returned path is the file.
    force
        Download again even if the version is cached (and skip a notebook mount).
    offline
        Make no request to Kaggle's API and download nothing: use the newest
        complete cached version (also on when ``KAGMAN_OFFLINE=1``). A notebook
        platform's mount is still used: it is the notebook's own data, and
        Kaggle attaches it with the notebook's internet switched off.
    link
        Also create ``<link>/<name>`` (or ``<link>/<file name>``), a symlink to the
        cache entry or to the mount.
    progress
        Show progress bars on stderr; ``None`` means only on a terminal or in Jupyter.
    mount
        In a Kaggle notebook (``KAGGLE_KERNEL_RUN_TYPE`` with ``KAGGLE_DATA_PROXY_URL``),
        ask the notebook's data proxy to attach the dataset and return
        ``$KAGGLE_CACHE_MOUNT_FOLDER/<mountSlug>`` (default ``/kaggle/input``); in a
        managed Colab runtime (``TBE_RUNTIME_ADDR``), mount it from Colab's cache
        when it is there. Waits up to ``KAGMAN_MOUNT_TIMEOUT`` seconds (120) for the
        folder; a refused attach or a timeout falls back to the cache and a normal
        download, with a warning saying why. ``False`` (``--no-mount``) skips this;
        so do ``DISABLE_KAGGLE_CACHE`` and ``DISABLE_COLAB_CACHE``.

    Returns
    -------
    pathlib.Path
        Absolute path of the extracted dataset folder (or of the file). A mounted
        path belongs to the platform and is read-only: never write into it.

    Raises
    ------
    InvalidRefError, CredentialsError, DatasetNotFoundError, TermsNotAcceptedError,
    RateLimitedError, NetworkError, NotCachedError, DiskFullError, ArchiveError
        ``DatasetNotFoundError`` also when ``file`` is not a file of a mounted dataset.

    Examples
    --------
    These need Kaggle, so they are shown, not doctested::

        path = kagman.pull("owner/dataset")
        path = kagman.pull("owner/dataset", version=3, link="data")
    """
    from kagman.cache.links import make_link
    from kagman.resolvers import PullRequest, resolve

    if isinstance(ref, DatasetRef) and version is None:
        dref = ref
    else:  # parse_ref also checks that a version in the ref agrees with `version`
        dref = parse_ref(str(ref), version=version)
    name = check_file_name(file) if file is not None else None
    offline = offline or env_flag(OFFLINE_ENV)
    if offline and force:
        msg = "--force downloads again, --offline forbids downloading: use one or the other."
        raise KagmanError(msg)
    request = PullRequest(dref, name, force=force, offline=offline, progress=progress, mount=mount)
    path = resolve(request)
    if link is not None:
        make_link(path, Path(link))
    return path


def environment() -> Environment:
    """Where this code runs, and how :func:`pull` will answer there.

    Reads a few environment variables; no network, nothing imported unless they
    say a platform is there. ``kagman doctor`` shows its :attr:`~Environment.summary`.

    Returns
    -------
    Environment
        ``platform`` (``"local"``, ``"kaggle"``, ``"colab"``, ``"jupyter"``), where
        Kaggle or Colab mount datasets, whether Colab's secrets can be read, the
        resolvers a pull tries in order, and notes on what is switched off and why.
        Shows as a short table in a notebook; ``str()`` for a terminal.

    Examples
    --------
    In a Kaggle notebook (shown, not doctested)::

        kagman.environment().summary
        # 'Kaggle notebook (Jupyter kernel); pulls try: kaggle-notebook, cache, download'
    """
    from dataclasses import replace

    from kagman.platforms import detect
    from kagman.resolvers import active_resolvers

    return replace(detect(), resolvers=active_resolvers())


def index(
    source: str | os.PathLike[str],
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
        sent to Kaggle; a ``pathlib.Path`` is always a path.
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
    took = time.monotonic() - started
    if took >= LONG_INDEX_SECONDS:
        summary(
            f"Indexed {len(idx):,} images ({len(idx.splits)} splits, {len(idx.classes):,} "
            f"classes, {len(idx.problems):,} skipped) in {duration(took)} -> {idx.root}"
        )
    return idx


def show(
    source: str | os.PathLike[str] | ImageIndex,
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
    ValueError
        ``split`` is not a split of the index, ``per_class`` or ``size`` is too small,
        or ``out`` has an extension Pillow cannot write.

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


def _folder_for(source: str | os.PathLike[str]) -> Path:
    """A local folder as it is; a dataset ref that is no local folder, pulled.

    The decision is made here, not in :mod:`kagman.images`, which takes folders only.
    """
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
        msg = f"{missing}. Check the path."
        raise ImageFolderError(msg, path=path)
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
    if not folder.is_dir():
        msg = f"The dataset {text} is a single file ({folder}), not a folder of images."
        raise ImageFolderError(msg, path=folder)
    return folder.absolute()
