"""The fast writer: checked members into files, in batches.

Members are written in batches: a run of neighbouring small members is fetched
with one ``pread``, each is inflated and CRC-checked in memory, then written
with ``open``/``write``/``close`` (no ``chmod``/``utime``). Big members stream
in 1 MiB chunks. Which process writes which batch is :mod:`kagman.archive.workers`'
business.

Every member is also hashed (SHA-256) from the bytes just written, while they are
still in memory, so ``kagman verify`` can later prove the files unchanged without
a second read. On the 2-core CI machine OpenSSL's SHA-256 (with the CPU's SHA
extensions) costs 0.6-1.4 ns per byte, 1-2 us for a 1 KB file, next to ~30 us per
file for the system calls, and it is spread over the same worker processes
(``benchmarks/bench_pull.py`` measures what it adds to a cold pull).
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from kagman.archive.failures import corrupt, os_error, too_large
from kagman.archive.zipformat import DEFLATED, pread

__all__ = [
    "BATCH_SPAN",
    "CHUNK",
    "OPEN_FLAGS",
    "Member",
    "Progress",
    "plan_batches",
    "write_all",
    "write_batch",
]

MIB = 1 << 20
BATCH_SPAN = MIB  # archive bytes fetched by one pread for a run of small members
BATCH_MEMBERS = 256  # small enough that the workers finish at about the same time
CHUNK = MIB  # streaming step for big members, in and out
OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
OPEN_FLAGS |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_LOCAL = struct.Struct("<4s22xHH")  # signature ... name length, extra length
_LOCAL_SIZE = 30


class Member(NamedTuple):
    """A member to write, with everything the writer needs."""

    rel: str  # posix path relative to dest
    offset: int  # of the local header
    raw_name: bytes  # as stored, to check the local header against
    method: int
    csize: int
    usize: int
    crc: int
    end: int  # where the next member (or the central directory) starts


def plan_batches(members: list[Member]) -> list[list[Member]]:
    """Group neighbouring small members so one pread fetches them all; big ones go alone."""
    batches: list[list[Member]] = []
    current: list[Member] = []
    for m in members:
        if current and (m.end - current[0].offset > BATCH_SPAN or len(current) >= BATCH_MEMBERS):
            batches.append(current)
            current = []
        current.append(m)
    if current:
        batches.append(current)
    return batches


class Progress:
    """The caller's progress callback, skipping zero increments."""

    def __init__(self, callback: Callable[[int], None] | None) -> None:
        self._callback = callback

    def __call__(self, nbytes: int) -> None:
        if self._callback is not None and nbytes:
            self._callback(nbytes)


def write_batch(  # noqa: PLR0917 - the workers' hot path: positional, like os.write
    archive: Path,
    fd: int,
    root: str,
    batch: list[Member],
    progress: Callable[[int], object],
    hashes: bool = True,
) -> list[str]:
    """Read a run of neighbouring members with one pread, check and write each.

    Returns the SHA-256 hex digest of each member, in ``batch`` order (empty
    strings when ``hashes`` is false).
    """
    first = batch[0]
    if len(batch) == 1 and first.end - first.offset > BATCH_SPAN:
        return [_stream_member(archive, fd, root, first, progress, hashes)]
    base = first.offset
    buf = pread(fd, batch[-1].end - base, base)
    if len(buf) < batch[-1].end - base:
        raise corrupt(archive, "the file is truncated")
    view, unpack, done = memoryview(buf), _LOCAL.unpack_from, 0
    sha256, digests = hashlib.sha256, []
    # The hot loop of the whole module: locals only, one try per member (free in 3.11).
    for rel, offset, raw_name, method, csize, usize, crc, end in batch:
        try:
            pos = offset - base
            sig, name_len, extra_len = unpack(buf, pos)
            at = pos + _LOCAL_SIZE + name_len + extra_len
            if (
                sig != b"PK\x03\x04"
                or buf[pos + _LOCAL_SIZE : pos + _LOCAL_SIZE + name_len] != raw_name
                or at + csize > end - base
            ):
                raise corrupt(archive, f"the local header of member {rel!r} is bad", rel)
            out: bytes | memoryview = view[at : at + csize]
            if method == DEFLATED:
                inflater = zlib.decompressobj(-15)
                out = inflater.decompress(out, usize + 1)
                if len(out) > usize:
                    raise too_large(archive, _lying(rel, usize), rel)
                if not inflater.eof or len(out) != usize:
                    raise corrupt(archive, f"member {rel!r} is truncated", rel)
            elif csize != usize:
                raise corrupt(archive, f"stored member {rel!r} has inconsistent sizes", rel)
            if zlib.crc32(out) != crc:
                raise corrupt(archive, f"member {rel!r} fails its CRC check", rel)
            out_fd = os.open(f"{root}/{rel}", OPEN_FLAGS, 0o666)
            try:
                written = os.write(out_fd, out)
                if written < usize:
                    write_all(out_fd, out[written:])
            finally:
                os.close(out_fd)
        except zlib.error as err:
            raise corrupt(archive, f"member {rel!r} does not inflate ({err})", rel) from err
        except OSError as err:
            raise os_error(archive, rel, err) from err
        digests.append(sha256(out).hexdigest() if hashes else "")
        done += usize
    progress(done)
    return digests


