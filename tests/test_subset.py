"""Part of a dataset: folders and globs pulled file by file into the version's own entry."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import kagman_executable
from kaggle_server import FakeKaggle

import kagman
from kagman import DatasetNotFoundError, EmptySelectionError, NetworkError, NotCachedError
from kagman.cache.entries import entry_state, holding, state_of
from kagman.cache.manifest import read_manifest
from kagman.cli import cli

FILES = {
    "labels.csv": b"id,label\n1,cat\n",
    "notes.txt": b"hello",
    "train/cat/1.jpg": b"c1" * 200,
    "train/cat/2.tif": b"c2" * 200,
    "train/dog/3.jpg": b"d3" * 200,
    "test/4.jpg": b"t4" * 200,
    "test/5.csv": b"a\n1\n",
}


def root() -> Path:
    return Path(os.environ["KAGMAN_CACHE"]) / "datasets/owner/pets"


def blobs(kaggle: FakeKaggle) -> set[str]:
    """The files (names inside the dataset) whose bytes were downloaded, from the request log."""
    prefix = "/blobs/datasets/owner/pets/1/files/"
    return {
        r.path.removeprefix(prefix)
        for r in kaggle.requests
        if r.endpoint == "blob" and r.status < 300
    }


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_folder_pulls_only_its_files(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.page_size = 2  # the listing takes several pages
    path = kagman.pull("owner/pets", file="train/")
    entry = root() / "versions/1"
    assert path == entry / "train"
    assert blobs(kaggle) == {"train/cat/1.jpg", "train/cat/2.tif", "train/dog/3.jpg"}
    assert kaggle.count("DownloadDataset") == 3  # one per file, never the archive
    assert kaggle.count("ListDatasetFiles") == 4
    assert tree(entry) == {n: FILES[n] for n in blobs(kaggle)}
    manifest = read_manifest(entry)
    assert entry_state(manifest) == "subset" == state_of(entry)
    assert manifest["files"] == [
        [n, len(FILES[n]), hashlib.sha256(FILES[n]).hexdigest()] for n in sorted(blobs(kaggle))
    ]
    assert list((root() / ".incomplete").iterdir()) == []


def test_a_folder_without_its_slash_is_found_after_one_404(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets", file="train/cat")
    assert path == root() / "versions/1/train/cat"
    assert sorted(p.name for p in path.iterdir()) == ["1.jpg", "2.tif"]
    assert [(r.endpoint, r.status) for r in kaggle.requests][:3] == [
        ("GetDataset", 200),
        ("DownloadDataset", 404),  # tried as a file first: a single file needs no listing
        ("ListDatasetFiles", 200),
    ]
    before = kaggle.count()
    assert kagman.pull("owner/pets/versions/1", file="train/cat") == path
    assert kagman.pull("owner/pets/versions/1", file="train/cat/") == path
    assert kaggle.count() == before  # the recorded selection answers with no request


def test_globs_with_negation_and_exclude(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", {**FILES, "train/.DS_Store": b"x", "__MACOSX/train/._a": b""})
    path = kagman.pull("owner/pets", include=["train/**", "!*.tif", "*.csv"], exclude=["test/"])
    assert path == root() / "versions/1"
    assert blobs(kaggle) == {"train/cat/1.jpg", "train/dog/3.jpg", "labels.csv"}
    assert kaggle.count("ListDatasetFiles") == 1


def test_a_later_pull_fetches_only_what_is_missing(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kagman.pull("owner/pets", include=["*.jpg"])
    first = blobs(kaggle)
    assert first == {"train/cat/1.jpg", "train/dog/3.jpg", "test/4.jpg"}
    kaggle.requests.clear()
    kagman.pull("owner/pets", include=["*.jpg", "*.csv"])
    assert blobs(kaggle) == {"labels.csv", "test/5.csv"}  # the jpgs were already there
    entry = root() / "versions/1"
    assert set(holding(entry).files) == first | {"labels.csv", "test/5.csv"}
    kaggle.requests.clear()
    kagman.pull("owner/pets/versions/1", file="labels.csv")
    kagman.pull("owner/pets/versions/1", include=["*.jpg", "*.csv"])
    assert kaggle.requests == []  # held files and recorded selections: no request
    whole = kagman.pull("owner/pets")
    assert whole == entry
    assert state_of(entry) == "complete"
    assert tree(entry) == FILES
    assert read_manifest(entry)["kind"] == "dataset"


@pytest.mark.parametrize(
    ("options", "pulled"),
    [
        ({"exclude": ["*.txt"]}, {"labels.csv"}),  # the file, and it matches no exclude
        ({"include": ["*.csv"]}, {"labels.csv"}),
        ({"include": ["*.csv"], "exclude": ["notes*"]}, {"labels.csv"}),
    ],
)
def test_a_file_with_patterns_pulls_that_file(
    kaggle: FakeKaggle, options: dict[str, list[str]], pulled: set[str]
) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets", file="labels.csv", **options)
    assert path == root() / "versions/1/labels.csv"
    assert path.read_bytes() == FILES["labels.csv"]
    assert blobs(kaggle) == pulled
    kaggle.requests.clear()  # pulled again: the recorded selection answers, no request
    assert kagman.pull("owner/pets/versions/1", file="labels.csv", **options) == path
    assert kaggle.requests == []
    assert kagman.pull("owner/pets/versions/1", file="labels.csv", offline=True, **options) == path


def test_a_file_the_patterns_leave_out_is_an_empty_selection(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    with pytest.raises(
        EmptySelectionError, match=r"matches file='labels.csv', exclude=\['\*.csv'\]"
    ):
        kagman.pull("owner/pets", file="labels.csv", exclude=["*.csv"])
    kagman.pull("owner/pets")  # cached whole: the file and patterns answer from it
    assert kagman.pull("owner/pets/versions/1", file="labels.csv", include=["*.csv"]) == (
        root() / "versions/1/labels.csv"
    )
    kaggle.requests.clear()
    with pytest.raises(EmptySelectionError):
        kagman.pull("owner/pets/versions/1", file="labels.csv", exclude=["*.csv"])


def test_the_cli_pulls_a_file_with_patterns(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    result = CliRunner().invoke(
        cli, ["pull", "owner/pets", "--file", "labels.csv", "--exclude", "*.txt"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{root() / 'versions/1/labels.csv'}\n"


def test_an_empty_selection_lists_the_top_level(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    with pytest.raises(EmptySelectionError) as info:
        kagman.pull("owner/pets", include=["*.png"], exclude=["x"])
    assert str(info.value) == (
        "Nothing in owner/pets/versions/1 (7 files) matches include=['*.png'], exclude=['x']. "
        "Its top level has folders test/, train/; files labels.csv, notes.txt. "
        "See every file with `kagman files owner/pets/versions/1`."
    )
    assert str(info.value.cli_message).startswith(  # the command line names its flags
        "Nothing in owner/pets/versions/1 (7 files) matches --include '*.png' --exclude 'x'. "
    )
    assert info.value.exit_code == 2
    assert kaggle.count("blob") == 0
    assert not (root() / "versions/1").exists()  # no empty entry left behind
    with pytest.raises(
        DatasetNotFoundError, match=r"no file 'nope'.*top level has folders test/, train/"
    ):
        kagman.pull("owner/pets", file="nope")


def test_an_empty_selection_is_refused_whatever_is_cached(kaggle: FakeKaggle) -> None:
    """QA2 finding 2: a complete (or partial) entry answers the same "nothing matches" as a
    fresh cache, pinned or not, online or offline, and with no download."""
    kaggle.add_dataset("owner/pets", FILES)
    with pytest.raises(EmptySelectionError) as fresh:
        kagman.pull("owner/pets", include=["*.png"])
    kagman.pull("owner/pets")  # cached whole
    kaggle.requests.clear()
    for ref, options in [
        ("owner/pets/versions/1", {}),
        ("owner/pets", {}),
        ("owner/pets", {"offline": True}),
        ("owner/pets/versions/1", {"offline": True}),
    ]:
        with pytest.raises(EmptySelectionError) as cached:
            kagman.pull(ref, include=["*.png"], **options)  # type: ignore[arg-type]
        assert str(cached.value) == str(fresh.value), (ref, options)
    for options in [{"file": "train/", "include": ["*.png"]}, {"file": "labels.csv"}]:
        with pytest.raises(EmptySelectionError, match=r"^Nothing in owner/pets/versions/1 "):
            kagman.pull("owner/pets/versions/1", exclude=["*.csv", "*.jpg", "*.tif"], **options)
        with pytest.raises(EmptySelectionError, match=r"^Nothing in owner/pets/versions/1 "):
            kagman.pull("owner/pets", offline=True, exclude=["*.csv", "*.jpg", "*.tif"], **options)
    assert kaggle.count("blob") == 0
    result = CliRunner().invoke(cli, ["pull", "owner/pets", "--include", "*.png", "--offline"])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {fresh.value.cli_message}\n"
    # a competition's cached data answers the same
    kaggle.add_competition("quiz", {"train.csv": b"a\n1\n", "test.csv": b"a\n2\n"})
    kagman.pull_competition("quiz")
    for offline in (False, True):
        with pytest.raises(EmptySelectionError, match=r"^Nothing in the competition quiz "):
            kagman.pull_competition("quiz", include=["*.png"], offline=offline)


def test_offline_a_file_missing_from_a_version_cached_whole_is_not_found(
    kaggle: FakeKaggle,
) -> None:
    # online and offline agree: the file does not exist (exit 4), not "not in the cache" (6)
    kaggle.add_dataset("owner/pets", FILES)
    kagman.pull("owner/pets")  # cached whole
    with pytest.raises(DatasetNotFoundError):
        kagman.pull("owner/pets", file="nope.csv")
    kaggle.requests.clear()
    with pytest.raises(DatasetNotFoundError) as pinned:
        kagman.pull("owner/pets/versions/1", file="nope.csv", offline=True)
    assert str(pinned.value) == (
        "owner/pets/versions/1 has no file 'nope.csv': it is cached whole and its manifest "
        "lists every file. See them with `kagman files owner/pets/versions/1` (names are "
        "case-sensitive and may include folders)."
    )
    with pytest.raises(DatasetNotFoundError, match="cannot see whether Kaggle now has a newer"):
        kagman.pull("owner/pets", file="train/nope/", offline=True)
    result = CliRunner().invoke(cli, ["pull", "owner/pets", "--file", "nope.csv", "--offline"])
    assert result.exit_code == DatasetNotFoundError.exit_code == 4, result.output
    assert kaggle.requests == []
    kaggle.add_competition("quiz", {"train.csv": b"a\n1\n"})
    kagman.pull_competition("quiz")
    with pytest.raises(kagman.CompetitionNotFoundError, match="quiz's cached data has no file"):
        kagman.pull_competition("quiz", file="nope.csv", offline=True)


def test_single_file_goes_into_the_version_entry_unwrapped(kaggle: FakeKaggle) -> None:
    big = b"x,y\n" + b"1,2\n" * 5000
    kaggle.add_dataset(
        "owner/pets", {**FILES, "big/table.csv": big}, zipped_files=["big/table.csv"]
    )
    path = kagman.pull("owner/pets", file="big/table.csv")
    assert path == root() / "versions/1/big/table.csv"
    assert path.read_bytes() == big
    assert read_manifest(path.parents[1])["sources"]["big/table.csv"][2] is True  # unwrapped
    assert [r.endpoint for r in kaggle.requests] == ["GetDataset", "DownloadDataset", "blob"]


def test_offline_serves_what_is_there(kaggle: FakeKaggle, caplog: pytest.LogCaptureFixture) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kagman.pull("owner/pets", file="train/")
    kaggle.requests.clear()
    entry = root() / "versions/1"
    assert (
        kagman.pull("owner/pets", file="train/cat/1.jpg", offline=True) == entry / "train/cat/1.jpg"
    )
    assert kagman.pull("owner/pets", file="train", offline=True) == entry / "train"
    assert kagman.pull("owner/pets", include=["*.jpg"], offline=True) == entry
    assert "may lack others" in caplog.text  # *.jpg was never pulled as such
    with pytest.raises(NotCachedError, match=r"Only part of owner/pets is cached"):
        kagman.pull("owner/pets", offline=True)  # a whole-dataset request needs a complete entry
    with pytest.raises(NotCachedError, match=r"^'labels\.csv' of owner/pets is not in the cache"):
        kagman.pull("owner/pets", file="labels.csv", offline=True)
    assert kaggle.requests == []


def test_offline_prefers_a_full_answer_to_a_newer_part(
    kaggle: FakeKaggle, caplog: pytest.LogCaptureFixture
) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    whole = kagman.pull("owner/pets")
    kaggle.add_dataset("owner/pets", {**FILES, "2.txt": b"2"})
    newer = kagman.pull("owner/pets", file="train/cat/")  # version 2, in part
    kaggle.requests.clear()
    assert kagman.pull("owner/pets", include=["*.jpg"], offline=True) == whole
    assert "may lack others" not in caplog.text  # version 1 holds every jpg of it
    assert kagman.pull("owner/pets", file="train/cat", offline=True) == newer
    with pytest.raises(NotCachedError, match=r"^'2\.txt' of owner/pets is not in the cache"):
        kagman.pull("owner/pets", file="2.txt", offline=True)
    assert kaggle.requests == []


def test_single_files_of_the_old_layout_are_still_served(kaggle: FakeKaggle) -> None:
    """Entries kagman wrote before subsets (files/<N>/<name>, kind "file") read as subsets."""
    old = root() / "files/3/data/t.csv"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"a\n1\n")
    manifest = {
        "format": 1,
        "kind": "file",
        "ref": "owner/pets",
        "version": 3,
        "file": "data/t.csv",
    }
    old.with_name("t.csv.manifest.json").write_text(json.dumps(manifest))
    assert state_of(old) == "subset"
    assert kagman.pull("owner/pets/versions/3", file="data/t.csv") == old
    assert kagman.pull("owner/pets", file="data/t.csv", offline=True) == old
    assert kaggle.count() == 0


def test_a_failed_file_keeps_the_others_and_resumes(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"part/{i}.bin": os.urandom(200_000) for i in range(4)}
    kaggle.add_dataset("owner/pets", files)
    monkeypatch.setenv("KAGMAN_RETRIES", "0")
    kaggle.drop_connection_after(50_000, times=1)  # the first body to start dies
    with pytest.raises(NetworkError, match="resumes"):
        kagman.pull("owner/pets", file="part/")
    entry = root() / "versions/1"
    held = holding(entry)
    assert held.state == "subset"
    assert len(held.files) == 3  # the three that arrived are recorded
    assert held.selections == frozenset()  # the folder is not complete yet
    kaggle.requests.clear()
    monkeypatch.delenv("KAGMAN_RETRIES")
    assert tree(kagman.pull("owner/pets", file="part/")) == {
        n.removeprefix("part/"): b for n, b in files.items()
    }
    got = [r for r in kaggle.requests if r.endpoint == "blob"]
    assert len({r.path for r in got}) == 1  # only the missing file...
    assert [r.range for r in got if r.range] == ["bytes=50000-"]  # ...resumed where it stopped


def test_files_download_in_parallel(kaggle: FakeKaggle) -> None:
    files = {f"f/{i}.bin": b"x" * 40_000 for i in range(8)}
    kaggle.add_dataset("owner/pets", files)
    kaggle.throttle_bytes_per_sec = 100_000  # 0.4 s per file, per connection
    started = time.monotonic()
    kagman.pull("owner/pets", file="f/")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"8 files x 0.4 s took {elapsed:.1f} s: not in parallel"
    assert len(blobs(kaggle)) == 8


def test_the_cli_says_what_was_selected(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    result = CliRunner().invoke(
        cli, ["pull", "owner/pets", "--include", "*.csv", "--exclude", "test/**"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{root() / 'versions/1'}\n"
    assert "Selected 1 of 7 files (15 B of" in result.stderr
    empty = CliRunner().invoke(cli, ["pull", "owner/pets", "--include", "*.png"])
    assert empty.exit_code == 2
    assert empty.stderr.startswith("Error: Nothing in owner/pets/versions/1 (7 files) matches")


def test_the_installed_cli_pulls_a_pasted_select_url(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    url = "https://www.kaggle.com/datasets/owner/pets/data?select=train%2Fdog%2F"
    proc = subprocess.run(
        [kagman_executable(), "pull", url],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{root() / 'versions/1/train/dog'}\n"
    assert blobs(kaggle) == {"train/dog/3.jpg"}
