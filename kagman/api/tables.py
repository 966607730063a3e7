"""Tables: see what files a dataset holds, and load one of them into pandas.

:func:`files` lists a version (or a competition) from the cache or Kaggle's paged
listing; :func:`load` pulls just the one file it needs (never the whole dataset for one
table) and hands it to :mod:`kagman.tables`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kagman.api.pulling import pull
from kagman.errors import TableError
from kagman.remote.refs import (
    CompetitionRef,
    DatasetRef,
    Ref,
    check_file_name,
    competition_hint,
    looks_like_ref,
    parse_target,
)
from kagman.settings import OFFLINE_ENV, env_flag

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["files", "load"]


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
        df.loc[df.name.str.endswith(".csv"), "size"].sum()   # bytes of the CSVs
    """
    from kagman.resolvers.listing import list_ref

    if not isinstance(ref, (DatasetRef, CompetitionRef)) or version is not None:
        ref = parse_target(str(ref), version=version).ref
    return list_ref(ref, offline=offline or env_flag(OFFLINE_ENV)).frame()


def load(
    source: str | os.PathLike[str] | Ref,
    file: str | os.PathLike[str] | None = None,
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
        The table's path inside the dataset or folder (a ``pathlib.Path`` too). ``None``:
        the only table there is (several: the error lists them).
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

    name = check_file_name(file) if file is not None else None  # a Path too, as POSIX
    offline = offline or env_flag(OFFLINE_ENV)
    path = _table_file(source, name, version=version, offline=offline)
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
                python, said = (
                    competition_hint(text, command="load", file=file) if not remote else ("", "")
                )
                head = f"No table file {local}: it does not exist, and is not a dataset ref or URL."
                raise TableError(head + python, path=local, cli_message=head + said)
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
    cli = f"-c {listing.ref}" if isinstance(listing.ref, CompetitionRef) else None
    names = (f.name for f in listing.files)
    chosen = choose_table(names, str(listing.ref), cli_source=cli, partial=listing.partial)
    return pull(listing.ref, file=chosen, offline=offline)
