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
from fake_notebook_services import colab_runtime, colab_userdata, kaggle_notebook  # noqa: F401

# The fake Kaggle server fixture lives with the server; importing it here
# makes it available to every test module.
from kaggle_server import (  # noqa: F401
    TEST_KEY,
    TEST_TOKEN,
    TEST_USERNAME,
    FakeKaggle,
    fake_kaggle,
    fake_kaggle_localhost,
)

# Every key or token any test uses; test modules add theirs with register_secrets().
SECRETS: set[str] = {TEST_KEY, TEST_TOKEN}


def register_secrets(*secrets: str) -> tuple[str, ...]:
    """Add test secrets that must never appear in any output of the suite."""
    SECRETS.update(secrets)
    return secrets


def assert_secretless(text: str) -> None:
    """Fail if any test secret, or its hidden middle, appears in ``text``.

    The failure message never repeats the secret (pytest would print it).
    """
    for secret in SECRETS:
        if secret in text or secret[4:-4] in text:
            pytest.fail(f"a test secret ({secret[:4]}…) leaked into the output", pytrace=False)


@pytest.fixture(autouse=True)
def no_secret_leaks(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Whatever a test prints (this process and its children's inherited fds), no secret."""
    yield
    out, err = capfd.readouterr()
    assert_secretless(out + err)


@pytest.fixture
def kaggle(fake_kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch) -> FakeKaggle:  # noqa: F811
    """The fake Kaggle server plus valid credentials in the environment."""
    monkeypatch.setenv("KAGGLE_USERNAME", TEST_USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", TEST_KEY)
    return fake_kaggle


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
    "KAGGLE_USER_SECRETS_TOKEN",
    "KAGGLE_DATA_PROXY_TOKEN",
    "KAGGLE_CACHE_MOUNT_FOLDER",
    "KAGGLE_API_V1_TOKEN",
    "DISABLE_KAGGLE_CACHE",
    "TBE_RUNTIME_ADDR",
    "COLAB_CACHE_MOUNT_FOLDER",
    "COLAB_RELEASE_TAG",
    "COLAB_BACKEND_VERSION",
    "DISABLE_COLAB_CACHE",
    "KAGMAN_MOUNT_TIMEOUT",
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
