"""Find the images under a folder and work out how they are labelled.

Layouts, detected in this order::

    root/                      <- single-child wrappers (root/chest_xray/...) are seen through
    |-- train/ test/ val/ ...  <- split folders (any case; also seg_train, train_images, ...)
    |   |-- <class>/**/*.jpg   <- class folders
    |   `-- *.jpg + labels.csv <- flat images labelled by a CSV (joined on file name or stem)
    `-- *.jpg                  <- no labels anywhere: indexed unlabeled, never given a made-up one

The listing itself lives in :mod:`kagman.images.listing`; this module decides what the
folders mean. Every skipped entry becomes a problem with a reason.
"""

# Paths stay plain str with os.path here on purpose: pathlib in the listing loop
# costs more than the listing itself.
# ruff: noqa: PTH119, PTH120
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kagman.errors import ImageFolderError
from kagman.images.labelcsv import CsvFinder
from kagman.images.listing import Problem, Walker, merge_tree, skip_reason

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SPLIT_ORDER", "Detected", "Part", "detect", "split_name"]


_SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "test": "test",
    "testing": "test",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
}
_FILLER = {"images", "image", "imgs", "img", "set", "data", "dataset", "seg", "split", "files"}
_CONTAINERS = {"images", "image", "imgs", "img", "pictures", "photos", "data", "files", "all"}
SPLIT_ORDER = ("train", "val", "test")


def split_name(folder_name: str) -> str | None:
    """Return the canonical split a folder name stands for, or ``None``.

    >>> [split_name(n) for n in ("TRAIN", "Validation", "seg_test", "train_images", "cats")]
    ['train', 'val', 'test', 'train', None]
    >>> split_name("train_station") is None  # a class name, not a split
    True
    """
    words = [t for t in re.split(r"[\s_.\-]+", folder_name.lower()) if t and t not in _FILLER]
    return _SPLIT_WORDS.get(words[0]) if len(words) == 1 else None


@dataclass
class Part:
    """One split's images and labels (``None`` = unlabeled), in tree order."""

    split: str
    folder: str
    kind: str
    #: Lists of paths, one per class folder, never concatenated here: each pass over
    #: 100,000 path strings costs as much as a good part of the listing itself.
    chunks: list[list[str]] = field(default_factory=list)
    #: (label, count) runs aligned with the concatenated chunks.
    runs: list[tuple[str | None, int]] = field(default_factory=list)
    note: str = ""
    classes: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        """Number of images."""
        return sum(map(len, self.chunks))

    @property
    def paths(self) -> list[str]:
        """All image paths, concatenated (a copy)."""
        return [p for chunk in self.chunks for p in chunk]


@dataclass
class Detected:
    """What :func:`detect` found: parts, problems and a description in words."""

    root: str
    parts: list[Part]
    problems: list[Problem]
    description: list[str]
    unmatched_rows: pd.DataFrame | None = None


def _has_subdir(folder: str) -> bool:
    try:
        with os.scandir(folder) as it:
            return any(not skip_reason(e.name) and e.is_dir() for e in it)
    except OSError:
        return False


def detect(
    source: str,
    *,
    follow_symlinks: bool = True,
    labels: str | None = None,
    path_col: str | None = None,
    label_col: str | None = None,
) -> Detected:
    """Walk ``source`` and split its images into labelled or unlabeled parts."""
    walker = Walker(follow_symlinks=follow_symlinks)
    root = source
    wrappers: list[str] = []
    key = walker.enter(root, "")
    if key is None:
        msg = f"Cannot read the folder {root}. Check its permissions."
        raise ImageFolderError(msg)
    walker.push(key)
    images, dirs, others = walker.scan(root, "")
    # See through wrappers like chest_xray/chest_xray/: one folder and nothing else.
    while (
        not images
        and not others
        and len(dirs) == 1
        and split_name(dirs[0][0]) is None
        and _has_subdir(dirs[0][1])
        and (key := walker.enter(dirs[0][1], "")) is not None
    ):
        wrappers.append(dirs[0][0])
        root = dirs[0][1]
        walker.push(key)
        images, dirs, others = walker.scan(root, "")

    csvs = CsvFinder(source, root, labels, path_col=path_col, label_col=label_col)
    named = [(n, p, split_name(n)) for n, p in sorted(dirs)]
    parts: list[Part] = []
    if any(s for _, _, s in named):
        taken = [s for _, _, s in named if s]
        for name, path, split in named:
            unique = split is not None and taken.count(split) == 1
            part_split = split if unique and split else name.lower()
            depth = len(walker.ancestors)
            parts.append(_part(walker, csvs, path, part_split, name))
            del walker.ancestors[depth:]
        for path in images:
            walker.problem(path, "", "outside-split", "image beside the split folders")
        top = "split folders"
    else:
        split = split_name(os.path.basename(root)) or "train"
        # The root's own entries belong to its one split.
        walker.problems = [
            p._replace(split=split) if p.split == "" and os.path.dirname(p.path) == root else p
            for p in walker.problems
        ]
        parts.append(_part(walker, csvs, root, split, None, listing=(images, dirs)))
        top = f"one folder, indexed as split {split!r}"
    parts.sort(key=lambda p: (_split_rank(p.split), p.split))
    if csvs.explicit and not csvs.used:
        msg = (
            f"The labels file {labels} matched none of the images under {root}. Name its "
            "file-name column with path_col= (--path-col), or check that it belongs to this folder."
        )
        raise ImageFolderError(msg)
    walker.problems.extend(csvs.problems)
    used = set(csvs.used)
    problems = [p for p in walker.problems if p.path not in used]
    seen = ""
    if wrappers:
        plural = "s" if len(wrappers) > 1 else ""
        seen = f" (seen through the wrapper folder{plural} {'/'.join(wrappers)!r})"
    description = [f"{top} in {root}{seen}"]
    description += [f"  {p.split}: {p.note}" for p in parts]
    unmatched = csvs.unmatched_rows()
    if unmatched is not None and len(unmatched):
        description.append(f"  {len(unmatched)} rows of the labels CSV match no image")
    return Detected(root, parts, problems, description, unmatched)


