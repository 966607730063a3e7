"""Pulls: a dataset or a competition (or part of one) into the cache, as a path.

:func:`pull` and :func:`pull_competition` turn what the user typed (a ref, a URL with
``?select=``, options) into the validated request the resolvers answer
(:mod:`kagman.resolvers`), and add the ``--link`` afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from kagman.errors import InvalidArgumentError, InvalidRefError, KagmanError, OutputPathError
from kagman.remote.refs import (
    CompetitionRef,
    DatasetRef,
    Ref,
    check_file_name,
    check_patterns,
    parse_competition,
    parse_target,
)
from kagman.settings import OFFLINE_ENV, check_environment, env_flag
from kagman.ui.warn import worded

__all__ = ["pull", "pull_competition"]


def pull(
    ref: str | Ref,
    *,
    version: int | None = None,
    file: str | os.PathLike[str] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    force: bool = False,
    offline: bool = False,
    link: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    mount: bool = True,
    wait_for_rules: bool | float = False,
) -> Path:
    """Download a dataset (or part of it) into the cache and return its path.

    In a Kaggle notebook or in Colab, the platform mounts the dataset instead
    (read-only, no download, no call to Kaggle's API), as kagglehub does; see
    ``mount``. The same code then runs unchanged on a laptop and in both notebooks.

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
        returned path is the file or folder inside the version's cache entry. A
        ``pathlib.Path`` is read as its POSIX form (``Path("sub") / "t.csv"``: ``sub/t.csv``).
    include, exclude
        Gitignore-style patterns (``"train/**"``, ``"*.csv"``, ``"!*.tif"``): pull only the
        files that match an include (all when none) and no exclude. Selected files are
        downloaded one by one, several at a time, into the version's entry; a later pull
        adds only the files it lacks.
    force
        Download again even if cached (and skip a notebook mount).
    offline
        Make no request to Kaggle's API and download nothing: use the newest cached
        version that holds what was asked for (a whole-dataset request needs a complete
        one); also on when ``KAGMAN_OFFLINE=1``. A notebook platform's mount is still
        used: it is the notebook's own data, and Kaggle attaches it with the notebook's
        internet switched off.
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
    wait_for_rules
        For a competition URL only (see :func:`pull_competition`).

    Returns
    -------
    pathlib.Path
        Absolute path of the dataset folder (or of the file or folder asked for). A
        mounted path belongs to the platform and is read-only: never write into it.

    Raises
    ------
    InvalidRefError, EmptySelectionError
        A bad ref, URL, file name or conflicting options; patterns that select no file.
    InvalidArgumentError
        ``force`` with ``offline`` (or ``KAGMAN_OFFLINE``); a ``link`` folder that is a file,
        or holds a file or folder (not a symlink) of the link's name.
    ConfigError
        A ``KAGMAN_*`` variable is set to a value it cannot take (``KAGMAN_CONNECTIONS=abc``,
        ``=1000``): checked before anything is downloaded.
    CredentialsError, DatasetNotFoundError, TermsNotAcceptedError, RateLimitedError,
    NetworkError, NotCachedError, DiskFullError, ArchiveError
        ``DatasetNotFoundError`` also when ``file`` is not in a mounted dataset.

    Examples
    --------
    These need Kaggle, so they are shown, not doctested::

        path = kagman.pull("owner/dataset", version=3, link="data")
        train = kagman.pull("owner/dataset", file="chest_xray/train/")
        csvs = kagman.pull("owner/dataset", include=["*.csv"])
    """
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
            mount=mount,
            wait_for_rules=wait_for_rules,
        )
    if wait_for_rules is not False:
        msg = "--wait-for-rules is for competitions: a dataset's rules are accepted on its page."
        raise InvalidRefError(msg, ref=str(ref))
    if link is not None:
        _check_link(link, dref.slug, name)
    request = PullRequest(
        dref,
        name,
        force=force,
        offline=offline,
        progress=progress,
        mount=mount,
        include=include,
        exclude=exclude,
    )
    path = resolve(request)
    if link is not None:
        _link(path, link)
    return path


def _offline(offline: bool, *, force: bool) -> bool:
    """``offline``, or ``KAGMAN_OFFLINE=1``; refused together with ``force``. First of all,
    every ``KAGMAN_*`` setting is checked, so a bad one stops the pull before it downloads."""
    check_environment()
    if (offline := offline or env_flag(OFFLINE_ENV)) and force:
        python, cli = worded(
            lambda name: (
                f"{name('force=True', '--force')} downloads again, "
                f"{name('offline=True', '--offline')} (or KAGMAN_OFFLINE=1) forbids downloading: "
                "use one or the other."
            )
        )
        refused = InvalidArgumentError(python)
        refused.cli_message = cli
        raise refused
    return offline


def pull_competition(
    ref: str | CompetitionRef,
    *,
    file: str | os.PathLike[str] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    force: bool = False,
    offline: bool = False,
    link: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    mount: bool = True,
    wait_for_rules: bool | float = False,
) -> Path:
    """Download a competition's data (or part of it) into the cache and return its path.

    In a Kaggle notebook, the notebook's data proxy mounts the competition instead
    (read-only, no download), as kagglehub does; see ``mount``.

    Parameters
    ----------
    ref
        The competition's name (``"titanic"``) or URL (``kaggle.com/competitions/titanic``,
        ``kaggle.com/c/titanic``, any tab; ``?select=FILE`` means ``file=FILE``).
    file, include, exclude, force, offline, link, progress
        As for :func:`pull`. Kaggle zips large single files; they are unwrapped.
    mount
        In a Kaggle notebook, ask its data proxy to attach the competition and return
        ``$KAGGLE_CACHE_MOUNT_FOLDER/<mountSlug>``, as :func:`pull` does for a dataset
        (Colab's cache holds no competitions). ``False`` (``--no-mount``) skips this.
    wait_for_rules
        When the rules are not accepted yet (403), say so once and ask Kaggle again every
        10 s (``KAGMAN_RULES_POLL``) until the download is allowed: ``True`` waits up to 30
        minutes, a number that many minutes. ``False``: fail at once.

    Returns
    -------
    pathlib.Path
        Absolute path of the data folder (``competitions/<slug>/data/<state>``, or the
        notebook's mount), or of the file or folder asked for.

    Raises
    ------
    RulesNotAcceptedError
        403 before the rules are accepted: the message gives the rules URL and the user
        whose credentials kagman uses (exit code 4).
    AccessDeniedError
        Another 403: a private competition, or one closed to late downloads.
    CompetitionNotFoundError
        404: no such competition (or file).
    InvalidRefError, EmptySelectionError, InvalidArgumentError, CredentialsError,
    RateLimitedError, NetworkError, NotCachedError, DiskFullError, ArchiveError
        ``InvalidArgumentError``: as for :func:`pull` (``force`` with ``offline``, ``link``).
    ConfigError
        As for :func:`pull`: a bad ``KAGMAN_*`` value, before anything is downloaded.

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
        mount=mount,
    )
    if link is not None:
        _check_link(link, cref.slug, request.file)
    path = resolve(request)
    if link is not None:
        _link(path, link)
    return path


def _check_link(link: str | os.PathLike[str], slug: str, file: str | None) -> None:
    """``--link``'s own failures, found before anything is downloaded: the link the pull
    will make (``<slug>``, or the file's or folder's name) must be free to make."""
    from kagman.cache.links import check_link

    check_link(Path(link), PurePosixPath(file.rstrip("/")).name if file else slug)


def _link(path: Path, link: str | os.PathLike[str]) -> None:
    """``--link``: a symlink to the entry in ``link``; an ``OSError`` becomes OutputPathError."""
    from kagman.cache.links import make_link
    from kagman.fs import output_error

    try:
        make_link(path, Path(link))
    except OSError as err:
        if isinstance(err, KagmanError):
            raise
        what = f"Could not create the link in {link}"
        failed = output_error(err, Path(link) / path.name, what=what)
        msg = f"{str(failed).rstrip('.')}. The data is at {path}."
        raise OutputPathError(msg, path=Path(link)) from err
