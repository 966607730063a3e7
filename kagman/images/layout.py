"""Find the images under a folder and work out what the folders mean.

The whole tree is listed first (:mod:`kagman.images.listing`), then decided on::

    root/                        <- single-child wrappers (root/chest_xray/...) are seen through
    |-- chest_xray/              <- a copy of the tree beside it: skipped (duplicates)
    |-- masks/ , x_mask.png      <- masks, paired with their images (pairs)
    |-- train/ test/ val/ ...    <- split folders at any depth (seg_train, train-jpg, Training)
    |   |-- <class>/**/*.jpg     <- class folders (never named like a split)
    |   `-- *.jpg + labels.csv   <- flat images labelled by a CSV beside them (labelcsv)
    |-- cats/{train,test}/*.jpg  <- class folders above split folders
    `-- *.jpg                    <- no labels anywhere: indexed unlabeled, never given a made-up one

A folder named like a split is a split wherever it sits; folders above split
folders are seen through. Every skipped entry becomes a problem with a reason,
and every decision becomes a line of the description.
"""

# Paths stay plain str with os.path here on purpose: pathlib in the listing loop
# costs more than the listing itself.
# ruff: noqa: PTH118, PTH119, PTH120
from __future__ import annotations

import os

from kagman.errors import ImageFolderError
from kagman.fs import counted
from kagman.images.duplicates import drop_duplicates
from kagman.images.labelcsv import CsvFinder, refused
from kagman.images.listing import Node, Problem, Walker, merge_tree
from kagman.images.names import CONTAINERS, SPLIT_ORDER, split_name
from kagman.images.pairs import find_masks
from kagman.images.parts import Detected, Label, Part

__all__ = ["SPLIT_ORDER", "detect", "split_rank"]


def split_rank(split: str) -> tuple[int, str]:
    """Sort key of split names: train, val, test, then the others alphabetically."""
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


def detect(
    source: str,
    *,
    follow_symlinks: bool = True,
    labels: str | None = None,
    path_col: str | None = None,
    label_col: str | None = None,
    label_sep: str | None = None,
    walker: Walker | None = None,
) -> Detected:
    """Walk ``source`` and split its images into labelled or unlabeled parts.

    ``walker``: the :class:`Walker` to list with (default: a new one following symlinks
    as ``follow_symlinks`` says).
    """
    walker = walker or Walker(follow_symlinks=follow_symlinks)
    tree = walker.tree(source, os.path.basename(source))
    if tree is None:
        msg = f"Cannot read the folder {source}. Check its permissions."
        raise ImageFolderError(msg)
    duplicates = drop_duplicates(tree)
    masks = find_masks(tree)
    node = tree
    wrappers: list[str] = []
    # See through wrappers like chest_xray/chest_xray/: one folder and nothing else.
    while (
        not node.images
        and not node.others
        and len(node.dirs) == 1
        and split_name(node.dirs[0].name) is None
        and node.dirs[0].dirs
    ):
        node = node.dirs[0]
        wrappers.append(node.name)
    root = node.path
    csvs = CsvFinder(
        source, root, labels, path_col=path_col, label_col=label_col, label_sep=label_sep
    )
    layout = _Layout(walker, csvs, root)
    layout.report_empty(node)
    if split_name(node.name) is None and layout.holds_splits(node):
        layout.visit(node)
        layout.place_extras()
        top = "split folders"
    else:
        own_split = split_name(node.name) or "train"
        layout.unit(node, own_split)
        top = f"one folder, indexed as split {own_split!r}"
    if csvs.explicit and not csvs.used:
        raise refused(
            lambda name: (
                f"The labels file {labels} matched none of the images under {root}. "
                f"Name its file-name column with {name('path_col=', '--path-col')}, or check that "
                "it belongs to this folder."
            )
        )
    csvs.check_given_columns()

    problems = layout.problems_with_splits(walker.problems + csvs.problems)
    for dup in duplicates:
        inside = os.path.join(dup.copy, "")
        problems = [p for p in problems if not p.path.startswith(inside)]
        detail = (
            f"a copy of {_names(dup.copied)} beside it ({counted(dup.images, 'image')}, same "
            "relative paths and sizes); each image is indexed once, from the original"
        )
        problems.append(Problem(dup.copy, "", "duplicate-tree", detail, folder=True))
    problems += [Problem(m, layout.split_of(m), "orphan-mask", why) for m, why in masks.orphans]
    problems += [
        Problem(m, layout.split_of(m), "extra-mask", f"a second mask for {os.path.basename(i)}")
        for m, i in masks.extras
    ]
    used = set(csvs.used)
    problems = [p for p in problems if p.path not in used]

    seen = ""
    if wrappers:
        plural = "s" if len(wrappers) > 1 else ""
        seen = f" (seen through the wrapper folder{plural} {'/'.join(wrappers)!r})"
    description = [f"{top} in {root}{seen}"]
    description += [line for _, line in sorted(layout.lines, key=lambda x: split_rank(x[0]))]
    description += [f"  {note}" for note in layout.notes]
    for dup in duplicates:
        description.append(
            f"  {layout.shown(dup.copy, source)!r} is a copy of {_names(dup.copied)} beside it "
            f"({counted(dup.images, 'image')}, same names and sizes): skipped as duplicate-tree"
        )
    description += [f"  {note}" for note in masks.notes]
    unmatched = csvs.unmatched_rows()
    if unmatched is not None and len(unmatched):
        rows = counted(len(unmatched), "row")
        description.append(
            f"  {rows} of the labels CSV match{'es' if len(unmatched) == 1 else ''} no image"
        )
    parts = sorted(layout.parts.values(), key=lambda p: split_rank(p.split))
    return Detected(root, parts, problems, description, unmatched, masks.pairs)


