"""The fast writer: checked members into files, in batches, on several cores.

Members are written in batches: a run of neighbouring small members is fetched
with one ``pread``, each is inflated and CRC-checked in memory, then written
with ``open``/``write``/``close`` (no ``chmod``/``utime``). Big members stream
in 1 MiB chunks. On Linux the batches are split between this process and
forked children (threads would queue on the GIL at every system call);
children report progress and errors through a pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import struct
import sys
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, NoReturn

from kagman.archive.failures import corrupt, os_error, too_large
from kagman.archive.zipformat import DEFLATED, pread
from kagman.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    CorruptArchiveError,
    DiskFullError,
    UnsafeArchiveError,
)

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


# fork() without exec is safe here: the child only runs this module's code (os, zlib) and
# leaves with os._exit. Threads would share one GIL, and hand it over at every system
# call: 2 threads were ~10% faster than 1, 2 processes ~40% (benchmarks/bench_extract.py).
CAN_FORK = sys.platform == "linux" and hasattr(os, "fork")


def run(
    archive: Path,
    fd: int,
    root: str,
    batches: list[list[Member]],
    *,
    workers: int,
    progress: Progress,
) -> None:
    """Write every batch, split over ``workers`` processes (this one included).

    ``fd`` is the archive, open for reading; ``root`` is the target folder. The
    first error wins; the other processes are killed and reaped before it is
    raised, so nothing writes into ``root`` after this returns or raises.
    """
    workers = max(1, min(workers, len(batches))) if CAN_FORK else 1
    shares = [batches[k::workers] for k in range(workers)]
    mine = shares[0]
    children: dict[int, int] = {}  # pipe read end -> pid
    pending: dict[int, bytes] = {}
    failed: list[Exception] = []
    poller = select.poll()
    try:
        for share in shares[1:]:
            read_end, write_end = os.pipe()
            try:
                with warnings.catch_warnings():  # 3.12+ warns about fork with threads: see above
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
            except OSError:  # no memory or process slots left: do that share here
                os.close(read_end)
                os.close(write_end)
                mine = mine + share
                continue
            if pid == 0:  # pragma: no cover - the child; coverage cannot follow it
                os.close(read_end)
                _child(archive, fd, root, share, write_end)
            os.close(write_end)
            children[read_end], pending[read_end] = pid, b""
            poller.register(read_end, select.POLLIN)

        def poll(timeout: int | None) -> None:
            """Pass children's progress on; keep their first error for the main loop."""
            while pending:
                events = poller.poll(timeout)
                if not events:
                    return
                for read_end, _ in events:
                    chunk = os.read(read_end, 65536)
                    if not chunk:
                        poller.unregister(read_end)
                        del pending[read_end]
                        continue
                    *lines, pending[read_end] = (pending[read_end] + chunk).split(b"\n")
                    for line in lines:
                        if line[:1] == b"P":
                            progress(int(line[1:]))
                        else:
                            failed.append(_decode_error(archive, line))

        def tick(nbytes: int) -> None:
            progress(nbytes)
            poll(0)

        for batch in mine:
            _write_batch(archive, fd, root, batch, tick)
            if failed:
                raise failed[0]
        poll(None)
        if failed:
            raise failed[0]
        while children:
            read_end, pid = children.popitem()
            os.close(read_end)
            _, status = os.waitpid(pid, 0)
            if status:
                msg = f"A worker extracting {archive.name} died ({status:#x}). Try again."
                raise ArchiveError(msg, path=archive)
    finally:
        for read_end, pid in children.items():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_end)


def _child(  # pragma: no cover - runs in the forked child
    archive: Path, fd: int, root: str, batches: list[list[Member]], out: int
) -> NoReturn:
    """Write ``batches``, reporting progress and the first error down the pipe ``out``."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: just die; the parent cleans up
        for batch in batches:
            _write_batch(archive, fd, root, batch, lambda n: os.write(out, b"P%d\n" % n))
    except BaseException as err:
        code = 1
        kind = type(err).__name__
        fields = [kind, str(err), getattr(err, "member", None), getattr(err, "errno", None)]
        with contextlib.suppress(BaseException):
            os.write(out, b"E" + json.dumps(fields).encode() + b"\n")
    finally:
        os._exit(code)


def _decode_error(archive: Path, line: bytes) -> Exception:
    """Rebuild in the parent the error a child reported."""
    kind, message, member, number = json.loads(line[1:])
    classes = (CorruptArchiveError, UnsafeArchiveError, ArchiveTooLargeError, ArchiveError)
    for cls in classes:
        if cls.__name__ == kind:
            return cls(message, path=archive, member=member)
    if kind == DiskFullError.__name__:
        return DiskFullError(message, path=archive)
    if number is not None:
        return OSError(number, message)
    return ArchiveError(f"Extracting {archive.name} failed: {kind}: {message}", path=archive)


def _write_batch(
    archive: Path, fd: int, root: str, batch: list[Member], progress: Callable[[int], object]
) -> None:
    """Read a run of neighbouring members with one pread, check and write each."""
    first = batch[0]
    if len(batch) == 1 and first.end - first.offset > BATCH_SPAN:
        _stream_member(archive, fd, root, first, progress)
        return
    base = first.offset
    buf = pread(fd, batch[-1].end - base, base)
    if len(buf) < batch[-1].end - base:
        raise corrupt(archive, "the file is truncated")
    view, unpack, done = memoryview(buf), _LOCAL.unpack_from, 0
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
        done += usize
    progress(done)


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


def _stream_member(
    archive: Path, fd: int, root: str, m: Member, progress: Callable[[int], object]
) -> None:
    """Inflate a big member chunk by chunk, never holding more than ~2 MiB of it."""
    written = crc = 0

    def emit(out: bytes) -> None:
        nonlocal written, crc
        if written + len(out) > m.usize:
            raise too_large(archive, _lying(m.rel, m.usize), m.rel)
        write_all(out_fd, out)
        written, crc = written + len(out), zlib.crc32(out, crc)
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


def write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until all of ``data`` is written (it may write less)."""
    while data:
        data = data[os.write(fd, data) :]


def _lying(rel: str, usize: int) -> str:
    return f"member {rel!r} inflates past the {usize:,} bytes its header declares"
