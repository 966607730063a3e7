"""Layouts copied from popular Kaggle datasets: no invented classes, nothing counted twice."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_images_helpers import encode, write

import kagman
from kagman import ImageFolderError, ImageIndex
from kagman.cli import cli

JPEG = encode("JPEG")
PNG = encode("PNG")


def rel_rows(idx: ImageIndex, base: Path) -> list[tuple[str, str, int]]:
    """(path relative to base, split, label id) of every indexed image, in order."""
    return [
        (Path(p).relative_to(base).as_posix(), s, i)
        for p, s, i in zip(idx.paths(), idx.df.split.astype(str), idx.labels(), strict=True)
    ]


def problem_rows(idx: ImageIndex, base: Path) -> list[tuple[str, str, str]]:
    return sorted(
        (Path(p).relative_to(base).as_posix(), str(s), str(r))
        for p, s, r in zip(idx.problems.path, idx.problems.split, idx.problems.reason, strict=True)
    )


# --- 1. the chest X-ray dataset: a nested duplicate copy and __MACOSX --------------------

CHEST_SIZES = {"train": (2, 3), "test": (2, 2), "val": (1, 1)}  # (NORMAL, PNEUMONIA)


def build_chest_xray(base: Path, *, copy_name: str = "chest_xray") -> Path:
    """The shape of paultimothymooney/chest-xray-pneumonia, as Kaggle extracts it::

    base/chest_xray/
      __MACOSX/chest_xray/...          Finder's zip junk
      chest_xray/{train,test,val}/...  a second full copy of the tree (+ .DS_Store)
      {train,test,val}/{NORMAL,PNEUMONIA}/*.jpeg
    """
    top = base / "chest_xray"
    for tree in (top, top / copy_name):
        for split, (n_normal, n_pneumonia) in CHEST_SIZES.items():
            for i in range(n_normal):
                write(tree / split / "NORMAL" / f"IM-{i:04d}.jpeg", JPEG)
            for i in range(n_pneumonia):
                write(tree / split / "PNEUMONIA" / f"person{i}_bacteria.jpeg", JPEG)
    write(top / copy_name / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    write(top / copy_name / "train" / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    write(top / "train" / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    write(top / "__MACOSX" / "chest_xray" / "train" / "NORMAL" / "._IM-0000.jpeg", b"\x00\x05")
    return base


def test_chest_xray_nested_copy_is_indexed_once(tmp_path: Path) -> None:
    base = build_chest_xray(tmp_path / "dl")
    idx = kagman.index(base, check="none")
    top = base / "chest_xray"
    assert idx.root == top
    assert idx.classes == ["NORMAL", "PNEUMONIA"]
    assert idx.splits == ["train", "val", "test"]
    assert idx.counts().values.tolist() == [[2, 3, 5], [1, 1, 2], [2, 2, 4]]
    assert rel_rows(idx, top) == [
        ("train/NORMAL/IM-0000.jpeg", "train", 0),
        ("train/NORMAL/IM-0001.jpeg", "train", 0),
        ("train/PNEUMONIA/person0_bacteria.jpeg", "train", 1),
        ("train/PNEUMONIA/person1_bacteria.jpeg", "train", 1),
        ("train/PNEUMONIA/person2_bacteria.jpeg", "train", 1),
        ("val/NORMAL/IM-0000.jpeg", "val", 0),
        ("val/PNEUMONIA/person0_bacteria.jpeg", "val", 1),
        ("test/NORMAL/IM-0000.jpeg", "test", 0),
        ("test/NORMAL/IM-0001.jpeg", "test", 0),
        ("test/PNEUMONIA/person0_bacteria.jpeg", "test", 1),
        ("test/PNEUMONIA/person1_bacteria.jpeg", "test", 1),
    ]
    assert problem_rows(idx, base) == [
        ("chest_xray/__MACOSX", "", "macos-junk"),
        ("chest_xray/chest_xray", "", "duplicate-tree"),
        ("chest_xray/train/.DS_Store", "train", "macos-junk"),
    ]
    detail = idx.problems.set_index("reason").loc["duplicate-tree", "detail"]
    assert detail == (
        "a copy of 'test', 'train', 'val' beside it (11 images, same relative paths and "
        "sizes); each image is indexed once, from the original"
    )
    assert idx.layout.splitlines() == [
        f"split folders in {top} (seen through the wrapper folder 'chest_xray')",
        "  train: class folders (2 classes)",
        "  val: class folders (2 classes)",
        "  test: class folders (2 classes)",
        (
            "  'chest_xray' is a copy of 'test', 'train', 'val' beside it (11 images, same names "
            "and sizes): skipped as duplicate-tree"
        ),
    ]


def test_duplicates_are_decided_by_content_not_by_name(tmp_path: Path) -> None:
    # Any name: a copy called "backup" is a copy too.
    base = build_chest_xray(tmp_path / "renamed", copy_name="backup")
    idx = kagman.index(base, check="none")
    assert len(idx) == 11
    assert ("chest_xray/backup", "", "duplicate-tree") in problem_rows(idx, base)
    # A copy beside the only other folder: the root is that folder, the copy lies above it.
    base = tmp_path / "above"
    write(base / "dataset" / "train" / "cat" / "1.jpg", JPEG)
    write(base / "dataset" / "test" / "cat" / "2.jpg", JPEG)
    write(base / "backup" / "dataset" / "train" / "cat" / "1.jpg", JPEG)
    idx = kagman.index(base, check="none")
    assert idx.root == base / "dataset"
    assert len(idx) == 2
    assert idx.layout.splitlines()[-1] == (
        "  'backup' is a copy of 'dataset' beside it (1 image, same names and sizes): "
        "skipped as duplicate-tree"
    )
    # Same names, one size differs: not a copy. Its split folders are splits (never
    # classes), and the layout says the folder was seen through.
    base = build_chest_xray(tmp_path / "changed")
    write(base / "chest_xray" / "chest_xray" / "val" / "NORMAL" / "IM-0000.jpeg", PNG)
    idx = kagman.index(base, check="none")
    assert idx.classes == ["NORMAL", "PNEUMONIA"]
    assert idx.splits == ["train", "val", "test"]
    assert len(idx) == 22
    assert "  'chest_xray' holds split folders: seen through" in idx.layout.splitlines()
    assert "duplicate-tree" not in set(idx.problems.reason)


def test_duplicate_detection_reads_no_file_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check="none" decides from names and sizes: no image file is ever opened."""
    import builtins
    import os

    base = build_chest_xray(tmp_path / "dl")
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    def spy_os_open(path: object, *args: object, **kwargs: object) -> int:
        opened.append(str(path))
        return real_os_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    idx = kagman.index(base, check="none")
    monkeypatch.undo()
    assert len(idx) == 11
    assert [p for p in opened if p.endswith(".jpeg")] == []


# --- 2. split folders with a suffix, labels CSV beside them --------------------------------


@pytest.mark.parametrize(
    ("train", "test"),
    [
        ("train-jpg", "test-jpg"),
        ("train_images", "test_images"),
        ("Training", "Testing"),
        ("seg_train", "seg_test"),
        ("TrainSet", "TestSet"),
        ("train2017", "val2017"),
    ],
)
def test_split_names_with_prefixes_and_suffixes_are_never_classes(
    tmp_path: Path, train: str, test: str
) -> None:
    base = tmp_path / "ds"
    for folder in (train, test):
        write(base / folder / "cat" / "1.jpg", JPEG)
        write(base / folder / "dog" / "2.jpg", JPEG)
    idx = kagman.index(base, check="none")
    assert idx.classes == ["cat", "dog"]
    assert len(idx.splits) == 2
    assert "train" in idx.splits
    assert idx.labels() == [0, 1, 0, 1]


def test_word_boundaries_keep_class_names_that_contain_split_words(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    for cls in ("contest", "device", "train_station", "test tube", "devices"):
        write(base / cls / "1.jpg", JPEG)
    idx = kagman.index(base, check="none")
    assert idx.splits == ["train"]
    assert idx.classes == ["contest", "device", "devices", "test tube", "train_station"]


def build_csv_beside_splits(base: Path) -> Path:
    """train-jpg/ + test-jpg/ + train_v2.csv (image_name,breed) at the root."""
    for i in range(4):
        write(base / "train-jpg" / f"train_{i}.jpg", JPEG)
    for i in range(3):
        write(base / "test-jpg" / f"test_{i}.jpg", JPEG)
    csv = "image_name,breed\ntrain_0,pug\ntrain_1,beagle\ntrain_2,pug\nghost,pug\n"
    write(base / "train_v2.csv", csv.encode())
    write(base / "sample_submission_v2.csv", b"image_name,breed\ntest_0,pug\n")
    return base


def test_labels_csv_beside_split_folders(tmp_path: Path) -> None:
    base = build_csv_beside_splits(tmp_path / "planet")
    idx = kagman.index(base, check="none")
    assert idx.splits == ["train", "test"]
    assert idx.classes == ["beagle", "pug"]
    assert rel_rows(idx, base) == [
        ("train-jpg/train_0.jpg", "train", 1),
        ("train-jpg/train_1.jpg", "train", 0),
        ("train-jpg/train_2.jpg", "train", 1),
        ("test-jpg/test_0.jpg", "test", -1),
        ("test-jpg/test_1.jpg", "test", -1),
        ("test-jpg/test_2.jpg", "test", -1),
    ]
    assert problem_rows(idx, base) == [
        ("sample_submission_v2.csv", "", "other-file"),
        ("train-jpg/train_3.jpg", "train", "no-label"),
    ]
    assert idx.layout.splitlines()[1:3] == [
        (
            "  train: folder 'train-jpg', images labelled by train_v2.csv (file names from column "
            "'image_name', labels from 'breed'; 2 classes, 1 image without a row)"
        ),
        "  test: folder 'test-jpg', flat images, unlabeled",
    ]


def test_explicit_labels_leave_other_splits_unlabeled_not_dropped(tmp_path: Path) -> None:
    base = build_csv_beside_splits(tmp_path / "planet")
    idx = kagman.index(base, labels=base / "train_v2.csv", check="none")
    assert idx.splits == ["train", "test"]
    assert idx.labels("test") == [-1, -1, -1]
    assert "no-label" not in set(idx.problems[idx.problems.split == "test"].reason)


def test_csv_inside_a_split_folder_labels_that_split(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    for i in range(2):
        write(base / "train" / f"{i}.png", PNG)
        write(base / "valid" / f"v{i}.png", PNG)
    write(base / "train" / "_classes.csv", b"filename,class\n0.png,ant\n1.png,bee\n")
    write(base / "valid" / "_classes.csv", b"filename,class\nv0.png,bee\nv1.png,bee\n")
    with pytest.warns(UserWarning, match=r"Split 'val' has no images of 1 class: 'ant'"):
        idx = kagman.index(base, check="none")
    assert idx.labels("train") == [0, 1]
    assert idx.labels("val") == [1, 1]


def test_split_columns_and_run_length_masks_are_never_labels(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    for i in range(4):
        write(base / "images" / f"{i}.jpg", JPEG)
    write(base / "meta.csv", b"id,Usage\n0,Training\n1,Training\n2,PublicTest\n3,PrivateTest\n")
    idx = kagman.index(base, check="none")
    assert idx.classes == []
    assert idx.labels() == [-1, -1, -1, -1]
    write(base / "meta.csv", b"img,rle_mask\n0.jpg,1 3 10 5\n1.jpg,2 2\n2.jpg,7 1\n3.jpg,1 1\n")
    assert kagman.index(base, check="none").classes == []
    write(base / "meta.csv", b"id,group\n0,train\n1,train\n2,test\n3,valid\n")
    assert kagman.index(base, check="none").classes == []


# --- split folders at any depth -------------------------------------------------------------


def test_split_folders_below_a_grouping_folder(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    write(base / "data" / "train" / "cat" / "1.jpg", JPEG)
    write(base / "data" / "test" / "cat" / "2.jpg", JPEG)
    write(base / "extra" / "3.jpg", JPEG)
    write(base / "README.md", b"# about")
    idx = kagman.index(base, check="none")
    assert idx.classes == ["cat"]
    assert idx.splits == ["train", "test", "extra"]
    assert idx.labels() == [0, 0, -1]
    assert "  'data' holds split folders: seen through" in idx.layout.splitlines()


def test_a_folder_beside_the_splits_named_like_a_class_is_in_no_split(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    for split in ("train", "test"):
        write(base / split / "cat" / "1.jpg", JPEG)
        write(base / split / "dog" / "2.jpg", JPEG)
    write(base / "Cat" / "3.jpg", JPEG)  # which split? nobody knows: never one named 'Cat'
    write(base / "seg_pred" / "4.jpg", JPEG)  # a folder of its own: a split of its own
    idx = kagman.index(base, check="none")
    assert idx.splits == ["train", "test", "seg_pred"]
    assert idx.classes == ["cat", "dog"]
    assert problem_rows(idx, base) == [("Cat", "", "outside-split")]
    assert idx.problems.detail.tolist() == [
        (
            "a folder named like the class 'Cat' beside the split folders, so in no split "
            "(1 image); move it into a split folder to use it"
        )
    ]


def test_class_folders_above_split_folders(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    for cls in ("cats", "dogs"):
        for split in ("train", "test"):
            write(base / cls / split / f"{cls}_{split}.jpg", JPEG)
    idx = kagman.index(base, check="none")
    assert idx.classes == ["cats", "dogs"]
    assert idx.splits == ["train", "test"]
    assert rel_rows(idx, base) == [
        ("cats/train/cats_train.jpg", "train", 0),
        ("dogs/train/dogs_train.jpg", "train", 1),
        ("cats/test/cats_test.jpg", "test", 0),
        ("dogs/test/dogs_test.jpg", "test", 1),
    ]
    assert (
        "  'cats', 'dogs' are class folders above the split folders (test, train)"
        in idx.layout.splitlines()
    )
    # One such folder alone (a dataset's name above its splits) is never a class.
    solo = tmp_path / "solo"
    write(solo / "my-dataset" / "train" / "1.jpg", JPEG)
    write(solo / "my-dataset" / "test" / "2.jpg", JPEG)
    write(solo / "LICENSE.txt", b"CC0")
    assert kagman.index(solo, check="none").classes == []


def test_a_split_folder_inside_a_class_folder_is_a_split(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    write(base / "train" / "cat" / "1.jpg", JPEG)
    write(base / "train" / "cat" / "test" / "2.jpg", JPEG)
    write(base / "train" / "dog" / "3.jpg", JPEG)
    with pytest.warns(UserWarning, match=r"Split 'test' has no images of 1 class: 'dog'"):
        idx = kagman.index(base, check="none")
    assert idx.classes == ["cat", "dog"]
    assert rel_rows(idx, base) == [
        ("train/cat/1.jpg", "train", 0),
        ("train/dog/3.jpg", "train", 1),
        ("train/cat/test/2.jpg", "test", 0),
    ]


# --- 5. nothing skipped silently -------------------------------------------------------------


def test_empty_class_folders_are_problem_rows(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    write(base / "train" / "cat" / "1.jpg", JPEG)
    write(base / "train" / "dog" / "2.jpg", JPEG)
    (base / "train" / "bird").mkdir()
    write(base / "train" / "fish" / "README.md", b"# no fish yet")
    write(base / "train" / "fox" / "empty" / ".keep", b"")
    idx = kagman.index(base, check="none")
    assert idx.classes == ["cat", "dog"]
    assert problem_rows(idx, base) == [
        ("train/bird", "train", "empty-folder"),
        ("train/fish", "train", "empty-folder"),
        ("train/fish/README.md", "train", "other-file"),
        ("train/fox", "train", "empty-folder"),
        ("train/fox/empty/.keep", "train", "hidden"),
    ]
    details = dict(zip(idx.problems.path, idx.problems.detail, strict=True))
    assert details[str(base / "train" / "fish")] == (
        "no image files in it, so it is neither a class nor a split (1 other file)"
    )
    assert details[str(base / "train" / "bird")] == (
        "no image files in it, so it is neither a class nor a split"
    )


def test_class_names_that_differ_only_in_case(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    write(base / "train" / "Cat" / "1.jpg", JPEG)
    write(base / "train" / "Cat" / "2.jpg", JPEG)
    write(base / "train" / "dog" / "3.jpg", JPEG)
    write(base / "test" / "cat" / "4.jpg", JPEG)
    write(base / "test" / "dog" / "5.jpg", JPEG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idx = kagman.index(base, check="none")
    messages = [str(w.message) for w in caught]
    assert messages[0] == (
        "Class names 'Cat' (2 images in train) and 'cat' (1 image in test) differ only in "
        "case; they are kept as 2 classes. Pass case_insensitive_classes=True to merge them."
    )
    assert str(getattr(caught[0].message, "cli_message", "")).endswith(  # QA2 finding 7
        "Pass --case-insensitive-classes to merge them."
    )
    shown = CliRunner().invoke(cli, ["index", str(base), "--check", "none"]).stderr
    assert "Pass --case-insensitive-classes to merge them." in shown
    assert "case_insensitive_classes=True" not in shown
    assert {w.filename for w in caught} == {__file__}  # the caller's line, not kagman's
    assert idx.classes == ["Cat", "cat", "dog"]
    merged = kagman.index(base, check="none", case_insensitive_classes=True)
    assert merged.classes == ["Cat", "dog"]
    assert merged.labels("train") == [0, 0, 1]
    assert merged.labels("test") == [0, 1]
    assert "  classes 'Cat' + 'cat' merged as 'Cat' (case_insensitive_classes=True)" in (
        merged.layout.splitlines()
    )


def test_no_images_anywhere_names_what_was_skipped(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    (base / "train" / "cat").mkdir(parents=True)
    write(base / "train" / "dog" / "notes.txt", b"x")
    with pytest.raises(ImageFolderError, match=r"No images found under") as err:
        kagman.index(base)
    # The topmost folder without images is the row; what is inside it is not repeated.
    assert "1 empty-folder" in str(err.value)
    assert "1 other-file" in str(err.value)
