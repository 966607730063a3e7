"""`kagman.index`: layouts, junk, integrity checks, on real image trees built with Pillow."""

from __future__ import annotations

import logging
import os
import resource
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from test_images_helpers import (
    ZOO_CONTENT_PROBLEMS,
    ZOO_LISTING_PROBLEMS,
    ZOO_ROWS,
    build_zoo,
    corrupt_png,
    encode,
    truncated_jpeg,
    write,
)

import kagman
from kagman import ImageFolderError, ImageIndex
from kagman.images.check import EarlyHelpers, check_many, fast_check
from kagman.images.listing import Walker

MISSING_BIRDS = r"Split 'test' has no images of 1 class: 'birds'"


def problem_set(idx: ImageIndex, base: Path) -> set[tuple[str, str, str]]:
    return {
        (Path(p).relative_to(base).as_posix(), str(s), str(r))
        for p, s, r in zip(idx.problems.path, idx.problems.split, idx.problems.reason, strict=True)
    }


def capture_kagman_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catch each INFO record of kagman exactly once, whatever other tests attached to it."""
    caplog.set_level(logging.INFO, logger="kagman")
    logger = logging.getLogger("kagman")
    monkeypatch.setattr(logger, "handlers", [caplog.handler])
    monkeypatch.setattr(logger, "propagate", False)


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    return build_zoo(tmp_path / "zoo")


def test_zoo_exact_index(
    zoo: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture_kagman_logs(caplog, monkeypatch)
    with pytest.warns(UserWarning, match=MISSING_BIRDS):
        idx = kagman.index(zoo)
    assert [r.getMessage() for r in caplog.records] == [
        (
            "Skipped 6 files and 3 folders (2 macos-junk, 1 empty, 1 not-an-image, "
            "1 notebook-checkpoint, 1 other-file, 1 symlink-loop, 1 truncated, 1 windows-junk): "
            "see Problems in the index's summary."
        ),
        (
            "1 image is in another format than its extension says; PIL-based loaders do not "
            "mind, the 'format' column has the truth."
        ),
    ]
    root = zoo / "dataset"
    assert idx.root == root
    assert idx.classes == ["birds", "cats", "dogs"]
    assert idx.class_to_idx == {"birds": 0, "cats": 1, "dogs": 2}
    assert idx.splits == ["train", "val", "test"]
    assert list(idx.df.columns) == ["path", "split", "label", "label_id", "format"]
    rows = [
        (Path(p).relative_to(root).as_posix(), str(s), None if pd.isna(lab) else str(lab))
        for p, s, lab in zip(idx.df.path, idx.df.split, idx.df.label, strict=True)
    ]
    assert rows == ZOO_ROWS
    ids = [idx.class_to_idx[lab] if lab else -1 for _, _, lab in ZOO_ROWS]
    assert idx.labels() == ids
    assert idx.df.label_id.tolist() == ids
    assert idx.paths() == [str(root / rel) for rel, _, _ in ZOO_ROWS]
    assert idx.paths("test") == [str(root / "Test/cats/t1.jpg"), str(root / "Test/dogs/t2.jpg")]
    assert idx.labels("test") == [1, 2]  # test lacks birds, and no index shifted
    assert idx.labels("val") == [-1, -1]
    formats = dict(zip(idx.df.path, idx.df.format.astype(str), strict=True))
    assert formats[str(root / "TRAIN/cats/png_named.jpg")] == "PNG"  # content wins, kept
    assert formats[str(root / "TRAIN/cats/scan.TIFF")] == "TIFF"
    assert problem_set(idx, zoo) == ZOO_LISTING_PROBLEMS | ZOO_CONTENT_PROBLEMS
    details = dict(zip(idx.problems.path, idx.problems.detail, strict=True))
    assert "HTML page" in details[str(root / "TRAIN/cats/page.jpg")]
    assert "FF D9" in details[str(root / "TRAIN/cats/truncated.jpg")]
    assert details[str(zoo / "__MACOSX")] == "folder, not searched"


def test_zoo_counts_layout_and_repr(zoo: Path) -> None:
    with pytest.warns(UserWarning, match=MISSING_BIRDS):
        idx = kagman.index(zoo)
    expected = pd.DataFrame(
        [[3, 6, 2, 0, 11], [0, 0, 0, 2, 2], [0, 1, 1, 0, 2]],
        index=pd.Index(["train", "val", "test"], name="split"),
        columns=pd.Index(["birds", "cats", "dogs", "(unlabeled)", "total"], name="label"),
    )
    pd.testing.assert_frame_equal(idx.counts(), expected)
    assert idx.layout.splitlines() == [
        f"split folders in {zoo / 'dataset'} (seen through the wrapper folder 'dataset')",
        "  train: folder 'TRAIN', class folders (3 classes)",
        "  val: folder 'valid', flat images, unlabeled",
        "  test: folder 'Test', class folders (2 classes)",
    ]
    assert repr(idx) == (
        f"ImageIndex(15 images, 3 classes, train=11, val=2, test=2; 9 problems; "
        f"root={str(zoo / 'dataset')!r})"
    )
    html = idx._repr_html_()
    assert "<table" in html
    assert "15 images" in html


def test_paths_are_str_and_open_with_pillow(zoo: Path) -> None:
    with pytest.warns(UserWarning, match=MISSING_BIRDS):
        idx = kagman.index(zoo)
    for path in idx.paths():
        assert type(path) is str
        assert Path(path).is_absolute()
        with Image.open(path) as im:
            im.load()


def test_check_none_trusts_names(zoo: Path) -> None:
    with pytest.warns(UserWarning, match=MISSING_BIRDS):
        idx = kagman.index(zoo, check="none")
    assert problem_set(idx, zoo) == ZOO_LISTING_PROBLEMS
    assert len(idx) == len(ZOO_ROWS) + 3  # the empty, HTML and truncated files stay
    assert "format" not in idx.df


@pytest.mark.parametrize("level", ["header", "full"])
def test_header_and_full_checks(
    zoo: Path, level: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture_kagman_logs(caplog, monkeypatch)
    cats = zoo / "dataset" / "TRAIN" / "cats"
    # Fast passes both (right magic, right end marker); only Pillow sees the damage.
    write(cats / "bad_header.jpg", b"\xff\xd8\xff" + b"\x00" * 100 + b"\xff\xd9")
    write(cats / "bad_pixels.png", corrupt_png())
    with pytest.warns(UserWarning, match=MISSING_BIRDS):
        fast = kagman.index(zoo, check="fast")
    assert str(cats / "bad_pixels.png") in fast.paths()
    assert str(cats / "bad_header.jpg") in fast.paths()
    with pytest.warns(UserWarning, match=MISSING_BIRDS):
        idx = kagman.index(zoo, check=level)  # type: ignore[arg-type]
    expected = ZOO_LISTING_PROBLEMS | ZOO_CONTENT_PROBLEMS
    expected.add(("dataset/TRAIN/cats/bad_header.jpg", "train", "bad-header"))
    if level == "full":
        expected.add(("dataset/TRAIN/cats/bad_pixels.png", "train", "decode-error"))
    assert problem_set(idx, zoo) == expected
    assert "1 image is CMYK; convert it with .convert('RGB') when loading." in caplog.messages
    row = idx.df.set_index("path").loc[str(cats / "cmyk.jpg")]
    assert (row["mode"], row["width"], row["height"], row["format"]) == ("CMYK", 16, 12, "JPEG")
    assert list(idx.df.columns)[-3:] == ["width", "height", "mode"]


def fast_check_files(folder: Path) -> list[str]:
    """Files of every kind the fast check tells apart, in a mixed order, repeated."""
    small = encode("JPEG")
    comment = b"\xff\xfe" + (10_002).to_bytes(2, "big") + bytes(10_000)  # a COM segment
    big = small[:2] + comment + small[2:]  # > 4 KiB: its head and tail are read apart
    files = {
        "a.jpg": encode("JPEG"),
        "b.png": encode("PNG"),
        "big.jpg": big,
        "big-cut.jpg": big[:6000],
        "cut.jpg": truncated_jpeg(),
        "empty.png": b"",
        "page.jpg": b"<!DOCTYPE html><html><body>Sign in</body></html>",
        "c.gif": encode("GIF"),
    }
    paths = [str(write(folder / name, data)) for name, data in files.items()]
    odd = os.fsdecode(os.fsencode(str(folder)) + b"/odd\xff name.png")  # not UTF-8
    Path(odd).write_bytes(encode("PNG"))
    paths += [odd, str(folder / "missing.jpg")]
    return [paths[(i * 7) % len(paths)] for i in range(300)]


def test_fast_check_in_helper_processes_keeps_walk_order(tmp_path: Path) -> None:
    paths = fast_check_files(tmp_path)
    alone = [fast_check(p) for p in paths]
    assert {r.reason for r in alone} == {"", "truncated", "empty", "not-an-image", "unreadable"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert check_many(paths, "fast", workers=3) == alone
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the helper interpreters ran (and were waited for): their CPU time is counted here
    assert after.ru_utime + after.ru_stime > before.ru_utime + before.ru_stime


def test_fast_check_without_working_helpers_checks_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = fast_check_files(tmp_path)
    monkeypatch.setattr(sys, "executable", shutil.which("false"))  # every helper fails
    assert check_many(paths, "fast", workers=2) == [fast_check(p) for p in paths]


def _helpers_alive() -> list[int]:
    """This process's children that are check="fast" helper interpreters."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"_serve_fast" in cmd:
            alive.append(int(stat.parent.name))
    return alive


