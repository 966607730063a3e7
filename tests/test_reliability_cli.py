"""Every pull fault through the installed ``kagman`` executable, as a user meets it: the
documented exit code, exactly one ``Error:`` line, no ``Traceback``, nothing on stdout.

Filesystem faults use real filesystems: a read-only bind mount and a small tmpfs, each in
a private mount namespace (``unshare -m``) so nothing outside the test sees them, and
permission denials with kagman run as ``nobody`` (root ignores mode bits). Where the
machine cannot do that, the test is skipped and says why.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from archive_faults import corrupt_extra_field, deep, renamed_local_header
from conftest import assert_secretless, kagman_executable
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle

import kagman
from kagman import NetworkError

NOBODY = ("nobody", "nogroup")


@dataclass
class Fault:
    """How to meet one fault from the command line, and what the user must see."""

    code: int
    text: str  # the Error line contains this
    args: list[str] = field(default_factory=lambda: ["pull", "owner/ds"])
    env: dict[str, str] = field(default_factory=dict)
    mount: str = ""  # shell run in a private mount namespace before kagman starts
    as_nobody: bool = False


def run_kagman(
    fault: Fault, env: dict[str, str], *, wait: bool = True
) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    command = [kagman_executable(), *fault.args]
    if fault.as_nobody:
        user, group = NOBODY
        command = ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", *command]
    if fault.mount:
        script = f"{fault.mount}\nexec {shlex.join(command)}"
        command = ["unshare", "-m", "--propagation", "private", "sh", "-euc", script]
    full_env = {**env, **fault.env}
    if not wait:
        return subprocess.Popen(
            command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(
        command, env=full_env, capture_output=True, text=True, check=False, timeout=120
    )


def assert_one_error(proc: subprocess.CompletedProcess[str], code: int, text: str) -> str:
    """The user's view of a failure: exit code, one Error line, no traceback, no stdout."""
    assert_secretless(proc.stdout + proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, proc.stderr
    assert text in errors[0], errors[0]
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == ""
    return errors[0]


@pytest.fixture
def world(kaggle: FakeKaggle) -> Iterator[Path]:
    """A folder every user can enter, for the cache and config of a run as ``nobody``."""
    base = Path(tempfile.mkdtemp(prefix="kagman-reliability-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def cli_env(base: Path) -> dict[str, str]:
    home = base / "home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "XDG_CACHE_HOME": str(home),
        "KAGGLE_CONFIG_DIR": str(base / "config"),
        "KAGMAN_CACHE": str(base / "cache"),
        "KAGGLE_USERNAME": TEST_USERNAME,
        "KAGGLE_KEY": TEST_KEY,
        "KAGMAN_RETRIES": "1",
    }


_PROBES: dict[str, str | None] = {}


def cannot(what: str) -> str | None:
    """Why this machine cannot make a private mount or run as nobody (None: it can)."""
    if what not in _PROBES:
        if what == "mount":
            probe = ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]
        else:
            user, group = NOBODY
            probe = ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups"]
            probe += [kagman_executable(), "--version"]
        try:
            done = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=30)
            _PROBES[what] = None if done.returncode == 0 else done.stderr.strip()[:200]
        except (OSError, subprocess.SubprocessError) as err:
            _PROBES[what] = str(err)
    reason = _PROBES[what]
    if reason is None:
        return None
    action = "mount a tmpfs in a private namespace" if what == "mount" else "run as nobody"
    return f"cannot {action}: {reason}"


# --- the faults ------------------------------------------------------------------------


def leave_a_partial(kaggle: FakeKaggle, base: Path) -> None:
    """A first pull that drops mid-way and gives up, leaving a partial download."""
    env = {"KAGMAN_CACHE": str(base / "cache"), "KAGMAN_RETRIES": "0"}
    old = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    kaggle.drop_connection_after(100_000)
    try:
        with pytest.raises(NetworkError):
            kagman.pull("owner/ds")
    finally:
        for name, value in old.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def readonly_cache(base: Path) -> str:
    cache = shlex.quote(str(base / "cache"))
    return f"mkdir -p {cache}\nmount --bind {cache} {cache}\nmount -o remount,ro,bind {cache}"


def small_tmpfs(base: Path, size: str) -> str:
    cache = shlex.quote(str(base / "cache"))
    return f"mkdir -p {cache}\nmount -t tmpfs -o size={size} tmpfs {cache}"


