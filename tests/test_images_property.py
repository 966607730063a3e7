"""Random trees of class and split folders: no class is a split, no image counted twice.

Hypothesis builds trees with random nesting (split folders inside class folders,
class folders inside split folders, grouping folders above both), junk, loose
files, empty folders, and copies of a folder's tree placed inside itself (the
chest X-ray shape at any depth, under any name). Every image file, identical
bytes everywhere so sizes never tell copies apart by chance, must be indexed
once or be accounted for by a row of ``.problems`` (its own, or a folder's).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_images_helpers import encode

import kagman
from kagman import ImageFolderError
from kagman.images.names import split_name

JPEG = encode("JPEG")
SPLITS = ["train", "test", "val", "valid", "Validation", "dev", "Training", "testing"]
SPLITS += ["seg_train", "train_images", "train-jpg", "TEST", "val2017", "TrainSet"]
CLASSES = ["cat", "dog", "Cat", "NORMAL", "contest", "device", "train_station", "test tube", "10"]
GROUPS = ["data", "images", "v1", "archive", "chest_xray"]
JUNK_DIRS = ["__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"]
IMAGES = ["1.jpg", "2.png", "img_10.jpg", "IMG_3.JPG"]
JUNK_FILES = [".DS_Store", "Thumbs.db", "._1.jpg", "README.md", "labels.txt"]
COPY_NAMES = ["copy", "backup", "chest_xray", "train"]


@dataclass
class Tree:
    files: list[str] = field(default_factory=list)
    dirs: dict[str, Tree] = field(default_factory=dict)


# Split and class names twice as often as grouping folders and junk.
NAMES = st.one_of(
    *[st.sampled_from(SPLITS)] * 2,
    *[st.sampled_from(CLASSES)] * 2,
    st.sampled_from(GROUPS),
    st.sampled_from(JUNK_DIRS),
)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> Tree:
    """Two to three folders at the top, down to depth 3; a folder without sub-folders
    holds at least one image."""
    n_dirs = draw(st.integers(2 if depth == 0 else 0, 3 if depth < 3 else 0))
    names = draw(st.lists(NAMES, min_size=n_dirs, max_size=n_dirs, unique=True))
    dirs = {name: draw(trees(depth + 1)) for name in names}
    files = draw(
        st.lists(st.sampled_from(IMAGES), min_size=0 if dirs else 1, max_size=3, unique=True)
    )
    files += draw(st.lists(st.sampled_from(JUNK_FILES), max_size=1))
    return Tree(sorted(set(files)), dirs)


def materialize(tree: Tree, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in tree.files:
        (folder / name).write_bytes(JPEG if name in IMAGES else b"junk")
    for name, sub in tree.dirs.items():
        materialize(sub, folder / name)


def folders(root: Path) -> list[Path]:
    return sorted(p for p in [root, *root.rglob("*")] if p.is_dir())


def copy_into_itself(folder: Path, name: str) -> Path | None:
    """Put a copy of everything in ``folder`` into ``folder/name``."""
    target = folder / name
    if target.exists():
        return None
    entries = sorted(folder.iterdir())
    target.mkdir()
    for entry in entries:
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name)
        else:
            shutil.copy2(entry, target / entry.name)
    return target


def is_junk(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return any(p.startswith(".") or p in {"__MACOSX", "__pycache__"} for p in parts)


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=trees(),
    copies=st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(COPY_NAMES)), max_size=2),
)
def test_no_class_is_a_split_and_no_image_is_counted_twice(
    tree: Tree, copies: list[tuple[int, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dataset"
        materialize(tree, root)
        made: list[tuple[Path, Path]] = []
        for pick, name in copies:
            candidates = [f for f in folders(root) if not is_junk(f, root)]
            original = candidates[pick % len(candidates)]
            copy = copy_into_itself(original, name)
            if copy is not None:
                made.append((original, copy))
        images = sorted(
            p for p in root.rglob("*") if p.is_file() and p.name in IMAGES and not is_junk(p, root)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # missing classes, case clashes
            if not images:  # only junk: an error that names what was skipped
                with pytest.raises(ImageFolderError, match="No images found"):
                    kagman.index(root, check="none")
                return
            idx = kagman.index(root, check="none")
        paths = idx.paths()
        # No image counted twice: each path once, and never both a copy and its original.
        assert len(paths) == len(set(paths))
        indexed = set(paths)
        for original, copy in made:
            for path in indexed:
                if path.startswith(str(copy) + os.sep):
                    twin = str(original / Path(path).relative_to(copy))
                    assert twin not in indexed, (path, twin)
        # No class is a split.
        assert all(split_name(c) is None for c in idx.classes), idx.classes
        # Nothing skipped silently: each image is indexed or has a problem row (its own,
        # or a folder's above it).
        rows = [str(p) for p in idx.problems.path]
        for image in images:
            text = str(image)
            assert text in indexed or any(
                text == row or text.startswith(row + os.sep) for row in rows
            ), (text, idx.layout)
        # Labels are consistent with the class list.
        assert all(-1 <= i < len(idx.classes) for i in idx.labels())  # type: ignore[operator]
