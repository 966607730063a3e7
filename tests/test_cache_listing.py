"""`kagman ls`, `kagman.cached`, `kagman.cache_info` and `kagman path`, on pulled caches."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from kaggle_server import FakeKaggle

import kagman
from kagman.cache.entries import entry_state
from kagman.cli import cli
from kagman.fs import human_size as kagman_size

FILES = {"train/a.txt": b"a" * 5000, "train/b.txt": b"b" * 3000, "labels.csv": b"id\n1\n"}


def cache_root() -> Path:
    return Path(os.environ["KAGMAN_CACHE"])


def manifest_of(entry: Path) -> Path:
    return entry.with_name(entry.name + ".manifest.json")


def build_cache(kaggle: FakeKaggle) -> dict[str, Path]:
    """Two datasets: pets v1 and v2 (latest), one file of tables, and a killed download."""
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("owner/tables", {"t.csv": b"x\n1\n", "u.csv": b"y\n2\n"})
    v1 = kagman.pull("owner/pets")
    kaggle.add_dataset("owner/pets", {**FILES, "new.txt": b"v2"})
    v2 = kagman.pull("owner/pets")
    table = kagman.pull("owner/tables", file="t.csv")
    partial = cache_root() / "datasets/owner/big/.incomplete/v1.zip"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(
        os.urandom(10_000)
    )  # what a killed download leaves (see test_pull_processes)
    return {"v1": v1, "v2": v2, "table": table, "partial": partial}


def test_cached_lists_complete_subset_and_incomplete_entries(kaggle: FakeKaggle) -> None:
    paths = build_cache(kaggle)
    df = kagman.cached()
    assert list(df.columns) == [
        "kind", "ref", "version", "data_state", "file", "selections", "state", "files", "size",
        "pulled_at", "last_used", "newer_version", "latest", "links", "path",
    ]  # fmt: skip
    rows = {
        (r.ref, r.version, r.file if isinstance(r.file, str) else None): r for r in df.itertuples()
    }
    assert set(rows) == {
        ("owner/big", 1, None),
        ("owner/pets", 1, None),
        ("owner/pets", 2, None),
        ("owner/tables", 1, "t.csv"),
    }
    assert rows["owner/pets", 1, None].state == "complete"
    table = rows["owner/tables", 1, "t.csv"]
    assert (table.state, table.selections, table.files) == ("subset", ["t.csv"], 1)
    assert table.path == str(paths["table"].parent)  # the version's entry, holding one file
    assert rows["owner/big", 1, None].state == "incomplete"
    assert rows["owner/pets", 1, None].files == 3
    assert rows["owner/pets", 2, None].files == 4
    # sizes on disk: at least the bytes, in whole blocks
    assert rows["owner/pets", 1, None].size >= sum(map(len, FILES.values()))
    assert rows["owner/pets", 1, None].path == str(paths["v1"])
    assert rows["owner/big", 1, None].path == str(paths["partial"])
    assert df["version"].dtype == "Int64"
    assert isinstance(df["pulled_at"].dtype, pd.DatetimeTZDtype)
    assert pd.isna(rows["owner/big", 1, None].pulled_at)
    # a pull of "latest" saw version 2, so version 1 says a newer one is known
    assert rows["owner/pets", 1, None].newer_version == 2
    assert pd.isna(rows["owner/pets", 2, None].newer_version)
    assert json.loads(manifest_of(paths["v1"]).read_text())["newer_version"] == 2
    only = kagman.cached("owner/pets/versions/2")
    assert only["path"].tolist() == [str(paths["v2"])]


def test_entry_state_reads_the_manifest_kind() -> None:
    assert entry_state({"kind": "dataset"}) == "complete"
    assert entry_state({"kind": "file"}) == "subset"
    assert entry_state({"kind": "subset", "files": [["a", 1]]}) == "subset"
    assert entry_state(None) == "incomplete"
    assert entry_state({"kind": "???"}) == "incomplete"


def test_cache_info_totals_and_notebook_view(kaggle: FakeKaggle) -> None:
    build_cache(kaggle)
    info = kagman.cache_info()
    assert isinstance(info, kagman.CacheInfo)
    assert info.root == cache_root()
    assert info.size == sum(row.size for row in info.entries) == int(info.df["size"].sum())
    assert [row.ref for row in info.incomplete] == ["owner/big"]
    assert info.free is not None
    assert info.free > 0
    assert "3 entries of 2 datasets" in info.summary()
    assert "1 leftover of an interrupted pull (`kagman prune` removes it)" in info.summary()
    page = info._repr_html_()
    assert "<table" in page
    assert "owner/tables" in page


def test_last_used_moves_on_cache_hits_not_on_listing(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    entry = kagman.pull("owner/pets")
    manifest = manifest_of(entry)
    old = time.time() - 3600
    os.utime(manifest, (old, old))
    kagman.cached()
    kagman.cache_info()
    assert manifest.stat().st_mtime == old  # listing is not a use
    kagman.pull("owner/pets/versions/1")  # a pinned hit, no network
    assert manifest.stat().st_mtime > old + 3000
    os.utime(manifest, (old, old))
    kagman.pull("owner/pets", file="labels.csv")  # a file served from the whole version
    assert manifest.stat().st_mtime > old + 3000
    os.utime(manifest, (old, old))
    kagman.pull("owner/pets", offline=True)  # an offline hit is a use too
    assert manifest.stat().st_mtime > old + 3000
    row = kagman.cache_info().entries[0]
    assert row.last_used is not None
    assert row.last_used.timestamp() == pytest.approx(manifest.stat().st_mtime)
    # a later pull that notes "newer version known" in this manifest is not a use of it
    os.utime(manifest, (old, old))
    kaggle.add_dataset("owner/pets", {**FILES, "2.txt": b"2"})
    kagman.pull("owner/pets")
    assert json.loads(manifest.read_text())["newer_version"] == 2
    assert manifest.stat().st_mtime == old


def test_links_are_recorded_in_the_manifest(kaggle: FakeKaggle, tmp_path: Path) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    entry = kagman.pull("owner/pets", link=tmp_path / "proj")
    kagman.pull("owner/pets", link=tmp_path / "proj")  # twice: recorded once
    kagman.pull("owner/pets", file="labels.csv", link=tmp_path / "other")
    links = json.loads(manifest_of(entry).read_text())["links"]
    assert links == [str(tmp_path / "proj" / "pets"), str(tmp_path / "other" / "labels.csv")]
    assert kagman.cached()["links"].tolist() == [links]


def test_links_and_newer_version_survive_a_subset_growing_and_becoming_whole(
    kaggle: FakeKaggle, tmp_path: Path
) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kagman.pull("owner/pets", file="labels.csv", link=tmp_path / "proj")
    kaggle.add_dataset("owner/pets", {**FILES, "2.txt": b"2"})
    kagman.pull("owner/pets", file="labels.csv")  # "latest" is version 2 now
    v1 = cache_root() / "datasets/owner/pets/versions/1"
    assert json.loads(manifest_of(v1).read_text())["newer_version"] == 2  # a subset, noted
    kagman.pull("owner/pets/versions/1", file="train/")  # the subset grows: manifest rewritten
    assert json.loads(manifest_of(v1).read_text())["newer_version"] == 2
    assert kagman.pull("owner/pets/versions/1") == v1  # and becomes whole
    manifest = json.loads(manifest_of(v1).read_text())
    assert manifest["kind"] == "dataset"
    assert manifest["links"] == [str(tmp_path / "proj" / "labels.csv")]
    assert manifest["newer_version"] == 2
    assert kagman.cached("owner/pets/versions/1")["newer_version"].tolist() == [2]


def test_ls_command_table_and_json(kaggle: FakeKaggle) -> None:
    paths = build_cache(kaggle)
    runner = CliRunner()
    text = runner.invoke(cli, ["ls"])
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0].split() == [
        "REF",
        "VERSION",
        "FILES",
        "SIZE",
        "PULLED",
        "LAST",
        "USED",
        "STATE",
    ]
    pets1 = next(line for line in lines if line.startswith("owner/pets") and "  1  " in line)
    assert "complete, version 2 known" in pets1
    assert any("owner/tables  1: t.csv" in line and "subset" in line for line in lines)
    assert any("incomplete (partial download)" in line for line in lines)
    assert lines[-1].startswith("3 entries of 2 datasets")

    parsed = json.loads(runner.invoke(cli, ["ls", "--json"]).stdout)
    assert parsed["root"] == str(cache_root())
    by_path = {row["path"]: row for row in parsed["entries"]}
    assert by_path[str(paths["table"].parent)]["state"] == "subset"
    assert by_path[str(paths["table"].parent)]["file"] == "t.csv"
    assert by_path[str(paths["table"].parent)]["selections"] == ["t.csv"]
    assert by_path[str(paths["v1"])]["newer_version"] == 2
    assert by_path[str(paths["v1"])]["pulled_at"].endswith("Z")
    assert parsed["size"] == sum(row["size"] for row in parsed["entries"])

    one = json.loads(runner.invoke(cli, ["ls", "owner/tables", "--json"]).stdout)
    assert [row["ref"] for row in one["entries"]] == ["owner/tables"]


def test_ls_of_an_empty_cache_and_a_bad_ref(kaggle: FakeKaggle) -> None:
    runner = CliRunner()
    empty = runner.invoke(cli, ["ls"])
    assert empty.exit_code == 0
    assert empty.stdout.startswith("0 entries of 0 datasets")
    assert not cache_root().exists()  # listing creates nothing
    assert kagman.cached().empty
    bad = runner.invoke(cli, ["ls", "not-a-ref"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("Error: Invalid dataset reference")


def test_ls_of_only_a_leftover_says_so(kaggle: FakeKaggle) -> None:
    """QA2 finding 8: not "0 entries of 0 datasets, 12.0 KiB" for an interrupted pull."""
    partial = cache_root() / "datasets/owner/big/.incomplete/v1.zip"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(os.urandom(10_000))
    info = kagman.cache_info()
    summary = info.summary()
    assert summary.startswith(
        f"Nothing complete is cached; 1 leftover of an interrupted pull, "
        f"{kagman_size(info.size)} on disk in {cache_root()} ("
    ), summary
    assert summary.endswith(" free); `kagman prune` removes it")
    assert CliRunner().invoke(cli, ["ls"]).stdout.splitlines()[-1] == summary
    kaggle.add_dataset("owner/pets", FILES)
    kagman.pull("owner/pets")
    assert (
        kagman.cache_info()
        .summary()
        .endswith(" free); 1 leftover of an interrupted pull (`kagman prune` removes it)")
    )


def test_path_prints_cached_paths_without_network(kaggle: FakeKaggle) -> None:
    paths = build_cache(kaggle)
    before = kaggle.count()
    runner = CliRunner()
    newest = runner.invoke(cli, ["path", "owner/pets"])
    assert newest.exit_code == 0, newest.output
    assert newest.stdout == f"{paths['v2']}\n"
    assert runner.invoke(cli, ["path", "owner/pets/versions/1"]).stdout == f"{paths['v1']}\n"
    inside = runner.invoke(cli, ["path", "owner/pets/versions/1", "--file", "labels.csv"])
    assert inside.stdout == f"{paths['v1'] / 'labels.csv'}\n"
    single = runner.invoke(cli, ["path", "owner/tables", "--file", "t.csv"])
    assert single.stdout == f"{paths['table']}\n"
    assert kagman.cached_path("owner/pets", version=1) == paths["v1"]
    assert kaggle.count() == before


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["path", "owner/none"], "Error: owner/none is not in the cache"),
        (["path", "owner/pets/versions/9"], "Error: owner/pets/versions/9 is not in the cache"),
        (["path", "owner/tables", "--file", "u.csv"], "Error: 'u.csv' of owner/tables is not in"),
    ],
)
def test_path_when_not_cached_exits_6_and_says_how(
    kaggle: FakeKaggle, args: list[str], line: str
) -> None:
    build_cache(kaggle)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 6
    assert result.stderr.startswith(line)
    assert "kagman pull" in result.stderr
    assert result.stdout == ""