BIG = {"big.bin": os.urandom(1_000_000)}  # does not compress
REPEATS = {"repeats.bin": os.urandom(1000) * 5000}  # a ~60 KB archive that unpacks to 5 MB

FAULTS: dict[str, Callable[[FakeKaggle, Path], Fault]] = {
    "slow-path-renamed-member": lambda k, _: (
        k.add_dataset("owner/ds", archive=renamed_local_header()),
        Fault(7, "File name in directory"),
    )[1],
    "slow-path-corrupt-extra-field": lambda k, _: (
        k.add_dataset("owner/ds", archive=corrupt_extra_field()),
        Fault(7, "Corrupt extra field"),
    )[1],
    "member-2100-folders-deep": lambda k, _: (
        k.add_dataset("owner/ds", archive=deep(2100)[1]),
        Fault(7, "has a path of"),
    )[1],
    "short-body-single-file": lambda k, _: (
        k.add_dataset("owner/ds", {"t.csv": os.urandom(200_000)}),
        k.short_body(1000, times=2),
        Fault(7, "did not match the MD5", ["pull", "owner/ds", "--file", "t.csv"]),
    )[2],
    "bad-md5-archive": lambda k, _: (
        k.add_dataset("owner/ds", BIG),
        k.bad_md5(times=2),
        Fault(7, "did not match the MD5"),
    )[2],
    "wrong-content-range": lambda k, b: (
        k.add_dataset("owner/ds", BIG),
        leave_a_partial(k, b),
        k.wrong_content_range(times=10),
        Fault(4, "kept failing (asked for bytes 100000-"),
    )[3],
    "storage-unreachable": lambda k, _: (
        k.add_dataset("owner/ds", BIG),
        k.storage_unreachable(times=10),
        Fault(5, f"Could not reach Kaggle's download storage at {k.dead_url()}"),
    )[2],
    "api-unreachable": lambda k, _: (
        k.add_dataset("owner/ds", BIG),
        Fault(5, "Kaggle's API at http://localhost:7777", env={"HTTP_PROXY": "http://127.0.0.1:9"}),
    )[1],
    "api-5xx": lambda k, _: (
        k.fail_next(503, times=10, endpoint="GetDataset"),
        Fault(4, "Kaggle's API at http://localhost:7777 failed (503)"),
    )[1],
    "read-only-cache": lambda k, b: (
        k.add_dataset("owner/ds", BIG),
        Fault(6, "read-only filesystem", mount=readonly_cache(b)),
    )[1],
    "disk-full-download": lambda k, b: (
        k.add_dataset("owner/ds", BIG),
        Fault(6, "Not enough disk space for the download", mount=small_tmpfs(b, "256k")),
    )[1],
    "disk-full-single-file": lambda k, b: (
        k.add_dataset("owner/ds", BIG),
        Fault(
            6,
            "Not enough disk space for the download of big.bin of owner/ds/versions/1: need",
            ["pull", "owner/ds", "--file", "big.bin"],
            mount=small_tmpfs(b, "256k"),
        ),
    )[1],
    "disk-full-extraction": lambda k, b: (
        k.add_dataset("owner/ds", REPEATS),
        Fault(6, "Not enough disk space for extracting", mount=small_tmpfs(b, "1m")),
    )[1],
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_pull_fault_is_one_error_line_with_its_exit_code(
    kaggle: FakeKaggle, world: Path, name: str
) -> None:
    fault = FAULTS[name](kaggle, world)
    if fault.mount and (why := cannot("mount")):
        pytest.skip(why)
    proc = run_kagman(fault, cli_env(world))
    assert isinstance(proc, subprocess.CompletedProcess)
    assert_one_error(proc, fault.code, fault.text)
    incomplete = world / "cache/datasets/owner/ds/.incomplete"
    if incomplete.exists():  # never a temporary extraction folder left behind
        assert not list(incomplete.glob("*.extract-*"))


# Each cache folder in turn belongs to root and is not writable by the user running kagman.
# "versions+file": the version's folder when a single file is pulled into it (a subset).
LEVELS = ["cache", "datasets", "owner", "ds", ".lock", ".incomplete", "versions", "versions+file"]


@pytest.mark.parametrize("level", LEVELS)
def test_permission_denied_on_each_cache_folder(
    kaggle: FakeKaggle, world: Path, level: str
) -> None:
    if why := cannot("nobody"):
        pytest.skip(why)
    kaggle.add_dataset("owner/ds", {"t.csv": b"x\n1\n", "a.txt": b"a"})
    chain = [world / "cache", world / "cache/datasets", world / "cache/datasets/owner"]
    chain.append(chain[-1] / "ds")
    path = {p.name: p for p in chain}
    inside = {
        "cache": chain[0],
        ".lock": chain[3] / ".lock",
        ".incomplete": chain[3] / ".incomplete",
    }
    inside |= {"versions": chain[3] / "versions", "versions+file": chain[3] / "versions"}
    target = path.get(level) or inside[level]
    for folder in chain:
        if folder == target:
            break
        folder.mkdir()
        os.chown(folder, 65534, 65534)
    if level == ".lock":
        target.touch()
    else:
        target.mkdir()
    target.chmod(0o555 if target.is_dir() else 0o444)  # root's, and read-only for others
    (world / "config").mkdir()
    single = level == "versions+file"
    args = ["pull", "owner/ds", "--file", "t.csv"] if single else ["pull", "owner/ds"]
    proc = run_kagman(Fault(6, "Permission denied", args, as_nobody=True), cli_env(world))
    assert isinstance(proc, subprocess.CompletedProcess)
    line = assert_one_error(proc, 6, "Permission denied")
    assert str(world / "cache") in line


@pytest.mark.parametrize("removed", ["the cache folder", "the partial download"])
def test_removed_while_pulling(kaggle: FakeKaggle, world: Path, removed: str) -> None:
    kaggle.add_dataset("owner/ds", BIG)
    kaggle.throttle_bytes_per_sec = 2_000_000
    part = world / "cache/datasets/owner/ds/.incomplete/v1.zip"
    proc = run_kagman(Fault(6, ""), cli_env(world), wait=False)
    assert isinstance(proc, subprocess.Popen)
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 100_000):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.01)
    if removed == "the cache folder":
        shutil.rmtree(world / "cache")
    else:
        part.unlink()
    out, err = proc.communicate(timeout=60)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert_one_error(done, 6, "disappeared")
    kaggle.throttle_bytes_per_sec = None
    again = run_kagman(Fault(0, ""), cli_env(world))  # the next pull is not stuck
    assert again.returncode == 0, again.stderr
    assert (Path(again.stdout.strip()) / "big.bin").read_bytes() == BIG["big.bin"]


