"""The zip format, as far as :mod:`kagman.archive` needs it (private).

Reads the central directory with one ``pread`` and ``struct``: about 3x faster
than building ``zipfile.ZipInfo`` objects, which matters at 30,000 members.
Also the errors every archive check raises, worded to say what to do next.
"""

from __future__ import annotations

import errno
import os
import struct
import zlib
from pathlib import Path

from kagman.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    CorruptArchiveError,
    DiskFullError,
    KagmanError,
    UnsafeArchiveError,
)

ENV_MAX_EXTRACT_BYTES = "KAGMAN_MAX_EXTRACT_BYTES"
ENV_MAX_RATIO = "KAGMAN_MAX_RATIO"
STORED, DEFLATED = 0, 8
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_ZIP64_MASK = 0xFFFFFFFF

# raw name, flag bits, method, CRC-32, compressed size, size, local header offset, unix mode,
# and the UTF-8 name from an Info-ZIP Unicode Path extra field, if one matches the raw name
Entry = tuple[bytes, int, int, int, int, int, int, int, bytes | None]

if hasattr(os, "pread"):
    pread = os.pread
else:  # pragma: no cover - Windows has no pread; extraction runs in one process

    def pread(fd: int, size: int, offset: int) -> bytes:
        """Read ``size`` bytes at ``offset`` (not thread-safe)."""
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)


def read_central(archive: Path, fd: int, size: int, max_members: int) -> tuple[list[Entry], int]:
    """Parse the central directory: its entries, and where it starts.

    Handles ZIP64 and data prepended to the zip (offsets are made absolute).
    """
    tail_len = min(size, _EOCD.size + 0xFFFF)
    tail = pread(fd, tail_len, size - tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        raise corrupt(archive, "it is not a zip file")
    _, _, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    location = size - tail_len + at
    locator = pread(fd, 20, location - 20) if location >= 20 else b""
    if locator[:4] == b"PK\x06\x07":
        rec = pread(fd, _EOCD64.size, location - 20 - _EOCD64.size) if location >= 76 else b""
        if len(rec) != _EOCD64.size or rec[:4] != b"PK\x06\x06":
            raise corrupt(archive, "its ZIP64 end record is missing")
        count, cd_size, cd_offset = _EOCD64.unpack(rec)[-3:]
        location -= 20 + _EOCD64.size
    start = location - cd_size  # the real start, even if bytes were prepended to the zip
    concat = start - cd_offset
    if start < 0 or concat < 0:
        raise corrupt(archive, "its central directory is out of place")
    if count > max_members:
        raise too_large(archive, f"it has {count:,} members (limit {max_members:,})", None)
    cd = pread(fd, cd_size, start)
    if len(cd) != cd_size:
        raise corrupt(archive, "its central directory is truncated")
    entries: list[Entry] = []
    pos = 0
    unpack = _CENTRAL.unpack_from
    while pos < cd_size:
        if pos + _CENTRAL.size > cd_size:
            raise corrupt(archive, "its central directory is truncated")
        (sig, _, _, _, _, flags, method, _, _, crc, csize, usize, nlen, elen, clen, _, _, attr,
         offset) = unpack(cd, pos)  # fmt: skip
        name_at = pos + _CENTRAL.size
        pos = name_at + nlen + elen + clen
        if sig != b"PK\x01\x02" or pos > cd_size:
            raise corrupt(archive, "its central directory is damaged")
        raw, uname = cd[name_at : name_at + nlen], None
        if _ZIP64_MASK in (csize, usize, offset):
            extra = cd[name_at + nlen : name_at + nlen + elen]
            usize, csize, offset = _zip64_fields(archive, extra, usize, csize, offset)
        if elen and not flags & 0x800 and not raw.isascii():
            field = _extra_field(cd[name_at + nlen : name_at + nlen + elen], 0x7075)
            if field and field[:1] == b"\x01" and field[1:5] == struct.pack("<L", zlib.crc32(raw)):
                uname = field[5:]
        entries.append((raw, flags, method, crc, csize, usize, offset + concat, attr >> 16, uname))
    if len(entries) > max_members:  # the count in the end record may wrap or lie
        raise too_large(archive, f"it has {len(entries):,} members (limit {max_members:,})", None)
    return entries, start


def _zip64_fields(
    archive: Path, extra: bytes, usize: int, csize: int, offset: int
) -> tuple[int, int, int]:
    """Replace the 0xFFFFFFFF fields by their ZIP64 extra-field values, in spec order."""
    field = _extra_field(extra, 0x0001) or b""
    values = list(struct.unpack_from(f"<{len(field) // 8}Q", field))
    fields = [usize, csize, offset]
    for i, value in enumerate(fields):
        if value == _ZIP64_MASK:
            if not values:
                raise corrupt(archive, "a ZIP64 extra field is missing or damaged")
            fields[i] = values.pop(0)
    return fields[0], fields[1], fields[2]


def _extra_field(extra: bytes, tag: int) -> bytes | None:
    """The data of the first extra field with ``tag``, if whole.

    >>> _extra_field(b"\\x01\\x00\\x02\\x00ab\\x75\\x70\\x01\\x00c", 0x7075)
    b'c'
    """
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, pos)
        if pos + 4 + length > len(extra):
            return None
        if kind == tag:
            return extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
    return None


def corrupt(archive: Path, why: str, member: str | None = None) -> CorruptArchiveError:
    """The error for a damaged archive: the fix is to download it again."""
    msg = (
        f"The archive {archive.name} is damaged: {why}. It was not extracted. "
        "Retry with --force to download it again."
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
        f"{ENV_MAX_EXTRACT_BYTES} (bytes) or {ENV_MAX_RATIO}."
    )
    return ArchiveTooLargeError(msg, path=archive, member=member)


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
