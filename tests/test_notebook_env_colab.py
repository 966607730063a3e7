"""Colab: the runtime service's dataset cache, and Kaggle credentials from Colab's secrets.

The fakes (tests/fake_notebook_services.py): ``colab_runtime`` answers is_supported/mount
and "mounts" under ``$COLAB_CACHE_MOUNT_FOLDER``; ``colab_userdata`` puts a stand-in
``google.colab.userdata`` on sys.path (and PYTHONPATH, for the installed executable)
that raises ``SecretNotFoundError`` / ``NotebookAccessError`` as Colab's does.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import assert_secretless, kagman_executable, register_secrets
from fake_notebook_services import ColabSecrets, FakeColabRuntime
from kaggle_server import TEST_KEY, TEST_TOKEN, TEST_USERNAME, FakeKaggle

import kagman
from kagman import CredentialsNotFoundError, InvalidCredentialsFileError
from kagman.credentials import resolve_credentials

FILES = {"train.csv": b"a,b\n1,2\n"}
OTHER_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
register_secrets(OTHER_KEY)
IS_SUPPORTED, MOUNT = "/kagglehub/datasets/is_supported", "/kagglehub/datasets/mount"


def cache_root() -> Path:
    return Path(os.environ["KAGMAN_CACHE"])


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    logger = logging.getLogger("kagman")
    old_level = logger.level
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.DEBUG)
    yield
    logger.removeHandler(caplog.handler)
    logger.setLevel(old_level)
    assert_secretless(caplog.text)


@pytest.fixture
def colab(colab_userdata: ColabSecrets, monkeypatch: pytest.MonkeyPatch) -> ColabSecrets:
    """A Colab runtime's variables and its secrets (empty), without the runtime service."""
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-fake")
    return colab_userdata


def no_kaggle_json_anywhere(tmp_path: Path) -> None:
    assert list(tmp_path.rglob("kaggle*.json")) == []


# --- the runtime service's cache -------------------------------------------------------


def test_mounts_from_colabs_cache_with_no_kaggle_request(
    colab_runtime: FakeColabRuntime, kaggle: FakeKaggle
) -> None:
    colab_runtime.require_auth = True
    colab_runtime.add_dataset("alice/cats", FILES, slug="cats-colab")
    path = kagman.pull("alice/cats", progress=False)
    assert path == colab_runtime.mount_root / "cats-colab"
    assert (path / "train.csv").read_bytes() == FILES["train.csv"]
    assert [(r.path, r.body) for r in colab_runtime.requests] == [
        (IS_SUPPORTED, {"owner": "alice", "dataset": "cats"}),
        (MOUNT, {"owner": "alice", "dataset": "cats"}),
    ]
    basic = base64.b64encode(f"{TEST_USERNAME}:{TEST_KEY}".encode()).decode()
    assert {r.headers["Authorization"] for r in colab_runtime.requests} == {f"Basic {basic}"}
    assert kagman.pull("alice/cats", file="train.csv") == path / "train.csv"
    assert kaggle.count() == 0


