"""A cache a team shares, tested with real Unix users running the installed `kagman`.

As root, the test creates a group and three users: alice and bob in the group,
carol outside it (she may read the cache, not write it). Each runs the
installed executable under ``setpriv`` with her or his own uid, groups, HOME
and a strict ``umask 077``. Root ignores permission bits, so this is the only
way to see them work. Skipped, saying why, where users cannot be created.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import kagman_executable
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle

TOOLS = ("useradd", "userdel", "groupadd", "groupdel", "setpriv")
STRICT_UMASK = 0o077  # what kagman creates must not depend on a friendly umask


@dataclass(frozen=True)
class Team:
    group: str
    users: dict[str, str]  # role -> user name
    root: Path  # the shared cache
    base: Path  # homes and the cache live here

    def env(self, role: str) -> dict[str, str]:
        home = self.base / role
        env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "LANG", "KAGGLE_API_"))}
        return {
            **env,
            "HOME": str(home),
            "TMPDIR": str(home),
            "KAGMAN_CACHE": str(self.root),
            "KAGGLE_USERNAME": TEST_USERNAME,
            "KAGGLE_KEY": TEST_KEY,
            "KAGGLE_CONFIG_DIR": str(home / ".kaggle"),
        }

    def command(self, role: str, *args: str) -> list[str]:
        user = self.users[role]
        return [
            "setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups",
            kagman_executable(), *args,
        ]  # fmt: skip

    def run(self, role: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(role, *args),
            env=self.env(role),
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self, role: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(role, *args),
            env=self.env(role),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            umask=STRICT_UMASK,
        )


def _why_not() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "creating Unix users needs root (this run is not root)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} to create users and run as them"
    return None


@pytest.fixture
def team() -> Iterator[Team]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    tag = f"kgm{os.getpid() % 100000}"
    group = f"{tag}team"
    users = {role: f"{tag}{role}" for role in ("alice", "bob", "carol")}
    base = Path(tempfile.mkdtemp(prefix="kagman-team-", dir=tempfile.gettempdir()))
    created: list[str] = []
    try:
        base.chmod(0o755)
        subprocess.run(["groupadd", group], check=True, capture_output=True)
        for role, name in users.items():
            extra = ["--groups", group] if role != "carol" else []
            subprocess.run(
                ["useradd", "--no-create-home", "--user-group", *extra, name],
                check=True,
                capture_output=True,
            )
            created.append(name)
            home = base / role
            home.mkdir(mode=0o700)
            os.chown(home, pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid)
        root = base / "cache"
        root.mkdir()
        os.chown(root, 0, grp.getgrnam(group).gr_gid)
        root.chmod(0o2775)  # the recipe in the README
        found = Team(group, users, root, base)
        probe = found.run("carol", "--version")
        if probe.returncode != 0:
            pytest.skip(f"the installed kagman does not run as another user: {probe.stderr}")
        yield found
    finally:
        for name in created:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        subprocess.run(["groupdel", group], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under root with its (mode, gid, mtime_ns)."""
    return {
        str(p.relative_to(root)): (p.lstat().st_mode, p.lstat().st_gid, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
    }


@pytest.mark.slow
def test_a_team_shares_one_cache(team: Team, kaggle: FakeKaggle) -> None:
    files = {f"part-{i}.bin": os.urandom(60_000) for i in range(10)}
    kaggle.add_dataset("team/data", files)
    gid = grp.getgrnam(team.group).gr_gid

    # alice pulls: everything she creates follows the root (group, 2775 / 0664), despite umask 077
    pulled = team.run("alice", "pull", "team/data", "--no-progress")
    assert pulled.returncode == 0, pulled.stderr
    entry = Path(pulled.stdout.strip())
    # ...and so does what a competition pull (its `latest`) and a pull of part of one make
    kaggle.add_competition("titanic", {"train.csv": b"a\n1\n", "big.csv": b"x" * 5000},
                           zipped_files=["big.csv"])  # fmt: skip
    for args in (("-c", "titanic"), ("-c", "titanic", "--file", "big.csv")):
        made = team.run("alice", "pull", *args, "--no-progress")
        assert made.returncode == 0, made.stderr
    kaggle.update_competition_data("titanic", {"train.csv": b"a\n2\n", "big.csv": b"y" * 5000})
    made = team.run("alice", "pull", "-c", "titanic", "--file", "big.csv", "--no-progress")
    assert made.returncode == 0, made.stderr
    assert (team.root / "competitions/titanic/latest").is_file()
    for path in [team.root, *team.root.rglob("*")]:
        st = path.lstat()
        assert st.st_gid == gid, path
        want = 0o2775 if stat.S_ISDIR(st.st_mode) else 0o664
        assert stat.S_IMODE(st.st_mode) == want, (path, oct(st.st_mode))
    assert kaggle.count("DownloadDataset") == 1

    # bob, in the group: a cache hit, and he may record "last used" on alice's manifest
    manifest = entry.with_name(entry.name + ".manifest.json")
    os.utime(manifest, (1_000_000_000, 1_000_000_000))
    hit = team.run("bob", "pull", "team/data/versions/1")
    assert (hit.returncode, hit.stdout.strip()) == (0, str(entry)), hit.stderr
    assert manifest.stat().st_mtime > 1_000_000_000
    assert kaggle.count("DownloadDataset") == 1

    # carol may only read: hits and offline pulls work and write nothing at all
    os.utime(manifest, (1_000_000_000, 1_000_000_000))
    before = snapshot(team.root)
    for args in (("pull", "team/data/versions/1"), ("pull", "team/data", "--offline")):
        result = team.run("carol", *args)
        assert (result.returncode, result.stdout.strip()) == (0, str(entry)), result.stderr
    assert team.run("carol", "ls").returncode == 0
    assert team.run("carol", "verify").returncode == 0
    assert snapshot(team.root) == before  # not even "last used"
    # ...and anything that needs a write fails with a clear message, not a traceback
    kaggle.add_dataset("team/data", {**files, "new.bin": b"2"})
    denied = team.run("carol", "pull", "team/data")
    assert denied.returncode == 6
    assert denied.stderr.startswith("Error: kagman cannot write to the cache")
    assert team.run("carol", "rm", "team/data/versions/1", "--yes").returncode == 6
    assert entry.is_dir()

    # alice's download of version 2 is killed; bob resumes it: the lock file and the partial
    # download are group-writable, so the team's lock works across users
    kaggle.throttle_bytes_per_sec = 400_000
    killed = team.start("alice", "pull", "team/data", "--no-progress")
    part = team.root / "datasets/team/data/.incomplete/v2.zip"
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 150_000):
        assert killed.poll() is None, killed.communicate()
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.01)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate()
    have = part.stat().st_size
    kaggle.throttle_bytes_per_sec = None
    assert stat.S_IMODE(part.stat().st_mode) == 0o664  # alice's umask is 077
    part.chmod(0o640)  # as an older kagman left it: bob may read it, not append to it
    resumed = team.run("bob", "pull", "team/data")
    assert resumed.returncode == 0, resumed.stderr
    last_blob = [r for r in kaggle.requests if r.endpoint == "blob"][-1]
    assert (last_blob.range, last_blob.status) == (f"bytes={have}-", 206)
    assert Path(resumed.stdout.strip()).name == "2"

    # bob may remove what alice pulled (the folders are group-writable)
    removed = team.run("bob", "rm", "team/data/versions/1", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert not entry.exists()
    doctor = team.run("bob", "doctor")
    assert f"shared with group {team.group}; you can write it" in doctor.stdout
    assert "you can NOT write it" in team.run("carol", "doctor").stdout
