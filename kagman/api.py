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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kagman.errors import ImageFolderError, InvalidRefError, KagmanError, TableError
from kagman.remote.refs import (
    CompetitionRef,
    DatasetRef,
    Ref,
    check_file_name,
    check_patterns,
    looks_like_ref,
    parse_competition,
    parse_target,
)
from kagman.settings import OFFLINE_ENV, env_flag

if TYPE_CHECKING:
    import pandas as pd

    from kagman.images import CheckLevel, ImageIndex

__all__ = ["files", "index", "load", "pull", "pull_competition"]

logger = logging.getLogger("kagman")


def pull(
    ref: str | Ref,
    *,
    version: int | None = None,
    file: str | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    force: bool = False,
    offline: bool = False,
    link: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    wait_for_rules: bool | float = False,
) -> Path:
    """Download a dataset (or part of it) into the cache and return its path.

    Parameters
    ----------
    ref
        ``owner/slug`` or ``owner/slug/versions/N``, or a kaggle.com dataset URL as copied
        from the browser (any tab; ``?select=FILE`` means ``file=FILE``). A competition URL
        is pulled with :func:`pull_competition`.
    version
        Pin a version, like ``/versions/N``.
    file
        Pull only this file, or this folder (with or without a trailing ``/``); the
        returned path is the file or folder inside the version's cache entry.
    include, exclude
        Gitignore-style patterns (``"train/**"``, ``"*.csv"``, ``"!*.tif"``): pull only the
        files that match an include (all when none) and no exclude. Selected files are
        downloaded one by one, several at a time, into the version's entry; a later pull
        adds only the files it lacks.
    force
        Download again even if cached.
    offline
        Make no network request: use the newest cached version that holds what was asked
        for (a whole-dataset request needs a complete one); also on when ``KAGMAN_OFFLINE=1``.
    link
        Also create ``<link>/<slug>`` (or ``<link>/<file name>``), a symlink to the cache entry.
    progress
        Show progress bars on stderr; ``None`` means only on a terminal or in Jupyter.
    wait_for_rules
        For a competition URL only (see :func:`pull_competition`).

    Returns
    -------
    pathlib.Path
        Absolute path of the dataset folder (or of the file or folder asked for).

    Raises
    ------
    InvalidRefError, EmptySelectionError
        A bad ref, URL, file name or conflicting options; patterns that select no file.
    CredentialsError, DatasetNotFoundError, TermsNotAcceptedError, RateLimitedError,
    NetworkError, NotCachedError, DiskFullError, ArchiveError

    Examples
    --------
    These need Kaggle, so they are shown, not doctested::

        path = kagman.pull("owner/dataset", version=3, link="data")
        train = kagman.pull("owner/dataset", file="chest_xray/train/")
        csvs = kagman.pull("owner/dataset", include=["*.csv"])
    """
    from kagman.cache.links import make_link
    from kagman.resolvers import PullRequest, resolve

    if isinstance(ref, (DatasetRef, CompetitionRef)) and version is None:
        dref: Ref = ref
        name = check_file_name(file) if file is not None else None
    else:  # parse_target checks that a version or ?select= in the ref agrees with the options
        dref, name = parse_target(str(ref), version=version, file=file)
    offline = _offline(offline, force=force)
    include, exclude = check_patterns(include, "include"), check_patterns(exclude, "exclude")
    if isinstance(dref, CompetitionRef):
        return pull_competition(
            dref,
            file=name,
            include=include,
            exclude=exclude,
            force=force,
            offline=offline,
            link=link,
            progress=progress,
            wait_for_rules=wait_for_rules,
        )
    if wait_for_rules is not False:
        msg = "--wait-for-rules is for competitions: a dataset's rules are accepted on its page."
        raise InvalidRefError(msg, ref=str(ref))
    request = PullRequest(
        dref,
        name,
        force=force,
        offline=offline,
        progress=progress,
        include=include,
        exclude=exclude,
    )
    path = resolve(request)
    if link is not None:
        make_link(path, Path(link))
    return path


def _offline(offline: bool, *, force: bool) -> bool:
    """``offline``, or ``KAGMAN_OFFLINE=1``; refused together with ``force``."""
    if (offline := offline or env_flag(OFFLINE_ENV)) and force:
        msg = "--force downloads again, --offline forbids downloading: use one or the other."
        raise KagmanError(msg)
    return offline


