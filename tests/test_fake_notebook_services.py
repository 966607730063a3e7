"""The fake Kaggle Notebooks data proxy, Colab runtime and Colab secrets, driven by kagglehub."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from fake_notebook_services import (
    ATTACH_PATH,
    KAGGLE_JWT_TOKEN,
    KAGGLE_PROXY_TOKEN,
    ColabSecrets,
    FakeColabRuntime,
    FakeKaggleDataProxy,
)
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle

FILES = {"train.csv": b"a,b\n1,2\n", "images/cat.png": b"\x89PNG fake"}


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_kagglehub_attaches_a_dataset_through_the_kaggle_proxy(
    kaggle_notebook: FakeKaggleDataProxy,
) -> None:
    import kagglehub  # type: ignore[import-untyped]

    kaggle_notebook.add_dataset("alice/cats", {"old.csv": b"1"}, version=1)
    kaggle_notebook.add_dataset("alice/cats", FILES, version=2, mount_slug="cats-v2")
    path = kagglehub.dataset_download("alice/cats")
    assert path == f"{kaggle_notebook.mount_root}/cats-v2"
    assert tree(Path(path)) == FILES
    (request,) = kaggle_notebook.requests
    assert request.path == ATTACH_PATH
    assert request.headers["X-Kaggle-Authorization"] == f"Bearer {KAGGLE_JWT_TOKEN}"
    assert request.headers["X-KAGGLE-PROXY-DATA"] == KAGGLE_PROXY_TOKEN
    assert request.body == {"datasetRef": {"OwnerSlug": "alice", "DatasetSlug": "cats"}}
    # A pinned version goes as a string and picks that version's files.
    assert (
        kagglehub.dataset_download("alice/cats/versions/1") == f"{kaggle_notebook.mount_root}/cats"
    )
    assert kaggle_notebook.attaches[-1]["datasetRef"]["VersionNumber"] == "1"


def test_kagglehub_attaches_a_competition(kaggle_notebook: FakeKaggleDataProxy) -> None:
    import kagglehub

    kaggle_notebook.add_competition("titanic", FILES)
    path = kagglehub.competition_download("titanic", "train.csv")
    assert Path(path).read_bytes() == FILES["train.csv"]
    assert kaggle_notebook.attaches == [{"competitionRef": {"CompetitionSlug": "titanic"}}]


def test_refusals_and_bad_tokens(
    kaggle_notebook: FakeKaggleDataProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kagglehub
    from kagglehub.exceptions import BackendError  # type: ignore[import-untyped]

    kaggle_notebook.add_dataset("alice/cats", FILES)
    kaggle_notebook.refuse_next(message="quota exceeded")
    with pytest.raises(BackendError, match="quota exceeded"):
        kagglehub.dataset_download("alice/cats")
    kaggle_notebook.refuse_next(status=503)
    with pytest.raises(requests.HTTPError, match="503"):
        kagglehub.dataset_download("alice/cats")
    with pytest.raises(BackendError, match="Datasource not found"):
        kagglehub.dataset_download("alice/nothing")
    for name in ("KAGGLE_USER_SECRETS_TOKEN", "KAGGLE_DATA_PROXY_TOKEN"):
        with monkeypatch.context() as env:
            env.setenv(name, "wrong")
            with pytest.raises(requests.HTTPError, match="401"):
                kagglehub.dataset_download("alice/cats")
    assert [r.status for r in kaggle_notebook.requests] == [200, 503, 200, 401, 401]
    assert not kaggle_notebook.mounted("cats").exists()


def test_delayed_and_never_mounts(kaggle_notebook: FakeKaggleDataProxy) -> None:
    kaggle_notebook.add_dataset("alice/cats", FILES)
    kaggle_notebook.add_dataset("alice/dogs", FILES)
    headers = {
        "X-Kaggle-Authorization": f"Bearer {KAGGLE_JWT_TOKEN}",
        "X-KAGGLE-PROXY-DATA": KAGGLE_PROXY_TOKEN,
    }

    def attach(slug: str) -> dict[str, object]:
        body = {"datasetRef": {"OwnerSlug": "alice", "DatasetSlug": slug}}
        url = kaggle_notebook.url + ATTACH_PATH
        with requests.post(url, data=json.dumps(body), headers=headers, timeout=5) as r:
            return dict(r.json())

    kaggle_notebook.mount_delay = 0.3
    assert attach("cats") == {
        "wasSuccessful": True,
        "result": {"mountSlug": "cats", "versionNumber": 1},
    }
    assert not kaggle_notebook.mounted("cats").exists()
    deadline = time.monotonic() + 5
    while not kaggle_notebook.mounted("cats").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tree(kaggle_notebook.mounted("cats")) == FILES
    assert [
        p.name for p in kaggle_notebook.mount_root.parent.iterdir() if p.name.startswith(".")
    ] == []
    kaggle_notebook.mount_delay, kaggle_notebook.never_mount = 0, True
    assert attach("dogs")["wasSuccessful"] is True
    assert not kaggle_notebook.mounted("dogs").exists()  # with no delay it would be there


def test_kagglehub_mounts_from_the_colab_cache(
    colab_runtime: FakeColabRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kagglehub

    monkeypatch.setenv("KAGGLE_USERNAME", TEST_USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", TEST_KEY)
    colab_runtime.require_auth = True
    colab_runtime.add_dataset("alice/cats", FILES, slug="cats-colab")
    path = kagglehub.dataset_download("alice/cats")
    assert path == f"{colab_runtime.mount_root}/cats-colab"
    assert tree(Path(path)) == FILES
    assert [(r.path, r.body) for r in colab_runtime.requests] == [
        ("/kagglehub/datasets/is_supported", {"owner": "alice", "dataset": "cats"}),
        ("/kagglehub/datasets/mount", {"owner": "alice", "dataset": "cats"}),
    ]
    assert all(r.headers["Authorization"].startswith("Basic ") for r in colab_runtime.requests)
    kagglehub.dataset_download("alice/cats/versions/3")
    assert colab_runtime.requests[-1].body == {"owner": "alice", "dataset": "cats", "version": 3}


def test_not_in_colab_cache_falls_back_to_kaggle(
    colab_runtime: FakeColabRuntime,
    kaggle: FakeKaggle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kagglehub

    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "hub"))
    kaggle.add_dataset("alice/cats", FILES)
    path = kagglehub.dataset_download("alice/cats")
    assert path.startswith(str(tmp_path / "hub"))
    assert tree(Path(path)) == FILES
    assert [r.status for r in colab_runtime.requests] == [404]
    assert kaggle.count("DownloadDataset") == 1


def test_colab_userdata_stand_in(colab_userdata: ColabSecrets) -> None:
    from google.colab import userdata  # type: ignore[import-not-found]
    from kagglehub.config import get_colab_credentials  # type: ignore[import-untyped]

    assert get_colab_credentials() is None
    colab_userdata.set("KAGGLE_API_TOKEN", "KGAT_colab")
    colab_userdata.set("OTHER", "x", granted=False)
    assert userdata.get("KAGGLE_API_TOKEN") == "KGAT_colab"
    with pytest.raises(userdata.SecretNotFoundError, match="Secret NOPE does not exist"):
        userdata.get("NOPE")
    with pytest.raises(userdata.NotebookAccessError, match="does not have access to secret OTHER"):
        userdata.get("OTHER")
    credentials = get_colab_credentials()  # kagglehub's own reader of Colab secrets
    assert credentials is not None
    assert credentials.api_key == "KGAT_colab"
    colab_userdata.set("KAGGLE_API_TOKEN", "KGAT_colab", granted=False)
    assert get_colab_credentials() is None
    # Child processes see the same stand-in and the same secrets.
    code = "from google.colab import userdata; print(userdata.get('OTHER'), end='')"
    colab_userdata.set("OTHER", "shared")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "shared"
