"""`kagman.index` on flat image folders labelled by a CSV (dog-breed style)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_images_helpers import encode, write

import kagman
from kagman import ImageFolderError


def build_breeds(base: Path) -> Path:
    """train/*.jpg + labels.csv (id,breed), test/*.jpg + sample_submission.csv."""
    for name in ("id1.jpg", "id2.jpg", "id3.png", "extra.jpg"):
        write(base / "train" / name, encode("PNG" if name.endswith("png") else "JPEG"))
    for name in ("t1.jpg", "t2.jpg"):
        write(base / "test" / name, encode("JPEG"))
    write(base / "labels.csv", b"id,breed\nid1,beagle\nid2,pug\nid3.png,beagle\nghost,pug\n")
    # Probabilities per class, keyed by the test ids: must never label the test split.
    write(base / "sample_submission.csv", b"id,beagle,pug\nt1,0.5,0.5\nt2,0.5,0.5\n")
    return base


def test_labels_csv_detected(tmp_path: Path) -> None:
    base = build_breeds(tmp_path / "breeds")
    idx = kagman.index(base)
    assert idx.classes == ["beagle", "pug"]
    assert idx.splits == ["train", "test"]
    assert idx.paths("train") == [
        str(base / "train" / n) for n in ("id1.jpg", "id2.jpg", "id3.png")
    ]
    assert idx.labels("train") == [0, 1, 0]
    assert idx.paths("test") == [str(base / "test" / n) for n in ("t1.jpg", "t2.jpg")]
    assert idx.labels("test") == [-1, -1]
    assert idx.problems[["split", "reason", "detail"]].astype(str).values.tolist() == [
        ["", "other-file", "extension .csv is not an image format"],  # sample_submission.csv
        ["train", "no-label", "no row in the labels CSV"],
    ]
    assert idx.problems.path.tolist() == [
        str(base / "sample_submission.csv"),
        str(base / "train" / "extra.jpg"),
    ]
    assert idx.unmatched_rows is not None
    assert idx.unmatched_rows[["id", "breed"]].values.tolist() == [["ghost", "pug"]]
    assert idx.unmatched_rows.csv.tolist() == [str(base / "labels.csv")]
    assert idx.layout.splitlines() == [
        f"split folders in {base}",
        (
            "  train: images labelled by labels.csv (file names from column 'id', labels from "
            "'breed'; 2 classes, 1 image without a row)"
        ),
        "  test: flat images, unlabeled",
        "  1 row of the labels CSV matches no image",
    ]


def test_explicit_labels_override(tmp_path: Path) -> None:
    base = build_breeds(tmp_path / "breeds")
    write(base / "other.csv", b"file,kind,size\nid1.jpg,x,1\nid2.jpg,y,2\nid3.png,x,3\n")
    idx = kagman.index(base, labels=base / "other.csv", path_col="file", label_col="kind")
    assert idx.classes == ["x", "y"]
    assert idx.labels("train") == [0, 1, 0]
    # The test split matches no row of other.csv, so it stays unlabeled.
    assert idx.labels("test") == [-1, -1]


def test_explicit_labels_errors(tmp_path: Path) -> None:
    base = build_breeds(tmp_path / "breeds")
    with pytest.raises(ImageFolderError, match="does not exist"):
        kagman.index(base, labels=base / "nope.csv")
    with pytest.raises(
        ImageFolderError, match=r"has no column 'name'; its columns are \['id', 'breed'\]"
    ):
        kagman.index(base, labels=base / "labels.csv", path_col="name")
    write(base / "unrelated.csv", b"id,breed\nzzz,pug\n")
    with pytest.raises(ImageFolderError, match="matched none of the images"):
        kagman.index(base, labels=base / "unrelated.csv")


def test_numeric_labels_relative_paths_and_conflicts(tmp_path: Path) -> None:
    base = tmp_path / "xray"
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        write(base / "images" / name, encode("JPEG"))
    csv = "path,target\nimages/a.jpg,1\nimages\\b.jpg,0\nc.jpg,1\nc.jpg,0\nd,10\n"
    write(base / "train.csv", csv.encode())
    idx = kagman.index(base)
    assert idx.classes == ["0", "1", "10"]
    assert idx.paths() == [str(base / "images" / n) for n in ("a.jpg", "b.jpg", "d.jpg")]
    assert idx.labels() == [1, 0, 2]
    conflict = idx.problems[idx.problems.reason == "conflicting-labels"]
    assert conflict.path.tolist() == [str(base / "images" / "c.jpg")]
    assert conflict.detail.tolist() == ["rows of train.csv give ['0', '1']"]


def test_csv_matching_too_few_files_is_ignored(tmp_path: Path) -> None:
    base = tmp_path / "flat"
    for i in range(4):
        write(base / f"{i}.jpg", encode("JPEG"))
    write(base / "notes.csv", b"id,label\n0,a\n")  # one of four files: not a labels file
    idx = kagman.index(base)
    assert idx.classes == []
    assert idx.labels() == [-1, -1, -1, -1]
    assert pd.isna(idx.df.label).all()


def test_a_column_named_for_an_auto_detected_csv_must_exist(tmp_path: Path) -> None:
    base = build_breeds(tmp_path / "breeds")
    # the right column, named: the auto-detected labels.csv uses it
    assert kagman.index(base, label_col="breed").classes == ["beagle", "pug"]
    assert kagman.index(base, path_col="id", label_col="breed").classes == ["beagle", "pug"]
    for given, option, hint in (
        ({"label_col": "nope"}, "label_col='nope'", ""),
        (
            {"label_col": "Breed"},
            "label_col='Breed'",
            " Did you mean 'breed'? Column names are case-sensitive.",
        ),
        ({"path_col": "file"}, "path_col='file'", ""),
    ):
        with pytest.raises(ImageFolderError) as info:
            kagman.index(base, **given)
        assert str(info.value) == (
            f"No labels CSV under {base} has the column of {option}: labels.csv has "
            f"['id', 'breed'].{hint}"  # sample_submission.csv is never a labels CSV
        )


def test_a_column_named_where_no_csv_can_use_it(tmp_path: Path) -> None:
    classes = tmp_path / "classes"
    write(classes / "cat" / "1.jpg", encode("JPEG"))
    write(classes / "dog" / "2.jpg", encode("JPEG"))
    with pytest.raises(ImageFolderError, match=r"^label_col='breed' was given, ") as info:
        kagman.index(classes, label_col="breed")
    assert "Name the CSV with labels=, or leave" in str(info.value)
    assert str(info.value.cli_message).startswith("--label-col breed was given, ")
    assert "Name the CSV with --labels, or leave" in str(info.value.cli_message)
    # a CSV that has the column but names too few of the images is not quietly dropped either
    base = build_breeds(tmp_path / "breeds")
    write(base / "labels.csv", b"id,breed\nid1,beagle\nzzz,pug\nyyy,pug\n")
    with pytest.raises(ImageFolderError, match="name too few of the images"):
        kagman.index(base, label_col="breed")


def test_cli_index_refuses_a_label_col_no_csv_has(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kagman.cli import cli

    base = build_breeds(tmp_path / "breeds")
    result = CliRunner().invoke(cli, ["index", str(base), "--label-col", "nope"])
    assert result.exit_code == 8
    assert result.stderr == (  # QA2 finding 7: flags only, no Python names
        f"Error: No labels CSV under {base} has the column of --label-col nope: labels.csv has "
        "['id', 'breed'].\n"
    )