def test_helpers_started_early_do_the_check_and_none_is_left(tmp_path: Path) -> None:
    paths = fast_check_files(tmp_path)
    early = EarlyHelpers()
    early.start()  # before the paths are known, as the walk does
    started = list(early.procs)
    assert started, "one helper per other core (this machine has more than one)"
    try:
        assert check_many(paths, "fast", workers=2, early=early) == [fast_check(p) for p in paths]
        assert started[0].returncode is not None  # taken, used and waited for
    finally:
        early.close()
    assert all(proc.returncode is not None for proc in started)
    assert _helpers_alive() == []
    unused = EarlyHelpers()
    unused.start()  # a walk that saw many images, then failed: nobody takes them
    assert _helpers_alive() != []
    unused.close()
    assert _helpers_alive() == []


def test_the_walk_starts_helpers_once_it_has_seen_many_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            for i in range(15):
                write(tmp_path / "pets" / split / cls / f"{i}.png", encode("PNG"))
    calls: list[int] = []
    walker = Walker(when_many=(40, lambda: calls.append(walker.images_seen)))
    walker.tree(str(tmp_path / "pets"), "pets")
    assert calls == [45]  # once, at the first folder that took the count to 40 or more
    # index() hands the helpers its walk started to the check (threshold lowered: a small tree)
    monkeypatch.setattr("kagman.images.build.FAST_HELPERS_MIN", 10)
    with caplog.at_level(logging.DEBUG, logger="kagman.images.check"):
        idx = kagman.index(tmp_path / "pets", check="fast")
    assert "Checking 60 files here and in 1 helper started early" in caplog.messages
    assert idx.df.format.tolist() == ["PNG"] * 60
    assert _helpers_alive() == []


