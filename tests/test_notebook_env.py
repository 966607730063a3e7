"""Where the code runs: `kagman.environment()`, its cost outside notebooks, numbered uploads,
and kagman beside kagglehub on the same fake notebook services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from fake_notebook_services import ColabSecrets, FakeColabRuntime, FakeKaggleDataProxy
from kaggle_server import FakeKaggle

import kagman
from kagman.credentials import install

FILES = {"train.csv": b"a,b\n1,2\n"}
KEY_A = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
KEY_B = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"


# --- kagman.environment() ---------------------------------------------------------------


def test_local() -> None:
    env = kagman.environment()
    assert env == kagman.Environment(
        platform="local", resolvers=("cache", "download", "stale-cache")
    )
    assert str(env) == (
        "Platform:       local Python (no notebook platform)\n"
        "Pulls try:      cache, download, stale-cache"
    )
    assert (
        env.summary
        == "local Python (no notebook platform); pulls try: cache, download, stale-cache"
    )


def test_offline_has_no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGMAN_OFFLINE", "1")
    assert kagman.environment().resolvers == ("cache",)


def test_kaggle_notebook(
    kaggle_notebook: FakeKaggleDataProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = kagman.environment()
    assert env.platform == "kaggle"
    assert env.kaggle_mount == kaggle_notebook.mount_root
    assert env.resolvers == ("kaggle-notebook", "cache", "download", "stale-cache")
    assert (
        env.summary == "Kaggle notebook; pulls try: kaggle-notebook, cache, download, stale-cache"
    )
    assert f"Kaggle mounts:  {kaggle_notebook.mount_root}" in str(env)
    assert env.to_dict() == {
        "platform": "kaggle",
        "label": "Kaggle notebook",
        "jupyter": False,
        "kaggle_mount": str(kaggle_notebook.mount_root),
        "colab_cache": None,
        "colab_secrets": False,
        "resolvers": ["kaggle-notebook", "cache", "download", "stale-cache"],
        "notes": [],
    }
    json.dumps(env.to_dict())
    monkeypatch.setenv("DISABLE_KAGGLE_CACHE", "1")
    off = kagman.environment()
    assert (off.platform, off.kaggle_mount, off.resolvers) == (
        "kaggle",
        None,
        ("cache", "download", "stale-cache"),
    )
    assert off.notes == ("DISABLE_KAGGLE_CACHE is on: datasets are downloaded, not attached.",)
    monkeypatch.delenv("DISABLE_KAGGLE_CACHE")
    monkeypatch.delenv("KAGGLE_DATA_PROXY_URL")
    (note,) = kagman.environment().notes
    assert note == (
        "KAGGLE_KERNEL_RUN_TYPE is set but KAGGLE_DATA_PROXY_URL is not: datasets cannot be "
        "attached to this notebook, so kagman downloads them."
    )


def test_colab(colab_runtime: FakeColabRuntime, colab_userdata: ColabSecrets) -> None:
    env = kagman.environment()
    assert (env.platform, env.colab_cache, env.colab_secrets) == (
        "colab",
        colab_runtime.mount_root,
        True,
    )
    assert env.resolvers == ("colab-cache", "cache", "download", "stale-cache")
    assert "Colab secrets:  read" in str(env)
    assert env._repr_html_().startswith("<pre>Platform:       Google Colab")


def test_colab_without_google_colab_or_runtime_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLAB_BACKEND_VERSION", "fake")
    env = kagman.environment()
    assert (env.platform, env.colab_secrets, env.resolvers) == (
        "colab",
        False,
        ("cache", "download", "stale-cache"),
    )
    assert env.notes == (
        "No TBE_RUNTIME_ADDR (not a managed runtime): Colab's dataset cache is unavailable.",
        "google.colab cannot be imported here: Colab's secrets are not read.",
    )


def test_plain_jupyter(monkeypatch: pytest.MonkeyPatch) -> None:
    class ZMQInteractiveShell:  # what IPython's get_ipython() returns in a Jupyter kernel
        pass

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = ZMQInteractiveShell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    env = kagman.environment()
    assert (env.platform, env.jupyter) == ("jupyter", True)
    assert env.label == "Jupyter (no notebook platform)"


# --- what it costs outside the notebooks ------------------------------------------------


def _imported(code: str, env: dict[str, str]) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_outside_notebooks_nothing_is_imported_for_them(tmp_path: Path) -> None:
    cache = tmp_path / "probe-cache"
    pinned = cache / "datasets/owner/data/versions"
    (pinned / "3").mkdir(parents=True)
    (pinned / "3.manifest.json").write_text('{"kind": "dataset"}')
    env = {**os.environ, "KAGMAN_CACHE": str(cache)}
    code = (
        "import kagman, pathlib\nkagman.environment()\n"
        f"assert kagman.pull('owner/data/versions/3') == pathlib.Path({str(pinned / '3')!r})"
    )
    top = {m.split(".")[0] for m in _imported(code, env)}
    assert not top & {"IPython", "google", "requests", "kagglesdk", "tqdm"}


def test_colab_variables_look_for_google_colab_without_importing_it() -> None:
    env = {**os.environ, "COLAB_RELEASE_TAG": "fake"}
    imported = _imported("import kagman\nassert not kagman.environment().colab_secrets", env)
    assert "IPython" not in imported
    assert {m for m in imported if m.startswith("google")} <= {"google"}  # the namespace only


# --- numbered uploads in the working folder (Colab's upload numbers them too) ------------


def test_the_newest_numbered_upload_in_the_working_folder(tmp_path: Path) -> None:
    now = time.time()
    for age, name, user in [
        (300, "kaggle.json", "oldest"),
        (100, "kaggle(2).json", "newest"),
        (200, "kaggle (1).json", "middle"),
        (50, "kaggle-3.txt", "not-json"),
    ]:
        path = Path.cwd() / name
        path.write_text(json.dumps({"username": user, "key": KEY_A}))
        os.utime(path, (now - age, now - age))
    report = install()
    assert report.source == str(Path.cwd() / "kaggle(2).json")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(now - 100))
    (note,) = report.notes
    assert note == (
        f"Found 3 kaggle.json files in {Path.cwd()}; using the newest, kaggle(2).json (modified "
        f"{when}). Older: kaggle (1).json, kaggle.json."
    )
    assert json.loads((tmp_path / "kaggle-config/kaggle.json").read_text())["username"] == "newest"


def test_a_lone_numbered_upload_beats_the_downloads_folder(isolated_env: Path) -> None:
    upload = Path.cwd() / "kaggle-3.json"
    upload.write_text(json.dumps({"username": "upload", "key": KEY_A}))
    (isolated_env / "Downloads").mkdir()
    (isolated_env / "Downloads/kaggle.json").write_text(
        json.dumps({"username": "dl", "key": KEY_B})
    )
    report = install()
    assert (report.source, report.notes) == (
        str(upload),
        (f"Using {upload} from the current folder.",),
    )


# --- beside kagglehub, on the same fakes ------------------------------------------------


def test_same_paths_and_requests_as_kagglehub_in_a_kaggle_notebook(
    kaggle_notebook: FakeKaggleDataProxy, fake_kaggle: FakeKaggle
) -> None:
    import kagglehub  # type: ignore[import-untyped]

    kaggle_notebook.add_dataset("alice/cats", FILES, version=4, mount_slug="cats-4")
    for ref in ("alice/cats", "alice/cats/versions/4"):
        hub = kagglehub.dataset_download(ref)
        mine = kagman.pull(ref)
        assert mine == Path(hub) == kaggle_notebook.mount_root / "cats-4"
        theirs, ours = kaggle_notebook.requests[-2:]
        assert ours.body == theirs.body
        for header in ("X-Kaggle-Authorization", "X-KAGGLE-PROXY-DATA", "Content-type"):
            assert ours.headers[header] == theirs.headers[header]
    assert fake_kaggle.count() == 0


def test_a_refused_attach_fails_kagglehub_but_kagman_downloads(
    kaggle_notebook: FakeKaggleDataProxy, kaggle: FakeKaggle, tmp_path: Path
) -> None:
    import kagglehub
    from kagglehub.exceptions import BackendError  # type: ignore[import-untyped]

    kaggle.add_dataset("alice/cats", FILES)
    kaggle_notebook.add_dataset("alice/cats", FILES)
    kaggle_notebook.refuse_next(times=2, message="quota exceeded")
    with pytest.raises(BackendError, match="quota exceeded"):
        kagglehub.dataset_download("alice/cats")
    with pytest.warns(UserWarning, match="quota exceeded"):
        path = kagman.pull("alice/cats", progress=False)
    assert (path / "train.csv").read_bytes() == FILES["train.csv"]


def test_same_requests_as_kagglehub_in_colab(
    colab_runtime: FakeColabRuntime, kaggle: FakeKaggle
) -> None:
    import kagglehub

    colab_runtime.require_auth = True
    colab_runtime.add_dataset("alice/cats", FILES, slug="cats-colab")
    for ref in ("alice/cats", "alice/cats/versions/2"):
        before = len(colab_runtime.requests)
        hub = kagglehub.dataset_download(ref)
        middle = len(colab_runtime.requests)
        mine = kagman.pull(ref)
        assert mine == Path(hub) == colab_runtime.mount_root / "cats-colab"
        theirs, ours = colab_runtime.requests[before:middle], colab_runtime.requests[middle:]
        assert [(r.path, r.body, r.headers["Authorization"]) for r in ours] == [
            (r.path, r.body, r.headers["Authorization"]) for r in theirs
        ]
    assert colab_runtime.requests[-1].body == {"owner": "alice", "dataset": "cats", "version": 2}
    assert kaggle.count() == 0
