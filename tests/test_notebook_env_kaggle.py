"""`kagman.pull` in a Kaggle notebook: the data proxy attaches, the mount answers.

The fake data proxy (tests/fake_notebook_services.py) speaks kagglehub's protocol and
"mounts" by creating ``$KAGGLE_CACHE_MOUNT_FOLDER/<mountSlug>``; the fake Kaggle API
server counts requests, so a mounted pull is shown to cost none.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import assert_secretless, kagman_executable, register_secrets
from fake_notebook_services import (
    ATTACH_PATH,
    KAGGLE_JWT_TOKEN,
    KAGGLE_PROXY_TOKEN,
    FakeKaggleDataProxy,
)
from kaggle_server import FakeKaggle
from PIL import Image

import kagman
from kagman import (
    CompetitionNotFoundError,
    CredentialsNotFoundError,
    DatasetNotFoundError,
    EmptySelectionError,
    NotCachedError,
)
from kagman.cli import cli

FILES = {"train.csv": b"a,b\n1,2\n", "images/readme.txt": b"hello"}
V1_TOKEN = "KGAT_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
register_secrets(V1_TOKEN)


def cache_root() -> Path:
    return Path(os.environ["KAGMAN_CACHE"])


def png(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (shade, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def notebook(kaggle_notebook: FakeKaggleDataProxy, fake_kaggle: FakeKaggle) -> FakeKaggleDataProxy:
    """A Kaggle notebook with ``alice/cats`` attachable (v1 as ``cats``, v2 as ``cats-v2``),
    the fake Kaggle API up (to count requests) and no Kaggle credentials at all."""
    kaggle_notebook.add_dataset("alice/cats", {"old.csv": b"1"}, version=1)
    kaggle_notebook.add_dataset("alice/cats", FILES, version=2, mount_slug="cats-v2")
    return kaggle_notebook


def test_pull_returns_the_mount_with_no_kaggle_request(
    notebook: FakeKaggleDataProxy, fake_kaggle: FakeKaggle
) -> None:
    path = kagman.pull("alice/cats", progress=False)
    assert path == notebook.mount_root / "cats-v2"
    assert (path / "train.csv").read_bytes() == FILES["train.csv"]
    (request,) = notebook.requests
    assert (request.method, request.path) == ("POST", ATTACH_PATH)
    assert request.headers["X-Kaggle-Authorization"] == f"Bearer {KAGGLE_JWT_TOKEN}"
    assert request.headers["X-KAGGLE-PROXY-DATA"] == KAGGLE_PROXY_TOKEN
    assert request.headers["Content-type"] == "application/json"
    assert request.body == {"datasetRef": {"OwnerSlug": "alice", "DatasetSlug": "cats"}}
    # A pinned version goes as a string, and names that version's mount.
    assert kagman.pull("alice/cats", version=1) == notebook.mount_root / "cats"
    assert notebook.attaches[-1] == {
        "datasetRef": {"OwnerSlug": "alice", "DatasetSlug": "cats", "VersionNumber": "1"}
    }
    assert fake_kaggle.count() == 0
    assert not cache_root().exists()  # nothing was downloaded or cached


def test_the_mount_comes_before_kagmans_cache(
    notebook: FakeKaggleDataProxy, kaggle: FakeKaggle
) -> None:
    kaggle.add_dataset("alice/cats", FILES)
    cached = kagman.pull("alice/cats/versions/1", mount=False, progress=False)
    assert cached == cache_root() / "datasets/alice/cats/versions/1"
    before = kaggle.count()
    assert kagman.pull("alice/cats/versions/1") == notebook.mount_root / "cats"
    assert kaggle.count() == before


def test_file_inside_the_mount(notebook: FakeKaggleDataProxy, fake_kaggle: FakeKaggle) -> None:
    mount = notebook.mount_root / "cats-v2"
    assert kagman.pull("alice/cats", file="images/readme.txt") == mount / "images/readme.txt"
    with pytest.raises(DatasetNotFoundError) as missing:
        kagman.pull("alice/cats", file="test.csv")
    assert str(missing.value) == (
        f"'test.csv' is not in the dataset mounted at {mount} (it holds: images/, train.csv). "
        "Check the name; paths are relative to the dataset's root."
    )
    assert missing.value.exit_code == 4
    assert fake_kaggle.count() == 0
    result = CliRunner().invoke(cli, ["pull", "alice/cats", "--file", "nope.csv"])
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: 'nope.csv' is not in the dataset mounted at")


def test_folders_and_patterns_are_answered_by_the_mount(
    notebook: FakeKaggleDataProxy, fake_kaggle: FakeKaggle, caplog: pytest.LogCaptureFixture
) -> None:
    """The mount holds the whole version: a folder is the folder in it, patterns the mount."""
    mount = notebook.mount_root / "cats-v2"
    assert kagman.pull("alice/cats", file="images") == mount / "images"
    assert kagman.pull("alice/cats", file="images/") == mount / "images"
    assert kagman.pull("alice/cats", include=["*.csv"], exclude=["images/"]) == mount
    assert "holds every file" in caplog.text
    assert kagman.pull("alice/cats", file="images/", include=["*.txt"]) == mount / "images"
    with pytest.raises(
        EmptySelectionError,
        match=r"^Nothing in the dataset mounted at .* matches include=\['\*\.png'\]",
    ):
        kagman.pull("alice/cats", include=["*.png"])  # QA2 finding 2: as a cache entry does
    with pytest.raises(EmptySelectionError):
        kagman.pull("alice/cats", file="images/", include=["*.csv"])
    with pytest.raises(DatasetNotFoundError) as as_folder:
        kagman.pull("alice/cats", file="train.csv/")
    assert str(as_folder.value) == (
        f"'train.csv/' names a folder, but it is a file of the dataset mounted at {mount}. "
        f"Drop the trailing '/' to get the file: {mount / 'train.csv'}"
    )
    with pytest.raises(DatasetNotFoundError, match=r"'images/nope/' is not in the dataset"):
        kagman.pull("alice/cats", file="images/nope/")
    result = CliRunner().invoke(cli, ["pull", "alice/cats", "--file", "images/"])
    assert (result.exit_code, result.stdout) == (0, f"{mount / 'images'}\n")
    assert fake_kaggle.count() == 0
    assert not cache_root().exists()  # nothing was downloaded or cached


def test_a_competition_is_mounted_like_a_dataset(
    kaggle_notebook: FakeKaggleDataProxy, kaggle: FakeKaggle
) -> None:
    """kagglehub's CompetitionKaggleCacheResolver: the data proxy attaches competitions too."""
    data = {"train.csv": b"a\n1\n", "extra/notes.txt": b"x"}
    kaggle_notebook.add_competition("titanic", data, mount_slug="titanic-data")
    kaggle.add_competition("titanic", data)
    mount = kaggle_notebook.mount_root / "titanic-data"
    assert kagman.pull_competition("titanic", progress=False) == mount
    assert kaggle_notebook.attaches == [{"competitionRef": {"CompetitionSlug": "titanic"}}]
    url = "https://www.kaggle.com/competitions/titanic/data?select=train.csv"
    assert kagman.pull(url) == mount / "train.csv"
    assert kagman.pull_competition("titanic", file="extra") == mount / "extra"
    assert kagman.pull_competition("titanic", include=["*.csv"], offline=True) == mount
    with pytest.raises(CompetitionNotFoundError) as missing:
        kagman.pull_competition("titanic", file="nope.csv")
    assert str(missing.value) == (
        f"'nope.csv' is not in the competition mounted at {mount} (it holds: extra/, "
        "train.csv). Check the name; paths are relative to the competition's root."
    )
    result = CliRunner().invoke(cli, ["pull", "-c", "titanic"])
    assert (result.exit_code, result.stdout) == (0, f"{mount}\n")
    assert kaggle.count() == 0
    assert not cache_root().exists()
    # --no-mount (mount=False), and a refused attach, download as everywhere else
    downloaded = CliRunner().invoke(cli, ["pull", "-c", "titanic", "--no-mount"])
    assert downloaded.exit_code == 0, downloaded.output
    assert Path(downloaded.stdout.strip()).parent == cache_root() / "competitions/titanic/data"
    by_url = kagman.pull("https://www.kaggle.com/c/titanic", mount=False, progress=False)
    assert str(by_url) == downloaded.stdout.strip()
    kaggle_notebook.refuse_next(message="quota exceeded")
    with pytest.warns(UserWarning, match="did not attach competition titanic"):
        again = kagman.pull_competition("titanic", progress=False)
    assert again == Path(downloaded.stdout.strip())
    assert len(kaggle_notebook.attaches) == 7


