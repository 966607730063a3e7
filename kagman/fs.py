"""Small filesystem helpers every writer in kagman shares.

Files land atomically: written to a temporary name in the destination folder,
flushed with ``fsync``, then renamed over the target, so a reader sees either
the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from kagman.errors import DiskFullError, OutputPathError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_chunks",
    "check_output",
    "counted",
    "disk_full_message",
    "ensure_free_space",
    "fsync_dir",
    "human_size",
    "output_error",
    "remove_tree",
    "write_output",
]


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries so a rename inside it survives a crash."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on dirs
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically, created with ``mode`` from the start.

    The temporary file is opened with ``O_CREAT | O_EXCL`` and ``mode``, so a
    secret written with ``mode=0o600`` is never readable by others, not even
    for an instant. On any failure the temporary file is removed.

    Raises
    ------
    DiskFullError
        When the disk fills up while writing.
    OSError
        Any other failure, naming ``path`` (not the temporary file).
    """
    atomic_write_chunks(path, (data,), mode=mode)


def write_output(path: Path, data: bytes) -> None:
    """:func:`atomic_write_bytes` of a file the user named (``out=``, ``to_csv``, ``--csv``).

    Raises
    ------
    OutputPathError
        The file cannot be written there (:func:`output_error` says why and what to do).
    DiskFullError
        When the disk fills up while writing.
    """
    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        if isinstance(err, DiskFullError):
            raise
        raise output_error(err, path) from err


def check_output(path: Path) -> None:
    """Check that a file the user named (``--csv``, ``--out``) can be written at ``path``,
    before the work that makes its data: its folder exists, is a folder and is writable, and
    ``path`` is not a folder. Creates nothing.

    Raises
    ------
    OutputPathError
        As :func:`write_output` would, with the same message (:func:`output_error`).
    """
    folder = path.parent
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        if not stat.S_ISDIR(folder.stat().st_mode):  # ENOENT, ENOTDIR: as a write would fail
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(folder))
        if not os.access(folder, os.W_OK):
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))
    except OSError as err:
        raise output_error(err, path) from None


def output_error(err: OSError, path: Path, *, what: str | None = None) -> OutputPathError:
    """The error for a file (or link) the user named that could not be written at ``path``;
    ``what`` starts the message (default ``"Cannot write <path>"``).

    >>> err = output_error(OSError(errno.ENOENT, "No such file"), Path("/no/such/a.png"))
    >>> str(err).split(". ")[0]
    'Cannot write /no/such/a.png: the folder /no/such does not exist'
    """
    folder = path.parent
    if path.is_dir():
        why = f"{path} is a folder. Name a file in it"
    elif err.errno == errno.ENOTDIR or (folder.exists() and not folder.is_dir()):
        above = next((p for p in (folder, *folder.parents) if p.is_file()), folder)
        why = f"{above} is a file, not a folder. Choose another path"
    elif err.errno == errno.ENOENT:
        why = f"the folder {folder} does not exist. Create it (mkdir -p {folder})"
        why += " or choose another path"
    elif err.errno in (errno.EACCES, errno.EPERM):
        why = f"you may not write in {folder} (permission denied). Choose a folder you can write"
    elif err.errno == errno.EROFS:
        why = f"{folder} is on a read-only filesystem. Choose a folder you can write"
    else:
        why = f"{err.strerror or err}. Check the path or choose another one"
    return OutputPathError(f"{what or f'Cannot write {path}'}: {why}.", path=path)


def atomic_write_chunks(path: Path, chunks: Iterable[bytes], *, mode: int = 0o644) -> None:
    """:func:`atomic_write_bytes` of the concatenation of ``chunks``, never held whole.

    For big files made piece by piece (a 300,000-file manifest is ~30 MB of JSON).
    If making a chunk raises, the temporary file is removed and ``path`` is untouched.

    Raises
    ------
    DiskFullError
        When the disk fills up while writing.
    """
    folder = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as err:  # name the file being written, not a random temporary name
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            msg = f"The disk is full: could not write {path}. Free some space and try again."
            raise DiskFullError(msg, path=path) from err
        raise type(err)(err.errno, err.strerror, os.fspath(path)) from err
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600; widen only if asked
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if not isinstance(err, OSError):
            raise
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            msg = f"The disk is full: could not write {path}. Free some space and try again."
            raise DiskFullError(msg, path=path) from err
        raise type(err)(err.errno, err.strerror, os.fspath(path)) from err
    fsync_dir(folder)


def ensure_free_space(folder: Path, needed: int, *, what: str) -> None:
    """Raise :class:`DiskFullError` unless ``folder``'s filesystem has ``needed`` bytes free."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        msg = disk_full_message(what, needed, free, folder)
        raise DiskFullError(msg, path=folder, needed=needed, free=free)


def disk_full_message(what: str, needed: int, free: int, folder: Path) -> str:
    """The words of :func:`ensure_free_space`'s error (``what``: "the download of train.csv")."""
    return (
        f"Not enough disk space for {what}: need {human_size(needed)}, only "
        f"{human_size(free)} free in {folder}. Free some space or set KAGMAN_CACHE to a "
        "bigger disk."
    )


def remove_tree(path: Path) -> None:
    """Remove a file or folder tree if it exists; never follows a symlink, never recurses.

    ``shutil.rmtree`` recurses once per level (Python < 3.12) and raises
    ``RecursionError`` on a tree a hostile archive made thousands of levels deep;
    this walks with an explicit stack, so any depth works. Errors on single
    entries are ignored (the caller checks what is left when it matters).
    """
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    stack: list[tuple[str, bool]] = [(os.fspath(path), False)]
    while stack:
        folder, listed = stack.pop()
        if listed:
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # noqa: PTH106 - str paths from scandir, no Path per entry
            continue
        stack.append((folder, True))
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, False))
                    else:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)  # noqa: PTH108 - as above
        except OSError:
            continue


def human_size(n: int) -> str:
    """Format a byte count for people.

    >>> human_size(1536)
    '1.5 KiB'
    >>> human_size(10)
    '10 B'
    """
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError  # pragma: no cover


def counted(n: float, noun: str, plural: str | None = None) -> str:
    """``n`` and its noun, singular or plural, with thousands separators: the one way counts
    are written in messages (a float, such as minutes, without trailing zeros).

    >>> counted(1, "file"), counted(80000, "file"), counted(2, "entry", "entries")
    ('1 file', '80,000 files', '2 entries')
    >>> counted(1.0, "minute"), counted(0.5, "minute"), counted(0, "image is", "images are")
    ('1 minute', '0.5 minutes', '0 images are')
    """
    number = f"{n:,}" if isinstance(n, int) else f"{n:,g}"
    return f"{number} {noun if n == 1 else plural or noun + 's'}"
