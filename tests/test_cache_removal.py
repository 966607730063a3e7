"""`kagman rm` and `kagman prune` on caches built by real pulls, also while pulls run."""

from __future__ import annotations

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
from kagman.cli import cli

FILES = {"train/a.bin": b"a" * 20_000, "labels.csv": b"id\n1\n"}


def cache_root() -> Path:
    return Path(os.environ["KAGMAN_CACHE"])


def manifest_of(entry: Path) -> Path:
    return entry.with_name(entry.name + ".manifest.json")


def leftovers(ref: str) -> list[str]:
    folder = cache_root() / "datasets" / ref / ".incomplete"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def three_versions(kaggle: FakeKaggle, ref: str = "owner/pets") -> list[Path]:
    paths = []
    for n in range(3):
        kaggle.add_dataset(ref, {**FILES, "v.txt": str(n).encode()})
        paths.append(kagman.pull(ref))
    return paths


def test_rm_one_version_renames_aside_and_reports(kaggle: FakeKaggle) -> None:
    v1, v2, _ = three_versions(kaggle)
    size = next(r.size for r in kagman.cache_info().entries if r.path == v1)
    result = CliRunner().invoke(cli, ["rm", "owner/pets/versions/1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("Removed owner/pets/versions/1, ")
    assert result.stdout.splitlines()[-1] == f"1 removed, {kagman_size(size)} freed."
    assert not v1.exists()
    assert not manifest_of(v1).exists()
    assert v2.is_dir()
    assert leftovers("owner/pets") == []  # the renamed-aside copy is gone too
    assert [r.version for r in kagman.cache_info().entries] == [2, 3]


def kagman_size(n: int) -> str:
    from kagman.fs import human_size

    return human_size(n)


def test_rm_dataset_removes_every_version_file_and_leftover(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    single = kagman.pull("owner/pets", file="labels.csv")
    kaggle.add_dataset("owner/pets", {**FILES, "2.txt": b"2"})
    whole = kagman.pull("owner/pets")
    partial = cache_root() / "datasets/owner/pets/.incomplete/v9.zip"
    partial.write_bytes(b"x" * 100)
    report = kagman.remove("owner/pets")
    assert single.parent == cache_root() / "datasets/owner/pets/versions/1"  # a subset entry
    assert [item.entry.path for item in report.removed] == [single.parent, whole, partial]
    assert report.freed == sum(item.entry.size for item in report.removed)
    assert kagman.cached().empty
    assert leftovers("owner/pets") == []
    assert kagman.pull("owner/pets/versions/2").is_dir()  # pulls again fine afterwards


def test_rm_file_takes_it_out_of_a_subset_entry(kaggle: FakeKaggle, tmp_path: Path) -> None:
    kaggle.add_dataset("owner/tables", {"t.csv": b"x\n1\n", "u.csv": b"y\n", "d/v.csv": b"v"})
    t = kagman.pull("owner/tables", file="t.csv", link=tmp_path / "proj")
    u = kagman.pull("owner/tables", file="u.csv")
    entry = cache_root() / "datasets/owner/tables/versions/1"
    assert t.parent == u.parent == entry
    manifest = manifest_of(entry)
    used = manifest.stat().st_mtime - 3600
    os.utime(manifest, (used, used))
    runner = CliRunner()
    result = runner.invoke(cli, ["rm", "owner/tables", "--file", "t.csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Removed owner/tables/versions/1 file t.csv [subset], ")
    assert result.stdout.splitlines()[1].startswith("1 removed, ")
    dangling = f"Dangling link (its target was removed): {tmp_path / 'proj/t.csv'}"
    assert dangling in result.stdout.splitlines()
    assert not t.exists()
    assert u.read_bytes() == b"y\n"  # the entry stays, with its other file
    held = json.loads(manifest.read_text())
    assert [f[0] for f in held["files"]] == ["u.csv"]
    assert held["total_bytes"] == 2
    assert list(held["sources"]) == ["u.csv"]
    assert len(held["selections"]) == 1  # --file t.csv is no longer answered; --file u.csv is
    assert held["links"] == [str(tmp_path / "proj" / "t.csv")]  # kept: the record of the link
    assert manifest.stat().st_mtime == used  # a removal is not a use
    assert kagman.verify("owner/tables").ok
    gone = runner.invoke(cli, ["path", "owner/tables", "--file", "t.csv"])
    assert gone.exit_code == 6
    # a pull of t.csv again downloads it: the entry no longer claims it
    kaggle.requests.clear()
    assert kagman.pull("owner/tables/versions/1", file="t.csv") == t
    assert kaggle.count("blob") == 1
    # a folder's files, and the entry's last files: the entry goes with them
    kagman.pull("owner/tables/versions/1", file="d/")
    assert kagman.remove("owner/tables", file="d/").removed[0].files == ("d/v.csv",)
    assert not (entry / "d").exists()  # its emptied folder too
    last = kagman.remove("owner/tables/versions/1", file="t.csv")
    assert last.removed[0].files == ("t.csv",)
    kagman.remove("owner/tables/versions/1", file="u.csv")
    assert not entry.exists()
    assert not manifest.exists()
    assert kagman.cached().empty
    assert leftovers("owner/tables") == []


def test_rm_file_of_a_whole_version_is_refused(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/tables", {"t.csv": b"x\n1\n", "u.csv": b"y\n"})
    part = kagman.pull("owner/tables", file="t.csv")
    whole = kagman.pull("owner/tables")  # the subset entry becomes complete
    assert part == whole / "t.csv"
    runner = CliRunner()
    again = runner.invoke(cli, ["rm", "owner/tables", "--file", "t.csv"])
    assert again.exit_code == 2  # bad input (QA2 finding 3)
    assert again.stderr.startswith("Error: 't.csv' is part of the cached whole version")
    assert "`kagman rm owner/tables/versions/1`" in again.stderr
    assert (whole / "t.csv").is_file()
    none = runner.invoke(cli, ["rm", "owner/tables", "--file", "nope.csv"])
    assert none.exit_code == 6
    assert none.stderr.startswith("Error: 'nope.csv' of owner/tables is not in the cache")


def test_rm_of_what_is_not_cached_exits_6(kaggle: FakeKaggle) -> None:
    result = CliRunner().invoke(cli, ["rm", "owner/none", "--yes"])
    assert result.exit_code == 6
    assert result.stderr.startswith("Error: owner/none is not in the cache")


def test_dry_run_and_refused_confirmation_remove_nothing(kaggle: FakeKaggle) -> None:
    v1, *_ = three_versions(kaggle)
    dry = CliRunner().invoke(cli, ["rm", "owner/pets", "--dry-run"])
    assert dry.exit_code == 0
    assert dry.stdout.count("Would remove owner/pets/versions/") == 3
    assert dry.stdout.splitlines()[-1].startswith("3 would be removed, freeing ")
    seen = []

    def no(plan: kagman.cache.removal.RemovalReport) -> bool:
        seen.append([item.entry.path for item in plan.removed])
        return False

    report = kagman.remove("owner/pets/versions/1", confirm=no)
    assert report.cancelled
    assert report.removed == ()
    assert seen == [[v1]]
    assert v1.is_dir()
    assert len(kagman.cached()) == 3


def test_a_reader_keeps_its_open_files(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    entry = kagman.pull("owner/pets")
    with (entry / "train/a.bin").open("rb") as reading:
        head = reading.read(10)
        kagman.remove("owner/pets")
        assert not entry.exists()
        assert head + reading.read() == FILES["train/a.bin"]


def test_never_follows_a_symlink_out_of_the_cache(kaggle: FakeKaggle, tmp_path: Path) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("other/set", FILES)
    entry = kagman.pull("owner/pets")
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    (entry / "escape").symlink_to(outside)  # a link inside an entry: removed as a link
    kagman.remove("owner/pets")
    assert (outside / "keep.txt").read_text() == "mine"
    # a dataset folder that is itself a link to elsewhere: refused
    other = kagman.pull("other/set")
    moved = tmp_path / "moved-set"
    other.parents[1].rename(moved)
    other.parents[1].symlink_to(moved)
    result = CliRunner().invoke(cli, ["rm", "other/set", "--yes"])
    assert result.exit_code == 1
    assert "is a symbolic link" in result.stderr
    assert (moved / "versions/1/labels.csv").exists()


def test_rm_and_prune_name_links_left_dangling(kaggle: FakeKaggle, tmp_path: Path) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("owner/other", FILES)
    kagman.pull("owner/pets", link=tmp_path / "proj")
    kagman.pull("owner/other", link=tmp_path / "proj")
    kaggle.add_dataset("owner/other", {**FILES, "2.txt": b"2"})
    kagman.pull("owner/other", link=tmp_path / "proj")  # the link now points at version 2
    report = kagman.remove("owner/pets")
    assert report.dangling == (str(tmp_path / "proj" / "pets"),)
    assert "Dangling link (its target was removed): " in str(report)
    pruned = kagman.prune(keep_latest=1)
    assert [i.entry.version for i in pruned.removed] == [1]
    assert pruned.dangling == ()  # proj/other follows version 2, which stays
    assert (tmp_path / "proj" / "other" / "2.txt").exists()


def test_prune_keep_latest_one_of_three_versions(kaggle: FakeKaggle) -> None:
    v1, v2, v3 = three_versions(kaggle)
    dry = kagman.prune(keep_latest=1, dry_run=True)
    assert [item.entry.path for item in dry.removed] == [v1, v2]
    assert v1.exists()
    result = CliRunner().invoke(cli, ["prune", "--keep-latest", "1", "--yes"])
    assert result.exit_code == 0, result.output
    assert "older than the newest cached version" in result.stdout
    assert [r.path for r in kagman.cache_info().entries] == [v3]


def test_prune_keep_latest_keeps_the_newest_complete_version_behind_a_subset(
    kaggle: FakeKaggle,
) -> None:
    v1, v2, _ = three_versions(kaggle)
    kaggle.add_dataset("owner/pets", {**FILES, "v.txt": b"3"})
    part = kagman.pull("owner/pets", include=["*.csv"])  # version 4, a subset
    assert "versions/4" in str(part)
    removed = [item.entry.path for item in kagman.prune(keep_latest=1).removed]
    assert removed == [v1, v2]  # version 3 stays: the newest complete copy
    kept = {(r.version, r.state) for r in kagman.cache_info().entries}
    assert kept == {(3, "complete"), (4, "subset")}


def test_prune_max_size_removes_least_recently_used(kaggle: FakeKaggle) -> None:
    paths = {}
    for name in ("a", "b", "c"):
        kaggle.add_dataset(f"owner/{name}", {"data.bin": os.urandom(40_000)})
        paths[name] = kagman.pull(f"owner/{name}")
    kagman.pull("owner/a/versions/1")  # a cache hit: "a" is now the most recently used
    info = kagman.cache_info()
    budget = info.size - 1  # one entry must go: the least recently used, "b"
    report = kagman.prune(max_size=budget)
    assert [item.entry.path for item in report.removed] == [paths["b"]]
    assert "least recently used" in report.removed[0].reason
    assert sorted(r.ref for r in kagman.cache_info().entries) == ["owner/a", "owner/c"]
    # sizes as people write them; this budget is far above what is left
    result = CliRunner().invoke(cli, ["prune", "--max-size", "1GiB", "--dry-run"])
    assert result.stdout.strip() == "Nothing to remove."


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--max-size", "50G", "ambiguous: write 50GB"),
        ("--max-size", "lots", "is not a size"),
        ("--older-than", "a while", "is not a duration"),
        ("--keep-latest", "0", "0 is not in the range"),
    ],
)
def test_prune_refuses_unreadable_options(flag: str, value: str, says: str) -> None:
    result = CliRunner().invoke(cli, ["prune", flag, value])
    assert result.exit_code == 2
    assert says in result.stderr


def test_prune_older_than(kaggle: FakeKaggle) -> None:
    old, new, _ = three_versions(kaggle)
    long_ago = time.time() - 40 * 86400
    os.utime(manifest_of(old), (long_ago, long_ago))  # last used 40 days ago
    report = kagman.prune(older_than="30d")
    assert [item.entry.path for item in report.removed] == [old]
    assert report.removed[0].reason == "unused for 40.0 days"
    assert new.exists()


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [kagman_executable(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def wait_for_download(part: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 100_000):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.01)


@pytest.mark.slow
def test_rm_racing_a_pull_of_the_same_dataset(kaggle: FakeKaggle) -> None:
    files = {f"chunk-{i}.bin": os.urandom(100_000) for i in range(8)}
    kaggle.add_dataset("owner/big", files)
    v1 = kagman.pull("owner/big")
    kaggle.add_dataset("owner/big", {**files, "more.bin": os.urandom(100_000)})
    kaggle.throttle_bytes_per_sec = 1_500_000
    pull = spawn("pull", "owner/big", "--no-progress")
    wait_for_download(cache_root() / "datasets/owner/big/.incomplete/v2.zip", pull)
    rm = spawn("rm", "owner/big", "--yes")
    pulled, pull_err = pull.communicate(timeout=60)
    removed, rm_err = rm.communicate(timeout=60)
    assert (pull.returncode, rm.returncode) == (0, 0), (pull_err, rm_err)
    assert "Waiting for another kagman process" in rm_err  # rm took its turn on the lock
    assert "Removed owner/big/versions/1, " in removed
    v2 = Path(pulled.strip())
    # no crash, no half entry: version 1 is gone whole, version 2 (pulled meanwhile) is whole
    assert not v1.exists()
    assert not manifest_of(v1).exists()
    assert kagman.verify("owner/big").ok
    assert [r.path for r in kagman.cache_info("owner/big").entries] == [v2]
    assert leftovers("owner/big") == []


@pytest.mark.slow
def test_prune_leaves_a_running_pull_alone_and_clears_other_leftovers(
    kaggle: FakeKaggle,
) -> None:
    kaggle.add_dataset("owner/big", {f"c{i}.bin": os.urandom(100_000) for i in range(8)})
    kaggle.add_dataset("owner/small", FILES)
    kagman.pull("owner/small")
    stale = cache_root() / "datasets/owner/small/.incomplete/v7.zip"
    stale.write_bytes(os.urandom(5000))
    (stale.parent / "v7.zip.json").write_text("{}")
    kaggle.throttle_bytes_per_sec = 1_000_000
    pull = spawn("pull", "owner/big", "--no-progress")
    wait_for_download(cache_root() / "datasets/owner/big/.incomplete/v1.zip", pull)
    # ls, verify and rm say that a pull is running, as prune does (QA3 finding 3)
    info = kagman.cache_info()
    running = [row for row in info.entries if row.ref == "owner/big"]
    assert running
    assert {(row.state, row.note, row.in_progress) for row in running} == {
        ("incomplete", "a pull is running", True)
    }
    assert info.incomplete == tuple(row for row in info.entries if row.path == stale)
    assert info.summary().endswith(
        "; 1 leftover of an interrupted pull (`kagman prune` removes it); 1 pull running"
    )
    assert "incomplete (a pull is running)" in CliRunner().invoke(cli, ["ls"]).stdout
    checked = kagman.verify()
    assert checked.lines()[-2:] == [
        "1 leftover of an interrupted pull not checked.",
        "owner/big: a pull is running, so what it writes was not checked.",
    ]
    refused = CliRunner().invoke(cli, ["rm", "owner/big", "--yes"])
    assert (refused.exit_code, refused.stdout) == (6, "")
    assert refused.stderr == (
        "Error: owner/big is not in the cache yet: a pull of it is running. "
        "Wait for it to finish (or stop it), then remove it.\n"
    )
    dry = kagman.prune(dry_run=True)
    assert [item.entry.path for item in dry.removed] == [stale]  # not the running pull's
    assert dry.kept == ("owner/big: a pull is running, so nothing of it was removed.",)
    assert dry.lines()[0] == (  # names the leftover once, not the version it was for
        f"Would remove a leftover of owner/small/versions/7 (partial download), "
        f"{kagman_size(dry.removed[0].entry.size)}  (left by an interrupted pull)"
    )
    report = kagman.prune()
    assert [item.entry.path for item in report.removed] == [stale]
    assert report.kept == ("owner/big: a pull is running, so nothing of it was removed.",)
    _, err = pull.communicate(timeout=60)
    assert pull.returncode == 0, err
    assert kagman.verify("owner/big").ok
    assert leftovers("owner/small") == []
    as_json = json.loads(CliRunner().invoke(cli, ["ls", "--json"]).stdout)
    assert {row["state"] for row in as_json["entries"]} == {"complete"}


@pytest.mark.slow
def test_a_killed_rm_leaves_no_half_entry(kaggle: FakeKaggle) -> None:
    files = {f"d{i % 40:02}/f{i:05}.bin": b"x" for i in range(8_000)}
    kaggle.add_dataset("owner/many", files)
    entry = kagman.pull("owner/many")
    rm = spawn("rm", "owner/many", "--yes")
    trash = cache_root() / "datasets/owner/many/.incomplete"
    deadline = time.monotonic() + 30
    while not (trash.is_dir() and any(p.name.startswith("removing-") for p in trash.iterdir())):
        assert rm.poll() is None, rm.communicate()
        assert time.monotonic() < deadline, "the removal never started"
        time.sleep(0.001)
    rm.kill()  # mid-delete: the entry was renamed aside first
    rm.communicate()
    assert not entry.exists()  # gone whole, never half there
    assert not manifest_of(entry).exists()
    rows = kagman.cache_info().entries
    assert [(r.state, r.note) for r in rows] == [
        ("incomplete", "removal in progress or interrupted")
    ]
    assert [item.entry.state for item in kagman.prune().removed] == ["incomplete"]
    assert leftovers("owner/many") == []
    assert kagman.pull("owner/many") == entry  # and it pulls again cleanly
