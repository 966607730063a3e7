"""The fast writer: checked members into files, in batches.

Members are written in batches: a run of neighbouring small members is fetched
with one ``pread``, each is inflated and CRC-checked in memory, then written
with ``open``/``write``/``close`` (no ``chmod``/``utime``). Big members stream
in 1 MiB chunks. Which process writes which batch is :mod:`kagman.archive.workers`'
business; inflate and CRC-32 come from :mod:`kagman.archive.inflate`.

A batch reads only the bytes ``[batch.begin, batch.end)`` of the archive, through
a file descriptor: it may be written as soon as those bytes are on disk, before
the rest of the archive. While the archive still downloads, ``until(n)`` waits for
its first ``n`` bytes before each read (a big member's, chunk by chunk).

Every member is also hashed (SHA-256) from the bytes just written, while they are
still in memory, so ``kagman verify`` can later prove the files unchanged without
a second read. On the 2-core CI machine OpenSSL's SHA-256 (with the CPU's SHA
extensions) costs 0.6-1.4 ns per byte, 1-2 us for a 1 KB file, next to ~30 us per
file for the system calls, and it is spread over the same worker processes
(``benchmarks/bench_pull.py`` measures what it adds to a cold pull). Digests travel
as raw bytes, 32 per member, in member order (:data:`DIGEST_SIZE`).
"""

from __future__ import annotations

import hashlib
import os
import queue
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from kagman.archive.failures import corrupt, os_error, too_large
from kagman.archive.inflate import ERRORS, crc32, decompressobj
from kagman.archive.members import Batch, Members
from kagman.archive.plan import FALLBACK_METHODS
from kagman.archive.zipformat import DEFLATED, pread
from kagman.errors import ArchiveError

__all__ = [
    "BATCH_SPAN",
    "CHUNK",
    "DIGEST_SIZE",
    "OPEN_FLAGS",
    "Digests",
    "Progress",
    "Until",
    "plan_batches",
    "write_all",
    "write_batch",
]

MIB = 1 << 20
BATCH_SPAN = MIB  # archive bytes fetched by one pread for a run of small members
BATCH_MEMBERS = 256  # small enough that the workers finish at about the same time
CHUNK = MIB  # streaming step for big members, in and out
DIGEST_SIZE = 32  # a SHA-256 digest, bytes
NO_DIGEST = bytes(DIGEST_SIZE)  # what stands for a member's digest when hashing is off
OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
OPEN_FLAGS |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_LOCAL = struct.Struct("<4s22xHH")  # signature ... name length, extra length
_LOCAL_SIZE = 30
Until = Callable[[int], object]
"""``until(n)``: return once the archive's first ``n`` bytes are on disk (raise if never)."""


def plan_batches(members: Members) -> list[Batch]:
    """Group neighbouring small members so one pread fetches them all; big ones go alone.

    bzip2/lzma members are left out (:mod:`kagman.archive.fallback` writes them).
    """
    batches: list[Batch] = []
    offsets, methods, n = members.offsets, members.methods, len(members)
    start = -1  # the first member of the open batch; -1: none is open

    def close(stop: int) -> None:
        batches.append(Batch(start, stop, offsets[start], members.end(stop - 1)))

    for i in range(n):
        if methods[i] in FALLBACK_METHODS:
            if start >= 0:
                close(i)
            start = -1
        elif start < 0:
            start = i
        elif members.end(i) - offsets[start] > BATCH_SPAN or i - start >= BATCH_MEMBERS:
            close(i)
            start = i
    if start >= 0:
        close(n)
    return batches