def _is_split_wrapper(child: tuple[str, str], folder: str, split: str) -> bool:
    name = child[0].lower()
    if name in {split, os.path.basename(folder).lower()}:
        return True
    return name in _CONTAINERS and _has_subdir(child[1])


def _split_rank(split: str) -> int:
    return SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER)


def _part(  # noqa: PLR0917 - private helper with one caller
    walker: Walker,
    csvs: CsvFinder,
    folder: str,
    split: str,
    name: str | None,
    listing: tuple[list[str], list[tuple[str, str]]] | None = None,
) -> Part:
    """Index one split folder: class folders, a labels CSV, or unlabeled."""
    where = f"folder {name!r}, " if name is not None and name != split else ""
    if listing is None:
        key = walker.enter(folder, split)
        if key is None:
            return Part(split, folder, "skipped", note=f"{where}skipped (see problems)")
        walker.push(key)
        images, dirs, others = walker.scan(folder, split)
        # seg_train/seg_train/<class>: a lone child named like its parent (or the split)
        # is a wrapper; a lone generic "images" folder is one only if it holds folders.
        while (
            not images
            and not others
            and len(dirs) == 1
            and _is_split_wrapper(dirs[0], folder, split)
            and (key := walker.enter(dirs[0][1], split)) is not None
        ):
            where += f"seen through {dirs[0][0]!r}, "
            folder = dirs[0][1]
            walker.push(key)
            images, dirs, others = walker.scan(folder, split)
    else:
        images, dirs = listing
    groups = [(n, walker.walk(p, split)) for n, p in sorted(dirs)]
    groups = [(n, g) for n, g in groups if g]
    container = len(groups) == 1 and groups[0][0].lower() in _CONTAINERS
    if csvs.explicit or images or container or not groups:
        all_paths = merge_tree(folder, images, groups)
        match = csvs.label(all_paths, split, folder)
        if match is not None:
            labels, note = match
            part = Part(split, folder, "labels csv", note=f"{where}{note}")
            _keep_labelled(walker, part, all_paths, labels, "no row in the labels CSV")
            return part
    if groups and not container:
        part = Part(split, folder, "class folders")
        for cls, paths in groups:
            part.chunks.append(paths)
            part.runs.append((cls, len(paths)))
            part.classes.add(cls)
        for path in images:
            walker.problem(path, split, "no-label", "image beside the class folders, not in one")
        part.note = f"{where}class folders ({len(groups)} classes)"
        return part
    paths = merge_tree(folder, images, groups)
    inside = f" (inside {groups[0][0]!r})" if container else ""
    note = f"{where}flat images{inside}, unlabeled"
    return Part(split, folder, "unlabeled", [paths], [(None, len(paths))], note)


def _keep_labelled(
    walker: Walker, part: Part, paths: list[str], labels: list[str | None], why: str
) -> None:
    """Keep images that got a label; a labelled split never mixes in unlabeled ones."""
    kept: list[str] = []
    for path, label in zip(paths, labels, strict=True):
        if label is None:
            walker.problem(path, part.split, "no-label", why)
        elif label:  # "" marks conflicting rows, already recorded as a problem
            kept.append(path)
            part.runs.append((label, 1))
            part.classes.add(label)
    part.chunks.append(kept)
