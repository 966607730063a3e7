"""List image files fast, and record everything skipped with a reason.

The walk uses ``os.scandir`` and the ``DirEntry`` type bits only: no per-file
``stat``, no ``pathlib``. Directories (few) are ``stat``-ed once each, to detect
symlink loops. Every skipped entry becomes a :class:`Problem`. Entries are
returned in tree order: sorted by name at each level. Clutter is recognised by
:mod:`kagman.archive.junk` (the rules extraction uses); every other hidden name
is skipped here as ``hidden``.
"""

# Paths stay plain str with os.path here on purpose: pathlib in the listing loop
# costs more than the listing itself.
# ruff: noqa: PTH116, PTH118
from __future__ import annotations

import bisect
import errno
import itertools
import operator
import os
from collections.abc import Callable
from typing import NamedTuple

from kagman.archive.junk import junk_reason
from kagman.fs import counted
from kagman.images.formats import IMAGE_EXTENSIONS

__all__ = [
    "NOTHING_SKIPPED",
    "Node",
    "Problem",
    "Walker",
    "merge_tree",
    "skip_reason",
    "skipped_entries",
]


NOTHING_SKIPPED = "Problems: none; nothing was skipped."


def skipped_entries(n: int, folders: int = 0) -> str:
    """How many files and folders an index skipped, in words (its ``problems`` rows, of
    which ``folders`` are folders), by kind.

    >>> skipped_entries(1), skipped_entries(90), skipped_entries(2, 2), skipped_entries(9, 1)
    ('1 file', '90 files', '2 folders', '8 files and 1 folder')
    """
    if not folders:
        return counted(n, "file")
    if folders == n:
        return counted(n, "folder")
    return f"{counted(n - folders, 'file')} and {counted(folders, 'folder')}"


class Problem(NamedTuple):
    """A skipped file or folder: one row of ``ImageIndex.problems``."""

    path: str  # absolute
    split: str  # "" when outside any split
    reason: str  # "macos-junk", "no-label", "truncated", ...
    detail: str  # the reason in words
    folder: bool = False  # a folder (skipped whole), not a file


# Every upper/lower-case spelling of every extension: a set lookup without .lower().
_EXT_SPELLINGS = frozenset(
    "".join(chars)
    for ext in IMAGE_EXTENSIONS
    for chars in itertools.product(*({c.lower(), c.upper()} for c in ext))
)
_DOT_EXT3 = frozenset(f".{e}" for e in _EXT_SPELLINGS if len(e) == 3)
_DOT_EXT4 = frozenset(f".{e}" for e in _EXT_SPELLINGS if len(e) == 4)


def skip_reason(name: str) -> str:
    """Why the index skips a file or folder name (clutter, or any hidden name), or ``""``.

    >>> names = ("._a.jpg", "__MACOSX", ".ipynb_checkpoints", ".DS_Store", ".git", "a.jpg")
    >>> [skip_reason(n) for n in names]
    ['macos-junk', 'macos-junk', 'notebook-checkpoint', 'macos-junk', 'hidden', '']
    """
    reason = junk_reason(name)
    if reason:
        return reason
    return "hidden" if name.startswith(".") else ""


