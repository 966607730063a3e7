"""The zip format, as far as extraction needs it: the central directory (APPNOTE.TXT 4.3.12).

Reading is split in two so that planning never needs the rest of the archive:
:func:`locate_central` finds the central directory from the file's last bytes, through a
:data:`Reader` (``os.pread`` on a local file; a ``Range`` request works as well), and
:func:`central_records` parses its bytes with ``struct``, about 3x faster than building
``zipfile.ZipInfo`` objects, one record at a time (nothing per member is kept here).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from kagman.archive.failures import corrupt, too_large

__all__ = [
    "DEFLATED",
    "STORED",
    "CentralDirectory",
    "CentralRecord",
    "Reader",
    "central_records",
    "file_reader",
    "has_end_record",
    "locate_central",
    "pread",
]

STORED, DEFLATED = 0, 8
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR_SIZE = 20
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_ZIP64_MASK = 0xFFFFFFFF
TAIL_SIZE = _EOCD64.size + _LOCATOR_SIZE + _EOCD.size + 0xFFFF  # holds every end record

Reader = Callable[[int, int], bytes]
"""``read(offset, length)``: ``length`` bytes of the archive at ``offset`` (fewer at its end)."""


class CentralDirectory(NamedTuple):
    """Where the central directory is, from the end records."""

    start: int  # absolute offset of its first record (prepended data accounted for)
    size: int  # its length, bytes
    entries: int  # members the end record declares (it may wrap or lie)
    shift: int  # bytes prepended to the zip: added to every offset the directory stores


class CentralRecord(NamedTuple):
    """One central-directory record, with ZIP64 sizes and offsets already applied."""

    raw_name: bytes  # as stored, to check the local header against
    flags: int  # general purpose bit flags (bit 0: encrypted, bit 11: UTF-8 name)
    method: int  # 0 stored, 8 deflated, 12 bzip2, 14 lzma, ...
    crc: int  # CRC-32 of the uncompressed data
    csize: int  # compressed size, bytes
    usize: int  # uncompressed size, bytes
    offset: int  # absolute offset of the local header (prepended data accounted for)
    mode: int  # Unix mode from the external attributes (0 when made on Windows)
    unicode_name: bytes | None  # UTF-8 name of an Info-ZIP Unicode Path field matching raw_name


if hasattr(os, "pread"):
    pread = os.pread
else:  # pragma: no cover - Windows has no pread; extraction runs in one process

    def pread(fd: int, size: int, offset: int) -> bytes:
        """Read ``size`` bytes at ``offset`` (not thread-safe)."""
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)


def file_reader(fd: int) -> Reader:
    """The :data:`Reader` of a local file open for reading."""
    return lambda offset, length: pread(fd, length, offset)


def has_end_record(read: Reader, size: int) -> bool:
    """Whether the archive's last bytes hold an end-of-central-directory record.

    The test :func:`zipfile.is_zipfile` makes, through a :data:`Reader`.
    """
    tail_len = min(size, TAIL_SIZE)
    tail = read(size - tail_len, tail_len)
    at = tail.rfind(b"PK\x05\x06")
    return at >= 0 and at + _EOCD.size <= len(tail)


def locate_central(archive: Path, read: Reader, size: int, max_members: int) -> CentralDirectory:
    """Find the central directory from the archive's last :data:`TAIL_SIZE` bytes.

    Handles ZIP64 and data prepended to the zip. Reads only the end of the file.

    Raises
    ------
    CorruptArchiveError
        No end record, or a central directory out of place.
    ArchiveTooLargeError
        The end record declares more than ``max_members`` members.
    """
    tail_len = min(size, TAIL_SIZE)
    tail = read(size - tail_len, tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        raise corrupt(archive, "it is not a zip file")
    _, _, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    if at >= _LOCATOR_SIZE and tail[at - _LOCATOR_SIZE : at - _LOCATOR_SIZE + 4] == b"PK\x06\x07":
        rec_at = at - _LOCATOR_SIZE - _EOCD64.size
        rec = tail[rec_at : rec_at + _EOCD64.size] if rec_at >= 0 else b""
        if len(rec) != _EOCD64.size or rec[:4] != b"PK\x06\x06":
            raise corrupt(archive, "its ZIP64 end record is missing")
        count, cd_size, cd_offset = _EOCD64.unpack(rec)[-3:]
        at = rec_at
    start = size - tail_len + at - cd_size  # the real start, even if bytes were prepended
    shift = start - cd_offset
    if start < 0 or shift < 0:
        raise corrupt(archive, "its central directory is out of place")
    if count > max_members:
        raise too_large(archive, f"it has {count:,} members (limit {max_members:,})", None)
    return CentralDirectory(start, cd_size, count, shift)


def central_records(archive: Path, data: bytes, shift: int) -> Iterator[CentralRecord]:
    """Parse the central directory's bytes ``data``, one record at a time.

    Raises
    ------
    CorruptArchiveError
        A record is truncated or damaged.
    """
    size, pos = len(data), 0
    unpack, make, fixed = _CENTRAL.unpack_from, CentralRecord, _CENTRAL.size
    while pos < size:
        if pos + fixed > size:
            raise corrupt(archive, "its central directory is truncated")
        (sig, _, _, _, _, flags, method, _, _, crc, csize, usize, nlen, elen, clen, _, _, attr,
         offset) = unpack(data, pos)  # fmt: skip
        name_at = pos + fixed
        pos = name_at + nlen + elen + clen
        if sig != b"PK\x01\x02" or pos > size:
            raise corrupt(archive, "its central directory is damaged")
        raw, uname = data[name_at : name_at + nlen], None
        if elen:
            extra = data[name_at + nlen : name_at + nlen + elen]
            if _ZIP64_MASK in (csize, usize, offset):
                usize, csize, offset = _zip64_fields(archive, extra, usize, csize, offset)
            if not flags & 0x800 and not raw.isascii():
                uname = _unicode_path(raw, extra)
        elif _ZIP64_MASK in (csize, usize, offset):
            raise corrupt(archive, "a ZIP64 extra field is missing or damaged")
        yield make(raw, flags, method, crc, csize, usize, offset + shift, attr >> 16, uname)


def _unicode_path(raw: bytes, extra: bytes) -> bytes | None:
    """The UTF-8 name of an Info-ZIP Unicode Path extra field (0x7075) that matches ``raw``."""
    field = _extra_field(extra, 0x7075)
    if field and field[:1] == b"\x01" and field[1:5] == struct.pack("<L", zlib.crc32(raw)):
        return field[5:]
    return None


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
