"""The cache commands on competitions: ls, path, rm, prune, verify and doctor, from real pulls.

A competition's entries are its data states (``competitions/<slug>/data/<state>/``), the
newest complete one named by ``latest``; every cache command treats them as a dataset's
versions.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from kaggle_server import FakeKaggle

import kagman
from kagman import CompetitionRef, InvalidRefError, NotCachedError
from kagman.cli import cli

FILES = {
    "train.csv": b"PassengerId,Survived\n1,0\n2,1\n",
    "test.csv": b"PassengerId\n3\n",
    "extra/notes.txt": b"hello",
}
FIXED = {**FILES, "train.csv": b"PassengerId,Survived\n1,1\n2,1\n"}


def comp_root(slug: str = "titanic") -> Path:
    return Path(os.environ["KAGMAN_CACHE"]) / "competitions" / slug


def manifest_of(entry: Path) -> Path:
    return entry.with_name(entry.name + ".manifest.json")


def two_states(kaggle: FakeKaggle) -> tuple[Path, Path]:
    """titanic pulled whole twice, the data fixed in between: an old state and the latest."""
    kaggle.add_competition("titanic", FILES)
    old = kagman.pull_competition("titanic")
    kaggle.update_competition_data("titanic", FIXED)
    new = kagman.pull_competition("titanic")
    assert old != new
    return old, new


def test_ls_lists_data_states_and_marks_the_latest(kaggle: FakeKaggle) -> None:
    old, new = two_states(kaggle)
    kaggle.add_competition("house", {"a.csv": b"a\n1\n", "b.csv": b"b\n2\n"})
    part = kagman.pull_competition("house", file="a.csv")
    kaggle.add_dataset("owner/pets", {"x.txt": b"x"})
    kagman.pull("owner/pets")
    partial = comp_root("house") / ".incomplete" / f"{part.parent.name}.zip"
    partial.write_bytes(b"x" * 100)  # what a killed download of the whole data leaves

    df = kagman.cached()
    states = [r.data_state if isinstance(r.data_state, str) else "" for r in df.itertuples()]
    assert sorted(zip(df.kind, df.ref, states, df.state, strict=True)) == sorted(
        [
            ("competition", "house", part.parent.name, "subset"),
            ("competition", "house", part.parent.name, "incomplete"),  # the partial download
            ("competition", "titanic", old.name, "complete"),
            ("competition", "titanic", new.name, "complete"),
            ("dataset", "owner/pets", "", "complete"),
        ]
    )
    latest = {r.data_state: r.latest for r in df.itertuples() if r.ref == "titanic"}
    assert latest == {old.name: False, new.name: True}
    house = df[(df.ref == "house") & (df.state == "subset")].iloc[0]
    assert (house.file, house.latest, house.path) == ("a.csv", False, str(part.parent))
    assert df[df.kind == "competition"]["version"].isna().all()
    left = df[(df.ref == "house") & (df.state == "incomplete")].iloc[0]
    assert (left.data_state, left.path) == (part.parent.name, str(partial))

    text = CliRunner().invoke(cli, ["ls"]).stdout.splitlines()
    assert any(line.split()[:3] == ["titanic", new.name, "(latest)"] for line in text)
    assert any(line.split()[:2] == ["titanic", old.name] and "latest" not in line for line in text)
    assert any(line.split()[:3] == ["house", f"{part.parent.name}:", "a.csv"] for line in text)
    assert text[-1].startswith(
        "4 entries of 1 dataset and 2 competitions"
    )  # the leftover is not an entry
    only = json.loads(CliRunner().invoke(cli, ["ls", "-c", "titanic", "--json"]).stdout)
    assert [(e["kind"], e["data_state"], e["latest"]) for e in only["entries"]] == sorted(
        [("competition", old.name, False), ("competition", new.name, True)],
        key=lambda e: e[1],
    )
    by_url = kagman.cached("https://www.kaggle.com/c/titanic/data")
    assert sorted(by_url["path"]) == sorted([str(old), str(new)])
    assert kagman.cached(CompetitionRef("titanic"))["path"].tolist() == by_url["path"].tolist()
    bare = CliRunner().invoke(cli, ["ls", "titanic"])  # a bare name is never a competition
    assert bare.exit_code == 2
    assert bare.stderr.startswith("Error: Invalid dataset reference 'titanic'")
    no_name = CliRunner().invoke(cli, ["ls", "-c"])
    assert no_name.exit_code == 2


def test_path_prints_the_latest_state_with_no_request(kaggle: FakeKaggle) -> None:
    old, new = two_states(kaggle)
    kaggle.requests.clear()
    runner = CliRunner()
    assert runner.invoke(cli, ["path", "-c", "titanic"]).stdout == f"{new}\n"
    url = "https://www.kaggle.com/competitions/titanic/data"
    assert runner.invoke(cli, ["path", url]).stdout == f"{new}\n"
    assert runner.invoke(cli, ["path", f"{url}?select=test.csv"]).stdout == f"{new}/test.csv\n"
    assert runner.invoke(cli, ["path", "-c", "titanic", "--file", "extra/"]).stdout == (
        f"{new}/extra\n"
    )
    assert kagman.cached_path(kagman.parse_competition("titanic")) == new
    assert (
        kagman.cached_path(old, file="train.csv") == old / "train.csv"
    )  # pull's result: that state
    assert kagman.cached_path(new / "extra") == new / "extra"
    pulled = runner.invoke(cli, ["path", str(old), "--file", "extra/notes.txt"])
    assert pulled.stdout == f"{old}/extra/notes.txt\n"  # what `kagman pull -c` printed
    assert kaggle.requests == []
    with pytest.raises(InvalidRefError, match="is not in a cache entry of kagman"):
        kagman.cached_path(Path.cwd())
    with pytest.raises(NotCachedError) as missing:
        kagman.cached_path(CompetitionRef("titanic"), file="nope.csv")
    assert str(missing.value).endswith("Download it with `kagman pull -c titanic --file nope.csv`.")
    with pytest.raises(InvalidRefError, match="competitions have no versions"):
        kagman.cached_path(CompetitionRef("titanic"), version=2)
    kagman.remove(CompetitionRef("titanic"))
    result = runner.invoke(cli, ["path", "-c", "titanic"])
    assert result.exit_code == 6
    assert result.stderr == (
        f"Error: the competition titanic is not in the cache ({comp_root().parents[1]}). "
        "Download it with `kagman pull -c titanic`.\n"
    )


def test_path_of_a_competition_held_in_part(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES)
    part = kagman.pull_competition("titanic", file="test.csv")
    assert kagman.cached_path(CompetitionRef("titanic"), file="test.csv") == part
    result = CliRunner().invoke(cli, ["path", "-c", "titanic"])
    assert result.exit_code == 6
    assert "Only part of it is cached: `kagman ls -c titanic` shows which files." in result.stderr


def test_rm_removes_every_state_and_the_latest_mark(kaggle: FakeKaggle, tmp_path: Path) -> None:
    old, new = two_states(kaggle)
    kagman.pull_competition("titanic", link=tmp_path / "proj")
    assert json.loads(manifest_of(new).read_text())["links"] == [str(tmp_path / "proj/titanic")]
    stale = comp_root() / ".incomplete" / f"{new.name}.zip"
    stale.write_bytes(b"x" * 100)
    dry = CliRunner().invoke(cli, ["rm", "-c", "titanic", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Would remove titanic (data {new.name}), " in dry.stdout
    assert dry.stdout.splitlines()[-1].startswith("3 would be removed, freeing ")
    result = CliRunner().invoke(cli, ["rm", "https://www.kaggle.com/c/titanic", "--yes"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2].startswith("3 removed, ")
    assert result.stdout.splitlines()[-1] == (
        f"Dangling link (its target was removed): {tmp_path / 'proj/titanic'}"
    )
    assert not old.exists()
    assert not new.exists()
    assert not stale.exists()
    assert not (comp_root() / "latest").exists()  # it named a state that is gone
    assert kagman.cached().empty
    again = CliRunner().invoke(cli, ["rm", "-c", "titanic"])
    assert again.exit_code == 6
    assert again.stderr.startswith("Error: the competition titanic is not in the cache")
    assert kagman.pull_competition("titanic") == new  # and it pulls again cleanly


def test_rm_file_of_a_competition(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES)
    test = kagman.pull_competition("titanic", file="test.csv")
    train = kagman.pull_competition("titanic", file="train.csv")
    report = kagman.remove(CompetitionRef("titanic"), file="test.csv")
    assert [item.files for item in report.removed] == [("test.csv",)]
    assert not test.exists()
    assert train.is_file()
    assert kagman.verify(CompetitionRef("titanic")).ok
    whole = kagman.pull_competition("titanic")
    with pytest.raises(kagman.InvalidArgumentError) as refused:
        kagman.remove(CompetitionRef("titanic"), file="train.csv")
    assert str(refused.value) == (
        f"'train.csv' is part of the cached whole version (titanic (data {whole.name})), not an "
        "entry of its own. Remove the version with `kagman rm -c titanic`."
    )


def test_prune_keeps_the_newest_states(kaggle: FakeKaggle) -> None:
    old, new = two_states(kaggle)
    kaggle.add_dataset("owner/pets", {"x.txt": b"x"})
    pets = kagman.pull("owner/pets")
    dry = kagman.prune(keep_latest=1, dry_run=True)
    assert [(item.entry.path, item.reason) for item in dry.removed] == [
        (old, "older than the newest cached data state")
    ]
    # the latest state ranks first even when another one was pulled later
    manifest = json.loads(manifest_of(old).read_text())
    manifest_of(old).write_text(json.dumps({**manifest, "downloaded_at": "2099-01-01T00:00:00Z"}))
    assert [item.entry.path for item in kagman.prune(keep_latest=1).removed] == [old]
    assert new.is_dir()
    long_ago = time.time() - 40 * 86400
    os.utime(manifest_of(new), (long_ago, long_ago))
    assert [item.entry.path for item in kagman.prune(older_than="30d").removed] == [new]
    kagman.pull_competition("titanic")
    budget = kagman.cache_info().size - 1  # one entry must go: the least recently used
    os.utime(manifest_of(pets), (long_ago, long_ago))
    assert [item.entry.path for item in kagman.prune(max_size=budget).removed] == [pets]


def test_verify_checks_competition_states(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES)
    entry = kagman.pull_competition("titanic")
    result = CliRunner().invoke(cli, ["verify", "-c", "titanic"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"titanic (data {entry.name}): 3 files, sha256: ok\n"
    (entry / "test.csv").write_bytes(b"PassengerId\n4\n")  # same size, new content
    broken = CliRunner().invoke(cli, ["verify", "--json"])
    assert broken.exit_code == 9
    (check,) = json.loads(broken.stdout)["entries"]
    assert (check["kind"], check["ref"], check["data_state"]) == (
        "competition",
        "titanic",
        entry.name,
    )
    assert check["problems"] == [
        {"kind": "content", "path": "test.csv", "detail": "SHA-256 differs"}
    ]
    assert "Pull again with `kagman pull -c titanic --force`" in broken.stderr


def test_doctor_counts_competitions(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES)
    kagman.pull_competition("titanic")
    kaggle.add_dataset("owner/pets", {"x.txt": b"x"})
    kagman.pull("owner/pets")
    report = kagman.doctor()
    assert (report.cache.entries, report.cache.datasets, report.cache.competitions) == (2, 1, 1)
    assert "  2 entries of 1 dataset and 1 competition, " in str(report)


def test_competition_hits_record_their_use(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES)
    entry = kagman.pull_competition("titanic")
    manifest = manifest_of(entry)
    long_ago = time.time() - 3600
    for use in (
        lambda: kagman.pull_competition("titanic"),  # current: one request, then the hit
        lambda: kagman.pull_competition("titanic", offline=True),
        lambda: kagman.cached_path(CompetitionRef("titanic"), file="test.csv"),
    ):
        os.utime(manifest, (long_ago, long_ago))
        kagman.cached()
        kagman.verify()
        assert manifest.stat().st_mtime == long_ago  # listing and checking are not uses
        use()
        assert manifest.stat().st_mtime > long_ago + 3000
