"""Pulls as separate processes: killed mid-download, and several at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kaggle_server import FakeKaggle

import kagman


def spawn_pull(ref: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kagman", "pull", ref, "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def payload(n: int = 20, size: int = 100_000) -> dict[str, bytes]:
    return {f"chunk-{i:02}.bin": os.urandom(size) for i in range(n)}


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_sigkill_mid_download_then_resume(kaggle: FakeKaggle) -> None:
    files = payload()
    kaggle.add_dataset("owner/big", files)
    kaggle.throttle_bytes_per_sec = 400_000
    part = Path(os.environ["KAGMAN_CACHE"]) / "datasets/owner/big/.incomplete/v1.zip"
    proc = spawn_pull("owner/big")
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 300_000):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    entry = part.parent.parent / "versions/1"
    assert not (entry.parent / "1.manifest.json").exists()
    with pytest.raises(kagman.NotCachedError):
        kagman.pull("owner/big", offline=True)
    have = part.stat().st_size
    assert 0 < have < len(kaggle.archive_bytes("owner/big"))

    kaggle.throttle_bytes_per_sec = None
    path = kagman.pull("owner/big")
    assert read_tree(path) == files
    last_blob = [r for r in kaggle.requests if r.endpoint == "blob"][-1]
    assert last_blob.range == f"bytes={have}-"
    assert last_blob.status == 206


@pytest.mark.slow
def test_concurrent_pulls_download_once(kaggle: FakeKaggle) -> None:
    files = payload(10)
    kaggle.add_dataset("owner/shared", files)
    kaggle.throttle_bytes_per_sec = 1_000_000
    procs = [spawn_pull("owner/shared") for _ in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    paths = {out.strip() for out, _ in outputs}
    assert len(paths) == 1
    path = Path(paths.pop())
    assert read_tree(path) == files
    assert kaggle.count("DownloadDataset") == 1
    assert kaggle.count("blob") == 1


@pytest.mark.slow
def test_sigkill_during_extraction_leaves_nothing_complete(kaggle: FakeKaggle) -> None:
    files = {f"d{i % 50:02}/f{i:05}.bin": os.urandom(64) for i in range(20_000)}
    kaggle.add_dataset("owner/many", files)
    base = Path(os.environ["KAGMAN_CACHE"]) / "datasets/owner/many"
    proc = spawn_pull("owner/many")
    deadline = time.monotonic() + 60
    while not list((base / ".incomplete").glob("v1.extract-*/d*")) if base.exists() else True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "extraction never started"
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.2)  # forked extraction workers notice the dead parent at their next write
    assert not (base / "versions/1.manifest.json").exists()
    with pytest.raises(kagman.NotCachedError):
        kagman.pull("owner/many", offline=True)
    path = kagman.pull("owner/many")
    assert read_tree(path) == files
    assert list((base / ".incomplete").iterdir()) == []
