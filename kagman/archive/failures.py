"""The errors extraction raises, each worded to say what happened and what to do next."""

from __future__ import annotations

import errno
from pathlib import Path

from kagman.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    CorruptArchiveError,
    DiskFullError,
    KagmanError,
    UnsafeArchiveError,
)
from kagman.settings import MAX_EXTRACT_BYTES_ENV, MAX_RATIO_ENV

__all__ = ["corrupt", "os_error", "too_large", "too_long", "unsafe"]


def corrupt(archive: Path, why: str, member: str | None = None) -> CorruptArchiveError:
    """The error for a damaged archive: the fix is to download it again.

    Every caller discards the damaged download, so a plain pull downloads it afresh:
    ``--force`` (which would also replace a complete cached version) is not needed.
    """
    msg = (
        f"The archive {archive.name} is damaged: {why}. It was not extracted. Run the pull "
        "again to download it afresh."
    )
    return CorruptArchiveError(msg, path=archive, member=member)


def unsafe(archive: Path, member: str, why: str) -> UnsafeArchiveError:
    """The error for a member that would escape ``dest`` or is not a plain file."""
    shown = member if len(member) <= 200 else member[:200] + "..."
    msg = (
        f"Refusing to extract {archive.name}: member {shown!r} {why}. The archive was not "
        "extracted and nothing was written outside its folder. Report the archive to the "
        "dataset's owner, and unpack it by hand only if you trust it."
    )
    return UnsafeArchiveError(msg, path=archive, member=member)


def too_large(archive: Path, why: str, member: str | None) -> ArchiveTooLargeError:
    """The error for a (possible) zip bomb, naming the limits to raise."""
    msg = (
        f"Refusing to extract {archive.name}: {why}, which looks like a zip bomb. It was not "
        f"extracted. If the dataset really is that big, raise the limits with "
        f"{MAX_EXTRACT_BYTES_ENV} (bytes) or {MAX_RATIO_ENV}."
    )
    return ArchiveTooLargeError(msg, path=archive, member=member)


def too_long(archive: Path, member: str, why: str) -> ArchiveError:
    """The error for a member whose path the filesystem cannot hold (found before writing)."""
    shown = member if len(member) <= 200 else member[:200] + "..."
    msg = (
        f"Cannot extract {archive.name}: member {shown!r} has {why}. Nothing was extracted. "
        "If the dataset really needs such paths, unpack it by hand on a filesystem that "
        "allows them."
    )
    return ArchiveError(msg, path=archive, member=member)


def os_error(archive: Path, rel: str, err: OSError) -> OSError | KagmanError:
    """Turn a write error into the kagman error that says what to do, when there is one."""
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        msg = f"The disk filled up while extracting {archive.name} ({rel!r}). Free some space."
        return DiskFullError(msg, path=archive)
    if err.errno == errno.EEXIST:
        return unsafe(archive, rel, "clashes with another member (names differing only in case?)")
    if err.errno in (errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL):
        msg = (
            f"Cannot extract {archive.name}: member {rel!r} cannot be created on this "
            f"filesystem ({err.strerror}). It was not extracted."
        )
        return ArchiveError(msg, path=archive, member=rel)
    return err
