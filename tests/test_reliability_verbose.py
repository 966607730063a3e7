"""``kagman -v pull`` logs each step of a pull; ``-q`` says nothing but warnings and errors."""

from __future__ import annotations

import os
import re

import pytest
from click.testing import CliRunner
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle

from kagman.cli import cli

FILES = {"a.bin": os.urandom(300_000), "__MACOSX/._a.bin": b"junk", "b/c.txt": b"c"}


def test_verbose_logs_each_step(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/ds", FILES)
    kaggle.drop_connection_after(100_000)
    result = CliRunner().invoke(cli, ["-v", "pull", "owner/ds"])
    assert result.exit_code == 0, result.output
    masked = f"{TEST_KEY[:4]}…{TEST_KEY[-4:]}"
    steps = [
        re.escape(
            f"Credentials from KAGGLE_USERNAME/KAGGLE_KEY (user {TEST_USERNAME}, key {masked})"
        ),
        re.escape("owner/ds: version 1 is current (GetDataset)"),
        re.escape("Cache miss for owner/ds/versions/1 (not cached): fetching"),
        r"Downloading owner/ds/versions/1 \([\d.]+ KiB\) from http://localhost:7777",
        r"Download interrupted \(the connection dropped\); retrying in [\d.]+ s",
        r"Resuming owner/ds/versions/1 at byte 100000 \(\d+%\)",
        r"owner/ds/versions/1: MD5 verified \([\d,]+ bytes, x-goog-hash\)",
        r"Extracted 2 files \([\d.]+ KiB\) in [\d.]+ s; every member's CRC-32 checked",
        re.escape("Skipped 1 junk file (1 macos-junk)"),
        r"Pulled owner/ds in [\d.]+ s: .*/datasets/owner/ds/versions/1",
    ]
    lines = result.stderr.splitlines()
    at = 0
    for step in steps:  # each step, in this order
        found = [i for i, line in enumerate(lines) if re.match(step, line) and i >= at]
        assert found, f"no line like {step!r} after line {at} in:\n{result.stderr}"
        at = found[0]
    again = CliRunner().invoke(cli, ["-v", "pull", "owner/ds"])
    assert re.search(r"^Cache hit: .*versions/1$", again.stderr, re.MULTILINE), again.stderr
    pinned = CliRunner().invoke(cli, ["-v", "pull", "owner/ds/versions/1"])
    assert "Cache hit for the pinned owner/ds/versions/1 (no request)" in pinned.stderr


def test_verbose_counts_one_extracted_file_in_the_singular(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/one", {"a.csv": b"a\n1\n"})
    result = CliRunner().invoke(cli, ["-v", "pull", "owner/one"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^Extracted 1 file \(\d+ B\) in ", result.stderr, re.MULTILINE), result.stderr


@pytest.mark.parametrize("flags", [["-q"], []])
def test_quiet_and_default_say_nothing_on_success(kaggle: FakeKaggle, flags: list[str]) -> None:
    kaggle.add_dataset("owner/ds", {"a.bin": os.urandom(300_000)})
    kaggle.drop_connection_after(100_000)  # a retry: shown by default, not with -q
    result = CliRunner().invoke(cli, [*flags, "pull", "owner/ds"])
    assert result.exit_code == 0, result.output
    if flags:
        assert result.stderr == ""
    else:
        assert result.stderr.splitlines() == [
            line for line in result.stderr.splitlines() if "retrying in" in line
        ]
        assert len(result.stderr.splitlines()) == 1


def test_verbose_names_a_single_file_by_its_name(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/ds", FILES)
    kaggle.drop_connection_after(100_000)
    result = CliRunner().invoke(cli, ["-v", "pull", "owner/ds", "--file", "a.bin"])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"^Downloading a\.bin of owner/ds/versions/1 \([\d.]+ KiB\) from http://localhost:7777",
        result.stderr,
        re.MULTILINE,
    ), result.stderr
    assert re.search(r"^Resuming a\.bin of owner/ds/versions/1 at byte", result.stderr, re.M)
    assert ".file-" not in result.stderr  # never the partial file's internal name