def test_waits_for_a_slow_mount_with_a_short_poll_and_a_progress_message(
    notebook: FakeKaggleDataProxy, capfd: pytest.CaptureFixture[str]
) -> None:
    notebook.mount_delay = 0.4
    started = time.monotonic()
    path = kagman.pull("alice/cats", progress=True)
    waited = time.monotonic() - started
    assert path == notebook.mount_root / "cats-v2"
    assert (path / "train.csv").is_file()
    assert 0.4 <= waited < 4.5  # kagglehub sleeps 5 s between looks
    assert "Waiting for Kaggle to mount dataset alice/cats" in capfd.readouterr().err


def _warning_text(record: pytest.WarningsRecorder) -> str:
    (warning,) = record.list
    text = str(warning.message)
    assert_secretless(text)
    assert warning.filename == __file__  # points at the user's line, not at kagman
    return text


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        ({"message": "quota exceeded"}, "the data proxy refused the attach (quota exceeded)"),
        ({"status": 503}, "the data proxy answered HTTP 503: refused"),
    ],
)
def test_a_refused_attach_falls_back_to_a_download_with_a_warning(
    notebook: FakeKaggleDataProxy,
    kaggle: FakeKaggle,
    refusal: dict[str, object],
    reason: str,
) -> None:
    kaggle.add_dataset("alice/cats", FILES)
    notebook.refuse_next(**refusal)  # type: ignore[arg-type]
    with pytest.warns(kagman.MountFallbackWarning, match="did not attach") as record:
        path = kagman.pull("alice/cats", progress=False)
    assert _warning_text(record) == (
        f"The Kaggle notebook's data proxy did not attach dataset alice/cats: {reason}. "
        "Falling back to kagman's cache and a normal download; mount=False skips the mount."
    )
    assert path == cache_root() / "datasets/alice/cats/versions/1"
    assert (path / "train.csv").read_bytes() == FILES["train.csv"]
    assert kaggle.count("DownloadDataset") == 1