def pull_competition(
    ref: str | CompetitionRef,
    *,
    file: str | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    force: bool = False,
    offline: bool = False,
    link: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    wait_for_rules: bool | float = False,
) -> Path:
    """Download a competition's data (or part of it) into the cache and return its path.

    Parameters
    ----------
    ref
        The competition's name (``"titanic"``) or URL (``kaggle.com/competitions/titanic``,
        ``kaggle.com/c/titanic``, any tab; ``?select=FILE`` means ``file=FILE``).
    file, include, exclude, force, offline, link, progress
        As for :func:`pull`. Kaggle zips large single files; they are unwrapped.
    wait_for_rules
        When the rules are not accepted yet (403), say so once and ask Kaggle again every
        10 s (``KAGMAN_RULES_POLL``) until the download is allowed: ``True`` waits up to 30
        minutes, a number that many minutes. ``False``: fail at once.

    Returns
    -------
    pathlib.Path
        Absolute path of the data folder (``competitions/<slug>/data/<state>``), or of the
        file or folder asked for.

    Raises
    ------
    RulesNotAcceptedError
        403 before the rules are accepted: the message gives the rules URL and the user
        whose credentials kagman uses (exit code 4).
    AccessDeniedError
        Another 403: a private competition, or one closed to late downloads.
    CompetitionNotFoundError
        404: no such competition (or file).
    InvalidRefError, EmptySelectionError, CredentialsError, RateLimitedError, NetworkError,
    NotCachedError, DiskFullError, ArchiveError

    Notes
    -----
    The redirect of ``DownloadDataFiles`` names the data's state: a current cache hit costs
    that one request (compared, not followed); ``offline`` none. Kaggle unreachable: the
    latest cached state, with a warning.

    Examples
    --------
    ::

        path = kagman.pull_competition("titanic")
        train = kagman.load(path, "train.csv")
        one = kagman.pull_competition("titanic", file="test.csv", wait_for_rules=True)
    """
    from kagman.cache.links import make_link
    from kagman.resolvers import CompetitionRequest, resolve
    from kagman.resolvers.competition import rules_wait

    cref, name = parse_competition(ref), check_file_name(file) if file is not None else None
    if not isinstance(ref, CompetitionRef):  # a URL's ?select= must agree with `file`
        name = parse_target(ref, file=file, competition=True).file
    offline = _offline(offline, force=force)
    request = CompetitionRequest(
        cref,
        name,
        force=force,
        offline=offline,
        progress=progress,
        include=check_patterns(include, "include"),
        exclude=check_patterns(exclude, "exclude"),
        wait_for_rules=rules_wait(wait_for_rules),
    )
    path = resolve(request)
    if link is not None:
        make_link(path, Path(link))
    return path


def files(ref: str | Ref, *, version: int | None = None, offline: bool = False) -> pd.DataFrame:
    """Every file of a dataset version (or a competition) with its size: look first.

    Parameters
    ----------
    ref
        ``owner/slug[/versions/N]`` or a dataset URL (latest version when not pinned); a
        competition URL or :class:`CompetitionRef` (``ListDataFiles``).
    version
        Pin a version, like ``/versions/N``.
    offline
        Make no network request: list the newest cached version (a cached subset lists
        only the files it holds, with a warning). Also on when ``KAGMAN_OFFLINE=1``.

    Returns
    -------
    pandas.DataFrame
        One row per file, sorted by name: ``name`` (path inside the dataset, ``str``),
        ``size`` (bytes, ``int64``), ``modified`` (Kaggle's creation date of the file,
        UTC; ``NaT`` when listed from the cache). ``df.attrs`` holds ``ref`` (the pinned
        version, ``str``) and ``source`` (``"cache"`` or ``"kaggle"``).

    Raises
    ------
    InvalidRefError, CredentialsError, DatasetNotFoundError, NetworkError, NotCachedError

    Notes
    -----
    Kaggle's paged ``ListDatasetFiles`` (200 a page; ``GetDataset`` first for "latest");
    a version cached whole is listed from its manifest with no request.

    Examples
    --------
    ::

        df = kagman.files("paultimothymooney/chest-xray-pneumonia")
        df[df.name.str.endswith(".csv")].size.sum()
    """
    from kagman.resolvers.listing import list_ref

    if not isinstance(ref, (DatasetRef, CompetitionRef)) or version is not None:
        ref = parse_target(str(ref), version=version).ref
    return list_ref(ref, offline=offline or env_flag(OFFLINE_ENV)).frame()


