"""Where credentials go: the config folder and the files in it, checked before any write.

The folder is created 0700 when missing. An existing one must be a real folder of this
user's; a shared one (sticky or world-writable, like ``/tmp``, or holding other users'
files) is refused untouched, since tightening it would lock the others out. Only a
folder that holds nothing but Kaggle's credentials is tightened to 0700; a private
folder holding other files of yours keeps its mode (the credentials file is 0600
anyway). Files are never written through a symlink.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kagman.errors import UnsafeDestinationError
from kagman.settings import ACCESS_TOKEN_NAMES, CONFIG_DIR_ENV, KAGGLE_JSON

__all__ = ["check_file", "fix_file_mode", "prepare_folder"]


def _mode(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"


def _is_credentials_name(name: str) -> bool:
    """Whether ``name`` is a Kaggle credentials file, its backup, or our temporary copy."""
    names = (KAGGLE_JSON, *ACCESS_TOKEN_NAMES)
    if name in names or name in {f"{n}.bak" for n in names}:
        return True
    # atomic_write_bytes' temporary files: ".<name>.<random>.tmp"
    return name.endswith(".tmp") and any(name.startswith(f".{n}.") for n in names)


def _refuse_shared(folder: Path, why: str) -> UnsafeDestinationError:
    msg = (
        f"{folder} {why}; kagman will not put your key in it, nor change its permissions "
        f"(that would lock the others out). Choose a private folder: set {CONFIG_DIR_ENV} to "
        "a folder only you use (or unset it to use ~/.kaggle), then run `kagman init` again."
    )
    return UnsafeDestinationError(msg, path=folder)


def prepare_folder(folder: Path) -> tuple[bool, list[str], list[str]]:
    """Create ``folder`` 0700 or check it is safe; return (created, permission fixes, warnings).

    Only a folder kagman creates, or one that holds nothing but Kaggle credentials, is
    tightened to 0700. A sticky or world-writable folder (like ``/tmp``), or one holding
    other users' files, is refused untouched; a private folder holding other files of
    yours is left as it is (the credentials file itself is 0600).
    """
    try:
        st = folder.lstat()
    except FileNotFoundError:
        folder.mkdir(mode=0o700, parents=True)
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask
        return True, [], []
    if stat.S_ISLNK(st.st_mode):
        msg = (
            f"{folder} is a symbolic link (to {folder.readlink()}); kagman will not write "
            "your key through it. Replace it with a real folder, or set KAGGLE_CONFIG_DIR to one."
        )
        raise UnsafeDestinationError(msg, path=folder)
    if not stat.S_ISDIR(st.st_mode):
        msg = f"{folder} exists but is not a folder. Move it away, or set KAGGLE_CONFIG_DIR."
        raise UnsafeDestinationError(msg, path=folder)
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    if uid is not None and st.st_uid != uid:
        msg = (
            f"{folder} belongs to another user (uid {st.st_uid}); kagman will not put your key "
            "in it. Set KAGGLE_CONFIG_DIR to a folder you own, or fix its owner."
        )
        raise UnsafeDestinationError(msg, path=folder)
    mode = stat.S_IMODE(st.st_mode)
    if os.name == "nt":  # pragma: no cover - no POSIX modes
        return False, [], []
    if mode & stat.S_ISVTX or mode & stat.S_IWOTH:
        kind = "sticky and " if mode & stat.S_ISVTX else ""
        return_why = f"is shared (mode {mode:04o}: {kind}anyone can create files in it)"
        raise _refuse_shared(folder, return_why)
    others: list[str] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            owner = entry.stat(follow_symlinks=False).st_uid
            if uid is not None and owner != uid:
                raise _refuse_shared(
                    folder, f"holds files of other users ({entry.name!r} belongs to uid {owner})"
                )
            if not _is_credentials_name(entry.name):
                others.append(entry.name)
    if not mode & 0o077:
        return False, [], []
    if others:
        shown = ", ".join(sorted(others)[:3]) + (", ..." if len(others) > 3 else "")
        warning = (
            f"{folder} is {_mode(st)} and holds other files ({shown}), so kagman left its "
            "permissions alone; the credentials file itself is 0600. For a private folder, set "
            f"{CONFIG_DIR_ENV} to one that holds only Kaggle's credentials."
        )
        return False, [], [warning]
    folder.chmod(0o700)
    return False, [f"{folder} was {_mode(st)}, now 0700"], []


def check_file(path: Path) -> os.stat_result | None:
    """lstat the destination file; refuse symlinks and non-files. None if missing."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        msg = (
            f"{path} is a symbolic link (to {path.readlink()}); kagman will not write your "
            "key through it. Remove the link and run `kagman init` again."
        )
        raise UnsafeDestinationError(msg, path=path)
    if not stat.S_ISREG(st.st_mode):
        msg = f"{path} exists but is not a regular file. Remove it and run `kagman init` again."
        raise UnsafeDestinationError(msg, path=path)
    return st


def fix_file_mode(path: Path) -> str | None:
    """Make an existing credentials file 0600; say what changed, if anything."""
    st = check_file(path)
    if st is None or os.name == "nt" or not stat.S_IMODE(st.st_mode) & 0o077:
        return None
    path.chmod(0o600)
    return f"{path} was {_mode(st)}, now 0600"