class Digests:
    """The digests each batch's writer returns, in one array by member index."""

    def __init__(self, enabled: bool, count: int) -> None:
        self.enabled = enabled
        self.found = bytearray(DIGEST_SIZE * count if enabled else 0)

    def add(self, batch: Batch, digests: bytes) -> None:
        if self.enabled:
            if len(digests) != DIGEST_SIZE * (batch.stop - batch.start):  # never resize
                msg = f"A worker sent {len(digests)} bytes of digests for {batch}."
                raise ArchiveError(msg)
            self.found[DIGEST_SIZE * batch.start : DIGEST_SIZE * batch.stop] = digests


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
    members: Members,
    batch: Batch,
    progress: Callable[[int], object],
    hashes: bool = True,
    until: Until | None = None,
) -> bytes:
    """Read a run of neighbouring members with one pread, check and write each.

    Reads only ``[batch.begin, batch.end)`` of ``fd``, once ``until`` (when given) says
    those bytes are on disk. Returns the SHA-256 digest of each member,
    :data:`DIGEST_SIZE` bytes each, in member order (zeros when ``hashes`` is false).
    """
    start, stop, base, stop_at = batch.start, batch.stop, batch.begin, batch.end
    if stop - start == 1 and stop_at - base > BATCH_SPAN:
        return _stream_member(archive, fd, root, members, start, progress, hashes, until)
    if until is not None:
        until(stop_at)
    buf = pread(fd, stop_at - base, base)
    if len(buf) < stop_at - base:
        raise corrupt(archive, "the file is truncated")
    view, unpack, done = memoryview(buf), _LOCAL.unpack_from, 0
    offsets, csizes, usizes, crcs, methods, paths, path_ends, raw_names = members.columns()
    sha256, digests = hashlib.sha256, bytearray()
    name_at = path_ends[start - 1] if start else 0
    # The hot loop of the whole module: locals only, one try per member (free in 3.11).
    for i in range(start, stop):
        raw_name: bytes | bytearray = paths[name_at : path_ends[i]]
        rel, name_at = raw_name.decode(), path_ends[i]
        if raw_names:
            raw_name = raw_names.get(i, raw_name)
        offset, csize, usize = offsets[i], csizes[i], usizes[i]
        end = offsets[i + 1] if i + 1 < stop else stop_at
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
            if methods[i] == DEFLATED:
                inflater = decompressobj()
                out = inflater.decompress(out, usize + 1)  # one byte more: a lie shows
                if len(out) > usize:
                    raise too_large(archive, _lying(rel, usize), rel)
                if not inflater.eof or len(out) != usize:
                    raise corrupt(archive, f"member {rel!r} is truncated", rel)
            elif csize != usize:
                raise corrupt(archive, f"stored member {rel!r} has inconsistent sizes", rel)
            if crc32(out) != crcs[i]:
                raise corrupt(archive, f"member {rel!r} fails its CRC check", rel)
            out_fd = os.open(f"{root}/{rel}", OPEN_FLAGS, 0o666)
            try:
                written = os.write(out_fd, out)
                if written < usize:
                    write_all(out_fd, out[written:])
            finally:
                os.close(out_fd)
        except ERRORS as err:
            raise corrupt(archive, f"member {rel!r} does not inflate ({err})", rel) from err
        except OSError as err:
            raise os_error(archive, rel, err) from err
        digests += sha256(out).digest() if hashes else NO_DIGEST
        done += usize
    progress(done)
    return bytes(digests)


def _data_offset(archive: Path, members: Members, i: int, head: bytes) -> int:
    """Absolute offset of member ``i``'s data, from its local header ``head``."""
    raw_name, rel = members.raw_name(i), members.path(i)
    if len(head) < _LOCAL_SIZE + len(raw_name):
        raise corrupt(archive, "the file is truncated")
    sig, name_len, extra_len = _LOCAL.unpack_from(head, 0)
    if sig != b"PK\x03\x04" or head[_LOCAL_SIZE : _LOCAL_SIZE + name_len] != raw_name:
        raise corrupt(archive, f"the local header of member {rel!r} is bad", rel)
    at: int = members.offsets[i] + _LOCAL_SIZE + name_len + extra_len
    if at + members.csizes[i] > members.end(i):
        raise corrupt(archive, f"member {rel!r} runs into the next one", rel)
    return at