def test_flat_unlabeled_folder(tmp_path: Path) -> None:
    test = tmp_path / "test"
    for name in ("b.jpg", "a.png", "c.JPEG"):
        write(test / name, encode("PNG" if name.endswith("png") else "JPEG"))
    idx = kagman.index(test)
    assert idx.splits == ["test"]  # the folder's own name is a split name
    assert idx.classes == []
    assert idx.paths() == [str(test / n) for n in ("a.png", "b.jpg", "c.JPEG")]
    assert idx.labels() == [-1, -1, -1]
    assert idx.df.label.isna().all()
    assert idx.counts().to_dict("index") == {"test": {"(unlabeled)": 3, "total": 3}}
    assert (
        idx.layout
        == f"one folder, indexed as split 'test' in {test}\n  test: flat images, unlabeled"
    )


def test_plain_class_folders_are_train_and_single_class_is_not_a_wrapper(tmp_path: Path) -> None:
    write(tmp_path / "pets" / "cat" / "1.jpg", encode("JPEG"))
    write(tmp_path / "pets" / "cat" / "2.jpg", encode("JPEG"))
    idx = kagman.index(tmp_path / "pets")
    assert idx.splits == ["train"]
    assert idx.classes == ["cat"]
    assert idx.labels() == [0, 0]


def test_numeric_class_names_sort_as_numbers(tmp_path: Path) -> None:
    for cls in ("10", "2", "1"):
        write(tmp_path / "digits" / cls / "x.png", encode("PNG"))
    idx = kagman.index(tmp_path / "digits")
    assert idx.classes == ["1", "2", "10"]
    assert idx.class_to_idx["10"] == 2


def test_generic_images_folder_is_not_a_made_up_class(tmp_path: Path) -> None:
    write(tmp_path / "ds" / "images" / "a.jpg", encode("JPEG"))
    write(tmp_path / "ds" / "README.md", b"# about")
    idx = kagman.index(tmp_path / "ds")
    assert idx.classes == []
    assert idx.labels() == [-1]
    assert "flat images (inside 'images'), unlabeled" in idx.layout