def test_a_read_only_cache_still_serves_what_it_holds(kaggle: FakeKaggle, world: Path) -> None:
    if why := cannot("mount"):
        pytest.skip(why)
    kaggle.add_dataset("owner/ds", BIG)
    env = cli_env(world)
    first = run_kagman(Fault(0, ""), env)
    assert first.returncode == 0, first.stderr
    for args in (["pull", "owner/ds"], ["pull", "owner/ds/versions/1"]):
        proc = run_kagman(Fault(0, "", args, mount=readonly_cache(world)), env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == first.stdout
        assert proc.stderr == ""


def test_sigint_names_nothing_kept_before_the_download(kaggle: FakeKaggle, world: Path) -> None:
    """Ctrl-C while waiting for another pull's lock: exit 130 and one plain line."""
    kaggle.add_dataset("owner/ds", BIG)
    lock_dir = world / "cache/datasets/owner/ds"
    lock_dir.mkdir(parents=True)
    from filelock import FileLock

    with FileLock(str(lock_dir / ".lock")):
        proc = subprocess.Popen(
            [kagman_executable(), "pull", "owner/ds"],
            env=cli_env(world),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not any(r.endpoint == "GetDataset" for r in kaggle.requests) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(0.5)  # now waiting on the lock
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert out == ""
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "Interrupted."


def test_an_index_csv_that_cannot_be_written_is_one_error_line(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from PIL import Image

    from kagman.cli import cli

    folder = tmp_path / "images" / "cat"
    folder.mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(folder / "1.png")
    target = tmp_path / "missing" / "index.csv"
    result = CliRunner().invoke(cli, ["index", str(tmp_path / "images"), "--csv", str(target)])
    assert result.exit_code == 2  # QA2 finding 6: an OutputPathError that names the folder
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    said = (
        f"Error: Cannot write {target}: the folder {target.parent} does not exist. Create it "
        f"(mkdir -p {target.parent}) or choose another path."
    )
    assert errors == [said]
