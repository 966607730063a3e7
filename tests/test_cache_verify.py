"""`kagman verify`: cached files against the SHA-256 recorded while extracting."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from kaggle_server import FakeKaggle

import kagman
from kagman.cli import cli
from kagman.errors import CacheVerificationError

FILES = {f"train/{i:03}.bin": os.urandom(3000 + i) for i in range(40)}
FILES["labels.csv"] = b"id,label\n1,cat\n"


def manifest_of(entry: Path) -> Path:
    return entry.with_name(entry.name + ".manifest.json")


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_intact_cache_verifies(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    entry = kagman.pull("owner/pets")
    kagman.pull("owner/pets", file="labels.csv", version=1)  # served from the whole version
    before = manifest_of(entry).stat().st_mtime_ns
    result = CliRunner().invoke(cli, ["verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"owner/pets/versions/1: {len(FILES)} files, sha256: ok\n"
    assert manifest_of(entry).stat().st_mtime_ns == before  # checking is not using


def test_verify_catches_deleted_added_and_same_size_modified_files(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kaggle.add_dataset("owner/other", {"x.txt": b"fine"})
    entry = kagman.pull("owner/pets")
    kagman.pull("owner/other")
    (entry / "train/000.bin").unlink()  # deleted
    (entry / "train/new.bin").write_bytes(b"added")  # added
    flip_a_byte(entry / "train/017.bin")  # same size, other content
    (entry / "labels.csv").write_bytes(b"id,label\n")  # resized
    report = kagman.verify(workers=3)
    assert not report.ok
    good, bad = report.checks
    assert good.ok
    assert good.entry.ref == "owner/other"
    assert bad.method == "sha256"
    assert [(p.kind, p.path) for p in bad.problems] == [
        ("size", "labels.csv"),
        ("missing", "train/000.bin"),
        ("content", "train/017.bin"),
        ("extra", "train/new.bin"),
    ]
    error = report.error()
    assert isinstance(error, CacheVerificationError)
    assert error.exit_code == 9
    assert "4 problems in 1 cached entry" in str(error)
    assert "kagman pull owner/pets/versions/1 --force" in str(error)

    result = CliRunner().invoke(cli, ["verify", "owner/pets"])
    assert result.exit_code == 9
    lines = result.stdout.splitlines()
    assert lines[0] == f"owner/pets/versions/1: {len(FILES)} files, sha256: 4 problems"
    assert "  content: train/017.bin  SHA-256 differs" in lines
    assert "  missing: train/000.bin  listed in the manifest, not on disk" in lines
    assert "  extra: train/new.bin  not in the manifest" in lines
    assert "  size: labels.csv  9 bytes, expected 15" in lines
    assert result.stderr.startswith(
        "Error: 4 problems in 1 cached entry (owner/pets/versions/1: size labels.csv, "
        "missing train/000.bin, content train/017.bin, extra train/new.bin). Pull again with "
    )

    parsed = json.loads(CliRunner().invoke(cli, ["verify", "--json"]).stdout)
    assert parsed["ok"] is False
    kinds = {p["kind"] for e in parsed["entries"] for p in e["problems"]}
    assert kinds == {"missing", "extra", "size", "content"}

    kagman.pull("owner/pets", force=True)  # the fix the message suggests
    assert kagman.verify().ok


def test_entries_pulled_before_hashes_are_checked_by_size(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    entry = kagman.pull("owner/pets")
    manifest = json.loads(manifest_of(entry).read_text())
    manifest["format"] = 1
    manifest["files"] = [item[:2] for item in manifest["files"]]  # as kagman wrote it before
    manifest_of(entry).write_text(json.dumps(manifest))
    flip_a_byte(entry / "train/001.bin")  # invisible to a size check
    report = kagman.verify()
    assert report.ok
    assert report.checks[0].method == "sizes only"
    assert "sha256" not in "\n".join(report.lines())
    (entry / "train/002.bin").write_bytes(b"short")
    assert [p.kind for p in kagman.verify().checks[0].problems] == ["size"]


def test_subset_entries_are_hashed_too(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/tables", {"t.csv": b"a,b\n1,2\n", "big.csv": b"x" * 50_000},
                       zipped_files=["big.csv"])  # fmt: skip
    plain = kagman.pull("owner/tables", file="t.csv")
    wrapped = kagman.pull("owner/tables", file="big.csv")  # served as big.csv.zip, unwrapped
    entry = plain.parent
    assert wrapped.parent == entry  # both files in the version's (subset) entry
    report = kagman.verify()
    assert report.ok
    assert [(c.entry.state, c.method, c.files) for c in report.checks] == [("subset", "sha256", 2)]
    assert report.lines() == ["owner/tables/versions/1 (subset): 2 files, sha256: ok"]
    flip_a_byte(plain)
    flip_a_byte(wrapped)
    (entry / "stray.txt").write_text("not pulled")  # a subset holds exactly what it lists
    (check,) = kagman.verify().checks
    assert [(p.kind, p.path) for p in check.problems] == [
        ("content", "big.csv"), ("extra", "stray.txt"), ("content", "t.csv"),
    ]  # fmt: skip
    error = kagman.verify().error()
    assert error is not None
    assert "Pull again with `kagman pull owner/tables/versions/1 --file big.csv --force`" in str(
        error
    )
    wrapped.unlink()
    (missing,) = kagman.verify("owner/tables").checks
    assert [p.kind for p in missing.problems] == ["missing", "extra", "content"]


def test_entries_of_the_layout_before_subsets_are_checked(kaggle: FakeKaggle) -> None:
    """A single file kagman wrote under files/<N>/ before subsets existed: the entry is the file."""
    old = Path(os.environ["KAGMAN_CACHE"]) / "datasets/owner/tables/files/3/data/t.csv"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"a\n1\n")
    manifest = {"format": 1, "kind": "file", "ref": "owner/tables", "version": 3,
                "file": "data/t.csv", "total_bytes": 4}  # fmt: skip
    manifest_of(old).write_text(json.dumps(manifest))
    (row,) = kagman.cache_info().entries
    assert (row.version, row.file, row.state, row.path) == (3, "data/t.csv", "subset", old)
    (check,) = kagman.verify().checks
    assert (check.method, check.files, check.ok) == ("sizes only", 1, True)
    old.write_bytes(b"a\n12\n")
    assert [p.kind for p in kagman.verify().checks[0].problems] == ["size"]
    report = kagman.remove("owner/tables", file="data/t.csv")
    assert [item.entry.path for item in report.removed] == [old]
    assert not old.exists()
    assert list(old.parents[2].iterdir()) == []  # files/: its emptied folders went too


def test_verify_of_nothing_cached(kaggle: FakeKaggle) -> None:
    empty = CliRunner().invoke(cli, ["verify"])
    assert empty.exit_code == 0
    assert empty.stdout == ""
    result = CliRunner().invoke(cli, ["verify", "owner/none"])
    assert result.exit_code == 6
    assert result.stderr.startswith("Error: owner/none is not in the cache")


def test_progress_bar_goes_to_stderr(kaggle: FakeKaggle, capfd: pytest.CaptureFixture[str]) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    kagman.pull("owner/pets")
    capfd.readouterr()
    assert kagman.verify(progress=True).ok
    out, err = capfd.readouterr()
    assert out == ""
    assert "Verifying" in err


def test_reports_read_as_text_and_show_as_tables_in_a_notebook(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", FILES)
    entry = kagman.pull("owner/pets")
    flip_a_byte(entry / "train/001.bin")
    report = kagman.verify()
    assert str(report).splitlines()[-1] == "1 cached entry checked: 1 problem in 1 entry."
    assert str(report).splitlines()[:-1] == report.lines()  # what `kagman verify` prints
    assert repr(report) == "<VerifyReport ok=False: 1 cached entry checked: 1 problem in 1 entry.>"
    shown = report._repr_html_()
    assert shown.startswith("<p>1 cached entry checked: 1 problem in 1 entry.</p><table>")
    assert "<td>owner/pets/versions/1</td>" in shown
    assert "<td>content</td><td>train/001.bin: SHA-256 differs</td>" in shown
    assert "EntryCheck(" not in shown + str(report) + repr(report)  # never a dataclass dump
    removal = kagman.remove("owner/pets", dry_run=True)
    assert repr(removal).startswith("<RemovalReport would remove 1, ")
    shown = removal._repr_html_()
    assert shown.startswith("<p>1 would be removed, freeing ")
    assert "<td>owner/pets/versions/1</td>" in shown
    assert "Removal(" not in shown + repr(removal)
