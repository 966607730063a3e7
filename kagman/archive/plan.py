"""Planning: every check that needs no data, run on the whole central directory before writing.

Names are decoded (UTF-8, Info-ZIP Unicode Path, else cp437) and split into
parts that stay inside the target (no absolute paths, drive letters, ``..``,
NUL bytes); links and special files, encrypted members, unknown compression,
duplicate names, a file that is also a folder, overlapping members, sizes
or ratios over the limits, and paths longer than the target's filesystem allows
are all refused here, before the first byte is written. Junk (see
:mod:`kagman.archive.junk`) is skipped and counted.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kagman.archive.failures import corrupt, too_large, too_long, unsafe
from kagman.archive.junk import maybe_junk, path_junk_reason
from kagman.archive.writer import Member
from kagman.archive.zipformat import DEFLATED, STORED, ZipEntry

__all__ = ["FALLBACK_METHODS", "Plan", "check_lengths", "layout", "plan"]

_S_IFMT = 0o170000  # stat.S_IFMT() as a mask: the file-type bits of a mode
RATIO_FLOOR = 1 << 20  # below this, a high ratio is a file of zeros, not a bomb
FALLBACK_METHODS = (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)  # rare; zipfile reads them
# A name that needs no cleaning: parts that do not start with '.' or ' ', and no '\\', ':'
# or NUL anywhere. Most dataset members match, and skip the general checks.
_PLAIN = re.compile(r"(?:[^./\\\x00: ][^/\\\x00:]*/)*[^./\\\x00: ][^/\\\x00:]*/?")


@dataclass
class Plan:
    """Where every member goes: files by relative path, the folders to make, skips by reason."""

    files: dict[str, ZipEntry] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    skipped: Counter[str] = field(default_factory=Counter)


def plan(
    archive: Path, entries: list[ZipEntry], size: int, *, max_total_bytes: int, max_ratio: float
) -> Plan:
    """Check every member and decide where it goes; raise before anything is written.

    Parameters
    ----------
    size
        The archive's size in bytes (for the compression-ratio limit).
    max_total_bytes, max_ratio
        Zip-bomb limits on the declared sizes (see ``ExtractLimits``).

    Raises
    ------
    UnsafeArchiveError, ArchiveTooLargeError, CorruptArchiveError
        The first member that breaks a rule, named in the message.
    """
    total = sum(entry.usize for entry in entries)
    if total > max_total_bytes:
        why = f"it would unpack to {total:,} bytes (limit {max_total_bytes:,})"
        raise too_large(archive, why, None)
    if total > RATIO_FLOOR and total > max_ratio * max(size, 1):
        why = f"it would unpack to {total / max(size, 1):,.0f} times its size"
        raise too_large(archive, f"{why} (limit {max_ratio:g})", None)
    result = Plan()
    files, folders, plain = result.files, result.folders, _PLAIN.fullmatch
    for entry in entries:
        raw, flags, method, csize, usize = (
            entry.raw_name,
            entry.flags,
            entry.method,
            entry.csize,
            entry.usize,
        )
        mode = entry.mode
        if raw.isascii():
            name = raw.decode("ascii")
        else:
            name = _decode_name(archive, raw, flags, entry.unicode_name)
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
            result.skipped[junk or "directory entry"] += 1
            parent = "" if junk else rel
        else:
            if rel in files:
                raise unsafe(archive, name, "appears twice in the archive")
            if flags & 0x1:
                raise corrupt(
                    archive, f"member {name!r} is encrypted, which kagman cannot read", name
                )
            if method not in (STORED, DEFLATED, *FALLBACK_METHODS):
                why = f"member {name!r} uses compression method {method}, which kagman cannot read"
                raise corrupt(archive, why, name)
            if usize > RATIO_FLOOR and usize > max_ratio * max(csize, 1):
                why = f"member {name!r} would unpack to {usize / max(csize, 1):,.0f} times its size"
                raise too_large(archive, f"{why} (limit {max_ratio:g})", name)
            files[rel] = entry
            parent = rel.rpartition("/")[0]
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    clash = next((rel for rel in files if rel in folders), None)
    if clash is not None:
        raise unsafe(archive, clash, "is both a file and a folder")
    return result


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
    names = [*found.files, *found.folders]
    if not names:
        return
    name_max, path_max = _limits(root)
    room = path_max - 1 - len(os.fsencode(root)) - 1  # bytes left for the member's path
    longest = max(map(len, names))
    if longest <= min(room, name_max) and all(map(str.isascii, names)):
        return  # the usual case, checked at C speed: every name is short and ASCII
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


def layout(
    archive: Path, files: dict[str, ZipEntry], start_dir: int
) -> tuple[list[Member], list[tuple[str, ZipEntry]]]:
    """Order members by position, and refuse overlapping ones (a zip-bomb trick).

    Returns the members the fast writer handles, and the bzip2/lzma ones left
    for :mod:`kagman.archive.fallback`.
    """
    ordered = sorted((entry.offset, rel, entry) for rel, entry in files.items())
    members: list[Member] = []
    fallback: list[tuple[str, ZipEntry]] = []
    for n, (offset, rel, entry) in enumerate(ordered):
        end = ordered[n + 1][0] if n + 1 < len(ordered) else start_dir
        if offset + 30 + len(entry.raw_name) + entry.csize > end:
            raise unsafe(archive, rel, "overlaps another member or the central directory")
        if entry.method in FALLBACK_METHODS:
            fallback.append((rel, entry))
        else:
            members.append(
                Member(
                    rel,
                    offset,
                    entry.raw_name,
                    entry.method,
                    entry.csize,
                    entry.usize,
                    entry.crc,
                    end,
                )
            )
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
