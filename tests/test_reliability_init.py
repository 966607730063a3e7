"""``kagman init`` never locks others out of a shared folder: it tightens only a folder it
created or one holding nothing but Kaggle's credentials, and refuses shared ones untouched."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import register_secrets

import kagman
from kagman import UnsafeDestinationError
from kagman.cli import cli

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
register_secrets(KEY)
GOOD = {"username": "ada", "key": KEY}
NOBODY = 65534


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "downloads" / "kaggle.json"
    path.parent.mkdir()
    path.write_text(json.dumps(GOOD))
    return path


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(folder))
    return folder


@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o1770 | 0o007, 0o703])
def test_a_shared_folder_is_refused_and_never_chmodded(
    folder: Path, source: Path, mode: int
) -> None:
    folder.chmod(mode)
    (folder / "notes.txt").write_text("someone's notes")
    result = CliRunner().invoke(cli, ["init", str(source)])
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: {folder} is shared (mode {mode:04o}")
    assert "Choose a private folder" in lines[0]
    assert mode_of(folder) == mode
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_a_folder_holding_other_users_files_is_refused(folder: Path, source: Path) -> None:
    folder.chmod(0o755)
    theirs = folder / "their.cfg"
    theirs.write_text("x")
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(UnsafeDestinationError, match=r"holds files of other users \('their\.cfg'"):
        kagman.init(source)
    assert mode_of(folder) == 0o755
    assert not (folder / "kaggle.json").exists()


def test_a_private_folder_with_other_files_of_yours_keeps_its_mode(
    folder: Path, source: Path
) -> None:
    folder.chmod(0o755)
    (folder / "settings.toml").write_text("mine")
    result = CliRunner().invoke(cli, ["init", str(source)])
    assert result.exit_code == 0, result.output
    assert mode_of(folder) == 0o755
    assert mode_of(folder / "kaggle.json") == 0o600
    assert "left its permissions alone" in result.stderr
    assert "Fixed permissions" not in result.stdout


@pytest.mark.parametrize(
    "names", [[], ["kaggle.json"], ["kaggle.json", "kaggle.json.bak", "access_token"]]
)
def test_a_folder_holding_only_credentials_is_tightened(
    folder: Path, source: Path, names: list[str]
) -> None:
    folder.chmod(0o775)
    for name in names:
        (folder / name).write_text(json.dumps(GOOD))
        (folder / name).chmod(0o600)
    result = CliRunner().invoke(cli, ["init", str(source), "--force"])
    assert result.exit_code == 0, result.output
    assert f"Fixed permissions: {folder} was 0775, now 0700." in result.stdout
    assert mode_of(folder) == 0o700


def test_a_folder_kagman_creates_is_private(tmp_path: Path, source: Path) -> None:
    folder = tmp_path / "new" / "kaggle"
    os.environ["KAGGLE_CONFIG_DIR"] = str(folder)
    try:
        with pytest.warns(kagman.KeyCopyWarning, match="still holds a copy of your key"):
            kagman.init(source)
    finally:
        del os.environ["KAGGLE_CONFIG_DIR"]
    assert mode_of(folder) == 0o700


def test_a_config_folder_that_cannot_be_made_is_one_error_line(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(blocker / "kaggle"))
    result = CliRunner().invoke(cli, ["init", str(source)])
    assert result.exit_code == 3
    expected = (
        f"Error: Could not write {blocker / 'kaggle'}: Not a directory. Set KAGGLE_CONFIG_DIR "
        "to a folder you can write (or fix this one's permissions) and run `kagman init` again."
    )
    assert result.stderr.splitlines() == [expected]
