"""What the notebook-mount resolvers share: waiting for the mount, and answering from it.

A notebook platform answers "mount it" at once and makes the folder appear a little
later. kagglehub polls for it every 5 s with no end; kagman polls at 0.05 s, doubling
up to 0.5 s, for at most ``KAGMAN_MOUNT_TIMEOUT`` seconds (120), with a progress bar
where someone watches, and then falls back to its cache and a normal download. A
mount is the platform's folder, read-only: it is returned as it is and nothing is
written into it (no manifest, no lock, no link inside it). It holds the whole version, so
it answers a file, a folder or patterns as a complete cache entry does.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from kagman.cache.selection import Selection, nothing_matches
from kagman.errors import CompetitionNotFoundError, DatasetNotFoundError, MountFallbackWarning
from kagman.remote.refs import CompetitionRef
from kagman.resolvers.base import Request
from kagman.settings import MOUNT_TIMEOUT_ENV, env_number
from kagman.ui.progress import Bar, progress_enabled
from kagman.ui.warn import warn

__all__ = [
    "DEFAULT_MOUNT_TIMEOUT",
    "answer_from_mount",
    "fall_back",
    "mount_timeout",
    "wait_for_mount",
]

logger = logging.getLogger(__name__)

DEFAULT_MOUNT_TIMEOUT = 120.0  # seconds
_FIRST_POLL, _LONGEST_POLL = 0.05, 0.5  # seconds


def mount_timeout() -> float:
    """``KAGMAN_MOUNT_TIMEOUT`` in seconds (default 120; 0 means do not wait)."""
    return max(0.0, env_number(MOUNT_TIMEOUT_ENV, DEFAULT_MOUNT_TIMEOUT))


def wait_for_mount(folder: Path, *, who: str, did: str, what: str, request: Request) -> bool:
    """Wait until ``folder`` exists; False, with the fallback warning, when
    ``KAGMAN_MOUNT_TIMEOUT`` passed first.

    ``who`` mounts (``"Kaggle"``), and ``did`` what (``"attached"``) to ``what``
    (``"dataset owner/slug"``, ``"competition titanic"``): they word the progress
    message, the log and the warning.
    """
    if folder.exists():
        return True
    timeout = mount_timeout()
    logger.info("%s is mounting %s at %s; waiting up to %g s.", who, what, folder, timeout)
    started = time.monotonic()
    delay = _FIRST_POLL
    show = progress_enabled(request.progress)
    waiting = f"Waiting for {who} to mount {what}"
    with Bar(waiting, unit="s", total=round(timeout), enabled=show) as bar:
        while True:
            waited = time.monotonic() - started
            if folder.exists():
                logger.info("Mounted %s after %.1f s.", what, waited)
                return True
            if waited >= timeout:
                break
            bar.move_to(round(waited))
            time.sleep(min(delay, timeout - waited))
            delay = min(delay * 2, _LONGEST_POLL)
    fall_back(
        f"{who} {did} {what}, but {folder} did not appear within {timeout:g} s "
        f"({MOUNT_TIMEOUT_ENV}).",
        request,
    )
    return False


def answer_from_mount(folder: Path, request: Request, *, what: str) -> Path:
    """The mounted folder, or the file or folder ``request.file`` inside it.

    A mount holds every file, so ``--include``/``--exclude`` select nothing to download:
    they answer with the mount itself (or the folder ``request.file`` inside it), as a
    whole-version entry of the cache does.

    Raises
    ------
    EmptySelectionError
        The patterns take no file of the mount (listed by a walk of it).
    DatasetNotFoundError, CompetitionNotFoundError
        ``request.file`` is neither a file nor a folder of the mounted data (the message
        lists what is there), or is a file where a folder was asked for (``NAME/``).
    """
    if request.include or request.exclude:
        logger.info("The mount at %s holds every file; --include/--exclude pick no files.", folder)
        _require_some(folder, request, what)
    if request.file is None:
        return folder
    target = folder.joinpath(*request.file.rstrip("/").split("/"))
    if target.is_dir() or (target.is_file() and not request.file.endswith("/")):
        return target
    if target.is_file():
        msg = (
            f"{request.file!r} names a folder, but it is a file of the {what} mounted at "
            f"{folder}. Drop the trailing '/' to get the file: {target}"
        )
    else:
        try:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
        except OSError:
            names = []
        shown = ", ".join(names[:10]) + (f", ... ({len(names)} in all)" if len(names) > 10 else "")
        msg = (
            f"{request.file!r} is not in the {what} mounted at {folder} (it holds: "
            f"{shown or 'nothing'}). Check the name; paths are relative to the {what}'s root."
        )
    competition = isinstance(request.ref, CompetitionRef)
    missing = CompetitionNotFoundError if competition else DatasetNotFoundError
    raise missing(msg, ref=str(request.ref))


def _require_some(folder: Path, request: Request, what: str) -> None:
    """Refuse patterns that take no file of the mount, as a complete cache entry does."""
    selection = Selection(request.file, request.include, request.exclude)
    names = [
        (Path(top) / name).relative_to(folder).as_posix()
        for top, _, files in os.walk(folder)
        for name in files
    ]
    if not selection.takes_any(names):
        ref = request.ref
        command = f"kagman files {'-c ' if isinstance(ref, CompetitionRef) else ''}{ref}"
        label = f"the {what} mounted at {folder}"
        raise nothing_matches(label, selection, names, command)


def fall_back(message: str, request: Request) -> None:
    """Warn that the mount did not work, why, and what kagman does instead."""
    then = "kagman's cache (offline)" if request.offline else "kagman's cache and a normal download"
    warn(
        f"{message} Falling back to {then}; mount=False skips the mount.",
        MountFallbackWarning,
        cli=f"{message} Falling back to {then}; --no-mount skips the mount.",
    )
