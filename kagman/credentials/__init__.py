"""Kaggle credentials: finding, validating, installing and reporting them.

The facade other packages use. Inside, imports run one way::

    core          leaf: what credentials are, validation, masking
    colab         Colab's secrets, each looked up on its own
    lookup        resolve_credentials(): what kagman talks to Kaggle with (kagglesdk's order,
                  KAGGLE_API_V1_TOKEN in a Kaggle notebook, Colab's secrets last)
    sources       where `kagman init` takes them from (path, stdin, env, Colab's secrets,
                  the working and downloads folders)
    kaggle_module keeping an already-imported `kaggle` module in step after an install
    destination   the config folder and files: checked, created 0700, never a shared one
    installer     where they go and how they land (0700 folder, 0600 file, atomic)
    report        which credentials each client (kagman, kaggle, kagglehub, kagglesdk) uses

May import: :mod:`kagman.errors`, :mod:`kagman.settings`, :mod:`kagman.fs`,
:mod:`kagman.platforms` (are we in a Kaggle notebook, in Colab?), :mod:`kagman.ui` (warnings
at the caller's line). Never the
Kaggle client: checking credentials against Kaggle is :func:`kagman.remote.client.whoami`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from kagman.credentials import installer
from kagman.credentials.core import (
    Credentials,
    installed_credentials,
    mask,
    renew_advice,
    ways_to_provide,
)
from kagman.credentials.installer import InstallReport
from kagman.credentials.lookup import resolve_credentials
from kagman.credentials.report import CredentialsStatus
from kagman.credentials.report import credentials_status as _credentials_status
from kagman.credentials.sources import load_token_source
from kagman.errors import (
    CredentialsError,
    CredentialsWarning,
    KagmanError,
    KeyCopyWarning,
    PermissionsFixedWarning,
)
from kagman.settings import CONFIG_DIR_ENV, config_dir
from kagman.ui.warn import warn

__all__ = [
    "Credentials",
    "CredentialsStatus",
    "InstallReport",
    "credentials_status",
    "init",
    "install",
    "installed_credentials",
    "mask",
    "renew_advice",
    "resolve_credentials",
    "ways_to_provide",
]

logger = logging.getLogger("kagman.credentials")


def install(
    source: str | os.PathLike[str] | Mapping[str, str] | None = None,
    *,
    token: str | bool | None = None,
    from_env: bool = False,
    force: bool = False,
    move: bool = False,
    prompt: Callable[[], Mapping[str, str]] | None = None,
    token_prompt: Callable[[], str] | None = None,
) -> InstallReport:
    """Install credentials and say exactly what happened (what ``kagman init`` prints).

    Parameters
    ----------
    source
        A kaggle.json path, ``"-"`` (stdin), a dict or the JSON text. With
        ``token=True``, where to read the token from (a path or ``"-"``).
    token
        ``True``: install a new-style token from ``source``, ``KAGGLE_API_TOKEN``
        or ``token_prompt``, in that order. A string: that token.
    from_env
        Install ``KAGGLE_USERNAME``/``KAGGLE_KEY`` (and fail if one is missing).
    force, move
        As in :func:`init`.
    prompt, token_prompt
        Asked when nothing else is found (the CLI passes hidden terminal prompts).

    Returns
    -------
    InstallReport
        Every field is safe to print: keys and tokens are masked.

    Raises
    ------
    CredentialsError
        See :func:`init`; also when the system refuses a read or write (a read-only or
        unwritable config folder), naming the path.
    InvalidArgumentError
        Conflicting arguments (a source and ``from_env``; ``move`` without a file); a
        ``ValueError`` too.
    """
    try:
        return _install(source, token, from_env, force, move, prompt, token_prompt)
    except OSError as err:
        if isinstance(err, KagmanError):
            raise
        where = err.filename if err.filename is not None else config_dir()
        msg = (
            f"Could not write {where}: {err.strerror or err}. Set {CONFIG_DIR_ENV} to a "
            "folder you can write (or fix this one's permissions) and run `kagman init` again."
        )
        raise CredentialsError(msg, path=Path(os.fsdecode(where))) from err


def _install(  # noqa: PLR0917 - private, one caller that names every argument
    source: str | os.PathLike[str] | Mapping[str, str] | None,
    token: str | bool | None,
    from_env: bool,
    force: bool,
    move: bool,
    prompt: Callable[[], Mapping[str, str]] | None,
    token_prompt: Callable[[], str] | None,
) -> InstallReport:
    if token is True:
        found = load_token_source(
            None if source is None else os.fspath(source),  # type: ignore[arg-type]
            token_prompt,
        )
        return installer.install(
            token=found.token,
            force=force,
            move=move,
            token_origin=found.origin,
            token_path=found.path,
        )
    if isinstance(token, str):
        return installer.install(token=token, force=force, move=move)
    return installer.install(source, force=force, move=move, use_env=from_env, prompt=prompt)


def init(
    source: str | os.PathLike[str] | Mapping[str, str] | None = None,
    *,
    force: bool = False,
    move: bool = False,
    token: str | None = None,
) -> Path:
    """Install Kaggle credentials where kagman, the kaggle CLI and kagglehub all find them.

    Parameters
    ----------
    source
        A path to a kaggle.json, a dict with ``username`` and ``key``, or the
        JSON text itself. ``None`` searches, in Colab, the notebook's secrets
        (``KAGGLE_API_TOKEN``, else ``KAGGLE_USERNAME``/``KAGGLE_KEY``: installed as
        any source, 0600), then the variables ``KAGGLE_USERNAME``/``KAGGLE_KEY``, then
        the working folder and the downloads folder (each: the newest of
        ``kaggle.json``, ``kaggle (1).json``, ``kaggle(2).json``, ``kaggle-3.json``).
    force
        Replace different installed credentials, keeping the old file as ``.bak``.
    move
        Delete the source file once installed (it holds a copy of the key).
    token
        A new-style API token to store in ``access_token`` instead.

    Returns
    -------
    Path
        The installed ``kaggle.json`` (or ``access_token``), mode 0600.

    Raises
    ------
    CredentialsError
        Nothing found (in Colab, the message says how to grant the notebook access
        to a secret it may not read), malformed input, a conflict without
        ``force``, or an unsafe destination (symlink, another user's folder).

    Warns
    -----
    KeyCopyWarning
        The source file (say ``~/Downloads/kaggle.json``) still holds a copy of the key
        (pass ``move=True`` to delete it).
    PermissionsFixedWarning
        Installed credentials were readable by others; they were made 0600 (folder 0700).
    CredentialsWarning
        Something will win over the installed file (``KAGGLE_API_TOKEN``,
        ``KAGGLE_USERNAME``/``KAGGLE_KEY``, a token beside it), or the key does not look
        like a Kaggle key.

    What it did is also logged to the ``kagman.credentials`` logger (INFO).

    Examples
    --------
    Shown, not doctested (it writes to ``~/.kaggle``)::

        kagman.init("~/Downloads/kaggle.json", move=True)
        # PosixPath('/home/ada/.kaggle/kaggle.json')
    """
    report = install(source, force=force, move=move, token=token)
    for line in report.messages():
        logger.info("%s", line)
    # What the user must act on also reaches a notebook, where nobody reads the log.
    for fix in report.fixed:
        warn(f"Fixed permissions: {fix}.", PermissionsFixedWarning)
    if report.kept_source is not None:
        warn(
            f"{report.kept_source} still holds a copy of your key: delete it, or run "
            f"kagman.init({str(report.kept_source)!r}, move=True), which deletes the copy now "
            "that the key is installed.",
            KeyCopyWarning,
        )
    for line in report.warnings:
        warn(line, CredentialsWarning)
    return report.path


def credentials_status() -> CredentialsStatus:
    """Where the credentials are and which one each client (kagman, kaggle, kagglehub) will use.

    Reads only; never shows a key. See :class:`CredentialsStatus`.
    """
    return _credentials_status()
