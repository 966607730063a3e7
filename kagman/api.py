"""The public Python API that composes the packages: what ``kagman.pull`` and ``kagman.index`` are.

The one place that turns user input (a ref string, a URL, a folder) into the
validated requests the domain packages take: :func:`pull` builds a
:class:`~kagman.resolvers.PullRequest`, :func:`index` turns a ref into a
folder before :func:`kagman.images.index_folder` sees it. The CLI calls these
functions; nothing below this module imports it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.errors import ImageFolderError, KagmanError
from kagman.remote.refs import DatasetRef, check_file_name, looks_like_ref, parse_ref
from kagman.settings import OFFLINE_ENV, env_flag

if TYPE_CHECKING:
    from kagman.images import CheckLevel, ImageIndex

__all__ = ["index", "pull"]

logger = logging.getLogger("kagman")


def pull(
    ref: str | DatasetRef,
    *,
    version: int | None = None,
    file: str | None = None,
    force: bool = False,
    offline: bool = False,
    link: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> Path:
    """Download a dataset (or one of its files) into the cache and return its path.

    Parameters
    ----------
    ref
        ``owner/slug`` or ``owner/slug/versions/N`` (or a kaggle.com dataset URL).
    version
        Pin a version, like ``/versions/N``.
    file
        Pull only this file of the dataset; the returned path is the file.
    force
        Download again even if the version is cached.
    offline
        Make no network request: use the newest complete cached version
        (also on when ``KAGMAN_OFFLINE=1``).
    link
        Also create ``<link>/<slug>`` (or ``<link>/<file name>``), a symlink to the cache entry.
    progress
        Show progress bars on stderr; ``None`` means only on a terminal or in Jupyter.

    Returns
    -------
    pathlib.Path
        Absolute path of the extracted dataset folder (or of the file).

    Raises
    ------
    InvalidRefError, CredentialsError, DatasetNotFoundError, TermsNotAcceptedError,
    RateLimitedError, NetworkError, NotCachedError, DiskFullError, CacheAccessError,
    ArchiveError, CorruptDownloadError
        Every expected failure; never a bare ``OSError``, ``zipfile`` or ``requests``
        error. When the network fails on a pull of "latest" (not pinned, not ``force``)
        and a complete version is cached, that version is returned instead, with a
        :class:`~kagman.errors.StaleCacheWarning` (never after a 401, 403 or 404).
    KeyboardInterrupt
        Ctrl-C (or a notebook's interrupt button): the temporary extraction folder is
        removed, a partial download is kept for the next pull, and a WARNING log line
        says what was kept.

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
    path = resolve(PullRequest(dref, name, force=force, offline=offline, progress=progress))
    if link is not None:
        try:
            make_link(path, Path(link))
        except OSError as err:
            if isinstance(err, KagmanError):
                raise
            msg = (
                f"Could not create the link in {link}: {err.strerror or err}. The dataset is "
                f"at {path}; choose a --link folder you can write."
            )
            raise KagmanError(msg) from err
    return path


def index(
    source: str | os.PathLike[str],
    *,
    check: CheckLevel | None = None,
    labels: str | os.PathLike[str] | None = None,
    path_col: str | None = None,
    label_col: str | None = None,
    follow_symlinks: bool = True,
) -> ImageIndex:
    """Index the images under a folder, or under a dataset's cached copy.

    Parameters
    ----------
    source
        A folder, or a dataset ref ``owner/slug[/versions/N]`` (pulled first when
        it is not cached) when no such folder exists.
    check
        ``"none"``, ``"fast"`` (size, magic bytes, end marker; the default),
        ``"header"`` (Pillow parses the header) or ``"full"`` (decode every image
        in a process pool). Bad files go to ``.problems``, never into ``.paths()``.
    labels, path_col, label_col
        A labels CSV and its file-name and label columns, overriding detection.
    follow_symlinks
        Follow symlinked files and folders (loops are detected and skipped).

    Returns
    -------
    ImageIndex

    Raises
    ------
    ImageFolderError
        The source is neither a folder nor a dataset ref, holds no images, or the
        labels CSV does not fit it.
    KagmanError
        Pulling a dataset ref failed (see :func:`pull`).

    Examples
    --------
    ::

        idx = kagman.index("chest_xray")      # or kagman.index("owner/slug")
        idx.classes                           # ['NORMAL', 'PNEUMONIA']
        train = idx.paths("train"), idx.labels("train")
    """
    from kagman.images import DEFAULT_CHECK, index_folder

    folder = _folder_for(source)
    return index_folder(
        folder,
        check=DEFAULT_CHECK if check is None else check,
        labels=labels,
        path_col=path_col,
        label_col=label_col,
        follow_symlinks=follow_symlinks,
    )


def _folder_for(source: str | os.PathLike[str]) -> Path:
    """A local folder as it is; a dataset ref that is no local folder, pulled."""
    text = os.fspath(source)
    # abspath, unlike resolve(), drops ".." but keeps the symlinks the user chose.
    path = Path(os.path.abspath(Path(text).expanduser()))  # noqa: PTH100
    if path.exists() or not looks_like_ref(text):
        return path  # index_folder says what is wrong with it, if anything
    logger.info("No folder %s here; indexing the dataset %s from the cache.", text, text)
    folder = pull(text)
    if not folder.is_dir():
        msg = f"The dataset {text} is a single file ({folder}), not a folder of images."
        raise ImageFolderError(msg, path=folder)
    return folder.absolute()