def load(
    source: str | os.PathLike[str] | Ref,
    file: str | None = None,
    *,
    version: int | None = None,
    table: str | None = None,
    sql: str | None = None,
    offline: bool = False,
    **read_kwargs: Any,
) -> pd.DataFrame:
    """Load one table of a dataset (or a local file or folder) into a pandas DataFrame.

    Parameters
    ----------
    source
        A dataset ref or URL (``?select=FILE`` names the file), a competition URL or
        :class:`CompetitionRef`, or a local table file or folder (such as the path
        :func:`pull` or :func:`pull_competition` returned). A bare name is never a
        competition: ``"titanic"`` is a local path.
    file
        The table's path inside the dataset or folder. ``None``: the only table there is
        (several: the error lists them).
    version
        Pin a dataset version.
    table, sql
        For SQLite files (``.sqlite``, ``.db``): the table, or one read-only query.
    offline
        Make no network request (also ``KAGMAN_OFFLINE=1``).
    read_kwargs
        Passed to the pandas reader: ``usecols``, ``nrows``, ``dtype``, ``encoding``, ...

    Returns
    -------
    pandas.DataFrame
        What the pandas reader for the file's extension returns, uncopied.

    Raises
    ------
    TableError
        No table, several tables and no ``file``, a missing optional reader (openpyxl), or a
        file that does not parse (naming the file, the reader and the line or byte offset).
    InvalidRefError, DatasetNotFoundError, NotCachedError, ...
        From pulling the file (see :func:`pull`).

    Notes
    -----
    A dataset that is not cached is not downloaded whole for one table: only the file is
    pulled (``DownloadDataset`` with a file name). CSVs are read with pandas' pyarrow
    engine, or its C engine for arguments pyarrow refuses (``nrows``, ``skipfooter``, ...).

    Examples
    --------
    ::

        df = kagman.load("owner/dataset", "train.csv", usecols=["id", "label"])
        df = kagman.load("https://www.kaggle.com/datasets/owner/dataset?select=train.csv")
        df = kagman.load("owner/dataset", "data.sqlite", sql="SELECT * FROM t WHERE y > 0")
    """
    from kagman.tables import read_table

    offline = offline or env_flag(OFFLINE_ENV)
    path = _table_file(source, file, version=version, offline=offline)
    return read_table(path, table=table, sql=sql, **read_kwargs)


def _table_file(
    source: str | os.PathLike[str] | Ref, file: str | None, *, version: int | None, offline: bool
) -> Path:
    """The local table file ``load`` reads: pulled (just that file) when it is remote."""
    from kagman.tables import choose_table, find_tables

    if not isinstance(source, (DatasetRef, CompetitionRef)):
        text = os.fspath(source)
        local = Path(text).expanduser()
        remote = looks_like_ref(text) or "kaggle.com/" in text.lower()  # a URL says what is wrong
        if local.exists() or not remote:
            if file is not None:
                local = local / check_file_name(file)
            if local.is_dir():
                local = local / choose_table(find_tables(local), str(local))
            if not local.is_file():
                msg = f"No table file {local}: it does not exist, and is not a dataset ref or URL."
                raise TableError(msg, path=local)
            return local
    if isinstance(source, (DatasetRef, CompetitionRef)) and version is None:
        ref, name = source, check_file_name(file) if file is not None else None
    else:
        ref, name = parse_target(str(source), version=version, file=file)
    if name is not None:  # a file, or a folder that holds one table
        path = pull(ref, file=name, offline=offline)
        return path if path.is_file() else path / choose_table(find_tables(path), str(path))
    from kagman.resolvers.listing import list_ref

    listing = list_ref(ref, offline=offline)
    chosen = choose_table((f.name for f in listing.files), str(listing.ref))
    return pull(listing.ref, file=chosen, offline=offline)


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