class _Sink:
    """Writes, CRCs and hashes a streamed member's chunks in a thread of its own.

    So a big member keeps two cores busy: this process's thread inflates while the sink
    writes and hashes the chunk before (the libraries release the GIL). On the 1 GB CSV
    of ``benchmarks/bench_inflate.py``: 1.7 s instead of 2.4 s. At most ``_QUEUED``
    chunks wait, so memory stays bounded; the first error is raised in the caller's
    thread by :meth:`put` or :meth:`close`.
    """

    _QUEUED = 4  # chunks of up to CHUNK bytes

    def __init__(self, out_fd: int, hashes: bool) -> None:
        self.out_fd = out_fd
        self.crc = 0
        self.digest = hashlib.sha256() if hashes else None
        self.error: BaseException | None = None
        self.queue: queue.Queue[bytes | None] = queue.Queue(self._QUEUED)
        self.thread = threading.Thread(target=self._run, name="kagman-sink", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (out := self.queue.get()) is not None:
            if self.error is not None:
                continue  # keep draining, so put() never blocks on a dead sink
            try:
                write_all(self.out_fd, out)
                self.crc = crc32(out, self.crc)
                if self.digest is not None:
                    self.digest.update(out)
            except BaseException as err:
                self.error = err

    def put(self, out: bytes) -> None:
        if self.error is not None:
            raise self.error
        if out:
            self.queue.put(out)

    def close(self) -> None:
        """Wait for the queued chunks; raise the sink's error, if any."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _stream_member(  # noqa: PLR0917 - private, one caller
    archive: Path,
    fd: int,
    root: str,
    members: Members,
    i: int,
    progress: Callable[[int], object],
    hashes: bool,
    until: Until | None,
) -> bytes:
    """Inflate a big member chunk by chunk, never holding more than ~6 MiB of it.

    Inflating past the declared size is refused before the chunk that goes past is
    written. Each chunk is read once ``until`` says it is on disk. Returns its SHA-256
    digest (zeros when ``hashes`` is false).
    """
    rel, usize = members.path(i), members.usizes[i]
    written = 0

    def emit(out: bytes) -> None:
        nonlocal written
        if written + len(out) > usize:
            raise too_large(archive, _lying(rel, usize), rel)
        sink.put(out)
        written += len(out)
        progress(len(out))

    try:
        head_size = _LOCAL_SIZE + len(members.raw_name(i))
        if until is not None:
            until(members.offsets[i] + head_size)
        head = pread(fd, head_size, members.offsets[i])
        pos, left = _data_offset(archive, members, i, head), members.csizes[i]
        inflater = decompressobj() if members.methods[i] == DEFLATED else None
        out_fd = os.open(f"{root}/{rel}", OPEN_FLAGS, 0o666)
        try:
            sink = _Sink(out_fd, hashes)
            try:
                while left:
                    if until is not None:
                        until(pos + min(CHUNK, left))
                    chunk = pread(fd, min(CHUNK, left), pos)
                    if not chunk:
                        raise corrupt(archive, "the file is truncated")
                    pos, left = pos + len(chunk), left - len(chunk)
                    while chunk:
                        if inflater is None:
                            emit(chunk)
                            break
                        emit(inflater.decompress(chunk, CHUNK))  # bounded: a bomb stays 1 MiB
                        chunk = inflater.unconsumed_tail
                if inflater is not None:
                    emit(inflater.flush())
                    if not inflater.eof:
                        raise corrupt(archive, f"member {rel!r} is truncated", rel)
            finally:
                sink.close()  # an error of the sink's wins: it came first
        finally:
            os.close(out_fd)
    except ERRORS as err:
        raise corrupt(archive, f"member {rel!r} does not inflate ({err})", rel) from err
    except OSError as err:
        raise os_error(archive, rel, err) from err
    if written != usize:
        raise corrupt(archive, f"member {rel!r} is truncated", rel)
    if sink.crc != members.crcs[i]:
        raise corrupt(archive, f"member {rel!r} fails its CRC check", rel)
    return sink.digest.digest() if sink.digest is not None else NO_DIGEST


def write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until all of ``data`` is written (it may write less)."""
    while data:
        data = data[os.write(fd, data) :]


def _lying(rel: str, usize: int) -> str:
    return f"member {rel!r} inflates past the {usize:,} bytes its header declares"
