"""`kagman.pull`: the real kagglesdk client against the fake Kaggle server on loopback."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import zipfile
from collections import namedtuple
from pathlib import Path

import pytest
from click.testing import CliRunner
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle, make_zip

import kagman
from kagman import (
    CorruptArchiveError,
    CredentialsNotFoundError,
    CredentialsRejectedError,
    DatasetNotFoundError,
    DiskFullError,
    InvalidRefError,
    NetworkError,
    NotCachedError,
    RateLimitedError,
    TermsNotAcceptedError,
    UnsafeArchiveError,
)
from kagman.cache.lock import dataset_lock
from kagman.cli import cli
from kagman.remote.refs import parse_ref

FILES = {
    "train/cat/1.jpg": b"cat-one" * 100,
    "train/dog/2.jpg": b"dog-two" * 100,
    "labels.csv": b"id,label\n1,cat\n2,dog\n",
}


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def cache_root() -> Path:
    return Path(os.environ["KAGMAN_CACHE"])


def test_pull_latest_downloads_extracts_and_records(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets", progress=False)
    assert path == cache_root() / "datasets/owner/pets/versions/1"
    assert path.is_absolute()
    assert read_tree(path) == FILES
    manifest = json.loads((path.parent / "1.manifest.json").read_text())
    assert manifest["ref"] == "owner/pets"
    assert manifest["version"] == 1
    assert sorted(tuple(f) for f in manifest["files"]) == sorted(
        (name, len(data), hashlib.sha256(data).hexdigest()) for name, data in FILES.items()
    )
    assert (kaggle.count("GetDataset"), kaggle.count("DownloadDataset"), kaggle.count("blob")) == (
        1,
        1,
        1,
    )
    # nothing left over in the incomplete area
    assert list((path.parent.parent / ".incomplete").iterdir()) == []


def test_pinned_cache_hit_makes_no_request(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    first = kagman.pull("owner/pets/versions/1", progress=False)
    before = kaggle.count()
    assert kagman.pull("owner/pets/versions/1") == first
    assert kagman.pull("owner/pets", version=1) == first
    assert kaggle.count() == before


def test_latest_cache_hit_makes_only_the_version_lookup(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    first = kagman.pull("owner/pets", progress=False)
    before = kaggle.count()
    assert kagman.pull("owner/pets") == first
    assert kaggle.count() - before == 1
    assert kaggle.requests[-1].endpoint == "GetDataset"


def test_new_version_is_pulled_beside_the_old(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    v1 = kagman.pull("owner/pets")
    kaggle.add_dataset("owner/pets", {**FILES, "new.txt": b"v2"})
    v2 = kagman.pull("owner/pets")
    assert v2.name == "2"
    assert read_tree(v1) == FILES
    assert read_tree(v2)["new.txt"] == b"v2"


def test_offline_returns_newest_complete_version_without_network(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("owner/pets", {"b.txt": b"2"})
    kagman.pull("owner/pets/versions/1")
    v2 = kagman.pull("owner/pets/versions/2")
    before = kaggle.count()
    assert kagman.pull("owner/pets", offline=True) == v2
    monkeypatch.setenv("KAGMAN_OFFLINE", "1")
    assert kagman.pull("owner/pets") == v2
    assert kaggle.count() == before


def test_offline_without_cache_raises_not_cached(kaggle: FakeKaggle) -> None:
    with pytest.raises(NotCachedError, match=r"without offline=True \(and unset") as info:
        kagman.pull("owner/nothing", offline=True)
    assert "without --offline (and unset" in str(info.value.cli_message)
    assert isinstance(info.value, FileNotFoundError)
    assert kaggle.count() == 0


def test_offline_ignores_an_entry_without_manifest(kaggle: FakeKaggle) -> None:
    """A folder left by a pull killed during extraction is never treated as complete."""
    debris = cache_root() / "datasets/owner/pets/versions/1"
    debris.mkdir(parents=True)
    (debris / "half.txt").write_text("half")
    with pytest.raises(NotCachedError):
        kagman.pull("owner/pets", offline=True)
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets/versions/1")
    assert read_tree(path) == FILES  # the debris was replaced, not merged


def test_force_downloads_again(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets/versions/1")
    (path / "labels.csv").write_text("tampered")
    blobs = kaggle.count("blob")
    assert kagman.pull("owner/pets/versions/1", force=True) == path
    assert kaggle.count("blob") == blobs + 1
    assert read_tree(path) == FILES


def test_force_and_offline_conflict(kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(kagman.InvalidArgumentError, match="one or the other") as refused:
        kagman.pull("owner/pets", force=True, offline=True)
    assert refused.value.exit_code == 2  # bad usage (QA2 finding 3)
    monkeypatch.setenv("KAGMAN_OFFLINE", "1")
    result = CliRunner().invoke(cli, ["pull", "owner/pets", "--force"])
    assert result.exit_code == 2, result.output
    assert "one or the other" in result.stderr


def test_an_unknown_api_environment_is_bad_input(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "NOPE")
    result = CliRunner().invoke(cli, ["files", "owner/pets"])
    assert result.exit_code == 2, result.output  # QA2 finding 3: not exit 1
    assert "Unset KAGGLE_API_ENVIRONMENT or set it to PROD, TEST or LOCALHOST" in result.stderr


def test_single_file_raw_and_zipped(kaggle: FakeKaggle) -> None:
    big = b"x,y\n" + b"1,2\n" * 5000
    kaggle.add_dataset(
        "owner/tables", {"small.csv": b"a\n1\n", "big.csv": big}, zipped_files=["big.csv"]
    )
    small = kagman.pull("owner/tables", file="small.csv")
    assert small.name == "small.csv"
    assert small.read_bytes() == b"a\n1\n"
    unwrapped = kagman.pull("owner/tables", file="big.csv")
    assert unwrapped.read_bytes() == big  # Kaggle's <name>.zip wrapper was removed
    before = kaggle.count()
    assert kagman.pull("owner/tables/versions/1", file="big.csv") == unwrapped
    assert kaggle.count() == before


def test_file_of_a_cached_dataset_needs_no_download(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    root = kagman.pull("owner/pets/versions/1")
    before = kaggle.count()
    assert kagman.pull("owner/pets/versions/1", file="labels.csv") == root / "labels.csv"
    assert kaggle.count() == before


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../b", "", "a\\b"])
def test_bad_file_names_are_refused_locally(kaggle: FakeKaggle, name: str) -> None:
    with pytest.raises(kagman.KagmanError, match="Invalid file name"):
        kagman.pull("owner/pets", file=name)
    assert kaggle.count() == 0


def test_missing_file_is_a_clear_404(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    with pytest.raises(DatasetNotFoundError, match=r"no file 'nope\.csv'"):
        kagman.pull("owner/pets", file="nope.csv")


def test_link_creates_a_symlink_to_the_entry(kaggle: FakeKaggle, tmp_path: Path) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets", link=tmp_path / "data")
    link = tmp_path / "data" / "pets"
    assert link.is_symlink()
    assert link.resolve() == path.resolve()
    kaggle.add_dataset("owner/pets", {"v2.txt": b"2"})
    v2 = kagman.pull("owner/pets", link=tmp_path / "data")
    assert link.resolve() == v2.resolve()  # updated in place
    (tmp_path / "data" / "pets2").mkdir()
    blocker = tmp_path / "blocked"
    (blocker / "pets").mkdir(parents=True)
    with pytest.raises(kagman.KagmanError, match="not a symlink"):
        kagman.pull("owner/pets", link=blocker)


def test_a_link_that_cannot_be_made_is_refused_before_downloading(
    kaggle: FakeKaggle, tmp_path: Path
) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_competition("titanic", {"train.csv": b"a\n1\n"})
    project = tmp_path / "project"
    for blocked, pull in (
        ("pets", lambda: kagman.pull("owner/pets", link=project)),
        ("labels.csv", lambda: kagman.pull("owner/pets", file="labels.csv", link=project)),
        ("dog", lambda: kagman.pull("owner/pets", file="train/dog/", link=project)),
        ("titanic", lambda: kagman.pull_competition("titanic", link=project)),
    ):
        (project / blocked).mkdir(parents=True)
        kaggle.requests.clear()
        with pytest.raises(
            kagman.InvalidArgumentError,
            match=f"{project / blocked} already exists and .* so link= ",
        ):
            pull()
        assert kaggle.requests == []  # refused before any request, let alone a download
        (project / blocked).rmdir()
    assert not Path(os.environ["KAGMAN_CACHE"]).exists()
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(kagman.InvalidArgumentError, match=f"The link= folder {afile} is a file"):
        kagman.pull("owner/pets", link=afile)
    inside = f"The link= folder {afile / 'sub' / 'deeper'} cannot be made: {afile} is a file."
    with pytest.raises(kagman.InvalidArgumentError, match=inside):  # QA2 finding 6
        kagman.pull("owner/pets", link=afile / "sub" / "deeper")
    (project / "pets").mkdir(parents=True)
    result = CliRunner().invoke(cli, ["pull", "owner/pets", "--link", str(project)])
    assert (result.exit_code, result.stderr) == (
        2,  # bad input (QA2 finding 3)
        (
            f"Error: {project / 'pets'} already exists and is not a symlink, so --link will not "
            "replace it. Remove or rename it, or choose another --link folder.\n"
        ),
    )
    assert kaggle.requests == []


def test_pull_from_a_read_only_working_directory(kaggle: FakeKaggle, tmp_path: Path) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    ro = tmp_path / "readonly"
    ro.mkdir()
    os.chdir(ro)
    ro.chmod(0o500)
    try:
        path = kagman.pull("owner/pets")
        assert Path.cwd() == ro
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)
    assert read_tree(path) == FILES


# --- errors ---------------------------------------------------------------------------------


def test_invalid_ref_makes_no_request(kaggle: FakeKaggle) -> None:
    with pytest.raises(InvalidRefError):
        kagman.pull("not a ref")
    assert kaggle.count() == 0


def test_no_credentials_says_run_init(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("owner/pets", FILES)
    with pytest.raises(CredentialsNotFoundError, match="kagman init"):
        kagman.pull("owner/pets")
    assert fake_kaggle.count() == 0


def test_wrong_key_is_rejected_and_masked(
    fake_kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("KAGGLE_USERNAME", TEST_USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", wrong)
    fake_kaggle.add_dataset("owner/pets", FILES)
    with pytest.raises(CredentialsRejectedError, match="rejected") as info:
        kagman.pull("owner/pets")
    assert wrong not in str(info.value)
    assert isinstance(info.value, PermissionError)


def test_terms_not_accepted_gives_the_dataset_url(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/rules", FILES, terms=True)
    with pytest.raises(
        TermsNotAcceptedError, match=re.escape("https://www.kaggle.com/datasets/owner/rules")
    ):
        kagman.pull("owner/rules")


def test_unknown_and_private_datasets_are_404(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("someone/secret", FILES, private=True)
    for ref in ("owner/missing", "someone/secret"):
        with pytest.raises(DatasetNotFoundError, match="private") as info:
            kagman.pull(ref)
        assert info.value.status == 404
        assert isinstance(info.value, LookupError)


def test_429_is_retried_honouring_retry_after(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.fail_next(429, times=2, endpoint="GetDataset", retry_after=0.05)
    kaggle.fail_next(503, times=1, endpoint="blob")
    path = kagman.pull("owner/pets")
    assert read_tree(path) == FILES
    assert kaggle.count("GetDataset") == 3


def test_429_after_retries_is_rate_limited(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGMAN_RETRIES", "1")
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.fail_next(429, times=5, endpoint="GetDataset", retry_after=0)
    with pytest.raises(RateLimitedError, match="Wait a few minutes"):
        kagman.pull("owner/pets")
    assert kaggle.count("GetDataset") == 2


def test_network_down_is_a_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every request goes through a proxy on a closed port: the network is "down",
    # whatever else this test session has listening on loopback.
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "TEST")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("KAGGLE_USERNAME", TEST_USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", TEST_KEY)
    with pytest.raises(
        NetworkError, match=r"Could not reach Kaggle's API at http://localhost:7777 \(the proxy"
    ) as info:
        kagman.pull("owner/pets")
    assert isinstance(info.value, ConnectionError)


@pytest.mark.usefixtures("fake_kaggle")
def test_network_drop_during_download_is_a_network_error_that_keeps_bytes(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGMAN_RETRIES", "1")
    kaggle.add_dataset("owner/big", big_files(10))
    kaggle.drop_connection_after(100_000, times=5)
    with pytest.raises(NetworkError, match="run the same pull again") as info:
        kagman.pull("owner/big")
    assert "Traceback" not in str(info.value)
    part = cache_root() / "datasets/owner/big/.incomplete/v1.zip"
    assert part.stat().st_size >= 100_000


def test_localhost_environment_is_honoured(
    fake_kaggle_localhost: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", TEST_USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", TEST_KEY)
    fake_kaggle_localhost.add_dataset("owner/pets", FILES)
    assert read_tree(kagman.pull("owner/pets")) == FILES
    assert fake_kaggle_localhost.count("DownloadDataset") == 1


def test_disk_full_before_download(kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    usage = namedtuple("usage", "total used free")
    with monkeypatch.context() as patch:
        patch.setattr(shutil, "disk_usage", lambda _path: usage(10**9, 10**9 - 10, 10))
        with pytest.raises(DiskFullError, match="Not enough disk space") as info:
            kagman.pull("owner/pets")
    assert info.value.free == 10
    entry = cache_root() / "datasets/owner/pets/versions/1"
    assert not entry.exists()


def test_corrupt_archive_is_removed_and_reported(kaggle: FakeKaggle) -> None:
    good = make_zip(FILES)
    bad = bytearray(good)
    bad[40] ^= 0xFF  # flip a byte inside the first member's data
    kaggle.add_dataset("owner/broken", archive=bytes(bad))
    with pytest.raises(CorruptArchiveError, match="removed") as info:
        kagman.pull("owner/broken")
    assert isinstance(info.value, ValueError)
    base = cache_root() / "datasets/owner/broken"
    assert not (base / "versions/1").exists()
    assert list((base / ".incomplete").iterdir()) == []
    kaggle.add_dataset("owner/notzip", archive=b"<html>not a zip</html>")
    with pytest.raises(CorruptArchiveError, match="not a zip"):
        kagman.pull("owner/notzip")


def test_malicious_archive_writes_nothing_outside(kaggle: FakeKaggle, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr("../../../../escape.txt", b"evil")
    kaggle.add_dataset("owner/evil", archive=buf.getvalue())
    with pytest.raises(UnsafeArchiveError, match=r"\.\./"):
        kagman.pull("owner/evil")
    assert not list(tmp_path.rglob("escape.txt"))
    assert not (cache_root() / "datasets/owner/evil/versions/1").exists()


# --- resume ---------------------------------------------------------------------------------


def big_files(n: int = 40, size: int = 50_000) -> dict[str, bytes]:
    return {f"part-{i:03}.bin": os.urandom(size) for i in range(n)}  # incompressible


def test_dropped_connection_resumes_with_range(kaggle: FakeKaggle) -> None:
    files = big_files()
    kaggle.add_dataset("owner/big", files)
    kaggle.drop_connection_after(300_000, times=2)
    path = kagman.pull("owner/big")
    assert read_tree(path) == files
    ranged = [r for r in kaggle.requests if r.endpoint == "blob" and r.range]
    assert ranged, "the retry must ask only for the missing bytes"
    assert ranged[0].range.startswith("bytes=300000-")


def test_partial_of_a_changed_remote_is_not_spliced(kaggle: FakeKaggle) -> None:
    old = big_files()
    kaggle.add_dataset("owner/big", old)
    ref = parse_ref("owner/big/versions/1")
    kaggle.drop_connection_after(200_000, times=10)
    os.environ["KAGMAN_RETRIES"] = "0"
    try:
        with pytest.raises(NetworkError, match="resumes"):
            kagman.pull(str(ref))
    finally:
        del os.environ["KAGMAN_RETRIES"]
    part = cache_root() / "datasets/owner/big/.incomplete/v1.zip"
    assert part.stat().st_size == 200_000
    new = big_files()
    kaggle.replace_archive("owner/big", 1, make_zip(new))
    path = kagman.pull(str(ref))
    assert read_tree(path) == new


def test_different_datasets_do_not_block_each_other(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/a", FILES)
    kaggle.add_dataset("owner/b", FILES)
    with dataset_lock(parse_ref("owner/a/versions/1"), timeout=0):
        assert read_tree(kagman.pull("owner/b")) == FILES


def test_entry_files_are_not_world_writable(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    path = kagman.pull("owner/pets")
    for file in path.rglob("*"):
        assert not file.stat().st_mode & stat.S_IWOTH


def test_disk_full_before_extraction_removes_everything(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive fits, its extracted contents do not: nothing is left behind."""
    files = {"zeros.bin": os.urandom(1000) * 5000}  # 5 MB that compresses ~80:1
    kaggle.add_dataset("owner/zeros", files)
    real = shutil.disk_usage
    usage = namedtuple("usage", "total used free")

    def small_disk(path: str | os.PathLike[str]) -> object:
        total, used, _ = real(path)
        return usage(total, used, 1_000_000)  # room for the archive, not for 5 MB

    with monkeypatch.context() as patch:
        patch.setattr(shutil, "disk_usage", small_disk)
        with pytest.raises(DiskFullError, match="archive was removed") as info:
            kagman.pull("owner/zeros")
    assert info.value.needed == 5_000_000
    base = cache_root() / "datasets/owner/zeros"
    assert list((base / ".incomplete").iterdir()) == []
    assert not (base / "versions/1").exists()


