"""A cache root kagman cannot use: a file, under a file, read-only, relative.

Every command says what is wrong and what to do, with exit code 6 (``CacheAccessError``),
and ``kagman doctor`` lists it as a problem: never "0 entries", never "the folder
disappeared during the pull", never exit 1 with "Check it and retry".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import kagman_executable
from kaggle_server import FakeKaggle
from test_reliability_cli import (
    NOBODY,
    Fault,
    assert_one_error,
    cannot,
    cli_env,
    readonly_cache,
    run_kagman,
)

import kagman
from kagman.cli import cli

COMMANDS = [
    ["pull", "owner/ds"],
    ["pull", "owner/ds", "--offline"],
    ["pull", "owner/ds", "--file", "t.csv"],
    ["ls"],
    ["ls", "owner/ds"],
    ["path", "owner/ds"],
    ["rm", "owner/ds", "--yes"],
    ["prune", "--keep-latest", "1"],
    ["verify"],
]


@pytest.fixture
def cache_is_a_file(kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    kaggle.add_dataset("owner/ds", {"t.csv": b"a\n1\n"})
    root = tmp_path / "cache-file"
    root.write_text("not a folder")
    monkeypatch.setenv("KAGMAN_CACHE", str(root))
    return root


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_cache_root_that_is_a_file(cache_is_a_file: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 6, result.output
    assert result.stderr == (
        f"Error: KAGMAN_CACHE ({cache_is_a_file}) is a file, not a folder. Set KAGMAN_CACHE "
        "to a folder (kagman creates it if needed), or move the file away.\n"
    )
    assert cache_is_a_file.read_text() == "not a folder"


def test_a_cache_root_under_a_file(kaggle: FakeKaggle, tmp_path: Path, monkeypatch) -> None:
    kaggle.add_dataset("owner/ds", {"t.csv": b"a\n1\n"})
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("KAGMAN_CACHE", str(tmp_path / "afile" / "cache"))
    for args in (["pull", "owner/ds"], ["ls"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 6
        assert result.stderr.startswith(
            f"Error: KAGMAN_CACHE ({tmp_path / 'afile' / 'cache'}) cannot be created: "
            f"{tmp_path / 'afile'} is a file, not a folder."
        )
    with pytest.raises(kagman.CacheAccessError, match="cannot be created"):
        kagman.pull("owner/ds")


def test_doctor_lists_a_cache_root_that_is_a_file(cache_is_a_file: Path) -> None:
    text = CliRunner().invoke(cli, ["doctor"])
    assert text.exit_code == 0
    assert "No problems found" not in text.stdout
    assert "  NOT USABLE: see the problems below" in text.stdout
    assert f"  - KAGMAN_CACHE ({cache_is_a_file}) is a file, not a folder." in text.stdout
    report = json.loads(CliRunner().invoke(cli, ["doctor", "--json"]).stdout)
    assert report["ok"] is False
    assert report["cache"]["writable"] is False
    assert report["cache"]["problem"].startswith(f"KAGMAN_CACHE ({cache_is_a_file}) is a file")
    assert report["cache"]["problem"] in report["problems"]


def test_doctor_lists_a_cache_you_may_not_create() -> None:
    if why := cannot("nobody"):
        pytest.skip(why)
    base = Path(tempfile.mkdtemp(prefix="kagman-doctor-"))  # every user may enter it
    try:
        base.chmod(0o755)
        locked = base / "root-only"
        locked.mkdir(mode=0o755)  # root's: nobody may look inside, not create anything
        env = {
            **os.environ,
            "KAGMAN_CACHE": str(locked / "cache"),
            "HOME": str(base),
            "XDG_CONFIG_HOME": str(base),
            "XDG_CACHE_HOME": str(base),
            "KAGGLE_CONFIG_DIR": str(base / "config"),
        }
        user, group = NOBODY
        command = ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups"]
        done = subprocess.run(
            [*command, kagman_executable(), "doctor", "--json"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=120,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["cache"]["writable"] is False
    assert (
        f"The cache folder {locked / 'cache'} does not exist yet, and you may not create it"
        in " ".join(report["problems"])
    )


@pytest.mark.parametrize(
    "args", [["rm", "owner/ds", "--yes"], ["prune", "--max-size", "0"]], ids=" ".join
)
def test_rm_and_prune_on_a_read_only_cache(
    kaggle: FakeKaggle, world: Path, args: list[str]
) -> None:
    if why := cannot("mount"):
        pytest.skip(why)
    kaggle.add_dataset("owner/ds", {"t.csv": b"a\n1\n"})
    pulled = run_kagman(Fault(0, ""), cli_env(world))
    assert pulled.returncode == 0, pulled.stderr
    proc = run_kagman(Fault(6, "", args, mount=readonly_cache(world)), cli_env(world))
    assert isinstance(proc, subprocess.CompletedProcess)
    line = assert_one_error(proc, 6, "The cache is on a read-only filesystem: could not write ")
    assert line.endswith(
        "Set KAGMAN_CACHE to a writable folder (or remount it read-write) and run the "
        "command again."
    )
    assert (world / "cache/datasets/owner/ds/versions/1/t.csv").is_file()


@pytest.fixture
def world(tmp_path: Path) -> Path:
    base = tmp_path / "world"
    base.mkdir()
    return base


def test_a_relative_cache_is_made_absolute_once_and_named(
    kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("owner/ds", {"t.csv": b"a\n1\n"})
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    name = f"relcache-{tmp_path.name}"  # a name of its own: the resolution lasts the process
    monkeypatch.setenv("KAGMAN_CACHE", name)
    monkeypatch.chdir(first)
    with pytest.warns(kagman.KagmanWarning, match=f"KAGMAN_CACHE={name} is a relative path"):
        path = kagman.pull("owner/ds")
    assert path == first / name / "datasets/owner/ds/versions/1"
    monkeypatch.chdir(second)  # a notebook that changes folder keeps its cache
    assert kagman.cache_dir() == first / name
    assert kagman.pull("owner/ds") == path
    assert not (second / name).exists()
    report = kagman.doctor()
    assert any(
        p.startswith(f"KAGMAN_CACHE={name} is a relative path: kagman uses {first / name}")
        for p in report.problems
    )


def test_the_command_line_warns_of_a_relative_cache(tmp_path: Path) -> None:
    env = {**os.environ, "KAGMAN_CACHE": "relcache"}
    done = subprocess.run(
        [kagman_executable(), "ls"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0
    assert done.stderr == (
        f"Warning: KAGMAN_CACHE=relcache is a relative path: kagman uses {tmp_path / 'relcache'} "
        "(from the working folder where it was first needed), and each working folder would "
        "get a cache of its own. Set KAGMAN_CACHE to an absolute path.\n"
    )
