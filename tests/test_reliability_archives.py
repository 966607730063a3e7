"""Broken and hostile archives never crash a pull, never leave a dataset stuck, and a
failing ``--force`` never loses the complete cached version."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from archive_faults import corrupt_extra_field, deep, renamed_local_header
from kaggle_server import FakeKaggle, make_zip

import kagman
from kagman import ArchiveError, CorruptArchiveError, NetworkError
from kagman.fs import remove_tree

FILES = {"a.txt": b"alpha", "b/c.txt": b"gamma"}


def dataset_dir(ref: str) -> Path:
    return Path(os.environ["KAGMAN_CACHE"]) / "datasets" / ref


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("archive", "why"),
    [
        (renamed_local_header(zipfile.ZIP_BZIP2), "File name in directory"),
        (renamed_local_header(zipfile.ZIP_LZMA), "File name in directory"),
        (corrupt_extra_field(zipfile.ZIP_LZMA), "Corrupt extra field"),
        (corrupt_extra_field(zipfile.ZIP_BZIP2), "Corrupt extra field"),
    ],
    ids=["bzip2-renamed", "lzma-renamed", "lzma-extra", "bzip2-extra"],
)
def test_slow_path_zip_errors_are_corrupt_archives_and_never_stick(
    kaggle: FakeKaggle, archive: bytes, why: str
) -> None:
    kaggle.add_dataset("owner/slow", archive=archive)
    base = dataset_dir("owner/slow")
    for force in (False, True, False):  # again and again: the same clean error, never stuck
        with pytest.raises(CorruptArchiveError, match=why) as info:
            kagman.pull("owner/slow", force=force)
        assert "removed" in str(info.value)
        assert "Run the pull again to download it afresh." in str(info.value)
        assert "--force" not in str(info.value)  # a plain pull downloads it again (below)
        assert list((base / ".incomplete").iterdir()) == []
        assert not (base / "versions/1").exists()
    assert kaggle.count("blob") == 3  # each pull downloaded afresh: nothing bad was kept
    kaggle.replace_archive("owner/slow", 1, make_zip(FILES))  # the owner fixes the dataset
    assert read_tree(kagman.pull("owner/slow")) == FILES


def test_member_too_deep_for_the_filesystem_is_refused_before_writing(kaggle: FakeKaggle) -> None:
    member, archive = deep(2100)  # a path of 4,200+ bytes: over PATH_MAX (4,096) on Linux
    kaggle.add_dataset("owner/deep", archive=archive)
    base = dataset_dir("owner/deep")
    for _ in range(2):  # the second pull meets no leftover: the same refusal, not a crash
        with pytest.raises(ArchiveError, match=r"has a path of [\d,]+ bytes") as info:
            kagman.pull("owner/deep")
        assert info.value.member == member
        assert list((base / ".incomplete").iterdir()) == []
        assert not (base / "versions/1").exists()


def test_the_temporary_folders_prefix_counts(kaggle: FakeKaggle) -> None:
    """A path that would fit under ``versions/1`` but not under the longer temporary
    folder it is extracted into is refused while planning, naming the member."""
    base = dataset_dir("owner/edge")
    tmp_root = base / ".incomplete" / f"v1.extract-{os.getpid()}"
    entry_root = base / "versions" / "1"
    path_max = os.pathconf(base.parents[3], "PC_PATH_MAX") - 1  # the cache root's parent
    room = path_max - len(os.fsencode(tmp_root)) - 1  # the longest member path that fits
    assert len(os.fsencode(entry_root)) < len(os.fsencode(tmp_root))
    levels, rest = divmod(room + 1 - len("f.txt"), 2)  # one byte too long for the tmp folder
    member, archive = deep(levels, "f" * (rest + 1) + ".txt")
    assert len(member) == room + 1
    assert len(os.fsencode(entry_root)) + 1 + len(member) <= path_max  # fine in versions/1
    kaggle.add_dataset("owner/edge", archive=archive)
    with pytest.raises(ArchiveError, match=f"has a path of {path_max + 1:,} bytes") as info:
        kagman.pull("owner/edge")
    assert info.value.member == member
    assert list((base / ".incomplete").iterdir()) == []


def test_deep_tree_pull_force_keeps_a_complete_entry(kaggle: FakeKaggle) -> None:
    member, archive = deep(1400)
    kaggle.add_dataset("owner/deep", archive=archive)
    try:
        path = kagman.pull("owner/deep")
        assert (path / member).read_bytes() == b"deep"
        again = kagman.pull("owner/deep", force=True)  # replacing 1,400 levels never recurses
        assert again == path
        assert (path / member).read_bytes() == b"deep"
        assert json.loads((path.parent / "1.manifest.json").read_text())["version"] == 1
        assert list((path.parent.parent / ".incomplete").iterdir()) == []
    finally:
        # pytest removes old temporary folders with shutil.rmtree, which recurses: leave
        # no tree that deep behind, or a later session's clean-up fails on it
        remove_tree(dataset_dir("owner/deep"))


@pytest.mark.parametrize("fault", ["corrupt", "network"])
def test_a_failing_force_leaves_the_old_version_usable(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets/versions/1")
    manifest = (path.parent / "1.manifest.json").read_bytes()
    if fault == "corrupt":
        kaggle.replace_archive("owner/pets", 1, renamed_local_header())
        expected: type[Exception] = CorruptArchiveError
    else:
        monkeypatch.setenv("KAGMAN_RETRIES", "0")
        kaggle.storage_unreachable(times=5)
        expected = NetworkError
    with pytest.raises(expected):
        kagman.pull("owner/pets/versions/1", force=True)
    assert read_tree(path) == FILES
    assert (path.parent / "1.manifest.json").read_bytes() == manifest
    before = kaggle.count()
    assert kagman.pull("owner/pets/versions/1") == path  # still a cache hit: no request
    assert kaggle.count() == before


@pytest.mark.parametrize("killed_after", ["manifest-moved", "entry-moved", "new-entry-in-place"])
def test_an_entry_a_killed_force_moved_aside_is_restored(
    kaggle: FakeKaggle, killed_after: str
) -> None:
    """The states a ``--force`` killed mid-swap can leave; the next pull puts the old back."""
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets/versions/1")
    work = path.parent.parent / ".incomplete"
    aside = work / "v1.replaced"
    (path.parent / "1.manifest.json").replace(work / "v1.replaced.manifest.json")
    if killed_after != "manifest-moved":
        path.replace(aside)
    if killed_after == "new-entry-in-place":
        path.mkdir()
        (path / "half.txt").write_bytes(b"half of the new one")
    before = kaggle.count()
    assert kagman.pull("owner/pets/versions/1") == path
    assert kaggle.count() == before  # restored from disk, not downloaded
    assert read_tree(path) == FILES
    assert list(work.iterdir()) == []


def test_a_killed_force_after_the_new_manifest_finishes_the_clean_up(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets/versions/1")
    work = path.parent.parent / ".incomplete"
    (work / "v1.replaced").mkdir()
    (work / "v1.replaced" / "old.txt").write_bytes(b"old")
    (work / "v1.replaced.manifest.json").write_text("{}")
    assert kagman.pull("owner/pets", force=True) == path
    assert read_tree(path) == FILES
    assert list(work.iterdir()) == []


def test_leftovers_of_killed_pulls_are_removed_by_the_next(kaggle: FakeKaggle) -> None:
    import hashlib

    kaggle.add_dataset("owner/pets", FILES, zipped_files=["a.txt"])
    work = dataset_dir("owner/pets") / ".incomplete"
    digest = hashlib.sha256(b"a.txt").hexdigest()[:16]
    for name in ("v1.extract-99999", f"v1.extract-99999-{digest}"):  # pids long gone
        (work / name / "deep" / "er").mkdir(parents=True)
        (work / name / "deep" / "er" / "half.bin").write_bytes(b"half")
    single = kagman.pull("owner/pets", file="a.txt")  # served as a.txt.zip: unwrapped
    assert single.read_bytes() == FILES["a.txt"]
    assert sorted(p.name for p in work.iterdir()) == ["v1.extract-99999"]  # not this file's
    assert read_tree(kagman.pull("owner/pets")) == FILES
    assert list(work.iterdir()) == []
