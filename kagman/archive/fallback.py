"""bzip2 and lzma members, which the fast writer does not inflate, through :mod:`zipfile`.

Rare in datasets; :mod:`zipfile` inflates them and checks the CRC, still capped
at the declared size. Whatever :mod:`zipfile` or the decompressors raise on a
damaged archive (a local header naming another file, a corrupt extra field, a
bad stream) becomes :class:`~kagman.errors.CorruptArchiveError`, as on the fast path.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from pathlib import Path

from kagman.archive.failures import corrupt, os_error, too_large
from kagman.archive.members import Members
from kagman.archive.writer import CHUNK, DIGEST_SIZE, OPEN_FLAGS, Progress, write_all

__all__ = ["extract_fallback"]

# What zipfile, bz2 and lzma raise on damaged data (bz2 raises OSError without an errno).
_DAMAGED: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
    EOFError,
    ValueError,
    KeyError,
    zlib.error,
)


def _damaged(err: Exception) -> bool:
    """Whether ``err`` says the archive is damaged (not that a disk failed)."""
    import lzma

    return isinstance(err, (*_DAMAGED, lzma.LZMAError)) or (
        isinstance(err, OSError) and err.errno is None
    )


def extract_fallback(  # noqa: PLR0917 - private to extract_zip
    archive: Path,
    root: str,
    members: Members,
    indices: list[int],
    progress: Progress,
    digests: bytearray,
) -> None:
    """Extract members ``indices`` (bzip2/lzma) through zipfile (which checks the CRC), capped.

    Puts each one's SHA-256 digest into ``digests`` (by member index, as the writer
    does), unless ``digests`` is empty (hashing is off).

    Raises
    ------
    CorruptArchiveError
        zipfile cannot read the archive or a member, or a member does not inflate.
    ArchiveTooLargeError
        A member inflates past its declared size.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except Exception as err:
        if not _damaged(err):
            raise
        raise corrupt(archive, f"zipfile cannot read it ({err})") from err
    with zf:
        by_offset = {info.header_offset: info for info in zf.infolist()}
        for i in indices:
            rel, usize = members.path(i), members.usizes[i]
            info = by_offset.get(members.offsets[i])
            if info is None:
                raise corrupt(archive, f"member {rel!r} is not where its directory says", rel)
            digest = _extract_one(zf, info, archive, root, rel, usize, progress)
            if digests:
                digests[DIGEST_SIZE * i : DIGEST_SIZE * (i + 1)] = digest


def _extract_one(  # noqa: PLR0917 - private, one caller
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    archive: Path,
    root: str,
    rel: str,
    usize: int,
    progress: Progress,
) -> bytes:
    """One member: inflate, cap, write, hash; returns its SHA-256 digest (32 bytes)."""
    written, digest = 0, hashlib.sha256()
    try:
        src = zf.open(info)
    except Exception as err:
        if not _damaged(err):
            raise
        raise corrupt(archive, f"member {rel!r} cannot be read ({err})", rel) from err
    with src:
        out_fd = _create(archive, root, rel)
        try:
            while True:
                try:
                    out = src.read(CHUNK)
                except Exception as err:
                    if not _damaged(err):
                        raise
                    why = f"member {rel!r} does not inflate ({err})"
                    raise corrupt(archive, why, rel) from err
                if not out:
                    break
                written += len(out)
                if written > usize:
                    why = f"member {rel!r} inflates past its declared {usize:,} bytes"
                    raise too_large(archive, why, rel)
                try:
                    write_all(out_fd, out)
                except OSError as err:
                    raise os_error(archive, rel, err) from err
                digest.update(out)
                progress(len(out))
        finally:
            os.close(out_fd)
    if written != usize:
        raise corrupt(archive, f"member {rel!r} is truncated", rel)
    return digest.digest()


def _create(archive: Path, root: str, rel: str) -> int:
    try:
        return os.open(f"{root}/{rel}", OPEN_FLAGS, 0o666)
    except OSError as err:
        raise os_error(archive, rel, err) from err
