"""Safe, fast extraction of a downloaded dataset zip.

Safe: every member is checked before the first byte is written: no absolute
paths, drive letters, ``..``, NUL bytes, links, special files or clashing
names. macOS/Windows clutter is skipped and counted. Zip bombs are refused
twice: from the sizes the central directory declares, and again while
inflating, because headers can lie. Nothing is ever written outside ``dest``.

Fast: ``zipfile.extractall`` spends ~130 us per member; this spends ~30 us, a
third of it in the kernel creating the file. See :mod:`kagman._unzip` for how,
and ``benchmarks/bench_extract.py`` for the numbers against ``unzip -q``.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kagman._unzip import CHUNK as _CHUNK
from kagman._unzip import OPEN_FLAGS as _OPEN_FLAGS
from kagman._unzip import Member, Progress, plan_batches, run, write_all
from kagman._zipformat import (
    DEFLATED,
    ENV_MAX_EXTRACT_BYTES,
    ENV_MAX_RATIO,
    STORED,
    Entry,
    corrupt,
    os_error,
    read_central,
    too_large,
    unsafe,
)
from kagman.errors import ArchiveError
from kagman.fsutil import ensure_free_space

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ENV_MAX_EXTRACT_BYTES",
    "ENV_MAX_RATIO",
    "ExtractLimits",
    "ExtractReport",
    "extract_zip",
    "is_zip",
    "total_uncompressed_size",
]

_S_IFMT = 0o170000  # stat.S_IFMT() as a mask: the file-type bits of a mode
_RATIO_FLOOR = 1 << 20  # below this, a high ratio is a file of zeros, not a bomb
_PARALLEL_MIN_MEMBERS = 250  # fewer take ~5 ms: not worth a fork (measured)
_PARALLEL_MIN_BYTES = 16 << 20  # ... unless they are big
_FALLBACK_METHODS = (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)  # rare; zipfile reads them
# A name that needs no cleaning: parts that do not start with '.' or ' ', and no '\\', ':'
# or NUL anywhere. Most dataset members match, and skip the general checks.
_PLAIN = re.compile(r"(?:[^./\\\x00: ][^/\\\x00:]*/)*[^./\\\x00: ][^/\\\x00:]*/?")


@dataclass(frozen=True)
class ExtractLimits:
    """Zip-bomb limits; the defaults fit any real Kaggle dataset.

    ``max_ratio`` bounds uncompressed/compressed size for the whole archive and
    for each member over 1 MiB (deflate cannot exceed ~1032:1 on honest data).
    """

    max_total_bytes: int = 200 << 30
    max_ratio: float = 1000.0
    max_members: int = 2_000_000

    @classmethod
    def from_env(cls) -> ExtractLimits:
        """Defaults, overridden by ``KAGMAN_MAX_EXTRACT_BYTES`` / ``KAGMAN_MAX_RATIO`` now set."""
        kwargs: dict[str, float] = {}
        for var, key in ((ENV_MAX_EXTRACT_BYTES, "max_total_bytes"), (ENV_MAX_RATIO, "max_ratio")):
            raw = os.environ.get(var, "").strip()
            if not raw:
                continue
            try:
                value = int(raw) if key == "max_total_bytes" else float(raw)
            except ValueError:
                value = -1
            if not value > 0:
                msg = f"{var}={raw!r} is not a positive number. Fix or unset it."
                raise ArchiveError(msg)
            kwargs[key] = value
        return cls(**kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ExtractReport:
    """What :func:`extract_zip` wrote: sorted ``(posix path, size)`` pairs, and what it skipped."""

    files: tuple[tuple[str, int], ...]
    total_bytes: int
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        """How many members were skipped, for every reason."""
        return sum(self.skipped.values())


def is_zip(path: Path) -> bool:
    """Whether ``path`` is a readable file with a zip end-of-central-directory record."""
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def total_uncompressed_size(archive: Path) -> int:
    """Sum of the sizes the central directory declares, for a free-space check.

    Raises
    ------
    CorruptArchiveError
        When ``archive`` is not a readable zip.
    """
    fd = os.open(archive, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        entries, _ = read_central(archive, fd, os.fstat(fd).st_size, 1 << 62)
    finally:
        os.close(fd)
    return sum(entry[5] for entry in entries)


def extract_zip(
    archive: Path,
    dest: Path,
    *,
    limits: ExtractLimits | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ExtractReport:
    """Extract ``archive`` into the existing, empty folder ``dest``.

    Every check on names, types and declared sizes runs before the first byte
    is written. On an error this raises and leaves what it already wrote in
    ``dest`` for the caller to remove; it never writes outside ``dest``. Files
    are created with mode 0o666 minus the umask, folders 0o777 minus the umask:
    modes, owners and times stored in the archive are ignored.

    Parameters
    ----------
    limits
        Zip-bomb limits; ``ExtractLimits.from_env()`` when omitted.
    workers
        Processes to use (this one included; Linux forks, elsewhere 1 is used);
        ``None`` picks 1 for small archives, else the CPU count (at most 4).
    progress
        Called in this thread with the number of bytes just written.
    on_total
        Called once, before writing, with the total the archive declares.

    Raises
    ------
    UnsafeArchiveError
        A member would escape ``dest``, is a link or special file, or clashes.
    ArchiveTooLargeError
        The archive exceeds ``limits``, by its declared or its actual sizes.
    CorruptArchiveError
        Not a zip, truncated, bad CRC, encrypted or unsupported compression.
    DiskFullError
        The declared sizes do not fit on ``dest``'s disk (checked before writing),
        or the disk filled up anyway.
    """
    limits = ExtractLimits.from_env() if limits is None else limits
    with os.scandir(dest) as listing:
        if next(listing, None) is not None:
            msg = f"extract_zip needs an empty folder, and {dest} is not empty."
            raise ValueError(msg)
    root = os.fspath(dest)
    report = Progress(progress)
    fd = os.open(archive, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        entries, start_dir = read_central(archive, fd, os.fstat(fd).st_size, limits.max_members)
        plan = _plan(archive, entries, os.fstat(fd).st_size, limits)
        declared = sum(entry[5] for entry in plan.files.values())
        ensure_free_space(dest, declared, what=f"extracting {archive.name}")
        if on_total is not None:
            on_total(declared)  # lets a progress bar show a total before the first byte
        members, fallback = _layout(archive, plan.files, start_dir)
        for folder in sorted(plan.folders):
            try:
                os.mkdir(f"{root}/{folder}", 0o777)  # noqa: PTH102 - str paths are faster
            except OSError as err:
                raise os_error(archive, folder, err) from err
        if workers is None:
            cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            total = sum(m.usize for m in members)
            many = len(members) >= _PARALLEL_MIN_MEMBERS or total >= _PARALLEL_MIN_BYTES
            workers = min(cpus or os.cpu_count() or 1, 4) if many else 1
        run(archive, fd, root, plan_batches(members), workers=workers, progress=report)
    finally:
        os.close(fd)
    if fallback:
        _extract_fallback(archive, root, fallback, report)
    files = sorted((rel, entry[5]) for rel, entry in plan.files.items())
    return ExtractReport(tuple(files), sum(size for _, size in files), dict(plan.skipped))


# --- planning: every check that needs no data --------------------------------


@dataclass
class _Plan:
    files: dict[str, Entry] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    skipped: Counter[str] = field(default_factory=Counter)


def _plan(archive: Path, entries: list[Entry], size: int, limits: ExtractLimits) -> _Plan:
    """Check every member and decide where it goes; raise before anything is written."""
    total = sum(entry[5] for entry in entries)
    if total > limits.max_total_bytes:
        why = f"it would unpack to {total:,} bytes (limit {limits.max_total_bytes:,})"
        raise too_large(archive, why, None)
    if total > _RATIO_FLOOR and total > limits.max_ratio * max(size, 1):
        why = f"it would unpack to {total / max(size, 1):,.0f} times its size"
        raise too_large(archive, f"{why} (limit {limits.max_ratio:g})", None)
    plan = _Plan()
    files, folders, plain = plan.files, plan.folders, _PLAIN.fullmatch
    for entry in entries:
        raw, flags, method, _, csize, usize, _, mode, uname = entry
        name = raw.decode("ascii") if raw.isascii() else _decode_name(archive, raw, flags, uname)
        junk = None
        if plain(name) and "__MACOSX" not in name and name[-9:].lower() != "thumbs.db":
            is_dir = name[-1] == "/"
            rel = name[:-1] if is_dir else name
        else:
            try:
                parts = _safe_parts(name)
            except ValueError as err:
                raise unsafe(archive, name, str(err)) from None
            junk, rel = _junk_reason(parts), "/".join(parts)
            is_dir = not parts or name.endswith(("/", "\\"))
        kind = mode & _S_IFMT
        if kind == stat.S_IFLNK:
            raise unsafe(archive, name, "is a symbolic link")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise unsafe(archive, name, f"is a special file (mode {mode:o})")
        if junk or is_dir or kind == stat.S_IFDIR:
            plan.skipped[junk or "directory entry"] += 1
            parent = "" if junk else rel
        else:
            if rel in files:
                raise unsafe(archive, name, "appears twice in the archive")
            if flags & 0x1:
                raise corrupt(
                    archive, f"member {name!r} is encrypted, which kagman cannot read", name
                )
            if method not in (STORED, DEFLATED, *_FALLBACK_METHODS):
                why = f"member {name!r} uses compression method {method}, which kagman cannot read"
                raise corrupt(archive, why, name)
            if usize > _RATIO_FLOOR and usize > limits.max_ratio * max(csize, 1):
                why = f"member {name!r} would unpack to {usize / max(csize, 1):,.0f} times its size"
                raise too_large(archive, f"{why} (limit {limits.max_ratio:g})", name)
            files[rel] = entry
            parent = rel.rpartition("/")[0]
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    clash = next((rel for rel in files if rel in folders), None)
    if clash is not None:
        raise unsafe(archive, clash, "is both a file and a folder")
    return plan


def _layout(
    archive: Path, files: dict[str, Entry], start_dir: int
) -> tuple[list[Member], list[tuple[str, Entry]]]:
    """Order members by position, and refuse overlapping ones (a zip-bomb trick)."""
    ordered = sorted((entry[6], rel, entry) for rel, entry in files.items())
    members: list[Member] = []
    fallback: list[tuple[str, Entry]] = []
    for n, (offset, rel, entry) in enumerate(ordered):
        raw, _, method, crc, csize, usize, _, _, _ = entry
        end = ordered[n + 1][0] if n + 1 < len(ordered) else start_dir
        if offset + 30 + len(raw) + csize > end:
            raise unsafe(archive, rel, "overlaps another member or the central directory")
        if method in _FALLBACK_METHODS:
            fallback.append((rel, entry))
        else:
            members.append(Member(rel, offset, raw, method, csize, usize, crc, end))
    return members, fallback


def _decode_name(archive: Path, raw: bytes, flags: int, uname: bytes | None = None) -> str:
    r"""A member's name: UTF-8 when flagged or valid (many zippers forget the flag), else cp437.

    ``uname`` is the UTF-8 name of an Info-ZIP Unicode Path extra field, which
    wins when present (Windows zippers store the name in the OEM code page too).

    >>> _decode_name(Path("x.zip"), "é".encode(), 0), _decode_name(Path("x.zip"), b"\x82", 0)
    ('é', 'é')
    """
    if uname is not None:
        raw, flags = uname, flags | 0x800
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if flags & 0x800:
            raise corrupt(archive, f"member name {raw!r} is not valid UTF-8") from None
        return raw.decode("cp437")


def _safe_parts(name: str) -> tuple[str, ...]:
    r"""Split a member name into path parts that stay inside the target, or raise ValueError.

    Backslashes count as separators, as Windows zippers mean them.

    >>> _safe_parts("train/cat/001.jpg")
    ('train', 'cat', '001.jpg')
    >>> _safe_parts("a\\b/./c/")
    ('a', 'b', 'c')
    >>> _safe_parts("a/../../etc/passwd")
    Traceback (most recent call last):
    ValueError: has a '..' component, which would climb out of the target folder
    """
    if "\x00" in name:
        msg = "contains a NUL byte"
        raise ValueError(msg)
    if name.startswith(("/", "\\")):
        msg = "is an absolute path"
        raise ValueError(msg)
    parts = tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))
    for part in parts:
        if not part.rstrip(". "):  # '..', and '...' or '.. ' which Windows reads as '..'
            msg = "has a '..' component, which would climb out of the target folder"
            raise ValueError(msg)
        if len(part) > 1 and part[1] == ":" and part[0].isascii() and part[0].isalpha():
            msg = "starts with a drive letter"
            raise ValueError(msg)
        if os.name == "nt" and ":" in part:  # pragma: no cover - NTFS alternate data streams
            msg = "contains ':'"
            raise ValueError(msg)
    return parts


def _junk_reason(parts: tuple[str, ...]) -> str | None:
    """Why a member is OS clutter nobody wants in a dataset, or None.

    >>> _junk_reason(("__MACOSX", "train", "._1.jpg"))
    '__MACOSX'
    >>> _junk_reason(("train", "1.jpg")) is None
    True
    """
    if not parts:
        return None
    if "__MACOSX" in parts:
        return "__MACOSX"
    base = parts[-1]
    if base.startswith("._"):
        return "AppleDouble ._ file"
    if base == ".DS_Store":
        return ".DS_Store"
    if base.lower() == "thumbs.db":
        return "Thumbs.db"
    return None


def _extract_fallback(
    archive: Path, root: str, members: list[tuple[str, Entry]], progress: Progress
) -> None:
    """Extract bzip2/lzma members through zipfile (which checks the CRC), still capped."""
    import lzma  # only archives that need it pay for the import

    with zipfile.ZipFile(archive) as zf:
        by_offset = {info.header_offset: info for info in zf.infolist()}
        for rel, entry in members:
            written, usize = 0, entry[5]
            with zf.open(by_offset[entry[6]]) as src:
                out_fd = _create(archive, root, rel)
                try:
                    while True:
                        try:
                            out = src.read(_CHUNK)
                        except (zipfile.BadZipFile, EOFError, OSError, lzma.LZMAError) as err:
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
                        progress(len(out))
                finally:
                    os.close(out_fd)
            if written != usize:
                raise corrupt(archive, f"member {rel!r} is truncated", rel)


def _create(archive: Path, root: str, rel: str) -> int:
    try:
        return os.open(f"{root}/{rel}", _OPEN_FLAGS, 0o666)
    except OSError as err:
        raise os_error(archive, rel, err) from err