class Node:
    """One listed folder: its images, its sub-folders (junk left out) and counts.

    ``total`` counts the images of the whole subtree; the layout detector
    removes duplicate copies and mask folders from ``dirs`` and keeps it in step.
    """

    __slots__ = ("dirs", "images", "mask_hint", "name", "others", "path", "total")

    def __init__(
        self, name: str, path: str, images: list[str], others: int, *, mask_hint: bool = False
    ) -> None:
        self.name = name
        self.path = path
        self.images = images  # absolute paths, sorted by name
        self.dirs: list[Node] = []  # sorted by name
        self.others = others  # files that are neither images nor junk
        self.total = len(images)
        self.mask_hint = mask_hint  # some file names may end in _mask (cheap, from the walk)

    def __repr__(self) -> str:
        images, folders = counted(len(self.images), "image"), counted(len(self.dirs), "folder")
        return f"Node({self.path!r}, {images}, {folders})"

    def flat(self) -> list[str]:
        """Every image of the subtree, in tree order."""
        if not self.dirs:
            return self.images
        return merge_tree(self.path, self.images, [(d.name, d.flat()) for d in self.dirs])

    def drop(self, child: Node) -> None:
        """Take a sub-folder out of the tree (a duplicate copy, a mask folder).

        The totals of the folders above go stale: call :meth:`recount` on the root.
        """
        self.dirs.remove(child)
        self.total -= child.total

    def recount(self) -> int:
        """Recompute ``total`` for this subtree; returns it."""
        self.total = len(self.images) + sum(d.recount() for d in self.dirs)
        return self.total


