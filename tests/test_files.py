"""`kagman files` / `kagman.files`: every file of a version, paged, and free when cached whole."""

from __future__ import annotations

import json
import os
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import kagman_executable
from kaggle_server import FakeKaggle

import kagman
from kagman import DatasetNotFoundError, NotCachedError
from kagman.cli import cli

FILES = {
    "labels.csv": b"id,label\n1,cat\n",
    "train/cat/1.jpg": b"c" * 300,
    "train/cat/2.jpg": b"c" * 200,
    "train/dog/3.jpg": b"d" * 100,
    "test/4.jpg": b"t" * 50,
}


def test_listing_follows_every_page(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.page_size = 2  # five files: three pages
    df = kagman.files("owner/pets")
    assert list(df.columns) == ["name", "size", "modified"]
    assert df["name"].tolist() == sorted(FILES)
    assert df["size"].tolist() == [len(FILES[n]) for n in sorted(FILES)]
    assert df["size"].dtype == "int64"
    assert isinstance(df["modified"].dtype, pd.DatetimeTZDtype)
    assert df["modified"].notna().all()
    assert df.attrs == {"ref": "owner/pets/versions/1", "source": "kaggle"}
    assert kaggle.count("ListDatasetFiles") == 3
    assert kaggle.count("GetDataset") == 1
    assert kaggle.count("blob") == 0


def test_a_version_cached_whole_is_listed_without_network(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("owner/pets", {"new.csv": b"x\n"})
    kagman.pull("owner/pets/versions/1")
    before = kaggle.count()
    df = kagman.files("owner/pets/versions/1")
    assert kaggle.count() == before  # pinned and complete: no request at all
    assert df["name"].tolist() == sorted(FILES)
    assert df.attrs["source"] == "cache"
    assert df["modified"].isna().all()
    assert kagman.files("owner/pets", version=2)["name"].tolist() == ["new.csv"]
    assert kaggle.count("ListDatasetFiles") == 1


def test_offline_lists_what_the_cache_holds(
    kaggle: FakeKaggle, caplog: pytest.LogCaptureFixture
) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    with pytest.raises(NotCachedError, match="offline mode forbids asking Kaggle"):
        kagman.files("owner/pets", offline=True)
    kagman.pull("owner/pets", file="train/cat/")
    before = kaggle.count()
    df = kagman.files("owner/pets", offline=True)
    assert kaggle.count() == before
    assert df["name"].tolist() == ["train/cat/1.jpg", "train/cat/2.jpg"]
    assert "only part of owner/pets/versions/1 is cached" in caplog.text


def test_unknown_dataset_is_a_404(kaggle: FakeKaggle) -> None:
    with pytest.raises(DatasetNotFoundError, match="Kaggle has no dataset owner/missing"):
        kagman.files("owner/missing")


def test_cli_prints_files_and_folder_totals(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    result = CliRunner().invoke(cli, ["files", "https://www.kaggle.com/datasets/owner/pets/data"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "owner/pets/versions/1: 5 files, 665 B\n"
        "\n"
        "labels.csv             15 B\n"
        "test/4.jpg             50 B\n"
        "train/cat/1.jpg       300 B\n"
        "train/cat/2.jpg       200 B\n"
        "train/dog/3.jpg       100 B\n"
        "\n"
        "Folders:\n"
        "test/             1 file         50 B\n"
        "train/            3 files       600 B\n"
        "train/cat/        2 files       500 B\n"
        "train/dog/        1 file        100 B\n"
    )


def test_cli_json_through_the_installed_command(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.page_size = 2
    proc = subprocess.run(
        [kagman_executable(), "files", "owner/pets", "--json"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert (body["ref"], body["source"], body["total_files"], body["total_bytes"]) == (
        "owner/pets/versions/1",
        "kaggle",
        5,
        665,
    )
    assert [f["name"] for f in body["files"]] == sorted(FILES)
    assert all(f["modified"].endswith("+00:00") for f in body["files"])
    assert body["folders"] == [
        {"name": "test/", "files": 1, "size": 50},
        {"name": "train/", "files": 3, "size": 600},
        {"name": "train/cat/", "files": 2, "size": 500},
        {"name": "train/dog/", "files": 1, "size": 100},
    ]
    assert kaggle.count("ListDatasetFiles") == 3


def test_the_readme_files_recipe_sums_the_csv_bytes(kaggle: FakeKaggle) -> None:
    from readme_recipes import recipe

    kaggle.add_dataset("owner/pets", {**FILES, "extra.csv": b"a,b\n1,2\n"})
    lines = recipe("files").splitlines()
    scope: dict[str, object] = {"kagman": kagman}
    exec("\n".join(lines[:-1]), scope)  # noqa: S102 - the README's own code
    total = eval(lines[-1].split("#")[0], scope)  # noqa: S307 - the README's last line
    assert total == len(FILES["labels.csv"]) + len(b"a,b\n1,2\n")
    assert scope["df"].attrs == {"ref": "owner/pets/versions/1", "source": "kaggle"}