def test_a_pinned_version_goes_as_an_int_and_a_token_as_bearer(
    colab_runtime: FakeColabRuntime, fake_kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", TEST_TOKEN)
    colab_runtime.add_dataset("alice/cats", FILES, version=3)
    assert kagman.pull("alice/cats/versions/3") == colab_runtime.mount_root / "cats"
    assert colab_runtime.requests[-1].body == {"owner": "alice", "dataset": "cats", "version": 3}
    assert colab_runtime.requests[-1].headers["Authorization"] == f"Bearer {TEST_TOKEN}"
    assert fake_kaggle.count() == 0


def test_not_in_colabs_cache_downloads_quietly(
    colab_runtime: FakeColabRuntime, kaggle: FakeKaggle
) -> None:
    kaggle.add_dataset("alice/cats", FILES)
    path = kagman.pull("alice/cats", progress=False)  # filterwarnings=error: no warning
    assert path == cache_root() / "datasets/alice/cats/versions/1"
    assert [(r.path, r.status) for r in colab_runtime.requests] == [(IS_SUPPORTED, 404)]
    assert kaggle.count("DownloadDataset") == 1


def test_a_refusal_without_credentials_says_to_add_secrets(
    colab_runtime: FakeColabRuntime, fake_kaggle: FakeKaggle
) -> None:
    colab_runtime.require_auth = True
    colab_runtime.add_dataset("alice/cats", FILES)
    with (
        pytest.warns(kagman.MountFallbackWarning, match="Colab's cache did not mount") as record,
        pytest.raises(CredentialsNotFoundError, match="Run `kagman init`"),
    ):
        kagman.pull("alice/cats")
    assert str(record.list[0].message) == (
        "Colab's cache did not mount dataset alice/cats: Colab's runtime service answered "
        "HTTP 401: missing Kaggle credentials. kagman found no Kaggle credentials to send: add "
        "KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN) as Colab secrets. Falling back to "
        "kagman's cache and a normal download; mount=False skips the mount."
    )
    assert "authorization" not in {k.lower() for k in colab_runtime.requests[0].headers}


def test_a_mount_that_never_appears_falls_back(
    colab_runtime: FakeColabRuntime, kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("alice/cats", FILES)
    colab_runtime.add_dataset("alice/cats", FILES)
    colab_runtime.never_mount = True
    monkeypatch.setenv("KAGMAN_MOUNT_TIMEOUT", "0.2")
    with pytest.warns(UserWarning, match=r"did not appear within 0\.2 s \(KAGMAN_MOUNT_TIMEOUT\)"):
        path = kagman.pull("alice/cats", progress=False)
    assert path == cache_root() / "datasets/alice/cats/versions/1"


@pytest.mark.parametrize("how", ["DISABLE_COLAB_CACHE", "mount=False", "force"])
def test_ways_to_skip_colabs_cache(
    colab_runtime: FakeColabRuntime, kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    kaggle.add_dataset("alice/cats", FILES)
    colab_runtime.add_dataset("alice/cats", FILES)
    if how == "DISABLE_COLAB_CACHE":
        monkeypatch.setenv("DISABLE_COLAB_CACHE", "true")
    path = kagman.pull("alice/cats", mount=how != "mount=False", force=how == "force")
    assert path == cache_root() / "datasets/alice/cats/versions/1"
    assert colab_runtime.requests == []


# --- Colab's secrets --------------------------------------------------------------------


def test_username_and_key_secrets_are_found_without_a_token_secret(
    colab: ColabSecrets, fake_kaggle: FakeKaggle, tmp_path: Path
) -> None:
    from kagglehub.config import get_colab_credentials  # type: ignore[import-untyped]

    colab.set("KAGGLE_USERNAME", TEST_USERNAME)
    colab.set("KAGGLE_KEY", TEST_KEY + "\n")  # pasted with a line break: normalised
    creds = resolve_credentials()
    assert (creds.username, creds.key, creds.source) == (
        TEST_USERNAME,
        TEST_KEY,
        "the Colab secrets KAGGLE_USERNAME/KAGGLE_KEY",
    )
    assert kagman.whoami() == TEST_USERNAME  # the fake Kaggle accepts them
    assert get_colab_credentials() is None  # kagglehub stops at the missing token secret
    no_kaggle_json_anywhere(tmp_path)


def test_the_token_secret_comes_first(colab: ColabSecrets, fake_kaggle: FakeKaggle) -> None:
    colab.set("KAGGLE_API_TOKEN", TEST_TOKEN)
    colab.set("KAGGLE_USERNAME", "someone-else")
    colab.set("KAGGLE_KEY", OTHER_KEY)
    creds = resolve_credentials()
    assert (creds.token, creds.source) == (TEST_TOKEN, "the Colab secret KAGGLE_API_TOKEN")
    assert kagman.whoami() == TEST_USERNAME
    assert TEST_TOKEN not in repr(creds)


def test_secrets_come_after_the_variables_and_the_file(
    colab: ColabSecrets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    colab.set("KAGGLE_API_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("KAGGLE_USERNAME", "from-env")
    monkeypatch.setenv("KAGGLE_KEY", OTHER_KEY)
    assert resolve_credentials().source == "KAGGLE_USERNAME/KAGGLE_KEY"
    monkeypatch.delenv("KAGGLE_KEY")
    kagman.init({"username": "from-file", "key": OTHER_KEY})
    assert resolve_credentials().username == "from-file"


def test_a_secret_without_notebook_access_says_how_to_grant_it(
    colab: ColabSecrets, fake_kaggle: FakeKaggle
) -> None:
    colab.set("KAGGLE_USERNAME", TEST_USERNAME)
    colab.set("KAGGLE_KEY", TEST_KEY, granted=False)
    with pytest.raises(CredentialsNotFoundError) as info:
        kagman.whoami()
    text = str(info.value)
    assert_secretless(text)
    assert "looked at KAGGLE_API_TOKEN" in text
    assert "and Colab's secrets)" in text
    assert (
        "Colab has the secret KAGGLE_KEY, but this notebook may not read it: open the key icon "
        "(Secrets) in Colab's left sidebar, switch on 'Notebook access' for KAGGLE_KEY, then "
        "run this again"
    ) in text
    with pytest.raises(CredentialsNotFoundError, match="'Notebook access' for KAGGLE_KEY"):
        kagman.init()
    colab.set("KAGGLE_KEY", TEST_KEY, granted=True)
    assert kagman.whoami() == TEST_USERNAME


def test_credentials_status_says_who_reads_the_secrets(colab: ColabSecrets) -> None:
    colab.set("KAGGLE_USERNAME", TEST_USERNAME)
    colab.set("KAGGLE_KEY", TEST_KEY, granted=False)
    status = kagman.credentials_status()
    assert status.clients["kagman"] == "nothing"
    assert any("'Notebook access' for KAGGLE_KEY" in p for p in status.problems)
    colab.set("KAGGLE_KEY", TEST_KEY)
    status = kagman.credentials_status()
    assert status.clients["kagman"] == "the Colab secrets KAGGLE_USERNAME/KAGGLE_KEY"
    assert status.clients["kagglehub"] == "nothing"  # kagglehub stops at the token secret
    (problem,) = status.problems
    assert problem == (
        "Only kagman read the Colab secrets KAGGLE_USERNAME/KAGGLE_KEY: run `kagman.init()` in "
        "a cell to install them where every client (and `!kagman` shell commands) find them."
    )
    colab.set("KAGGLE_API_TOKEN", TEST_TOKEN)
    status = kagman.credentials_status()
    assert (
        status.clients["kagman"]
        == status.clients["kagglehub"]
        == ("the Colab secret KAGGLE_API_TOKEN")
    )
    assert status.problems[0].startswith("Only kagman and kagglehub read the Colab secret")
    assert_secretless(str(status))


def test_half_a_pair_and_a_bad_secret(colab: ColabSecrets) -> None:
    colab.set("KAGGLE_USERNAME", TEST_USERNAME)
    with pytest.raises(CredentialsNotFoundError, match="has the secret KAGGLE_USERNAME but no"):
        resolve_credentials()
    colab.set("KAGGLE_API_TOKEN", "two words")
    with pytest.raises(InvalidCredentialsFileError, match="The Colab secret KAGGLE_API_TOKEN"):
        resolve_credentials()


def test_secrets_that_cannot_be_asked_for_say_why(
    colab: ColabSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.colab import userdata  # type: ignore[import-not-found]

    def no_frontend(name: str) -> str:
        raise AttributeError(name)  # Colab's _message with no kernel to talk to

    monkeypatch.setattr(userdata, "get", no_frontend)
    with pytest.raises(CredentialsNotFoundError, match="asking for KAGGLE_API_TOKEN failed"):
        resolve_credentials()


def test_secrets_are_not_read_outside_colab(colab_userdata: ColabSecrets) -> None:
    colab_userdata.set("KAGGLE_API_TOKEN", TEST_TOKEN)  # the stand-in exists, but no Colab
    with pytest.raises(CredentialsNotFoundError) as info:
        resolve_credentials()
    assert "Colab" not in str(info.value)
    assert "google.colab.userdata" not in sys.modules


def test_init_installs_the_secrets_before_any_file(
    colab: ColabSecrets, tmp_path: Path, isolated_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (Path.cwd() / "kaggle (1).json").write_text(json.dumps({"username": "up", "key": OTHER_KEY}))
    (isolated_env / "Downloads").mkdir()
    (isolated_env / "Downloads" / "kaggle.json").write_text(
        json.dumps({"username": "download", "key": OTHER_KEY})
    )
    colab.set("KAGGLE_USERNAME", TEST_USERNAME)
    colab.set("KAGGLE_KEY", TEST_KEY)
    with caplog.at_level(logging.INFO, logger="kagman"):
        path = kagman.init()
    assert path == tmp_path / "kaggle-config" / "kaggle.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == f'{{"username": "{TEST_USERNAME}", "key": "{TEST_KEY}"}}\n'
    assert "Using the Colab secrets KAGGLE_USERNAME/KAGGLE_KEY (the notebook's secrets)." in (
        caplog.text
    )
    assert f"Installed the credentials for {TEST_USERNAME} (key {TEST_KEY[:4]}…" in caplog.text


def test_init_installs_a_token_secret_as_access_token(
    colab: ColabSecrets, tmp_path: Path, fake_kaggle: FakeKaggle
) -> None:
    colab.set("KAGGLE_API_TOKEN", TEST_TOKEN)
    with pytest.warns(kagman.CredentialsWarning, match="read tokens only from"):  # not ~/.kaggle
        path = kagman.init()
    assert path == tmp_path / "kaggle-config" / "access_token"
    assert path.read_text() == TEST_TOKEN + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    report = kagman.credentials.install()  # again: the same token, nothing to do
    assert report.action == "unchanged"
    no_kaggle_json_anywhere(tmp_path)


def test_installed_executable_reads_the_secrets(
    colab: ColabSecrets, fake_kaggle: FakeKaggle, tmp_path: Path
) -> None:
    colab.set("KAGGLE_USERNAME", TEST_USERNAME)
    colab.set("KAGGLE_KEY", TEST_KEY)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kagman_executable(), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )

    whoami = run("whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout == f"{TEST_USERNAME}\n"
    assert "Using the credentials from the Colab secrets KAGGLE_USERNAME/KAGGLE_KEY." in (
        whoami.stderr
    )
    no_kaggle_json_anywhere(tmp_path)
    init = run("init")
    assert init.returncode == 0, init.stderr
    assert f"(key {TEST_KEY[:4]}…{TEST_KEY[-4:]}) from the Colab secrets" in init.stdout
    assert_secretless(whoami.stdout + whoami.stderr + init.stdout + init.stderr)
    installed = tmp_path / "kaggle-config" / "kaggle.json"
    assert stat.S_IMODE(installed.stat().st_mode) == 0o600


def test_the_colab_cache_authenticates_with_the_secrets(
    colab: ColabSecrets, colab_runtime: FakeColabRuntime, fake_kaggle: FakeKaggle, tmp_path: Path
) -> None:
    colab.set("KAGGLE_USERNAME", TEST_USERNAME)
    colab.set("KAGGLE_KEY", TEST_KEY)
    colab_runtime.require_auth = True
    colab_runtime.add_dataset("alice/cats", FILES)
    assert kagman.pull("alice/cats") == colab_runtime.mount_root / "cats"
    basic = base64.b64encode(f"{TEST_USERNAME}:{TEST_KEY}".encode()).decode()
    assert colab_runtime.requests[-1].headers["Authorization"] == f"Basic {basic}"
    assert fake_kaggle.count() == 0
    no_kaggle_json_anywhere(tmp_path)
