"""kagman.fs: files land whole or not at all; trees of any depth can be removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kagman.errors import DiskFullError
from kagman.fs import atomic_write_bytes, ensure_free_space, human_size, remove_tree

CRASH_BEFORE_RENAME = """
import os, sys
from pathlib import Path
from kagman.fs import atomic_write_bytes

def crash(*args, **kwargs):
    os._exit(9)  # the process dies after writing the data, before the rename

os.replace = crash
atomic_write_bytes(Path(sys.argv[1]), b"new content " * 100_000, mode=0o600)
"""


def test_a_crash_between_write_and_rename_keeps_the_old_file(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    target = folder / "kaggle.json"
    target.write_bytes(b"old content")
    run = subprocess.run([sys.executable, "-c", CRASH_BEFORE_RENAME, str(target)], check=False)
    assert run.returncode == 9  # it really died at the rename
    assert target.read_bytes() == b"old content"
    # what the crash left is a hidden temporary file beside it, never the target itself
    leftovers = [p.name for p in folder.iterdir() if p != target]
    assert len(leftovers) == 1
    assert leftovers[0].startswith(".kaggle.json.")
    assert leftovers[0].endswith(".tmp")


def test_atomic_write_creates_with_the_mode_from_the_start(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    target = folder / "secret"
    old = os.umask(0)
    try:
        atomic_write_bytes(target, b"s", mode=0o600)
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.read_bytes() == b"s"
    assert [p.name for p in folder.iterdir()] == ["secret"]


def test_remove_tree_handles_any_depth_and_never_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    root = tmp_path / "deep"
    folder = str(root)
    # deeper than Python's recursion limit, which a recursive rmtree would hit
    # (built one level at a time: os.makedirs recurses too)
    for _ in range(sys.getrecursionlimit() + 500):
        os.mkdir(folder)  # noqa: PTH102
        folder += "/d"
    Path(folder).write_text("x")
    (root / "link").symlink_to(outside, target_is_directory=True)
    remove_tree(root)
    assert not root.exists()
    assert (outside / "keep.txt").read_text() == "keep"


def test_remove_tree_of_a_file_a_link_and_nothing(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_text("x")
    link = tmp_path / "l"
    link.symlink_to(file)
    remove_tree(link)
    assert file.exists()
    assert not link.is_symlink()
    remove_tree(file)
    assert not file.exists()
    remove_tree(tmp_path / "missing")  # no error


def test_free_space_check_names_sizes_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DiskFullError, match=r"need 1024\.0 TiB.*KAGMAN_CACHE") as caught:
        ensure_free_space(tmp_path, 1 << 50, what="the test")
    assert caught.value.needed == 1 << 50
    assert caught.value.exit_code == 6
    assert human_size(1536) == "1.5 KiB"