class _Layout:
    """The decisions about one tree: which folders are splits, classes, CSV-labelled."""

    def __init__(self, walker: Walker, csvs: CsvFinder, root: str) -> None:
        self.walker = walker
        self.csvs = csvs
        self.root = root
        self.parts: dict[str, Part] = {}
        self.lines: list[tuple[str, str]] = []  # (split, line) per indexed folder
        self.notes: list[str] = []
        self.folder_split: dict[str, str] = {}
        self.extras: list[Node] = []  # folders beside split folders, decided last
        self._holds: dict[str, bool] = {}

    def rel(self, path: str) -> str:
        """``path`` relative to the root, with ``/``."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def shown(self, path: str, source: str) -> str:
        """``path`` relative to the root, or to ``source`` when it lies above the root."""
        inside = path.startswith(os.path.join(self.root, ""))
        return os.path.relpath(path, self.root if inside else source).replace(os.sep, "/")

    def part(self, split: str) -> Part:
        """The part of a split, created on first use."""
        return self.parts.setdefault(split, Part(split))

    def holds_splits(self, node: Node) -> bool:
        """Whether a folder below ``node`` is named like a split."""
        known = self._holds.get(node.path)
        if known is None:
            known = any(
                d.total and (split_name(d.name) is not None or self.holds_splits(d))
                for d in node.dirs
            )
            self._holds[node.path] = known
        return known

    def report_empty(self, node: Node) -> None:
        """Every folder without images below it is a problem row, never silently dropped."""
        for d in node.dirs:
            if d.total:
                self.report_empty(d)
                continue
            others = _others(d)
            detail = "no image files in it, so it is neither a class nor a split"
            if others:
                detail += f" ({others} other file{'s' if others > 1 else ''})"
            self.walker.problem(d.path, "", "empty-folder", detail, folder=True)

    def visit(self, node: Node) -> None:
        """A folder with split folders somewhere below it."""
        kids = [d for d in node.dirs if d.total]
        if not any(split_name(d.name) for d in kids) and self._classes_above(node, kids):
            return
        for d in kids:
            split = split_name(d.name)
            if split is not None:
                self.unit(d, split)
            elif self.holds_splits(d):
                self.notes.append(f"{self.rel(d.path)!r} holds split folders: seen through")
                self.visit(d)
            else:  # a split of its own (seg_pred), unless it is named like a class
                self.extras.append(d)
        for path in node.images:
            self.walker.problem(path, "", "outside-split", "image beside the split folders")

    def place_extras(self) -> None:
        """Folders beside the split folders: each a split of its own (``seg_pred``), but
        one named like a class of the splits (``cat/`` beside ``train/cat/``) is in no split.
        """
        classes = {c.casefold() for p in self.parts.values() for c in p.classes}
        for d in self.extras:
            if d.name.casefold() in classes:
                detail = (
                    f"a folder named like the class {d.name!r} beside the split folders, so in "
                    f"no split ({counted(d.total, 'image')}); move it into a split folder to use it"
                )
                self.walker.problem(d.path, "", "outside-split", detail, folder=True)
            else:
                self.unit(d, d.name.lower())

    def _classes_above(self, node: Node, kids: list[Node]) -> bool:
        """``cats/{train,test}``, ``dogs/{train,test}``: class folders above split folders.

        Only when two or more folders hold nothing but flat split folders, and the
        same splits each; otherwise the folders above are seen through, never classes.
        """
        if node.images or len(kids) < 2:
            return False
        split_sets = []
        for d in kids:
            inner = [s for s in d.dirs if s.total]
            if d.images or d.name.lower() in CONTAINERS or not inner:
                return False
            if not all(split_name(s.name) and _flat_split(s) for s in inner):
                return False
            split_sets.append({split_name(s.name) for s in inner})
        if any(s != split_sets[0] for s in split_sets):
            return False
        names = ", ".join(repr(d.name) for d in kids)
        where = f" in {self.rel(node.path)!r}" if node.path != self.root else ""
        self.notes.append(
            f"{names}{where} are class folders above the split folders "
            f"({', '.join(sorted(str(s) for s in split_sets[0]))})"
        )
        for d in kids:
            for s in d.dirs:
                split = split_name(s.name)
                if s.total and split is not None:
                    self.unit(s, split, label=d.name)
        return True

    def unit(self, node: Node, split: str, label: str | None = None) -> None:
        """Index one split folder: class folders, a labels CSV, or unlabeled."""
        self.folder_split[node.path] = split
        rel = self.rel(node.path) if node.path != self.root else ""
        where = f"folder {rel!r}, " if rel and rel != split else ""
        # seg_train/seg_train/<class>: a lone child named like its parent (or the split)
        # is a wrapper; a lone generic "images" folder is one only if it holds folders.
        while (
            not node.images and len(node.dirs) == 1 and _is_split_wrapper(node.dirs[0], node, split)
        ):
            where += f"seen through {node.dirs[0].name!r}, "
            node = node.dirs[0]
            self.folder_split[node.path] = split
        nested = [d for d in node.dirs if d.total and split_name(d.name) is not None]
        kids = [d for d in node.dirs if d.total and split_name(d.name) is None]
        deferred: list[tuple[Node, str, str]] = []
        groups = [(d.name, _flat(d, split, deferred)) for d in kids]
        groups = [(n, g) for n, g in groups if g]
        container = len(groups) == 1 and groups[0][0].lower() in CONTAINERS
        part = self.part(split)
        class_mode = False
        note = ""
        if label is not None:
            part.add(merge_tree(node.path, node.images, groups), label)
            note = f"labelled {label!r} by the class folder above"
        else:
            match = None
            if self.csvs.explicit or node.images or container or not groups:
                paths = merge_tree(node.path, node.images, groups)
                match = self.csvs.label(paths, split, node.path)
            if match is not None:
                labels, note = match
                self._keep_labelled(part, paths, labels)
            elif groups and not container:
                class_mode = True
                for cls, paths in groups:
                    part.add(paths, cls)
                for path in node.images:
                    self.walker.problem(
                        path, split, "no-label", "image beside the class folders, not in one"
                    )
                note = f"class folders ({counted(len(groups), 'class', 'classes')})"
            else:
                part.add(merge_tree(node.path, node.images, groups), None)
                inside = f" (inside {groups[0][0]!r})" if container else ""
                note = f"flat images{inside}, unlabeled"
        if node.images or groups:
            self.lines.append((split, f"  {split}: {where}{note}"))
        for sub, sub_split, cls in deferred:
            self.unit(sub, sub_split, label=cls if class_mode else label)
        for sub in nested:
            self.unit(sub, split_name(sub.name) or split, label=label)

    def _keep_labelled(self, part: Part, paths: list[str], labels: list[Label]) -> None:
        """Keep images that got a label; a labelled split never mixes in unlabeled ones."""
        kept: list[str] = []
        kept_labels: list[Label] = []
        for path, label in zip(paths, labels, strict=True):
            if label is None:
                self.walker.problem(path, part.split, "no-label", "no row in the labels CSV")
            elif label:  # "" marks conflicting rows, already recorded as a problem
                kept.append(path)
                kept_labels.append(label)
        part.add_each(kept, kept_labels)

    def split_of(self, path: str) -> str:
        """The split of the nearest indexed folder containing ``path``, or ``""``."""
        folder = os.path.dirname(path)
        while True:
            split = self.folder_split.get(folder)
            if split is not None:
                return split
            parent = os.path.dirname(folder)
            if parent == folder or len(folder) < len(self.root):
                return ""
            folder = parent

    def problems_with_splits(self, problems: list[Problem]) -> list[Problem]:
        """Give every problem found while listing the split of the folder it sits in."""
        return [
            p._replace(split=self.split_of(p.path))
            if not p.split and p.reason != "outside-split"
            else p
            for p in problems
        ]


def _flat(
    node: Node, split: str, deferred: list[tuple[Node, str, str]], cls: str = ""
) -> list[str]:
    """The images of a class folder's subtree; folders of another split are set aside."""
    cls = cls or node.name
    groups: list[tuple[str, list[str]]] = []
    for d in node.dirs:
        if not d.total:
            continue
        other = split_name(d.name)
        if other is not None and other != split:
            deferred.append((d, other, cls))
        else:
            groups.append((d.name, _flat(d, split, deferred, cls)))
    return merge_tree(node.path, node.images, groups) if groups else node.images


def _flat_split(node: Node) -> bool:
    """Whether a split folder holds images only (or only further split folders)."""
    return all(split_name(d.name) is not None and _flat_split(d) for d in node.dirs if d.total)


def _is_split_wrapper(child: Node, folder: Node, split: str) -> bool:
    """A lone child named like its folder (or the split) wraps it, whatever files sit
    beside it; a lone generic ``images`` folder does when it holds folders and nothing
    else sits beside it."""
    name = child.name.lower()
    if name in {split, folder.name.lower()}:
        return True
    return name in CONTAINERS and bool(child.dirs) and not folder.others


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(n if n.startswith("the ") else repr(n) for n in names)


def _others(node: Node) -> int:
    return node.others + sum(_others(d) for d in node.dirs)