def test_split_level_wrapper_and_extra_folder(tmp_path: Path) -> None:
    """Intel scenes: seg_train/seg_train/<class>, seg_test/seg_test/<class>, seg_pred/seg_pred."""
    base = tmp_path / "intel"
    write(base / "seg_train" / "seg_train" / "sea" / "1.jpg", encode("JPEG"))
    write(base / "seg_train" / "seg_train" / "forest" / "2.jpg", encode("JPEG"))
    write(base / "seg_test" / "seg_test" / "sea" / "3.jpg", encode("JPEG"))
    write(base / "seg_test" / "seg_test" / "forest" / "4.jpg", encode("JPEG"))
    write(base / "seg_pred" / "seg_pred" / "5.jpg", encode("JPEG"))
    idx = kagman.index(base)
    assert idx.splits == ["train", "test", "seg_pred"]
    assert idx.classes == ["forest", "sea"]
    assert idx.labels() == [0, 1, 0, 1, -1]
    assert "  train: folder 'seg_train', seen through 'seg_train', class folders (2 classes)" in (
        idx.layout.splitlines()
    )


def test_image_beside_class_folders_is_reported_not_guessed(tmp_path: Path) -> None:
    write(tmp_path / "d" / "train" / "cat" / "1.jpg", encode("JPEG"))
    write(tmp_path / "d" / "train" / "stray.jpg", encode("JPEG"))
    idx = kagman.index(tmp_path / "d")
    assert idx.paths() == [str(tmp_path / "d" / "train" / "cat" / "1.jpg")]
    assert problem_set(idx, tmp_path / "d") == {("train/stray.jpg", "train", "no-label")}
    write(tmp_path / "d" / "cover.png", encode("PNG"))
    idx = kagman.index(tmp_path / "d")
    assert problem_set(idx, tmp_path / "d") == {
        ("train/stray.jpg", "train", "no-label"),
        ("cover.png", "", "outside-split"),
    }


def test_symlinks(tmp_path: Path) -> None:
    base = tmp_path / "links"
    write(tmp_path / "elsewhere" / "real.jpg", encode("JPEG"))
    write(base / "cat" / "1.jpg", encode("JPEG"))
    (base / "cat" / "linked.jpg").symlink_to(tmp_path / "elsewhere" / "real.jpg")
    (base / "cat" / "broken.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (base / "dog").symlink_to(tmp_path / "elsewhere")
    (base / "zebra").symlink_to(tmp_path / "elsewhere")  # the same folder twice
    idx = kagman.index(base)
    assert idx.paths() == [
        str(base / "cat" / "1.jpg"),
        str(base / "cat" / "linked.jpg"),
        str(base / "dog" / "real.jpg"),
    ]
    assert problem_set(idx, base) == {
        ("cat/broken.jpg", "train", "broken-symlink"),
        ("zebra", "train", "duplicate-folder"),
    }
    assert idx.classes == ["cat", "dog"]
    nofollow = kagman.index(base, follow_symlinks=False)
    assert nofollow.paths() == [str(base / "cat" / "1.jpg")]
    assert problem_set(nofollow, base) == {
        ("cat/broken.jpg", "train", "broken-symlink"),
        ("cat/linked.jpg", "train", "symlink"),
        ("dog", "train", "symlink"),
        ("zebra", "train", "symlink"),
    }


def test_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(
        ImageFolderError, match=r"No folder .*missing \(from the working folder .*\)"
    ):
        kagman.index(tmp_path / "missing")
    write(tmp_path / "file.jpg", encode("JPEG"))
    with pytest.raises(ImageFolderError, match="is a file, not a folder"):
        kagman.index(tmp_path / "file.jpg")
    write(tmp_path / "docs" / "a.txt", b"x")
    (tmp_path / "docs" / ".hidden.jpg").write_bytes(b"")
    with pytest.raises(ImageFolderError, match=r"No images found under .*other-file") as err:
        kagman.index(tmp_path / "docs")
    assert "1 hidden" in str(err.value)
    assert "any case" in str(err.value)
    with pytest.raises(ValueError, match="check must be one of none, fast, header, full"):
        kagman.index(tmp_path, check="quick")  # type: ignore[arg-type]


def test_nothing_is_deleted_or_moved(zoo: Path) -> None:
    before = sorted(p.relative_to(zoo).as_posix() for p in zoo.rglob("*") if not p.is_symlink())
    with pytest.warns(UserWarning, match=MISSING_BIRDS):
        kagman.index(zoo, check="full")
    after = sorted(p.relative_to(zoo).as_posix() for p in zoo.rglob("*") if not p.is_symlink())
    assert before == after
