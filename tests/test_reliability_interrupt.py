"""Ctrl-C on a real process: exit 130 and one line saying what was kept; the temporary
extraction folder removed whichever way the workers started; the next pull resumes."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from archive_faults import many_files
from conftest import assert_secretless, kagman_executable
from kaggle_server import FakeKaggle

import kagman
import kagman.fs

BIG = {"big.bin": os.urandom(2_000_000)}


def dataset(ref: str) -> Path:
    return Path(os.environ["KAGMAN_CACHE"]) / "datasets" / ref


def wait_for(condition: object, proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():  # type: ignore[operator]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{what} never started"
        time.sleep(0.002)


def ctrl_c(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """What a terminal does on Ctrl-C: SIGINT to the whole foreground process group."""
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert_secretless(out + err)
    return out, err


def spawn(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a command
    )


def test_ctrl_c_during_the_download(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/big", BIG)
    kaggle.throttle_bytes_per_sec = 1_000_000
    part = dataset("owner/big") / ".incomplete/v1.zip"
    proc = spawn([kagman_executable(), "pull", "owner/big", "--no-progress"])
    wait_for(lambda: part.exists() and part.stat().st_size > 300_000, proc, "the download")
    out, err = ctrl_c(proc)
    assert proc.returncode == 130, err
    assert out == ""
    assert "Traceback" not in err
    assert "Aborted" not in err
    (line,) = err.splitlines()
    have, total = part.stat().st_size, len(kaggle.archive_bytes("owner/big"))
    match = re.fullmatch(
        r"Interrupted: the partial download is kept \(.+ of .+\); "
        r"the next pull resumes at (\d+)%\.",
        line,
    )
    assert match, line
    assert int(match.group(1)) == 100 * have // total
    (row,) = kagman.cache_info("owner/big").entries  # kagman ls says how far it got
    assert (row.state, row.note) == (
        "incomplete",
        f"partial download, {100 * have // total}% of {kagman.fs.human_size(total)}",
    )
    kaggle.throttle_bytes_per_sec = None
    path = kagman.pull("owner/big")
    assert (path / "big.bin").read_bytes() == BIG["big.bin"]
    assert [r.range for r in kaggle.requests if r.endpoint == "blob"][-1] == f"bytes={have}-"


def test_ctrl_c_during_extraction(kaggle: FakeKaggle, caplog: pytest.LogCaptureFixture) -> None:
    files = many_files(20_000)
    kaggle.add_dataset("owner/many", files)
    work = dataset("owner/many") / ".incomplete"
    proc = spawn([kagman_executable(), "pull", "owner/many", "--no-progress"])
    wait_for(lambda: work.exists() and any(work.glob("v1.extract-*/d*/*")), proc, "extraction")
    out, err = ctrl_c(proc)
    assert proc.returncode == 130, err
    assert out == ""
    assert "Traceback" not in err
    kept = (
        "Interrupted: the temporary extraction folder was removed; the download is complete "
        "and kept, so the next pull only extracts it."
    )
    assert err.splitlines() == [kept]
    assert sorted(p.name for p in work.iterdir()) == ["v1.zip", "v1.zip.json"]
    assert not (dataset("owner/many") / "versions/1").exists()
    (row,) = kagman.cache_info("owner/many").entries  # kagman ls: nothing left to download
    assert (row.state, row.note) == (
        "incomplete",
        "download complete, not extracted: the next pull uses it",
    )
    with caplog.at_level(logging.DEBUG, logger="kagman"):
        path = kagman.pull("owner/many")
    assert "already downloaded" in caplog.text  # extracted, not downloaded again
    assert "MD5 verified earlier" in caplog.text  # and not hashed again
    assert len(list(path.rglob("*.bin"))) == len(files)


NOTEBOOK = textwrap.dedent(
    """
    import logging, sys, threading, time
    import kagman
    from kagman.archive.workers import start_method
    logging.basicConfig(format="%(name)s: %(message)s")  # which logger says it
    # A notebook kernel has threads, so extraction workers come from a forkserver pool.
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    print(start_method(), flush=True)
    try:
        kagman.pull("owner/many", progress=False)
    except KeyboardInterrupt:
        print("KeyboardInterrupt propagated", flush=True)
    """
)


def readme_interrupt_logger() -> str:
    """The logger that README's "Safe to interrupt" says logs the Ctrl-C line."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Safe to interrupt", 1)[1].split("\n### ", 1)[0]
    (name,) = re.findall(r"logger\s+`([\w.]+)`", section)
    return name


def test_interrupt_button_in_a_threaded_python_process(kaggle: FakeKaggle) -> None:
    """The pool path (forkserver): the same clean-up, a log line (from the logger the
    README names), then KeyboardInterrupt."""
    kaggle.add_dataset("owner/many", many_files(20_000))
    work = dataset("owner/many") / ".incomplete"
    proc = spawn([sys.executable, "-c", NOTEBOOK])
    wait_for(lambda: work.exists() and any(work.glob("v1.extract-*/d*/*")), proc, "extraction")
    out, err = ctrl_c(proc)  # Jupyter signals the kernel's whole process group
    assert out.splitlines() == ["forkserver", "KeyboardInterrupt propagated"]
    logged = f"{readme_interrupt_logger()}: Interrupted: the temporary extraction folder was"
    assert logged in err
    assert "Traceback" not in err
    time.sleep(0.3)  # a straggling worker would write now
    assert sorted(p.name for p in work.iterdir()) == ["v1.zip", "v1.zip.json"]
