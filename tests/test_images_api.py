"""ImageIndex methods, the `kagman index` command, dataset refs, and arbitrary file names."""

from __future__ import annotations

import tempfile
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle
from test_images_helpers import build_zoo, encode, write

import kagman
from kagman import ImageIndex
from kagman.cli import cli

JPEG = encode("JPEG")
MISSING_BIRDS = r"Split 'test' has no images of 1 class: 'birds'"


def build_classes(base: Path, sizes: dict[str, int]) -> Path:
    for cls, n in sizes.items():
        for i in range(n):
            write(base / cls / f"{i:03d}.jpg", JPEG)
    return base


@pytest.fixture
def zoo_index(tmp_path: Path) -> ImageIndex:
    with pytest.warns(UserWarning, match=MISSING_BIRDS):
        return kagman.index(build_zoo(tmp_path / "zoo"))


@pytest.mark.parametrize(("size", "drop_last"), [(1, False), (4, False), (4, True), (100, False)])
def test_batches_cover_every_image_once(zoo_index: ImageIndex, size: int, drop_last: bool) -> None:
    for shuffle in (False, True):
        batches = list(zoo_index.batches(size, shuffle=shuffle, seed=3, drop_last=drop_last))
        paths = [p for batch_paths, _ in batches for p in batch_paths]
        labels = [lab for _, batch_labels in batches for lab in batch_labels]
        n = len(zoo_index)
        expected = n - n % size if drop_last else n
        assert len(paths) == expected
        assert len(set(paths)) == len(paths)
        assert all(len(b[0]) == size for b in batches[:-1])
        truth = dict(zip(zoo_index.paths(), zoo_index.labels(), strict=True))
        assert labels == [truth[p] for p in paths]
        if not drop_last:
            assert sorted(paths) == sorted(zoo_index.paths())
        if not shuffle:
            assert paths == zoo_index.paths()[:expected]


def test_batches_shuffle_is_seeded_and_split_aware(zoo_index: ImageIndex) -> None:
    def order(seed: int) -> list[str]:
        return [p for b, _ in zoo_index.batches(5, shuffle=True, seed=seed) for p in b]

    assert order(1) == order(1)
    assert order(1) != order(2)
    test = [p for b, _ in zoo_index.batches(5, split="test") for p in b]
    assert test == zoo_index.paths("test")
    with pytest.raises(kagman.InvalidArgumentError, match="batch_size must be at least 1"):
        zoo_index.batches(0)
    with pytest.raises(
        kagman.InvalidArgumentError,
        match=r"No split 'dev' in this index; it has \['train', 'val', 'test'\]",
    ) as info:
        zoo_index.paths("dev")
    assert isinstance(info.value, ValueError)  # what callers caught before still works
    assert info.value.exit_code == 2


def test_split_is_seeded_and_stratified(tmp_path: Path) -> None:
    base = build_classes(tmp_path / "d", {"a": 10, "b": 5, "c": 2, "d": 1})
    idx = kagman.index(base)
    with pytest.warns(UserWarning, match=r"Split 'val' has no images of 1 class: 'd'"):
        carved = idx.split(0.2, seed=7)
    assert carved.splits == ["train", "val"]
    assert carved.classes == idx.classes
    counts = carved.counts()
    assert counts.loc["val", ["a", "b", "c", "d"]].tolist() == [2, 1, 1, 0]
    assert counts.loc["train", ["a", "b", "c", "d"]].tolist() == [8, 4, 1, 1]
    assert sorted(carved.paths()) == sorted(idx.paths())
    assert carved.paths("train") == [p for p in idx.paths() if p not in set(carved.paths("val"))]
    assert idx.splits == ["train"]  # the original is untouched
    with pytest.warns(UserWarning, match="'d'"):
        again = idx.split(0.2, seed=7)
    assert again.paths("val") == carved.paths("val")
    with pytest.warns(UserWarning, match="'d'"):
        other = idx.split(0.2, seed=8)
    assert other.paths("val") != carved.paths("val")
    assert "val: 4 images carved from train (20%, stratified by class, seed 7)" in carved.layout
    with pytest.raises(
        kagman.InvalidArgumentError,
        match=r"already has a 'val' split \(4 images from the dataset\), so split\(\) carves "
        r"none. Pass if_missing=True",
    ):
        carved.split()
    assert carved.split(0.5, seed=1, if_missing=True) is carved  # kept as it is
    with pytest.raises(ValueError, match="between 0 and 1"):
        idx.split(1.5)


