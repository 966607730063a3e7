"""Planning: every check that needs no data, run on the whole central directory before writing.

Names are decoded (UTF-8, Info-ZIP Unicode Path, else cp437) and split into
parts that stay inside the target (no absolute paths, drive letters, ``..``,
NUL bytes); links and special files, encrypted members, unknown compression,
duplicate names, a file that is also a folder, overlapping members, sizes
or ratios over the limits, and paths longer than the target's filesystem allows
(:func:`check_lengths`) are all refused here, before the first byte is written. Junk
(see :mod:`kagman.archive.junk`) is skipped and counted.

:func:`plan` is a function of the archive's last bytes only (the central directory
and the end records, read through a :data:`~kagman.archive.zipformat.Reader`), its
size and the limits: it can run before the rest of the archive has arrived. It makes
one pass over the directory into a compact :class:`~kagman.archive.members.Members`
table; nothing else per member outlives it.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path

from kagman.archive.failures import corrupt, too_large, too_long, unsafe
from kagman.archive.junk import maybe_junk, path_junk_reason
from kagman.archive.members import Members
from kagman.archive.zipformat import (
    DEFLATED,
    STORED,
    Reader,
    central_records,
    locate_central,
)
from kagman.errors import ArchiveError
from kagman.settings import MAX_EXTRACT_BYTES_ENV, MAX_RATIO_ENV, env_number

__all__ = ["FALLBACK_METHODS", "ExtractLimits", "Plan", "check_lengths", "plan"]

_S_IFMT = 0o170000  # stat.S_IFMT() as a mask: the file-type bits of a mode
_LOCAL_SIZE = 30  # the fixed part of a local header
RATIO_FLOOR = 1 << 20  # below this, a high ratio is a file of zeros, not a bomb
FALLBACK_METHODS = (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)  # rare; zipfile reads them
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
        """Defaults, overridden by ``KAGMAN_MAX_EXTRACT_BYTES`` / ``KAGMAN_MAX_RATIO`` now set.

        Raises
        ------
        ConfigError
            A value that is not a number or out of range (:data:`kagman.settings.LIMITS`).
        """
        return cls(
            max_total_bytes=int(env_number(MAX_EXTRACT_BYTES_ENV, cls.max_total_bytes)),
            max_ratio=env_number(MAX_RATIO_ENV, cls.max_ratio),
        )


@dataclass(frozen=True)
class Plan:
    """What extraction will do, all of it checked.

    ``members`` are the files to write, in archive order (bzip2/lzma ones included);
    ``order`` lists their indices sorted by path (``None``: archive order is that order);
    ``folders`` are the folders to make, sorted (parents first); ``skipped`` counts the
    members not written, by reason; ``declared`` is the bytes the files declare.
    """

    members: Members
    order: array[int] | None
    folders: tuple[str, ...]
    skipped: dict[str, int]
    declared: int

    def by_path(self) -> range | array[int]:
        """Member indices sorted by path."""
        return range(len(self.members)) if self.order is None else self.order


def plan(archive: Path, read: Reader, size: int, limits: ExtractLimits) -> Plan:
    """Check every member and decide where it goes; raise before anything is written.

    Parameters
    ----------
    archive
        The archive's path, for messages only.
    read
        Reads the archive's bytes ``(offset, length)``; only the end records and the
        central directory are read (the last bytes of the archive).
    size
        The archive's size in bytes.
    limits
        Zip-bomb limits on the member count and the declared sizes.

    Raises
    ------
    UnsafeArchiveError, ArchiveTooLargeError, CorruptArchiveError
        The first member that breaks a rule, named in the message.
    """
    central = locate_central(archive, read, size, limits.max_members)
    data = read(central.start, central.size)
    if len(data) != central.size:
        raise corrupt(archive, "its central directory is truncated")
    members = Members(central.start)
    skipped: dict[str, int] = {}
    folders: set[str] = set()
    try:
        total, in_archive_order, path_sorted = _scan(
            archive, data, central.shift, limits, members, folders, skipped
        )
    except ArchiveError:  # a member broke a rule; a damaged directory or its total come first
        _refuse_total(
            archive, sum(r.usize for r in central_records(archive, data, 0)), size, limits
        )
        raise
    del data  # the directory can be as big as the table: free it before sorting
    _refuse_total(archive, total, size, limits)
    if not in_archive_order:
        members.reorder(sorted(range(len(members)), key=members.offsets.__getitem__))
        path_sorted = False
    _refuse_overlaps(archive, members, 0 if not in_archive_order else max(len(members) - 1, 0))
    order = None if path_sorted else _path_order(archive, members)
    _refuse_file_folders(archive, members, order, folders)
    declared = sum(members.usizes)
    return Plan(members, order, tuple(sorted(folders)), skipped, declared)


def _refuse_total(archive: Path, total: int, size: int, limits: ExtractLimits) -> None:
    """Refuse an archive whose members declare more than the limits allow, all together."""
    if total > limits.max_total_bytes:
        why = f"it would unpack to {total:,} bytes (limit {limits.max_total_bytes:,})"
        raise too_large(archive, why, None)
    if total > RATIO_FLOOR and total > limits.max_ratio * max(size, 1):
        why = f"it would unpack to {total / max(size, 1):,.0f} times its size"
        raise too_large(archive, f"{why} (limit {limits.max_ratio:g})", None)


def _scan(  # noqa: PLR0917 - private; the one pass of plan()
    archive: Path,
    data: bytes,
    shift: int,
    limits: ExtractLimits,
    members: Members,
    folders: set[str],
    skipped: dict[str, int],
) -> tuple[int, bool, bool]:
    """The one pass: check each record, add each file to ``members``, each folder to ``folders``.

    Returns the bytes all records declare, whether the files came in archive order (their
    overlaps are then checked here, all but the last), and whether their paths came sorted.
    """
    max_members, max_ratio, limit = limits.max_members, limits.max_ratio, members.limit
    offsets, csizes, usizes, crcs, methods, paths, path_ends, raw_names = members.columns()
    plain, known = _PLAIN.fullmatch, (STORED, DEFLATED, *FALLBACK_METHODS)
    total = 0
    in_order = path_sorted = True
    prev_path, prev_offset, prev_end = b"", -1, -1  # the last file's path, offset, data end
    for count, rec in enumerate(central_records(archive, data, shift), 1):
        if count > max_members:  # the count in the end record may wrap or lie
            why = f"it has more than {max_members:,} members (limit {max_members:,})"
            raise too_large(archive, why, None)
        raw, usize, mode = rec.raw_name, rec.usize, rec.mode
        total += usize
        if raw.isascii():
            name = raw.decode("ascii")
        else:
            name = _decode_name(archive, raw, rec.flags, rec.unicode_name)
        junk = ""
        if plain(name) and not maybe_junk(name):
            is_dir = name[-1] == "/"
            rel = name[:-1] if is_dir else name
        else:
            try:
                parts = _safe_parts(name)
            except ValueError as err:
                raise unsafe(archive, name, str(err)) from None
            junk, rel = path_junk_reason(parts), "/".join(parts)
            is_dir = not parts or name.endswith(("/", "\\"))
        kind = mode & _S_IFMT
        if kind == stat.S_IFLNK:
            raise unsafe(archive, name, "is a symbolic link")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise unsafe(archive, name, f"is a special file (mode {mode:o})")
        if junk or is_dir or kind == stat.S_IFDIR:
            reason = junk or "directory entry"
            skipped[reason] = skipped.get(reason, 0) + 1
            parent = "" if junk else rel
        else:
            method, csize, offset = rec.method, rec.csize, rec.offset
            if offset + csize > limit:  # (also keeps every size and offset below 2**63)
                raise unsafe(archive, name, _OVERLAP)
            if rec.flags & 0x1:
                why = f"member {name!r} is encrypted, which kagman cannot read"
                raise corrupt(archive, why, name)
            if method not in known:
                why = f"member {name!r} uses compression method {method}, which kagman cannot read"
                raise corrupt(archive, why, name)
            if usize > RATIO_FLOOR and usize > max_ratio * max(csize, 1):
                why = f"member {name!r} would unpack to {usize / max(csize, 1):,.0f} times its size"
                raise too_large(archive, f"{why} (limit {max_ratio:g})", name)
            path = raw if rel is name and raw.isascii() else rel.encode()
            if path != raw:
                raw_names[len(offsets)] = raw
            if in_order:  # then overlaps are checked here, with the file before
                if offset < prev_offset:
                    in_order = False
                elif offset < prev_end:
                    raise unsafe(archive, prev_path.decode(), _OVERLAP)
                prev_offset, prev_end = offset, offset + _LOCAL_SIZE + len(raw) + csize
            if path <= prev_path:
                path_sorted = False
            prev_path = path
            offsets.append(offset)
            csizes.append(csize)
            usizes.append(usize)
            crcs.append(rec.crc)
            methods.append(method)
            paths += path
            path_ends.append(len(paths))
            parent = rel.rpartition("/")[0]
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    return total, in_order, path_sorted


_OVERLAP = "overlaps another member or the central directory"


def _refuse_overlaps(archive: Path, members: Members, start: int) -> None:
    """Refuse a member whose data runs into the next one (a zip-bomb trick), from ``start`` on."""
    offsets, csizes, limit = members.offsets, members.csizes, members.limit
    n = len(offsets)
    for i in range(start, n):
        end = offsets[i + 1] if i + 1 < n else limit
        if offsets[i] + _LOCAL_SIZE + len(members.raw_name(i)) + csizes[i] > end:
            raise unsafe(archive, members.path(i), _OVERLAP)


def _refuse_file_folders(
    archive: Path, members: Members, order: array[int] | None, folders: set[str]
) -> None:
    """Refuse a path that is a file and also a folder (the parent of another member)."""
    n = len(members)
    if len(folders) * max(n, 2).bit_length() > n:  # many folders: one look at every path
        clash = next((i for i in range(n) if members.path(i) in folders), None)
        if clash is not None:
            raise unsafe(archive, members.path(clash), _FILE_FOLDER)
        return
    keys = range(n) if order is None else order
    for folder in sorted(folders):
        wanted = folder.encode()
        at = bisect_left(keys, wanted, key=members.path_bytes)
        if at < n and members.path_bytes(keys[at]) == wanted:
            raise unsafe(archive, folder, _FILE_FOLDER)


_FILE_FOLDER = "is both a file and a folder"


def _path_order(archive: Path, members: Members) -> array[int]:
    """Member indices sorted by path; refuses a path that appears twice."""
    paths, ends = bytes(members.paths), members.path_ends
    keys = [paths[a:b] for a, b in zip(chain((0,), ends[:-1]), ends, strict=True)]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    for a, b in pairwise(order):
        if keys[a] == keys[b]:
            raise unsafe(archive, keys[b].decode(), "appears twice in the archive")
    return array("q", order)


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


def check_lengths(archive: Path, root: str, found: Plan) -> None:
    """Refuse, before writing, a member whose name or path the target's filesystem cannot hold.

    The limits are what ``os.pathconf`` reports for ``root`` (``PC_NAME_MAX`` for one
    name, ``PC_PATH_MAX`` for a whole path, which counts its final NUL), and each path is
    measured as extraction opens it: ``root`` (the temporary folder, prefix included), a
    slash, the member's path, in the filesystem's encoding. Without this, a hostile
    archive thousands of folders deep fails halfway, after writing.

    Raises
    ------
    ArchiveError
        Naming the first member that does not fit, its length and the limit.
    """
    members = found.members
    if not len(members) and not found.folders:
        return
    name_max, path_max = _limits(root)
    room = path_max - 1 - len(os.fsencode(root)) - 1  # bytes left for the member's path
    ends = members.path_ends
    longest = max((b - a for a, b in pairwise(chain((0,), ends))), default=0)
    longest = max(longest, *(len(f.encode()) for f in found.folders), 0)
    ascii_only = members.paths.isascii() and all(f.isascii() for f in found.folders)
    if longest <= min(room, name_max) and ascii_only:
        return  # the usual case, checked at C speed: every name is short and ASCII
    names = chain((members.path(i) for i in range(len(members))), found.folders)
    for rel in names:
        size = len(os.fsencode(rel))
        if size > room:
            why = (
                f"a path of {size + path_max - 1 - room:,} bytes once extracted under {root}, "
                f"over the {path_max - 1:,} this filesystem allows"
            )
            raise too_long(archive, rel, why)
        if size > name_max:
            for part in rel.split("/"):
                if len(os.fsencode(part)) > name_max:
                    why = (
                        f"a name of {len(os.fsencode(part)):,} bytes, over the {name_max} "
                        "this filesystem allows"
                    )
                    raise too_long(archive, rel, why)


def _limits(root: str) -> tuple[int, int]:
    """``(longest name, longest path)`` in bytes on ``root``'s filesystem (POSIX defaults)."""
    name_max, path_max = 255, 4096
    pathconf = getattr(os, "pathconf", None)
    if pathconf is None:  # pragma: no cover - Windows
        return name_max, 260
    for key, default in (("PC_NAME_MAX", name_max), ("PC_PATH_MAX", path_max)):
        try:
            value = pathconf(root, key)
        except (OSError, ValueError):
            value = -1
        if key == "PC_NAME_MAX":
            name_max = value if value > 0 else default
        else:
            path_max = value if value > 0 else default
    return name_max, path_max
