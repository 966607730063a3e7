"""Shared fixtures: every test runs in its own HOME, config folder and cache.

The autouse ``isolated_env`` fixture means no test can read or write a real
user's ``~/.kaggle`` or cache, and no credential from the developer's shell
leaks into a test.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The fake Kaggle server fixture lives with the server; importing it here
# makes it available to every test module.
from kaggle_server import fake_kaggle, fake_kaggle_localhost  # noqa: F401


def kagman_executable() -> str:
    """The installed ``kagman`` console script, as a user runs it."""
    exe = Path(sys.executable).parent / "kagman"
    found = str(exe) if exe.exists() else shutil.which("kagman")
    assert found, "the kagman console script is not installed"
    return found


_SCRUBBED = (
    "KAGGLE_USERNAME",
    "KAGGLE_KEY",
    "KAGGLE_API_TOKEN",
    "KAGGLE_API_ENVIRONMENT",
    "KAGGLE_CONFIG_DIR",
    "KAGGLE_KERNEL_RUN_TYPE",
    "KAGGLE_DATA_PROXY_URL",
    "KAGGLEHUB_CACHE",
    "KAGMAN_CACHE",
    "KAGMAN_OFFLINE",
    "KAGMAN_RETRIES",
    "KAGMAN_RETRY_BACKOFF",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DOWNLOAD_DIR",
    "VERBOSE",
    "VERBOSE_OUTPUT",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Give the test its own HOME, KAGGLE_CONFIG_DIR and KAGMAN_CACHE under tmp_path."""
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle-config"))
    monkeypatch.setenv("KAGMAN_CACHE", str(tmp_path / "kagman-cache"))
    # Real retry code, short waits: a Retry-After from the server still wins.
    monkeypatch.setenv("KAGMAN_RETRY_BACKOFF", "0.01")
    old_cwd = Path.cwd()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield home
    os.chdir(old_cwd)
