"""Every error kagman raises on purpose.

One hierarchy under :class:`KagmanError`. Each class also derives from the matching built-in
exception, so callers may catch either (``except kagman.DatasetNotFoundError`` or ``except
LookupError``). Messages say what happened and what to do next; they never contain a secret
(see :func:`kagman.credentials.mask`). ``exit_code`` is what the CLI exits with; the table
lives in the README.

In a notebook, IPython prints every exception of a ``raise ... from err`` chain, so a 404
would show 18 frames of ``requests`` internals above kagman's message. :class:`KagmanError`
implements IPython's ``_render_traceback_`` hook once for every subclass: the notebook shows
the user's own lines and kagman's message; the library error behind it stays on
:attr:`KagmanError.cause`, and ``KAGMAN_DEBUG=1`` (or ``kagman -v`` on the command line)
shows the whole chain, URL query strings blanked (:func:`redact_urls`).

Warnings a user must act on are :class:`KagmanWarning` subclasses, given at the caller's
line (:func:`kagman.ui.warn.warn`); all derive from :class:`UserWarning`.
"""

from __future__ import annotations

import os
import re
import sys
import traceback  # cheap: logging imports it anyway
import types
from pathlib import Path

_DEBUG_ENV = "KAGMAN_DEBUG"  # settings.DEBUG_ENV; settings imports this leaf, not vice versa

__all__ = [
    "AccessDeniedError",
    "ArchiveError",
    "ArchiveTooLargeError",
    "CacheAccessError",
    "CacheNotWritableError",
    "CacheVerificationError",
    "ClassCaseWarning",
    "CompetitionNotFoundError",
    "ConfigError",
    "CorruptArchiveError",
    "CorruptDownloadError",
    "CredentialsConflictError",
    "CredentialsError",
    "CredentialsNotFoundError",
    "CredentialsRejectedError",
    "CredentialsWarning",
    "DatasetNotFoundError",
    "DiskFullError",
    "EmptySelectionError",
    "ImageFolderError",
    "InvalidArgumentError",
    "InvalidCredentialsFileError",
    "InvalidRefError",
    "KagmanError",
    "KagmanWarning",
    "KeyCopyWarning",
    "LockTimeoutError",
    "MissingClassWarning",
    "MountFallbackWarning",
    "NetworkError",
    "NotCachedError",
    "NotFoundError",
    "OutputPathError",
    "PermissionsFixedWarning",
    "RateLimitedError",
    "RemoteChangedError",
    "RemoteError",
    "RulesNotAcceptedError",
    "ServerError",
    "StaleCacheWarning",
    "TableError",
    "TermsNotAcceptedError",
    "UnsafeArchiveError",
    "UnsafeDestinationError",
    "WorkerDiedError",
]


