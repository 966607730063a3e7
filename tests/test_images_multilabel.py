"""Multi-label CSVs (Planet's `image_name,tags`): tags, multi-hot arrays, per-tag counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_images_helpers import encode, write

import kagman
from kagman import ImageIndex
from kagman.cli import cli
from kagman.images.multilabel import iterative_split

JPEG = encode("JPEG")

# Planet: Understanding the Amazon from Space (train-jpg/, test-jpg/, train_v2.csv).
PLANET_TAGS = [
    "agriculture clear primary water",
    "clear primary",
    "haze primary",
    "clear primary water",
    "cloudy",
    "agriculture haze primary",
    "clear primary",
    "partly_cloudy primary",
]
PLANET_CLASSES = ["agriculture", "clear", "cloudy", "haze", "partly_cloudy", "primary", "water"]


def build_planet(base: Path, tags: list[str] = PLANET_TAGS, sep: str = " ") -> Path:
    rows = ["image_name,tags"]
    for i, cell in enumerate(tags):
        write(base / "train-jpg" / f"train_{i}.jpg", JPEG)
        rows.append(f'train_{i},"{cell.replace(" ", sep)}"')
    for i in range(3):
        write(base / "test-jpg" / f"test_{i}.jpg", JPEG)
    write(base / "train_v2.csv", ("\n".join(rows) + "\n").encode())
    write(base / "sample_submission_v2.csv", b"image_name,tags\ntest_0,clear primary\n")
    return base


@pytest.fixture
def planet(tmp_path: Path) -> ImageIndex:
    return kagman.index(build_planet(tmp_path / "planet"), check="none")


def test_planet_is_a_multilabel_index(planet: ImageIndex) -> None:
    assert planet.multilabel
    assert not planet.paired
    assert planet.classes == PLANET_CLASSES
    assert planet.splits == ["train", "test"]
    ids = planet.class_to_idx
    assert planet.labels("train") == [[ids[t] for t in cell.split()] for cell in PLANET_TAGS]
    assert planet.labels("test") == [[], [], []]  # unlabeled, never dropped
    problems = planet.problems
    rows = [(Path(p).name, r) for p, r in zip(problems.path, problems.reason, strict=True)]
    assert rows == [("sample_submission_v2.csv", "other-file")]
    assert list(planet.df.columns) == ["path", "split", "labels"]
    assert planet.df["labels"].tolist()[:2] == [
        ["agriculture", "clear", "primary", "water"],
        ["clear", "primary"],
    ]
    assert planet.layout.splitlines()[1] == (
        "  train: folder 'train-jpg', images labelled by train_v2.csv (file names from column "
        "'image_name', labels from 'tags'; multi-label, tags separated by ' '; 7 classes)"
    )


def test_multi_hot_is_uint8_n_images_by_n_classes(planet: ImageIndex) -> None:
    hot = planet.multi_hot("train")
    assert isinstance(hot, np.ndarray)
    assert hot.dtype == np.uint8
    assert hot.shape == (8, 7)
    assert hot[0].tolist() == [1, 1, 0, 0, 0, 1, 1]  # agriculture clear primary water
    assert hot[4].tolist() == [0, 0, 1, 0, 0, 0, 0]  # cloudy
    assert planet.multi_hot("test").tolist() == [[0] * 7] * 3
    assert planet.multi_hot().shape == (11, 7)


def test_counts_are_images_per_tag(planet: ImageIndex) -> None:
    expected = pd.DataFrame(
        [[2, 4, 1, 2, 1, 7, 2, 0, 8], [0, 0, 0, 0, 0, 0, 0, 3, 3]],
        index=pd.Index(["train", "test"], name="split"),
        columns=pd.Index([*PLANET_CLASSES, "(unlabeled)", "total"], name="label"),
    )
    pd.testing.assert_frame_equal(planet.counts(), expected)


def test_batches_yield_paths_and_multi_hot_rows(planet: ImageIndex) -> None:
    batches = list(planet.batches(3, split="train", shuffle=True, seed=1))
    assert [len(p) for p, _ in batches] == [3, 3, 2]
    truth = dict(zip(planet.paths("train"), planet.multi_hot("train").tolist(), strict=True))
    for paths, hot in batches:
        assert isinstance(hot, np.ndarray)
        assert hot.dtype == np.uint8
        assert hot.tolist() == [truth[p] for p in paths]
    assert sorted(p for b, _ in batches for p in b) == sorted(planet.paths("train"))


def test_to_csv_joins_tags_with_a_bar(planet: ImageIndex, tmp_path: Path) -> None:
    out = planet.to_csv(tmp_path / "index.csv")
    back = pd.read_csv(out, keep_default_na=False)
    assert back["labels"].tolist()[:2] == ["agriculture|clear|primary|water", "clear|primary"]
    assert back["labels"].tolist()[-3:] == ["", "", ""]


def test_split_keeps_every_tag_in_both_parts(tmp_path: Path) -> None:
    tags = [*PLANET_TAGS, *PLANET_TAGS, "partly_cloudy", "agriculture water"]
    idx = kagman.index(build_planet(tmp_path / "planet", tags), check="none")
    carved = idx.split(0.25, seed=3)  # test is unlabeled: it lacks nothing
    assert carved.splits == ["train", "val", "test"]
    assert len(carved.paths("val")) + len(carved.paths("train")) == len(tags)
    assert sorted(carved.paths()) == sorted(idx.paths())
    counts = carved.counts()
    for tag in PLANET_CLASSES:
        if counts.loc[["train", "val"], tag].sum() >= 2:
            assert counts.loc["train", tag] >= 1, tag
            assert counts.loc["val", tag] >= 1, tag
    again = idx.split(0.25, seed=3)
    assert again.paths("val") == carved.paths("val")
    assert "(25%, stratified by tag, seed 3)" in carved.layout
    truth = dict(zip(idx.paths(), idx.df["labels"].tolist(), strict=True))
    assert all(truth[p] == t for p, t in zip(carved.paths(), carved.df["labels"], strict=True))


@settings(max_examples=60, deadline=None)
@given(
    tags=st.lists(
        st.lists(st.integers(0, 5), min_size=0, max_size=4, unique=True), min_size=2, max_size=40
    ),
    fraction=st.floats(0.1, 0.5),
    seed=st.integers(0, 3),
)
def test_iterative_split_covers_tags_where_it_can(
    tags: list[list[int]], fraction: float, seed: int
) -> None:
    chosen = iterative_split(tags, fraction, seed)
    assert len(set(chosen)) == len(chosen)
    assert all(0 <= i < len(tags) for i in chosen)
    assert chosen == iterative_split(tags, fraction, seed)  # seeded
    parts = [set(chosen), set(range(len(tags))) - set(chosen)]
    for tag in {t for ids in tags for t in ids}:
        holders = [i for i, ids in enumerate(tags) if tag in ids]
        for missing in (0, 1):
            if len(holders) < 2 or any(i in parts[missing] for i in holders):
                continue
            # Missing from one part: each holder in the other is that part's last
            # image of some tag, so no move could have fixed it.
            donor = parts[1 - missing]
            count = {t: sum(t in tags[j] for j in donor) for j in donor for t in tags[j]}
            assert all(any(count[t] < 2 for t in tags[i]) for i in holders), tag


# --- the separator comes from the data ------------------------------------------------------


def index_cells(tmp_path: Path, cells: list[str], **kwargs: str) -> ImageIndex:
    base = tmp_path / "ds"
    rows = ["id,label"]
    for i, cell in enumerate(cells):
        write(base / "images" / f"{i}.jpg", JPEG)
        rows.append(f'{i},"{cell}"')
    write(base / "labels.csv", ("\n".join(rows) + "\n").encode())
    return kagman.index(base, check="none", **kwargs)  # type: ignore[arg-type]


def test_a_class_name_that_never_splits_stays_whole(tmp_path: Path) -> None:
    cells = ["golden retriever", "beagle", "labrador retriever", "pug", "golden retriever"]
    idx = index_cells(tmp_path, cells)
    assert not idx.multilabel
    assert idx.classes == ["beagle", "golden retriever", "labrador retriever", "pug"]
    assert idx.labels() == [1, 0, 2, 3, 1]


@pytest.mark.parametrize("sep", ["|", ";", ",", " "])
def test_separators_decided_from_the_data(tmp_path: Path, sep: str) -> None:
    cells = ["Effusion", "Mass", "Effusion|Mass", "No Finding", "Mass|Nodule", "Nodule"]
    if sep == " ":
        cells = [c.replace("No Finding", "Normal") for c in cells]
    idx = index_cells(tmp_path, [c.replace("|", sep) for c in cells])
    assert idx.multilabel
    normal = "Normal" if sep == " " else "No Finding"
    assert idx.classes == sorted(["Effusion", "Mass", normal, "Nodule"])
    assert idx.df["labels"].tolist()[2] == ["Effusion", "Mass"]


def test_label_sep_overrides_detection(tmp_path: Path) -> None:
    cells = ["golden retriever", "beagle", "labrador retriever"]
    forced = index_cells(tmp_path, cells, label_sep=" ")
    assert forced.multilabel
    assert forced.classes == ["beagle", "golden", "labrador", "retriever"]
    whole = kagman.index(tmp_path / "ds", check="none", label_sep="")
    assert not whole.multilabel
    write(tmp_path / "ds" / "labels.csv", b"id,label\n0,a b\n1,b\n2,a\n")
    assert kagman.index(tmp_path / "ds", check="none").multilabel
    assert not kagman.index(tmp_path / "ds", check="none", label_sep="").multilabel


def test_cli_prints_per_tag_counts(tmp_path: Path) -> None:
    base = build_planet(tmp_path / "planet")
    out = tmp_path / "index.csv"
    result = CliRunner().invoke(cli, ["index", str(base), "--check", "none", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "Images: 11 in 2 splits, 7 classes (multi-label) (check: none)" in lines
    assert "Counts are images per tag; an image with several tags counts once for each." in lines
    table = lines[lines.index("") + 1 :]
    assert table[0].split() == ["label", *PLANET_CLASSES, "(unlabeled)", "total"]
    assert table[2].split() == ["train", "2", "4", "1", "2", "1", "7", "2", "0", "8"]
    assert pd.read_csv(out, keep_default_na=False)["labels"].tolist()[1] == "clear|primary"
    whole = CliRunner().invoke(cli, ["index", str(base), "--check", "none", "--label-sep", ""])
    assert "(multi-label)" not in whole.stdout
