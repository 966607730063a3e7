"""Extracting while downloading gives what downloading then extracting gives: the same
files, manifest and leftovers, or the same error, for every archive of the archive tests;
and a hostile archive is refused from its end, before anything is written."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from archive_fixtures import FIXTURES
from kaggle_server import FakeKaggle
from test_archive import add_info, info, make_zip

import kagman
from kagman.errors import KagmanError, UnsafeArchiveError


def outcome(ref: str) -> tuple[Any, ...]:
    """What a pull of ``ref`` leaves: its files and manifest, or its error; and leftovers."""
    cache = Path(os.environ["KAGMAN_CACHE"])
    try:
        path = kagman.pull(ref, progress=False)
    except KagmanError as err:
        result: tuple[Any, ...] = (type(err).__name__, str(err), getattr(err, "member", None))
    else:
        files = {
            p.relative_to(path).as_posix(): p.read_bytes() if p.is_file() else "folder"
            for p in path.rglob("*")
        }
        manifest = json.loads(path.with_name(path.name + ".manifest.json").read_text())
        del manifest["downloaded_at"]
        result = ("pulled", files, manifest)
    work = cache / "datasets" / "owner" / "fx" / ".incomplete"
    return (*result, sorted(p.name for p in work.iterdir()) if work.exists() else None)


@pytest.mark.parametrize("name", list(FIXTURES))
def test_streamed_and_sequential_pulls_are_identical(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    archive = FIXTURES[name](tmp_path)
    kaggle.add_dataset("owner/fx", archive=archive)
    monkeypatch.setenv("KAGMAN_CONNECTIONS", "3")
    results, ranged = [], []
    for streamed in (False, True):
        shutil.rmtree(os.environ["KAGMAN_CACHE"], ignore_errors=True)  # the same paths
        kaggle.requests.clear()
        # in parts from the first byte; paced, so that no first MiB comes fast enough to
        # keep a big one on one connection
        monkeypatch.setenv("KAGMAN_PARALLEL_MIN_BYTES", "1" if streamed else str(1 << 40))
        kaggle.throttle_bytes_per_sec = 40_000_000 if streamed else None
        results.append(outcome("owner/fx/versions/1"))
        ranged.append(any(r.range for r in kaggle.requests if r.endpoint == "blob"))
    assert results[1] == results[0]
    assert ranged == [False, bool(archive)]  # each path was the one meant


def test_a_hostile_archive_is_refused_from_its_end_before_anything_is_written(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a big harmless member first, a link out of the folder last: extracting before the
    # whole plan is accepted would write the first one while the download goes on
    archive = make_zip(tmp_path / "h.zip", {"first.bin": os.urandom(3 << 20)})
    add_info(archive, info("escape", stat.S_IFLNK | 0o777), b"../../../../escaped")
    kaggle.add_dataset("owner/fx", archive=archive.read_bytes())
    monkeypatch.setenv("KAGMAN_CONNECTIONS", "3")
    monkeypatch.setenv("KAGMAN_PARALLEL_MIN_BYTES", "1")
    kaggle.throttle_bytes_per_sec = 4_000_000  # ~0.3 s for the first member's bytes
    work = Path(os.environ["KAGMAN_CACHE"]) / "datasets" / "owner" / "fx" / ".incomplete"
    written: set[str] = set()
    done = threading.Event()

    def watch() -> None:  # anything below the extraction folder, the moment it exists
        while not done.is_set():
            with contextlib.suppress(OSError):  # removed while being listed
                written.update(p.name for p in work.glob("*/**/*"))
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(UnsafeArchiveError, match="is a symbolic link"):
            kagman.pull("owner/fx/versions/1", progress=False)
    finally:
        done.set()
        watcher.join()
    asked = [r.range for r in kaggle.requests if r.endpoint == "blob" and r.range]
    assert asked[0].startswith("bytes=-")  # planned from the archive's end
    assert written == set()
    assert not list(Path(os.environ["KAGMAN_CACHE"]).parent.rglob("escape*"))
    assert not work.exists() or list(work.iterdir()) == []  # the refused download is gone
