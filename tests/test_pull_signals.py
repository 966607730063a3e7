"""Signals around a pull, on real processes: a pull that ignores Ctrl-C (started in the
background by a shell) finishes; a dead extraction worker never costs the download; a
Ctrl-C that lands while the finished version is committed does not undo the pull; a
``--force`` pull interrupted resumes when repeated, as its line says."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from archive_faults import many_files
from conftest import assert_secretless, kagman_executable
from kaggle_server import FakeKaggle
from test_parallel_kill import group_alive

import kagman
from kagman.remote.partial import read_info

FILES = many_files(3000, size=2000)  # ~6 MB of incompressible files

# What a non-interactive shell does to a command it starts with `&`: SIGINT ignored.
IGNORING_CTRL_C = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def dataset(ref: str) -> Path:
    return Path(os.environ["KAGMAN_CACHE"]) / "datasets" / ref


def spawn(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a job
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.002)


def parts_going(part: Path) -> bool:
    """Whether the record of a parallel download shows some bytes of it on disk."""
    info = read_info(part)
    return info is not None and info.parts is not None and sum(s.done for s in info.parts) > 0


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = proc.communicate(timeout=60)
    assert_secretless(out + err)
    return out, err


@pytest.mark.parametrize("overlapped", [True, False], ids=["while-downloading", "from-disk"])
def test_a_pull_that_ignores_ctrl_c_finishes_with_its_workers(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, overlapped: bool
) -> None:
    """`kagman pull x & wait` in a script, then Ctrl-C: the shell made the pull ignore it,
    so the forked extraction workers (forked before the download, or once it is on disk)
    must ignore it too, and the pull completes."""
    if overlapped:
        monkeypatch.setenv("KAGMAN_PARALLEL_MIN_BYTES", "1000000")
        monkeypatch.setenv("KAGMAN_CONNECTIONS", "4")
        files = FILES
        kaggle.throttle_bytes_per_sec = 1_000_000
    else:
        files = many_files(20_000)
    kaggle.add_dataset("owner/data", files)
    work = dataset("owner/data") / ".incomplete"
    part = work / "v1.zip"
    args = [kagman_executable(), "pull", "owner/data", "--no-progress"]
    proc = spawn([sys.executable, "-c", IGNORING_CTRL_C, *args])

    def under_way() -> bool:
        if overlapped:  # the workers wait for bytes while the parts download
            started = parts_going(part)
        else:  # the workers write members of the archive on disk
            started = work.exists() and any(work.glob("v1.extract-*/d*/*"))
        return started and len(group_alive(proc.pid)) > 1

    wait_for(under_way, proc, "extraction by forked workers")
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    out, err = finish(proc)
    assert (proc.returncode, err) == (0, "")
    path = dataset("owner/data") / "versions/1"
    assert out == f"{path}\n"
    assert {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*.bin")} == files


def test_a_killed_extraction_worker_keeps_the_download(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies (the OOM killer, a stray kill) is no reason to throw the
    download away: the next pull resumes it, asking for no byte twice."""
    monkeypatch.setenv("KAGMAN_PARALLEL_MIN_BYTES", "1000000")
    monkeypatch.setenv("KAGMAN_CONNECTIONS", "4")
    kaggle.add_dataset("owner/data", FILES)
    kaggle.throttle_bytes_per_sec = 1_000_000
    part = dataset("owner/data") / ".incomplete/v1.zip"
    proc = spawn([kagman_executable(), "pull", "owner/data", "--no-progress"])
    wait_for(lambda: parts_going(part) and len(group_alive(proc.pid)) > 1, proc, "the workers")
    worker = max(pid for pid in group_alive(proc.pid) if pid != proc.pid)
    os.kill(worker, signal.SIGKILL)
    out, err = finish(proc)
    assert proc.returncode == 7, err
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("Error: A worker extracting v1.zip was killed (SIGKILL). "), line
    assert re.search(r"the (partial )?download is (complete and )?kept", line), line
    record = read_info(part)
    assert record is not None
    assert record.parts is not None
    done = [s for s in record.parts if s.done]
    assert done  # and nothing of it is asked for again:
    kaggle.throttle_bytes_per_sec = None
    before = len(kaggle.requests)
    path = kagman.pull("owner/data")
    assert {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*.bin")} == FILES
    asked = [r.range for r in kaggle.requests[before:] if r.endpoint == "blob" and r.range]
    assert asked  # the rest, in ranges (the first answer's body is not read)
    size = len(kaggle.archive_bytes("owner/data"))
    for rng in asked:
        first, _, last = str(rng).removeprefix("bytes=").partition("-")
        start = int(first) if first else size - int(last)
        assert not any(s.start <= start < s.start + s.done for s in done), (rng, done)


# Ctrl-C (twice) at the very moment the version is committed, and in the clean-up after:
# an audit hook sends it from inside the pull when it writes the manifest, then when it
# removes the download.
CTRL_C_AT_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    committed = []
    def hook(event, args):
        if event == "os.rename" and os.fspath(args[1]).endswith("1.manifest.json"):
            committed.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        if event == "os.remove" and committed and os.fspath(args[0]).endswith("v1.zip"):
            os.kill(os.getpid(), signal.SIGINT)
    sys.addaudithook(hook)
    from kagman.cli import main
    sys.argv = ["kagman", "pull", "owner/data", "--no-progress"]
    main()
    """
)


def test_ctrl_c_while_the_version_is_committed_finishes_the_pull(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/data", {"a.bin": os.urandom(1000), "b/c.bin": os.urandom(10)})
    proc = spawn([sys.executable, "-c", CTRL_C_AT_COMMIT])
    out, err = finish(proc)
    path = dataset("owner/data") / "versions/1"
    assert (proc.returncode, out) == (0, f"{path}\n"), err
    assert err == (
        "Warning: Ctrl-C came while owner/data v1 was being committed; "
        "the pull finished: the version is complete.\n"
    )
    (row,) = kagman.cache_info("owner/data").entries
    assert row.state == "complete"
    assert list((dataset("owner/data") / ".incomplete").iterdir()) == []


# kill -9 between the two removals of a finished download: never a record without its file.
KILLED_IN_CLEAN_UP = textwrap.dedent(
    """
    import os, signal, sys
    seen = []
    def hook(event, args):
        if event == "os.rename" and os.fspath(args[1]).endswith("1.manifest.json"):
            seen.append("committed")
        if event == "os.remove" and seen and os.fspath(args[0]).endswith((".zip", ".json")):
            seen.append(args[0])
            if len(seen) == 3:  # the second removal after the commit
                os.kill(os.getpid(), signal.SIGKILL)
    sys.addaudithook(hook)
    from kagman.cli import main
    sys.argv = ["kagman", "pull", "owner/data", "--no-progress"]
    main()
    """
)


def test_no_partial_record_outlives_its_download(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/data", {"a.bin": os.urandom(1000)})
    proc = spawn([sys.executable, "-c", KILLED_IN_CLEAN_UP])
    finish(proc)
    assert proc.returncode == -signal.SIGKILL
    work = dataset("owner/data") / ".incomplete"
    left = sorted(p.name for p in work.iterdir())
    assert left in ([], ["v1.zip"]), left  # a record is removed before its file, never after
    assert kagman.pull("owner/data") == dataset("owner/data") / "versions/1"  # complete


def test_a_force_pull_interrupted_resumes_when_repeated(kaggle: FakeKaggle) -> None:
    """The Ctrl-C line of a ``--force`` pull says the next pull resumes: a repeated
    ``--force`` does, and the cached version stays usable meanwhile."""
    big = {"big.bin": os.urandom(2_000_000)}
    kaggle.add_dataset("owner/big", big)
    path = kagman.pull("owner/big")
    kaggle.throttle_bytes_per_sec = 1_000_000
    part = dataset("owner/big") / ".incomplete/v1.zip"
    proc = spawn([kagman_executable(), "pull", "owner/big", "--force", "--no-progress"])
    wait_for(lambda: part.exists() and part.stat().st_size > 300_000, proc, "the download")
    os.killpg(proc.pid, signal.SIGINT)
    out, err = finish(proc)
    assert (proc.returncode, out) == (130, ""), err
    have = part.stat().st_size
    percent = 100 * have // len(kaggle.archive_bytes("owner/big"))
    (line,) = err.splitlines()
    assert line.endswith(f"; the next pull with --force resumes at {percent}%."), line
    assert (path / "big.bin").read_bytes() == big["big.bin"]  # the old copy meanwhile
    kaggle.throttle_bytes_per_sec = None
    assert kagman.pull("owner/big", force=True) == path
    assert [r.range for r in kaggle.requests if r.endpoint == "blob"][-1] == f"bytes={have}-"
    assert (path / "big.bin").read_bytes() == big["big.bin"]


POOLED = textwrap.dedent(
    """
    import threading, time
    import kagman
    from kagman.archive.workers import start_method
    # A thread (as in a notebook kernel): extraction workers come from a forkserver pool.
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    print(start_method(), flush=True)
    try:
        kagman.pull("owner/many", progress=False)
    except kagman.ArchiveError as err:
        print(type(err).__name__, err, flush=True)
    """
)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_killed_pool_worker_keeps_the_download(
    kaggle: FakeKaggle, caplog: pytest.LogCaptureFixture
) -> None:
    """The same in a process with threads, whose workers come from a forkserver pool."""
    kaggle.add_dataset("owner/many", many_files(20_000))
    work = dataset("owner/many") / ".incomplete"
    proc = spawn([sys.executable, "-c", POOLED])

    def pool_workers() -> list[int]:  # the forkserver's children (the pull's grandchildren)
        alive = [pid for pid in group_alive(proc.pid) if pid != proc.pid]
        return [pid for pid in alive if parent_of(pid) != proc.pid]

    wait_for(lambda: any(work.glob("v1.extract-*/d*/*")) and bool(pool_workers()), proc, "pool")
    os.kill(pool_workers()[0], signal.SIGKILL)
    out, err = finish(proc)
    assert proc.returncode == 0, err
    started, line = out.splitlines()
    assert started == "forkserver"
    assert line.startswith("WorkerDiedError A worker extracting v1.zip died. "), line
    assert line.endswith("the download is complete and kept, so the next pull only extracts it.")
    assert sorted(p.name for p in work.iterdir()) == ["v1.zip", "v1.zip.json"]
    with caplog.at_level(logging.DEBUG, logger="kagman"):
        path = kagman.pull("owner/many")
    assert "already downloaded" in caplog.text  # extracted from the kept download
    assert len(list(path.rglob("*.bin"))) == 20_000