def test_an_unknown_dataset_falls_back_and_kaggle_says_what_is_wrong(
    notebook: FakeKaggleDataProxy, kaggle: FakeKaggle
) -> None:
    with (
        pytest.warns(UserWarning, match=r"refused the attach \(Datasource not found\)"),
        pytest.raises(DatasetNotFoundError, match="Kaggle has no dataset alice/nothing"),
    ):
        kagman.pull("alice/nothing")


def test_a_mount_slug_that_would_leave_the_mount_folder_is_refused(
    kaggle_notebook: FakeKaggleDataProxy, kaggle: FakeKaggle
) -> None:
    kaggle.add_dataset("alice/cats", FILES)
    kaggle_notebook.add_dataset("alice/cats", FILES, mount_slug="..")
    with pytest.warns(UserWarning, match=r"answered without a usable 'mountSlug' \('\.\.'\)"):
        path = kagman.pull("alice/cats", progress=False)
    assert path == cache_root() / "datasets/alice/cats/versions/1"


def test_a_mount_that_never_appears_times_out_and_falls_back(
    notebook: FakeKaggleDataProxy, kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("alice/cats", FILES)
    notebook.never_mount = True
    monkeypatch.setenv("KAGMAN_MOUNT_TIMEOUT", "0.3")
    started = time.monotonic()
    with pytest.warns(UserWarning, match="did not appear") as record:
        path = kagman.pull("alice/cats", progress=False)
    assert time.monotonic() - started >= 0.3
    mount = notebook.mount_root / "cats-v2"
    assert _warning_text(record).startswith(
        f"Kaggle attached dataset alice/cats, but {mount} did not appear within 0.3 s "
        "(KAGMAN_MOUNT_TIMEOUT). Falling back to kagman's cache and a normal download"
    )
    assert path == cache_root() / "datasets/alice/cats/versions/1"
    assert len(notebook.attaches) == 1


@pytest.mark.parametrize(
    "how", ["force", "mount=False", "DISABLE_KAGGLE_CACHE", "no proxy URL", "--no-mount"]
)
def test_ways_to_skip_the_mount(
    notebook: FakeKaggleDataProxy, kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    kaggle.add_dataset("alice/cats", FILES)
    if how == "DISABLE_KAGGLE_CACHE":
        monkeypatch.setenv("DISABLE_KAGGLE_CACHE", "t")  # kagglehub's truthy spelling
    if how == "no proxy URL":
        monkeypatch.delenv("KAGGLE_DATA_PROXY_URL")
    if how == "--no-mount":
        result = CliRunner().invoke(cli, ["pull", "alice/cats", "--no-mount"])
        assert result.exit_code == 0, result.output
        path = Path(result.stdout.strip())
    else:
        path = kagman.pull(
            "alice/cats", force=how == "force", mount=how != "mount=False", progress=False
        )
    assert path == cache_root() / "datasets/alice/cats/versions/1"
    assert notebook.requests == []
    assert kaggle.count("DownloadDataset") == 1


def test_offline_still_uses_the_mount(
    notebook: FakeKaggleDataProxy, fake_kaggle: FakeKaggle
) -> None:
    assert kagman.pull("alice/cats", offline=True) == notebook.mount_root / "cats-v2"
    notebook.refuse_next(message="no")
    with (
        pytest.warns(UserWarning, match=r"Falling back to kagman's cache \(offline\);"),
        pytest.raises(NotCachedError, match="offline mode forbids downloading"),
    ):
        kagman.pull("alice/cats", offline=True)
    assert fake_kaggle.count() == 0


def test_a_fallback_download_uses_the_notebooks_v1_token(
    notebook: FakeKaggleDataProxy,
    fake_kaggle: FakeKaggle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    fake_kaggle.add_token(V1_TOKEN, "notebook-user")
    token_file = tmp_path / "kaggle-secrets" / "v1-token"
    token_file.parent.mkdir()
    token_file.write_text(V1_TOKEN + "\n")
    monkeypatch.setenv("KAGGLE_API_V1_TOKEN", str(token_file))
    notebook.refuse_next(message="attach disabled")
    with pytest.warns(UserWarning, match="attach disabled"):
        path = kagman.pull("alice/cats", progress=False)
    assert path == cache_root() / "datasets/alice/cats/versions/1"
    # every API call authenticated with the notebook's token; the storage GET carries none
    api_calls = [r for r in fake_kaggle.requests if r.endpoint != "blob"]
    assert {r.user for r in api_calls} == {"notebook-user"}
    assert kagman.credentials_status().clients["kagglesdk"] == (
        f"KAGGLE_API_V1_TOKEN file {token_file}"
    )
    # kagglesdk reads it only in a Kaggle notebook; so does kagman.
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE")
    with pytest.raises(CredentialsNotFoundError):
        kagman.pull("alice/cats", force=True)


# --- the mount is read-only -------------------------------------------------------------

_watched: list[Path] = []
_writes: list[str] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {  # event -> positions of the paths it changes
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "os.truncate": (0,),
}


def _audit(event: str, args: tuple[object, ...]) -> None:
    """Record every write the main thread tries under a watched folder (the fakes mount from
    their own threads)."""
    if not _watched or threading.current_thread() is not threading.main_thread():
        return
    if event == "open":
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        targets = [path] if writes else []
    else:
        targets = [args[i] for i in _PATH_EVENTS.get(event, ()) if i < len(args)]
    for target in targets:
        if isinstance(target, (str, bytes, os.PathLike)):
            full = Path(os.fsdecode(target)).absolute()
            if any(full == root or root in full.parents for root in _watched):
                _writes.append(f"{event} {full}")


sys.addaudithook(_audit)


@pytest.fixture
def watch_writes() -> Iterator[list[Path]]:
    _writes.clear()
    yield _watched
    _watched.clear()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in [root, *root.rglob("*")]
    }


def test_nothing_writes_into_the_mount_and_link_and_index_work(
    kaggle_notebook: FakeKaggleDataProxy,
    fake_kaggle: FakeKaggle,
    tmp_path: Path,
    watch_writes: list[Path],
) -> None:
    images = {f"train/{cls}/{i}.png": png(i * 40) for cls in ("cat", "dog") for i in range(3)}
    kaggle_notebook.add_dataset("alice/pets", images, mount_slug="pets")
    mount = kaggle_notebook.mount_root / "pets"
    kagman.pull("alice/pets")  # attach and mount first; the fake writes the mount itself
    before = snapshot(mount)
    watch_writes.append(kaggle_notebook.mount_root)
    path = kagman.pull("alice/pets", link=tmp_path / "data")
    idx = kagman.index("alice/pets")
    file = kagman.pull("alice/pets", file="train/cat/0.png", link=tmp_path / "one")
    assert _writes == []
    assert snapshot(mount) == before
    assert path == mount
    assert (tmp_path / "data" / "pets").readlink() == mount
    assert (tmp_path / "one" / "0.png").resolve() == file == mount / "train/cat/0.png"
    assert idx.classes == ["cat", "dog"]
    assert len(idx.paths("train")) == 6
    assert all(Path(p).is_relative_to(mount) for p in idx.paths("train"))
    assert fake_kaggle.count() == 0


def test_the_audit_hook_sees_a_write_into_the_mount(
    kaggle_notebook: FakeKaggleDataProxy, watch_writes: list[Path]
) -> None:
    kaggle_notebook.add_dataset("alice/cats", FILES)
    mount = kagman.pull("alice/cats")
    watch_writes.append(kaggle_notebook.mount_root)
    (mount / "scribble.txt").write_text("x")
    assert _writes == [f"open {mount / 'scribble.txt'}"]


# --- from the command line, as `!kagman pull` in a notebook cell -------------------------


def test_cli_prints_the_mount_and_warns_on_fallback(
    notebook: FakeKaggleDataProxy, kaggle: FakeKaggle
) -> None:
    result = CliRunner().invoke(cli, ["pull", "alice/cats"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{notebook.mount_root / 'cats-v2'}\n"
    kaggle.add_dataset("alice/cats", FILES)
    notebook.refuse_next(message="quota exceeded")
    result = CliRunner().invoke(cli, ["pull", "alice/cats", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{cache_root() / 'datasets/alice/cats/versions/1'}\n"
    assert (
        "Warning: The Kaggle notebook's data proxy did not attach dataset alice/cats: "
        "the data proxy refused the attach (quota exceeded)."
    ) in result.stderr


def test_installed_executable_in_a_notebook_cell(
    notebook: FakeKaggleDataProxy, fake_kaggle: FakeKaggle
) -> None:
    notebook.mount_delay = 0.3
    proc = subprocess.run(
        [kagman_executable(), "pull", "alice/cats", "--file", "train.csv"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{notebook.mount_root / 'cats-v2' / 'train.csv'}\n"
    mount = notebook.mount_root / "cats-v2"
    assert f"Kaggle is mounting dataset alice/cats at {mount}; waiting up to 120 s." in proc.stderr
    assert_secretless(proc.stdout + proc.stderr)
    assert fake_kaggle.count() == 0
    assert proc.stderr.count("Waiting") == 0  # no bar: stderr is not a terminal