def test_a_dataset_ref_object_and_version_keyword(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("owner/pets", {"v2.txt": b"2"})
    ref = parse_ref("owner/pets")
    assert kagman.pull(ref, version=1).name == "1"
    assert kagman.pull(ref).name == "2"
    with pytest.raises(InvalidRefError, match="Conflicting versions"):
        kagman.pull(parse_ref("owner/pets/versions/2"), version=1)


def test_cache_entries_list_only_complete_pulls(kaggle: FakeKaggle) -> None:
    """What `ls`/`prune`/`verify` build on: entries, their state, and their manifests."""
    from kagman.cache.manifest import read_manifest

    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("owner/tables", {"t.csv": b"x\n1\n"})
    pets = kagman.pull("owner/pets")
    table = kagman.pull("owner/tables", file="t.csv")
    (cache_root() / "datasets/owner/pets/versions/7").mkdir()  # debris: no manifest
    (pets / "train" / "x.manifest.json").write_text("{}")  # data, not a manifest of an entry
    (pets / "train" / "x").mkdir()
    entries = kagman.cache_info().entries
    assert [(e.ref, e.version, e.state, e.path) for e in entries] == [
        ("owner/pets", 1, "complete", pets),
        ("owner/pets", 7, "incomplete", cache_root() / "datasets/owner/pets/versions/7"),
        ("owner/tables", 1, "subset", table.parent),
    ]
    assert read_manifest(pets)["files"] == [
        [name, len(FILES[name]), hashlib.sha256(FILES[name]).hexdigest()] for name in sorted(FILES)
    ]
    table_bytes = b"x\n1\n"
    table_hash = hashlib.sha256(table_bytes).hexdigest()
    assert read_manifest(table.parent)["files"] == [["t.csv", len(table_bytes), table_hash]]


def test_file_takes_a_path_object_as_posix(kaggle: FakeKaggle) -> None:
    from pathlib import PurePosixPath, PureWindowsPath

    kaggle.add_dataset("owner/paths", {"train.csv": b"a\n1\n", "sub/t.csv": b"b\n2\n"})
    csv = kagman.pull("owner/paths", file=Path("train.csv"))
    assert csv.read_bytes() == b"a\n1\n"
    assert kagman.pull("owner/paths", file=PureWindowsPath("sub\\t.csv")).name == "t.csv"
    assert kagman.load("owner/paths", Path("sub") / "t.csv")["b"].tolist() == [2]
    assert kagman.cached_path("owner/paths", file=PurePosixPath("train.csv")) == csv
    assert kagman.pull("owner/paths/versions/1", file=Path("train.csv"), offline=True) == csv
    with pytest.raises(kagman.InvalidRefError, match="Invalid file name '/etc/passwd'"):
        kagman.pull("owner/paths", file=Path("/etc/passwd"))
    assert kagman.remove("owner/paths", file=Path("sub/t.csv")).removed


def test_a_missing_version_names_the_current_one(kaggle: FakeKaggle) -> None:
    """QA2 finding 8: not "check the spelling" when only the version is wrong."""
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("owner/pets", {"v2.txt": b"2"})
    said = (
        "Kaggle has no version 9 of owner/pets: its current version is 2. Pull "
        "owner/pets/versions/2, or leave the version out for the latest."
    )
    for options in ({}, {"file": "v2.txt"}, {"file": "sub/"}):
        with pytest.raises(kagman.DatasetNotFoundError) as missing:
            kagman.pull("owner/pets/versions/9", **options)  # type: ignore[arg-type]
        assert str(missing.value) == said, options
    result = CliRunner().invoke(cli, ["pull", "owner/pets", "--version", "9"])
    assert (result.exit_code, result.stderr) == (4, f"Error: {said}\n")
    with pytest.raises(kagman.DatasetNotFoundError, match="Check the spelling"):
        kagman.pull("owner/nope/versions/9")  # no such dataset: the spelling it is