class KagmanError(Exception):
    """Base class of every error kagman raises on purpose."""

    exit_code: int = 1
    #: The message as the ``kagman`` command shows it (``--encoding``, not ``encoding=``), or None
    cli_message: str | None = None

    @property
    def cause(self) -> BaseException | None:
        """The exception behind this one (often the library error kagman translated), or None:
        ``raise KagmanError(...) from err`` keeps ``err`` here; notebooks do not print it."""
        suppressed = self.__suppress_context__
        return self.__cause__ or (None if suppressed else self.__context__)

    def _render_traceback_(self) -> list[str]:
        """IPython's hook: the caller's lines and this message, without the chained internals
        (``KAGMAN_DEBUG=1``: every frame and cause); URL query strings are blanked either way."""
        if os.environ.get(_DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
            lines = _ipython_lines(self, self.__traceback__) or traceback.format_exception(self)
            return [redact_urls(line) for line in lines]
        tb = _up_to_kagman(self.__traceback__)
        saved = self.__cause__, self.__suppress_context__
        try:
            self.__cause__, self.__suppress_context__ = None, True
            lines = _ipython_lines(self, tb) or traceback.format_exception(type(self), self, tb)
        finally:
            self.__cause__, self.__suppress_context__ = saved
        cause = self.cause
        if cause is not None:
            kind = type(cause)
            local = kind.__module__ in ("builtins", "__main__")
            name = kind.__qualname__ if local else f"{kind.__module__}.{kind.__qualname__}"
            # the type only: a library's message may hold a signed URL
            lines.append(
                f"\n(Caused by {name}: see err.cause, or set KAGMAN_DEBUG=1 for the whole chain.)"
            )
        return [redact_urls(line) for line in lines]


# --- input ------------------------------------------------------------------


class InvalidRefError(KagmanError, ValueError):
    """A dataset reference is not of the form ``owner/slug[/versions/N]``."""

    exit_code = 2

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref


class EmptySelectionError(InvalidRefError, LookupError):
    """``--file``/``--include``/``--exclude`` select no file of the dataset or competition."""


class InvalidArgumentError(KagmanError, ValueError):
    """A call got an argument it cannot use: a split the index lacks, ``pairs()`` without masks."""

    exit_code = 2


class ConfigError(InvalidArgumentError):
    """A ``KAGMAN_*`` variable holds a value it cannot take (README: Configuration)."""


class OutputPathError(KagmanError, OSError):
    """A file to write (``out=``, ``to_csv``, ``--csv``, ``--link``) cannot be written there."""

    exit_code = 2

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


# --- credentials ------------------------------------------------------------


class CredentialsError(KagmanError, PermissionError):
    """Credentials are missing, malformed, rejected or cannot be stored safely."""

    exit_code = 3

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class CredentialsNotFoundError(CredentialsError):
    """No kaggle.json, access token or environment variables were found."""


class InvalidCredentialsFileError(CredentialsError, ValueError):
    """A kaggle.json (or token) is not what Kaggle issues: bad JSON, wrong fields."""


class CredentialsRejectedError(CredentialsError):
    """Kaggle answered 401: the key or token is wrong, expired or revoked."""

    def __init__(self, message: str, *, path: Path | None = None, status: int = 401) -> None:
        super().__init__(message, path=path)
        self.status = status


class CredentialsConflictError(CredentialsError, FileExistsError):
    """Different credentials are already installed and ``force`` was not given."""


class UnsafeDestinationError(CredentialsError):
    """The destination is a symlink or a folder owned by someone else."""


# --- talking to Kaggle ------------------------------------------------------


class RemoteError(KagmanError, OSError):
    """Kaggle answered with an error status (an OSError, like urllib's HTTPError)."""

    exit_code = 4

    def __init__(self, message: str, *, ref: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.ref = ref
        self.status = status


class NotFoundError(RemoteError, LookupError):
    """404: Kaggle has no such dataset, competition, version or file (or hides it)."""


class DatasetNotFoundError(NotFoundError):
    """404: no such dataset, version or file, or it is private to someone else."""


class CompetitionNotFoundError(NotFoundError):
    """404: no such competition or data file, or a private competition not joined."""


class TermsNotAcceptedError(RemoteError, PermissionError):
    """403: the dataset needs its rules accepted on kaggle.com first."""


class RulesNotAcceptedError(TermsNotAcceptedError):
    """403: the competition's rules must be accepted on kaggle.com (the API cannot)."""


class AccessDeniedError(RemoteError, PermissionError):
    """403 for another reason: a private competition, or one closed to late downloads."""


class RateLimitedError(RemoteError):
    """429 even after waiting and retrying."""


class ServerError(RemoteError):
    """5xx even after retries, or a reply kagman cannot understand."""


class RemoteChangedError(RemoteError):
    """The remote file changed while it was being downloaded."""


class NetworkError(KagmanError, ConnectionError):
    """Kaggle could not be reached at all (DNS, refused, timeout, dropped)."""

    exit_code = 5


# --- local disk and cache ---------------------------------------------------


class NotCachedError(KagmanError, FileNotFoundError):
    """Offline mode, and the cache has no complete copy of what was asked for."""

    exit_code = 6

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref


class DiskFullError(KagmanError, OSError):
    """Not enough free space for the download or its extraction."""

    exit_code = 6

    def __init__(
        self, message: str, *, path: Path | None = None, needed: int = 0, free: int = 0
    ) -> None:
        super().__init__(message)
        self.path = path
        self.needed = needed
        self.free = free


class LockTimeoutError(KagmanError, TimeoutError):
    """Another process held the cache lock for too long."""

    exit_code = 6


class CacheAccessError(KagmanError, OSError):
    """The cache cannot be used: read-only, permission denied, or removed while in use."""

    exit_code = 6

    def __init__(self, message: str, *, path: Path | None = None, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


class CacheNotWritableError(CacheAccessError, PermissionError):
    """This user may read the cache but not write it (a shared or read-only cache)."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message, path=path)


class CacheVerificationError(KagmanError, ValueError):
    """``kagman verify`` found cached files missing, added, resized or changed."""

    exit_code = 9

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


# --- archives ---------------------------------------------------------------


class ArchiveError(KagmanError, ValueError):
    """A downloaded archive cannot be extracted safely."""

    exit_code = 7

    def __init__(
        self, message: str, *, path: Path | None = None, member: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.member = member


class CorruptArchiveError(ArchiveError):
    """The archive is truncated or damaged (bad CRC, not a zip)."""


class CorruptDownloadError(CorruptArchiveError):
    """The downloaded bytes do not match the MD5 the storage sent, even after a fresh download."""


class UnsafeArchiveError(ArchiveError):
    """A member would escape the target folder or is a link."""


class ArchiveTooLargeError(ArchiveError):
    """The archive exceeds the size or compression-ratio limits (a zip bomb)."""


class WorkerDiedError(ArchiveError):
    """A process extracting the archive died (OOM killer, a signal); the download is kept."""


# --- the data itself: image folders, tables ------------------------------


class ImageFolderError(KagmanError, FileNotFoundError):
    """The folder to index does not exist, is not a folder, or has no images."""

    exit_code = 8

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class TableError(KagmanError, ValueError):
    """A table cannot be loaded: it does not parse, a format or reader is missing, no table."""

    exit_code = 8

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        reader: str | None = None,
        line: int | None = None,
        cli_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.reader = reader
        self.line = line
        self.cli_message = cli_message


_URL_QUERY = re.compile(r"(https?://[^\s?#'\"]+)\?[^\s'\"]*")


def redact_urls(text: str) -> str:
    """``text`` with the query string of every URL blanked (signed URLs carry a bearer secret).

    >>> redact_urls("GET https://storage.example/o.zip?X-Goog-Signature=abc failed")
    'GET https://storage.example/o.zip?... failed'
    """
    return _URL_QUERY.sub(r"\1?...", text)


def _up_to_kagman(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback's frames before the first frame of kagman: the caller's own lines."""
    kept: list[types.TracebackType] = []
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        if name == "kagman" or name.startswith("kagman."):
            break
        kept.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for entry in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


def _ipython_lines(err: BaseException, tb: types.TracebackType | None) -> list[str] | None:
    """IPython's own rendering (its colours and context lines), or None outside IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    formatter = getattr(shell, "InteractiveTB", None)
    if formatter is None:
        return None
    return list(formatter.structured_traceback(type(err), err, tb))


# --- warnings ---------------------------------------------------------------


class KagmanWarning(UserWarning):
    """Base class of the warnings kagman gives (shown as ``Warning: ...`` by the CLI)."""


class CredentialsWarning(KagmanWarning):
    """Credentials need a look: a variable wins over the installed file, an odd-looking key."""


class KeyCopyWarning(CredentialsWarning):
    """The file the credentials came from (often in Downloads) still holds a copy of the key."""


class PermissionsFixedWarning(CredentialsWarning):
    """Credentials were readable by other users; kagman made them private (0600, 0700)."""


class StaleCacheWarning(KagmanWarning):
    """Kaggle could not be reached, so a cached version (which may be stale) was used."""


class MountFallbackWarning(KagmanWarning):
    """A Kaggle or Colab notebook mount failed; the cache and a download answer instead."""


class MissingClassWarning(KagmanWarning):
    """A labelled split has no images of some classes (label ids do not shift)."""


class ClassCaseWarning(KagmanWarning):
    """Class names that differ only in case are kept as separate classes."""
