"""A pull killed (SIGKILL) while its parts download, and extraction waits for them: no
process is left behind, and the next pull resumes every part where the record says."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from archive_faults import many_files
from conftest import kagman_executable
from kaggle_server import FakeKaggle

import kagman
from kagman.fs import human_size
from kagman.remote.partial import read_info

FILES = many_files(3000, size=2000)  # ~6 MB of incompressible files


def group_alive(pgid: int) -> list[int]:
    """Processes of group ``pgid`` still running (zombies, waiting to be reaped, are not)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_a_killed_parallel_pull_resumes_every_part(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGMAN_PARALLEL_MIN_BYTES", "1000000")
    monkeypatch.setenv("KAGMAN_CONNECTIONS", "4")
    kaggle.add_dataset("owner/data", FILES)
    size = len(kaggle.archive_bytes("owner/data"))
    kaggle.throttle_bytes_per_sec = 1_000_000  # ~1.5 s over 4 connections
    part = Path(os.environ["KAGMAN_CACHE"]) / "datasets/owner/data/.incomplete/v1.zip"
    proc = subprocess.Popen(
        [kagman_executable(), "pull", "owner/data", "--no-progress"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its group: the pull and its forked extraction workers
    )
    deadline = time.monotonic() + 30
    while True:  # until the record shows parts under way, beside parts done or not begun
        info = read_info(part)
        going = [s for s in info.parts or () if 0 < s.done < s.end - s.start] if info else []
        if len(going) >= 2:
            break
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the parts never got going"
        time.sleep(0.005)
    assert len(group_alive(proc.pid)) > 1  # the extraction workers wait for bytes
    proc.send_signal(signal.SIGKILL)  # the pull alone: its workers are orphaned
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while group_alive(proc.pid):  # orphaned workers notice and leave
        assert time.monotonic() < deadline, f"left behind: {group_alive(proc.pid)}"
        time.sleep(0.01)

    record = read_info(part)
    assert record is not None
    assert record.parts is not None
    spans = record.parts
    under_way = [s for s in spans if 0 < s.done < s.end - s.start]
    assert len(under_way) >= 2
    # kagman ls counts the parts done, not the file (created at full size up front)
    done = sum(s.done for s in spans)
    rows = kagman.cache_info("owner/data").entries
    (row,) = [r for r in rows if r.path == part]  # beside the killed extraction's folder
    assert row.note == f"partial download, {100 * done // size}% of {human_size(size)}"
    kaggle.throttle_bytes_per_sec = None
    before = len(kaggle.requests)
    path = kagman.pull("owner/data")
    assert {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*.bin")} == FILES
    asked = [r.range for r in kaggle.requests[before:] if r.endpoint == "blob" and r.range]

    def first_byte(rng: str) -> int:
        first, _, last = rng.removeprefix("bytes=").partition("-")
        return int(first) if first else size - int(last)

    starts = {first_byte(rng) for rng in asked}
    for span in under_way:  # every part resumed from its own last byte on disk
        assert span.start + span.done in starts, (span, sorted(starts))
    for span in spans:  # and nothing on disk asked for again
        if span.done:
            assert not any(span.start <= s < span.start + span.done for s in starts), span