def test_split_without_stratify_and_unlabeled(tmp_path: Path) -> None:
    base = tmp_path / "flat"
    for i in range(10):
        write(base / f"{i}.jpg", JPEG)
    idx = kagman.index(base)
    carved = idx.split(0.3, seed=0)
    assert len(carved.paths("val")) == 3
    assert carved.labels("val") == [-1, -1, -1]
    assert "at random" in carved.layout
    labelled = kagman.index(build_classes(tmp_path / "c", {"a": 5, "b": 5}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # two random picks may miss a class
        plain = labelled.split(0.2, stratify=False, seed=1)
    assert len(plain.paths("val")) == 2


def test_to_csv_is_atomic_and_round_trips(zoo_index: ImageIndex, tmp_path: Path) -> None:
    out = tmp_path / "out" / "index.csv"
    out.parent.mkdir()
    assert zoo_index.to_csv(out) == out
    back = pd.read_csv(out, keep_default_na=False)
    assert back.path.tolist() == zoo_index.paths()
    assert back.label_id.tolist() == zoo_index.labels()
    assert [p.name for p in out.parent.iterdir()] == ["index.csv"]  # no temporary file left behind


def test_cli_index_prints_layout_counts_and_problems(tmp_path: Path) -> None:
    zoo = build_zoo(tmp_path / "zoo")
    out = tmp_path / "index.csv"
    result = CliRunner().invoke(cli, ["index", str(zoo), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == f"Layout: split folders in {zoo / 'dataset'} (seen through the wrapper folder 'dataset')"
    )
    assert "Images: 15 in 3 splits, 3 classes (check: fast)" in lines
    assert any(line.split() == ["train", "3", "6", "2", "0", "11"] for line in lines)
    assert any(line.split() == ["test", "0", "1", "1", "0", "2"] for line in lines)
    assert "Problems: 6 files and 3 folders skipped" in lines  # __MACOSX, checkpoints, loop
    assert any(line.split() == ["2", "macos-junk"] for line in lines)
    assert any(line.split() == ["1", "truncated"] for line in lines)
    assert lines[-1] == f"Wrote {out} (15 rows)."
    assert "Warning: Split 'test' has no images of 1 class: 'birds'" in result.stderr
    assert ".problems" not in result.stderr  # Python's name; the CLI prints Problems below
    assert len(pd.read_csv(out)) == 15


@pytest.mark.parametrize("where", ["missing/index.csv", "a-file/index.csv"])
def test_cli_index_checks_the_csv_path_before_indexing(tmp_path: Path, where: str) -> None:
    zoo = build_zoo(tmp_path / "zoo")
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / where
    result = CliRunner().invoke(cli, ["index", str(zoo), "--csv", str(out)])
    assert (result.exit_code, result.stdout) == (2, "")  # no table printed before the error
    why = {
        "missing/index.csv": f"the folder {out.parent} does not exist. Create it "
        f"(mkdir -p {out.parent}) or choose another path",
        "a-file/index.csv": f"{out.parent} is a file, not a folder. Choose another path",
    }[where]
    assert result.stderr == f"Error: Cannot write {out}: {why}.\n"


def test_index_counts_what_it_skipped_in_words(tmp_path: Path) -> None:
    """QA2 finding 4: one skipped entry is "1 file or folder", none is "none"."""
    one = tmp_path / "one"
    write(one / "train" / "cat" / "1.jpg", JPEG)
    write(one / "train" / "cat" / "notes.txt", b"x")
    result = CliRunner().invoke(cli, ["index", str(one)])
    assert result.exit_code == 0, result.output
    assert "Problems: 1 file skipped" in result.stdout.splitlines()
    assert "Problems</b>: 1 file skipped" in kagman.index(one)._repr_html_()
    clean = tmp_path / "clean"
    write(clean / "train" / "cat" / "1.jpg", JPEG)
    result = CliRunner().invoke(cli, ["index", str(clean)])
    assert result.exit_code == 0, result.output
    assert "Problems: none; nothing was skipped." in result.stdout.splitlines()
    assert "skipped" not in result.stdout.replace("nothing was skipped", "")


def test_cli_index_check_level_and_errors(tmp_path: Path) -> None:
    zoo = build_zoo(tmp_path / "zoo")
    result = CliRunner().invoke(cli, ["index", str(zoo), "--check", "none"])
    assert result.exit_code == 0
    assert "Images: 18 in 3 splits, 3 classes (check: none)" in result.stdout
    missing = CliRunner().invoke(cli, ["index", str(tmp_path / "missing")])
    assert missing.exit_code == 8
    assert missing.stderr.startswith(
        f"Error: No folder {tmp_path / 'missing'} (from the working folder"
    )
    bad = CliRunner().invoke(cli, ["index", str(zoo), "--check", "slow"])
    assert bad.exit_code == 2
    help_text = CliRunner().invoke(cli, ["index", "--help"]).output
    assert "Example:" in help_text
    assert "kagman index data/chest_xray" in help_text


def test_index_a_dataset_ref_pulls_it_first(
    fake_kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", TEST_USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", TEST_KEY)
    files = {
        "pets/train/cat/1.jpg": JPEG,
        "pets/train/dog/2.jpg": JPEG,
        "pets/test/3.jpg": JPEG,
    }
    fake_kaggle.add_dataset("owner/pets", files)
    idx = kagman.index("owner/pets")
    assert idx.classes == ["cat", "dog"]
    assert idx.labels() == [0, 1, -1]
    assert idx.splits == ["train", "test"]
    pulled = kagman.pull("owner/pets", offline=True)
    assert all(Path(p).is_relative_to(pulled) for p in idx.paths())
    result = CliRunner().invoke(cli, ["index", "owner/pets/versions/1"])
    assert result.exit_code == 0, result.output
    assert "Images: 3 in 2 splits, 2 classes (check: fast)" in result.stdout


# --- arbitrary file names ---------------------------------------------------------------

NAME = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=30,
).filter(lambda s: s not in {".", ".."} and len(s.encode()) <= 200)
EXT = st.sampled_from(["jpg", "JPG", "jpeg", "Png", "gif", "txt", "", "csv", "WebP"])
IMAGE_EXTS = {"jpg", "jpeg", "png", "gif", "webp"}
JUNK_DIRS = {"__MACOSX", "__pycache__"}
JUNK_FILES = {"thumbs.db", "desktop.ini", "ehthumbs.db"}


def is_junk(name: str) -> bool:
    return name.startswith(".") or name in JUNK_DIRS or name.lower() in JUNK_FILES


def names_masks(name: str) -> bool:
    """A folder named like masks ("Mask", "train_labels") beside one other folder whose
    files share its names holds that folder's masks, by design: not a class here."""
    from kagman.images.names import mask_folder_prefix

    return mask_folder_prefix(name) is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    classes=st.lists(NAME, min_size=2, max_size=4, unique=True),
    files=st.lists(st.tuples(st.integers(0, 3), NAME, EXT), max_size=12),
)
def test_arbitrary_file_names(classes: list[str], files: list[tuple[int, str, str]]) -> None:
    real = [c for c in classes if not is_junk(c)]
    assume(len(real) >= 2)
    assume(not any(names_masks(c) for c in classes))
    with tempfile.TemporaryDirectory() as tmp:
        split = Path(tmp) / "data" / "train"
        expected: dict[str, str] = {}
        for cls in classes:  # every class gets one plain image
            write(split / cls / "0.jpg", JPEG)
            if not is_junk(cls):
                expected[str(split / cls / "0.jpg")] = cls
        for which, stem, ext in files:
            cls = classes[which % len(classes)]
            name = f"{stem}.{ext}" if ext else stem
            path = split / cls / name
            if len(name.encode()) > 255 or path.exists():
                continue
            write(path, JPEG)
            image = ext.lower() in IMAGE_EXTS and not name.startswith(".")
            if image and not is_junk(cls):
                expected[str(path)] = cls
        idx = kagman.index(Path(tmp) / "data")
        paths = idx.paths()
        assert Counter(paths) == Counter(expected.keys())  # every image exactly once
        assert set(idx.classes) == set(real)  # junk never becomes a class
        assert [idx.classes[i] for i in idx.labels()] == [expected[p] for p in paths]
        assert paths == sorted(paths, key=lambda p: Path(p).relative_to(split).parts)