def _data_offset(archive: Path, m: Member, head: bytes, pos: int) -> int:
    """Absolute offset of a member's data, from its local header found at ``head[pos:]``."""
    if len(head) < pos + _LOCAL_SIZE + len(m.raw_name):
        raise corrupt(archive, "the file is truncated")
    sig, name_len, extra_len = _LOCAL.unpack_from(head, pos)
    name = head[pos + _LOCAL_SIZE : pos + _LOCAL_SIZE + name_len]
    if sig != b"PK\x03\x04" or name != m.raw_name:
        raise corrupt(archive, f"the local header of member {m.rel!r} is bad", m.rel)
    at: int = m.offset + _LOCAL_SIZE + name_len + extra_len
    if at + m.csize > m.end:
        raise corrupt(archive, f"member {m.rel!r} runs into the next one", m.rel)
    return at


def _stream_member(  # noqa: PLR0917 - private, one caller
    archive: Path,
    fd: int,
    root: str,
    m: Member,
    progress: Callable[[int], object],
    hashes: bool,
) -> str:
    """Inflate a big member chunk by chunk, never holding more than ~2 MiB of it.

    Returns its SHA-256 hex digest ("" when ``hashes`` is false).
    """
    written = crc = 0
    digest = hashlib.sha256() if hashes else None

    def emit(out: bytes) -> None:
        nonlocal written, crc
        if written + len(out) > m.usize:
            raise too_large(archive, _lying(m.rel, m.usize), m.rel)
        write_all(out_fd, out)
        written, crc = written + len(out), zlib.crc32(out, crc)
        if digest is not None:
            digest.update(out)
        progress(len(out))

    try:
        pos = _data_offset(archive, m, pread(fd, _LOCAL_SIZE + len(m.raw_name), m.offset), 0)
        left = m.csize
        inflater = zlib.decompressobj(-15) if m.method == DEFLATED else None
        out_fd = os.open(f"{root}/{m.rel}", OPEN_FLAGS, 0o666)
        try:
            while left:
                chunk = pread(fd, min(CHUNK, left), pos)
                if not chunk:
                    raise corrupt(archive, "the file is truncated")
                pos, left = pos + len(chunk), left - len(chunk)
                while chunk:
                    if inflater is None:
                        emit(chunk)
                        break
                    emit(inflater.decompress(chunk, CHUNK))
                    chunk = inflater.unconsumed_tail
            if inflater is not None:
                emit(inflater.flush())
                if not inflater.eof:
                    raise corrupt(archive, f"member {m.rel!r} is truncated", m.rel)
        finally:
            os.close(out_fd)
    except zlib.error as err:
        raise corrupt(archive, f"member {m.rel!r} does not inflate ({err})", m.rel) from err
    except OSError as err:
        raise os_error(archive, m.rel, err) from err
    if written != m.usize:
        raise corrupt(archive, f"member {m.rel!r} is truncated", m.rel)
    if crc != m.crc:
        raise corrupt(archive, f"member {m.rel!r} fails its CRC check", m.rel)
    return digest.hexdigest() if digest is not None else ""


def write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until all of ``data`` is written (it may write less)."""
    while data:
        data = data[os.write(fd, data) :]


def _lying(rel: str, usize: int) -> str:
    return f"member {rel!r} inflates past the {usize:,} bytes its header declares"
