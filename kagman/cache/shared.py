"""A cache a team shares: what kagman creates follows the cache root's group and permission bits.

A team puts one cache on a shared disk, so a 100 GB dataset is downloaded once::

    sudo mkdir /shared/kagman
    sudo chgrp team /shared/kagman
    sudo chmod 2775 /shared/kagman          # group-writable; setgid: the group is inherited
    export KAGMAN_CACHE=/shared/kagman      # in everyone's shell profile

A root that is group-writable makes the cache *shared*: every folder kagman
creates gets the root's permission bits (``2775`` above, without a sticky bit),
every file the root's read and write bits (``0664``), and the root's group,
whatever each user's umask says. Group members can then pull, resume each
other's partial downloads, take the per-dataset locks, record "last used" and
remove entries. A private cache (not group-writable) is left to the umask, as
before. Reading needs no write at all: a user who may only read the cache gets
cache hits and offline pulls, and "last used" is skipped for them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kagman.cache.paths import cache_dir
from kagman.errors import CacheNotWritableError
from kagman.fs import atomic_write_chunks

__all__ = [
    "ShareMode",
    "SharedPartial",
    "cache_access",
    "claim_partials",
    "make_dirs",
    "not_writable",
    "share_file",
    "share_mode",
    "share_tree",
    "write_shared",
]


@dataclass(frozen=True)
class ShareMode:
    """Modes and group for what kagman creates in a shared cache."""

    folder: int  # e.g. 0o2775
    file: int  # e.g. 0o664
    gid: int


def share_mode(root: Path | None = None) -> ShareMode | None:
    """The modes new folders and files get, or ``None`` for a private cache.

    >>> share_mode(Path("/no/such/cache")) is None
    True
    """
    try:
        st = (cache_dir() if root is None else root).stat()
    except OSError:
        return None
    bits = stat.S_IMODE(st.st_mode)
    if os.name == "nt" or not bits & stat.S_IWGRP:
        return None
    # No sticky bit: it would stop group members from removing each other's entries.
    return ShareMode(folder=(bits & 0o2777) | 0o700, file=(bits & 0o666) | 0o600, gid=st.st_gid)


def _apply(path: Path | str, mode: ShareMode, bits: int, st: os.stat_result) -> None:
    with contextlib.suppress(OSError):  # not ours to change: leave it as it is
        if stat.S_IMODE(st.st_mode) != bits:
            os.chmod(path, bits)  # noqa: PTH101 - str paths from scandir
        if st.st_gid != mode.gid:
            os.chown(path, -1, mode.gid)


def make_dirs(folder: Path) -> None:
    """``mkdir -p folder``; in a shared cache, the new folders get the root's bits and group.

    Raises
    ------
    CacheNotWritableError
        This user may not create the folder.
    """
    missing: list[Path] = []
    probe = folder
    while not probe.is_dir():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    if not missing:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except PermissionError as err:
        raise not_writable(folder, err) from err
    mode = share_mode()
    if mode is not None:
        for created in reversed(missing):
            with contextlib.suppress(OSError):
                _apply(created, mode, mode.folder, created.stat())


def share_file(path: Path) -> None:
    """Give one new file the shared cache's file mode and group (nothing in a private cache)."""
    mode = share_mode()
    if mode is not None:
        with contextlib.suppress(OSError):
            _apply(path, mode, mode.file, path.lstat())


def write_shared(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write a file of the cache atomically (a manifest, ``latest``), with the shared
    cache's file mode and group, so every member of the group can read and rewrite it.

    ``data`` may come in pieces (a 300,000-file manifest is never held whole).

    Raises
    ------
    DiskFullError, OSError
        From :func:`kagman.fs.atomic_write_chunks`.
    """
    mode = share_mode()
    chunks = [data] if isinstance(data, bytes) else data
    atomic_write_chunks(path, chunks, mode=0o644 if mode is None else mode.file)
    if mode is not None:
        share_file(path)


def share_tree(top: Path) -> None:
    """Give a freshly extracted tree the shared cache's modes (nothing in a private cache).

    Runs once per pull, before the tree is renamed into place: one ``lstat`` per
    file, and a ``chmod`` only where the umask left the mode different.
    """
    mode = share_mode()
    if mode is None:
        return
    _apply(top, mode, mode.folder, top.lstat())
    stack = [os.fspath(top)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    _apply(entry.path, mode, mode.folder, st)
                    stack.append(entry.path)
                elif stat.S_ISREG(st.st_mode):
                    _apply(entry.path, mode, mode.file, st)


class SharedPartial:
    """Wraps a download's progress callback so its partial file gets the shared mode.

    The download creates the file (under this user's umask) when the first bytes
    arrive; this gives it the shared cache's mode then, and again every 8 MiB (a
    restart may create it anew), so if the pull is killed, another member of the
    group can resume it. Nothing happens in a private cache.
    """

    EVERY = 8 << 20

    def __init__(self, part: Path, callback: Callable[[int, int | None, int], None]) -> None:
        self.part = part
        self.callback = callback
        self.shared = share_mode() is not None
        self.due = 0

    def __call__(self, n: int, total: int | None = None, initial: int = 0) -> None:
        if self.shared:
            self.due -= n
            if self.due < 0:
                share_file(self.part)
                self.due = self.EVERY
        self.callback(n, total, initial)


def claim_partials(folder: Path) -> None:
    """Make partial downloads another user left in ``folder`` writable by this one.

    A partial file we may not append to (left by an older kagman, or before the
    cache was shared) is copied to a file of our own, keeping its bytes so the
    download still resumes; one we may not even read is removed (with its
    record), so the download starts over instead of failing.
    """
    if share_mode() is None or not folder.is_dir():
        return
    for path in folder.iterdir():
        if not path.is_file() or path.is_symlink() or os.access(path, os.W_OK):
            continue
        tmp = path.with_name(f".{path.name}.claim-{os.getpid()}")
        try:
            shutil.copyfile(path, tmp)
            share_file(tmp)
            tmp.replace(path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            for stale in (path, path.with_name(path.name + ".json")):
                with contextlib.suppress(OSError):
                    stale.unlink()


def not_writable(path: Path, err: OSError) -> CacheNotWritableError:
    """The error for a cache this user may read but not write."""
    root = cache_dir()
    msg = (
        f"kagman cannot write to the cache {root} ({err.strerror or err} at {path}). Cached "
        "entries can still be read. To download, ask the cache's owner for group write access "
        "(see `kagman doctor`), or set KAGMAN_CACHE to a folder of your own."
    )
    return CacheNotWritableError(msg, path=path)


@dataclass(frozen=True)
class CacheAccess:
    """Who may do what with the cache root (for ``kagman doctor``)."""

    shared: bool  # group-writable root: new entries are group-writable
    writable: bool  # this user may create entries
    group: str | None  # the root's group name
    owner: str | None  # the root's owner name


def cache_access(root: Path | None = None) -> CacheAccess:
    """Whether the cache is shared and this user may write it; nothing is created."""
    root = cache_dir() if root is None else root
    probe = root
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent  # not created yet: whether we could create it
    try:
        st = probe.stat()
    except OSError:
        return CacheAccess(False, False, None, None)
    writable = os.access(probe, os.W_OK | os.X_OK)
    group = owner = None
    with contextlib.suppress(ImportError, KeyError):
        import grp
        import pwd

        group = grp.getgrgid(st.st_gid).gr_name
        owner = pwd.getpwuid(st.st_uid).pw_name
    shared = probe == root and share_mode(root) is not None
    return CacheAccess(shared, writable, group, owner)
