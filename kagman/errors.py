"""Every error kagman raises on purpose.

One hierarchy under :class:`KagmanError`. Each class also derives from the
matching built-in exception, so callers may catch either
(``except kagman.DatasetNotFoundError`` or ``except LookupError``). Messages say
what happened and what to do next; they never contain a secret (see
:func:`kagman.credentials.mask`). ``exit_code`` is what the CLI exits with;
the table lives in the README.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ArchiveError",
    "ArchiveTooLargeError",
    "CacheAccessError",
    "CorruptArchiveError",
    "CorruptDownloadError",
    "CredentialsConflictError",
    "CredentialsError",
    "CredentialsNotFoundError",
    "CredentialsRejectedError",
    "DatasetNotFoundError",
    "DiskFullError",
    "ImageFolderError",
    "InvalidCredentialsFileError",
    "InvalidRefError",
    "KagmanError",
    "KagmanWarning",
    "LockTimeoutError",
    "NetworkError",
    "NotCachedError",
    "RateLimitedError",
    "RemoteChangedError",
    "RemoteError",
    "ServerError",
    "StaleCacheWarning",
    "TermsNotAcceptedError",
    "UnsafeArchiveError",
    "UnsafeDestinationError",
]


class KagmanError(Exception):
    """Base class of every error kagman raises on purpose."""

    exit_code: int = 1


# --- input ------------------------------------------------------------------


class InvalidRefError(KagmanError, ValueError):
    """A dataset reference is not of the form ``owner/slug[/versions/N]``."""

    exit_code = 2

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref


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


class DatasetNotFoundError(RemoteError, LookupError):
    """404: no such dataset, version or file, or it is private to someone else."""


class TermsNotAcceptedError(RemoteError, PermissionError):
    """403: the dataset needs its rules accepted on kaggle.com first."""


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


# --- images -----------------------------------------------------------------


class ImageFolderError(KagmanError, FileNotFoundError):
    """The folder to index does not exist, is not a folder, or has no images."""

    exit_code = 8

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


# --- warnings ---------------------------------------------------------------


class KagmanWarning(UserWarning):
    """Base class of the warnings kagman gives (shown as ``Warning: ...`` by the CLI)."""


class StaleCacheWarning(KagmanWarning):
    """Kaggle could not be reached, so a cached version (which may be stale) was used."""
