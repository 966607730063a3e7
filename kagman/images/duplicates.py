"""Copies of a tree inside itself, found from names and sizes, never by reading a file.

The most downloaded chest X-ray dataset ships its split folders twice::

    chest_xray/
    |-- train/ test/ val/          <- indexed
    `-- chest_xray/                <- the same folders again: a duplicate tree, skipped
        `-- train/ test/ val/

A folder (seen through single-child wrappers) is a copy when every image in it has
a twin at the same relative path beside it, outside the copy, with the same size.
The decision is by content, never by the folder's name. It costs nothing for
trees without a candidate: the image counts and folder names from the walk rule
out almost every folder, and only a candidate's files are ``stat``-ed (sizes), two
per image. File contents are never read.
"""

# Paths stay plain str with os.path here, like the listing they come from.
# ruff: noqa: PTH116, PTH118
from __future__ import annotations

import bisect
import os
from typing import NamedTuple

from kagman.images.listing import Node

__all__ = ["Duplicate", "drop_duplicates"]


class Duplicate(NamedTuple):
    """A folder skipped because it copies part of the tree beside it."""

    copy: str  # the skipped folder (absolute path)
    inner: str  # the folder inside it (after wrappers) that matches the original
    original: str  # the folder whose other contents it copies
    images: int  # images in the copy
    copied: tuple[str, ...]  # names of the folders (and "images") it copies, sorted


def drop_duplicates(root: Node) -> list[Duplicate]:
    """Remove every duplicate copy from the tree; return them in path order.

    Bottom-up, so that a copy holding a copy of its own is recognised once the
    inner one is gone. Keeps every folder's ``total`` up to date.
    """
    found: list[Duplicate] = []
    _drop_below(root, found)
    return sorted(found)


def _drop_below(node: Node, found: list[Duplicate]) -> None:
    for child in node.dirs:
        _drop_below(child, found)
    node.total = len(node.images) + sum(d.total for d in node.dirs)
    if not node.dirs or (len(node.dirs) == 1 and not node.images):
        return
    for child in list(node.dirs):
        inner = _matching_copy(node, child)
        if inner is not None:
            node.drop(child)
            copied = tuple(d.name for d in inner.dirs if d.total)
            copied += ("the images beside it",) if inner.images else ()
            found.append(Duplicate(child.path, inner.path, node.path, child.total, copied))


def _matching_copy(parent: Node, child: Node) -> Node | None:
    """``child`` or a wrapper-chain folder in it that copies the rest of ``parent``."""
    rest = {d.name: d for d in parent.dirs if d is not child}
    inner: Node | None = child
    while inner is not None and inner.total:
        if inner.total <= parent.total - child.total and _same_tree(inner, parent, rest):
            return inner
        inner = inner.dirs[0] if not inner.images and len(inner.dirs) == 1 else None
    return None


def _same_tree(copy: Node, original: Node, original_dirs: dict[str, Node]) -> bool:
    """Whether every image under ``copy`` has a twin under ``original`` (names, then sizes)."""
    pairs: list[tuple[str, str]] = []
    todo = [(copy, original, original_dirs)]
    while todo:
        mine, theirs, their_dirs = todo.pop()
        mine_cut = len(mine.path) + 1
        prefix = os.path.join(theirs.path, "")
        for path in mine.images:  # both lists are sorted: bisect, no dict of the original
            twin = prefix + path[mine_cut:]
            i = bisect.bisect_left(theirs.images, twin)
            if i == len(theirs.images) or theirs.images[i] != twin:
                return False
            pairs.append((path, twin))
        for sub in mine.dirs:
            if not sub.total:
                continue  # nothing in it to count twice
            counterpart = their_dirs.get(sub.name)
            if counterpart is None or counterpart.total < sub.total:
                return False
            todo.append((sub, counterpart, {d.name: d for d in counterpart.dirs}))
    if not pairs:
        return False
    # Names agree; only now is anything stat-ed.
    try:
        return all(os.stat(a).st_size == os.stat(b).st_size for a, b in pairs)
    except OSError:
        return False
