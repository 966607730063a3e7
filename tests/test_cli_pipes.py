"""Output into a pipe whose reader has gone away (``kagman ... | head -1``): a quiet exit.

The Python docs' "Note on SIGPIPE": the write fails with ``BrokenPipeError``, and so would
the interpreter's last flush of stdout ("Exception ignored in: <_io.TextIOWrapper
name='<stdout>'>"). kagman stops without a word and exits 141 (128 + SIGPIPE, what a shell
reports for a command a pipe's end killed), as documented in the README's table.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import kagman_executable
from synthetic_images import shapes_files, write_files

BROKEN_PIPE = 141


def readme_exit_codes() -> str:
    return (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_a_big_output_into_head_stops_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("id,name\n" + "".join(f"{i},row number {i}\n" for i in range(30_000)))
    script = (
        f"{kagman_executable()} load {big} --head 30000 | head -1; "
        'echo "status ${PIPESTATUS[0]}" >&2'
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert len(done.stdout.splitlines()) == 1  # head's one line
    assert done.stderr == f"status {BROKEN_PIPE}\n"  # nothing else: no Error:, no traceback


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],  # written while click parses the options
        ["--help"],
        ["index", "{folder}"],  # small output, written when the interpreter flushes at exit
        ["index", "{folder}", "--csv", "{csv}"],
    ],
)
def test_a_reader_gone_before_anything_is_written(tmp_path: Path, args: list[str]) -> None:
    folder = write_files(tmp_path, shapes_files(broken=False)) / "shapes"
    argv = [a.format(folder=folder, csv=tmp_path / "i.csv") for a in args]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before kagman starts
    try:
        done = subprocess.run(
            [kagman_executable(), *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    warnings = [line for line in done.stderr.splitlines() if line.startswith("Warning: ")]
    assert done.stderr.splitlines() == warnings  # a warning is fine; no Error:, no traceback
    assert done.returncode == BROKEN_PIPE


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["pull", "--help"], ["ls"]])
def test_output_into_a_full_disk_is_one_error_line(args: list[str]) -> None:
    # --version and --help are written while click parses the options, before any command
    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            [kagman_executable(), *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert (done.returncode, done.stderr) == (
        1,
        "Error: No space left on device. Check it and retry.\n",
    )


def test_the_exit_code_is_documented() -> None:
    assert f"| {BROKEN_PIPE} |" in readme_exit_codes()