class Walker:
    """Lists image files under folders, recording everything it skips."""

    def __init__(
        self,
        *,
        follow_symlinks: bool = True,
        when_many: tuple[int, Callable[[], object]] | None = None,
    ) -> None:
        self.follow_symlinks = follow_symlinks
        #: ``(n, call)``: ``call()`` once, when the walk has seen ``n`` images (work that
        #: pays only for big trees starts while the walk goes on).
        self.when_many = when_many
        self.images_seen = 0
        self.problems: list[Problem] = []
        self._seen: set[tuple[int, int]] = set()
        self.ancestors: list[tuple[int, int]] = []
        #: Whether the folder scanned last has names that may end in ``_mask`` (see pairs).
        self.mask_hint = False

    def problem(
        self, path: str, split: str, reason: str, detail: str, *, folder: bool = False
    ) -> None:
        """Record one skipped entry (``folder``: a folder, skipped whole)."""
        self.problems.append(Problem(path, split, reason, detail, folder))

    def enter(self, path: str, split: str) -> tuple[int, int] | None:
        """Register a folder before listing it; ``None`` if it was reached before (a loop)."""
        try:
            st = os.stat(path)
        except OSError as err:
            self.problem(path, split, "unreadable-folder", err.strerror or str(err), folder=True)
            return None
        key = (st.st_dev, st.st_ino)
        if key in self.ancestors:
            detail = "links back to a folder that contains it"
            self.problem(path, split, "symlink-loop", detail, folder=True)
            return None
        if key in self._seen:
            detail = "a link to a folder indexed already"
            self.problem(path, split, "duplicate-folder", detail, folder=True)
            return None
        self._seen.add(key)
        return key

    def push(self, key: tuple[int, int]) -> None:
        """Mark a folder as an ancestor of everything listed from now on."""
        self.ancestors.append(key)

    def scan(self, folder: str, split: str) -> tuple[list[str], list[tuple[str, str]], int]:
        """List one folder: image paths, ``(name, path)`` of sub-folders, count of other files."""
        dirs: list[os.DirEntry[str]] = []
        files: list[str] = []
        odd: list[os.DirEntry[str]] = []
        try:
            it = os.scandir(folder)
        except OSError as err:
            self.problem(folder, split, "unreadable-folder", err.strerror or str(err), folder=True)
            return [], [], 0
        with it:
            if self.follow_symlinks:
                # The hot loop: type bits from the listing itself, no stat per file.
                for entry in it:
                    if entry.is_dir():
                        dirs.append(entry)
                    elif entry.is_file():
                        files.append(entry.path)
                    else:
                        odd.append(entry)
            else:
                for entry in it:
                    if entry.is_symlink():
                        odd.append(entry)
                    elif entry.is_dir():
                        dirs.append(entry)
                    elif entry.is_file():
                        files.append(entry.path)
                    else:
                        odd.append(entry)
        prefix = os.path.join(folder, "")
        cut = len(prefix)
        files.sort()  # tree order; and it lets _all_images find hidden names by bisection
        endings = set(map(_last5, files))
        # "k.png" may end "_mask.png" (or "_masks.png"); ".jpeg" hides the stem: look closer.
        self.mask_hint = any(e[0] in "kKsS." for e in endings)
        if _all_images(files, prefix, endings):
            images = files
        else:
            exts = _EXT_SPELLINGS
            images = [p for p in files if p[cut] != "." and p[p.rfind(".") + 1 :] in exts]
        self.images_seen += len(images)
        if self.when_many is not None and self.images_seen >= self.when_many[0]:
            call, self.when_many = self.when_many[1], None
            call()
        others = 0
        if len(images) != len(files):
            keep = set(images)
            for path in files:
                if path not in keep:
                    others += self._skip_file(path, path[cut:], split)
        subdirs: list[tuple[str, str]] = []
        for entry in dirs:
            reason = skip_reason(entry.name)
            if reason:
                self.problem(entry.path, split, reason, "folder, not searched", folder=True)
            else:
                subdirs.append((entry.name, entry.path))
        for entry in odd:
            others += self._skip_odd(entry, split)
        return images, subdirs, others

    def _skip_file(self, path: str, name: str, split: str) -> int:
        """Record a regular file that is not an image; 1 if it counts as another file."""
        reason = skip_reason(name)
        if reason:
            self.problem(path, split, reason, "file")
            return 0
        ext = name.rpartition(".")[2].lower() if "." in name else ""
        detail = f"extension .{ext} is not an image format" if ext else "no file extension"
        self.problem(path, split, "other-file", detail)
        return 1

    def _skip_odd(self, entry: os.DirEntry[str], split: str) -> int:
        """Record a symlink that is not followed, a broken link, or a special file."""
        reason = skip_reason(entry.name)
        if reason:
            self.problem(entry.path, split, reason, "file")
            return 0
        if entry.is_symlink():
            try:
                os.stat(entry.path)
            except OSError as err:
                loop = err.errno == errno.ELOOP
                reason = "symlink-loop" if loop else "broken-symlink"
                self.problem(entry.path, split, reason, err.strerror or str(err))
                return 1
            if not self.follow_symlinks:
                self.problem(entry.path, split, "symlink", "not followed (follow_symlinks=False)")
                return 1
        self.problem(entry.path, split, "other-file", "not a regular file or folder")
        return 1

    def tree(self, folder: str, name: str) -> Node | None:
        """List ``folder`` and everything below it; ``None`` if it cannot be entered."""
        key = self.enter(folder, "")
        if key is None:
            return None
        self.ancestors.append(key)
        try:
            images, dirs, others = self.scan(folder, "")
            node = Node(name, folder, images, others, mask_hint=self.mask_hint)
            for child_name, child_path in sorted(dirs):
                child = self.tree(child_path, child_name)
                if child is not None:
                    node.dirs.append(child)
                    node.total += child.total
            return node
        finally:
            self.ancestors.pop()


_last5 = operator.itemgetter(slice(-5, None))


def _all_images(files: list[str], prefix: str, endings: set[str]) -> bool:
    """Whether every path of a sorted listing has an image extension and no hidden name.

    Tested without Python bytecode per file, the common case (a folder of ``.jpg``
    files): the distinct 5-character endings are few, and hidden names, all
    starting with ``<prefix>.``, sit together where bisection finds them.
    """
    if not all(e[1:] in _DOT_EXT3 or e in _DOT_EXT4 for e in endings):
        return False
    i = bisect.bisect_left(files, prefix + ".")
    return i == len(files) or not files[i].startswith(prefix + ".")


def merge_tree(folder: str, files: list[str], groups: list[tuple[str, list[str]]]) -> list[str]:
    """Interleave a folder's files and sub-folder listings in name order."""
    cut = len(folder) + 1
    items: list[tuple[str, list[str]]] = [(p[cut:], [p]) for p in files]
    items.extend(groups)
    items.sort(key=lambda item: item[0])
    out: list[str] = []
    for _, paths in items:
        out.extend(paths)
    return out
