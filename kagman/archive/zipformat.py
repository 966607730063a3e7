"""The zip format, as far as extraction needs it: the central directory (APPNOTE.TXT 4.3.12).

Reads the central directory with one ``pread`` and ``struct``: about 3x faster
than building ``zipfile.ZipInfo`` objects, which matters at 30,000 members.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

from kagman.archive.failures import corrupt, too_large

__all__ = ["DEFLATED", "STORED", "ZipEntry", "pread", "read_central"]

STORED, DEFLATED = 0, 8
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_ZIP64_MASK = 0xFFFFFFFF


class ZipEntry(NamedTuple):
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


def read_central(archive: Path, fd: int, size: int, max_members: int) -> tuple[list[ZipEntry], int]:
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
    entries: list[ZipEntry] = []
    make = ZipEntry
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
        entries.append(
            make(raw, flags, method, crc, csize, usize, offset + concat, attr >> 16, uname)
        )
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
