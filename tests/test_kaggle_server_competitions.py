"""Competitions on the fake Kaggle server, through kagglesdk, the kaggle CLI and kagglehub."""

from __future__ import annotations

import email.utils
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle, make_zip
from kaggle_server_competitions import LATE_MESSAGE, RULES_MESSAGE
from kagglesdk import KaggleClient
from kagglesdk.competitions.types.competition_api_service import (
    ApiDownloadDataFileRequest,
    ApiDownloadDataFilesRequest,
    ApiGetCompetitionRequest,
    ApiListDataFilesRequest,
    ApiListDataTreeFilesRequest,
)

FILES = {
    "train.csv": b"id,y\n1,0\n",
    "test.csv": b"id\n2\n",
    "images/a.png": b"\x89PNG a",
    "images/b.png": b"\x89PNG b",
}
# The kaggle CLI honours only KAGGLE_API_ENVIRONMENT=LOCALHOST (http://localhost, port 80).
# Without rights on port 80 it runs against :7777 with that one endpoint constant changed.
_SHIM = """
from kagglesdk import kaggle_env
kaggle_env._env_to_endpoint[kaggle_env.KaggleEnv.LOCAL] = "http://localhost:7777"
"""


def api() -> Any:
    return KaggleClient(env=None, username=TEST_USERNAME, password=TEST_KEY)


def rpc(fake: FakeKaggle, method: str, body: dict[str, Any], **kw: Any) -> requests.Response:
    url = f"{fake.base_url}/api/v1/competitions.CompetitionApiService/{method}"
    return requests.post(url, json=body, auth=(TEST_USERNAME, TEST_KEY), timeout=10, **kw)


def download_all(slug: str) -> tuple[str, bytes]:
    request = ApiDownloadDataFilesRequest()
    request.competition_name = slug
    with (
        api() as kaggle,
        kaggle.competitions.competition_api_client.download_data_files(request) as response,
    ):
        return response.url, response.content


def test_get_competition_and_list_files(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_competition("titanic", FILES)
    fake_kaggle.page_size = 3
    with api() as kaggle:
        client = kaggle.competitions.competition_api_client
        request = ApiGetCompetitionRequest()
        request.competition_name = "titanic"
        competition = client.get_competition(request)
        assert competition.ref == competition.url == "http://localhost:7777/competitions/titanic"
        assert competition.user_has_entered
        assert competition.deadline is not None
        listing = ApiListDataFilesRequest()
        listing.competition_name, listing.page_size = "titanic", 100
        names: list[str] = []
        while True:
            page = client.list_data_files(listing)
            assert len(page.files) <= 3
            names += [f.name for f in page.files]
            assert all(f.total_bytes == len(FILES[f.name]) for f in page.files)
            if not page.next_page_token:
                break
            listing.page_token = page.next_page_token
        assert names == sorted(FILES)
        tree = ApiListDataTreeFilesRequest()
        tree.competition_name, tree.path = "titanic", "images"
        content = client.list_data_tree_files(tree)
        assert [f.relative_url for f in content.files] == ["images/a.png", "images/b.png"]
        assert [f.name for f in content.files] == ["a.png", "b.png"]
        tree.path = ""
        root = client.list_data_tree_files(tree)
        assert [(d.name, d.total_files) for d in root.directories] == [("images", 2)]
        assert root.total_files == 2
    assert fake_kaggle.count("ListDataFiles") == 2


def test_download_all_and_one_file(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_competition("titanic", FILES, zipped_files=["train.csv"])
    url, body = download_all("titanic")
    assert url.split("?")[0] == "http://localhost:7777/blobs/competitions/titanic/1/titanic.zip"
    assert "X-Goog-Signature=" in url
    assert body == make_zip(FILES) == fake_kaggle.archive_bytes("titanic")
    with api() as kaggle:
        for name, suffix in (("test.csv", "test.csv"), ("train.csv", "train.csv.zip")):
            request = ApiDownloadDataFileRequest()
            request.competition_name, request.file_name = "titanic", name
            with kaggle.competitions.competition_api_client.download_data_file(request) as r:
                assert r.url.split("?")[0].endswith(f"/files/{suffix}")
                content = r.content
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            assert zf.read("train.csv") == FILES["train.csv"]


@pytest.mark.parametrize(
    ("method", "body", "message"),
    [
        ("GetCompetition", {"competitionName": "nope"}, "Competition 'nope' not found"),
        ("DownloadDataFiles", {"competitionName": "nope"}, "not found"),
        ("DownloadDataFile", {"competitionName": "titanic", "fileName": "x.csv"}, "x.csv"),
        ("ListDataFiles", {"competitionName": "secret"}, "not found"),
    ],
)
def test_missing_is_404(fake_kaggle: FakeKaggle, method: str, body: Any, message: str) -> None:
    fake_kaggle.add_competition("titanic", FILES)
    fake_kaggle.add_competition("secret", FILES, private=True)
    with rpc(fake_kaggle, method, body) as r:
        assert r.status_code == 404
        assert message in r.json()["message"]


def test_rules_403_until_accepted_over_http(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_competition("titanic", FILES, rules_accepted=False)
    fake_kaggle.add_competition("ended", FILES, late_download_forbidden=True)
    for slug, message in (("titanic", RULES_MESSAGE), ("ended", LATE_MESSAGE)):
        with rpc(fake_kaggle, "DownloadDataFiles", {"competitionName": slug}) as r:
            assert (r.status_code, r.json()) == (403, {"code": 403, "message": message})
    assert RULES_MESSAGE != LATE_MESSAGE
    admin = f"{fake_kaggle.base_url}/admin/competitions/titanic/accept-rules"
    with requests.post(admin, json={"user": "someone-else"}, timeout=10) as r:
        assert r.status_code == 200
    with rpc(fake_kaggle, "DownloadDataFiles", {"competitionName": "titanic"}) as r:
        assert r.status_code == 403  # accepted by another user only
    with requests.post(admin, json={}, auth=(TEST_USERNAME, TEST_KEY), timeout=10) as r:
        assert r.json() == {"competition": "titanic", "user": TEST_USERNAME, "accepted": True}
    with rpc(fake_kaggle, "DownloadDataFiles", {"competitionName": "titanic"}) as r:
        assert (r.status_code, r.content) == (200, make_zip(FILES))
    fake_kaggle.accept_rules("ended")  # someone who joined before the end
    assert download_all("ended")[1] == make_zip(FILES)
    with requests.post(
        f"{fake_kaggle.base_url}/admin/competitions/nope/accept-rules", timeout=10
    ) as r:
        assert r.status_code == 404


def test_update_data_moves_to_a_new_url(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_competition("titanic", FILES)
    old_url, _ = download_all("titanic")
    with requests.head(old_url, timeout=10) as r:
        old_etag, old_date = r.headers["ETag"], r.headers["Last-Modified"]
    fixed = {**FILES, "train.csv": b"id,y\n1,1\n"}
    fake_kaggle.update_competition_data("titanic", fixed)
    new_url, body = download_all("titanic")
    assert new_url != old_url
    assert "/titanic/2/" in new_url
    assert body == make_zip(fixed)
    with requests.head(new_url, timeout=10) as r:
        assert r.headers["ETag"] != old_etag
        new_date = email.utils.parsedate_to_datetime(r.headers["Last-Modified"])
    assert new_date > email.utils.parsedate_to_datetime(old_date)
    with requests.get(old_url, timeout=10) as r:  # an old signed URL still serves old data
        assert r.content == make_zip(FILES)


@pytest.fixture
def cli_kaggle(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[FakeKaggle, dict[str, str]]:
    """A fake Kaggle the kaggle CLI reaches, and the environment to run the CLI in."""
    env = dict(os.environ)
    try:
        fake: FakeKaggle = request.getfixturevalue("fake_kaggle_localhost")
    except pytest.skip.Exception:
        fake = request.getfixturevalue("fake_kaggle")
        shim = tmp_path / "shim"
        shim.mkdir()
        (shim / "sitecustomize.py").write_text(_SHIM)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(shim), env.get("PYTHONPATH")) if p)
    config = tmp_path / "kaggle-cli-config"
    config.mkdir()
    (config / "kaggle.json").write_text(json.dumps({"username": TEST_USERNAME, "key": TEST_KEY}))
    (config / "kaggle.json").chmod(0o600)
    env.update(KAGGLE_CONFIG_DIR=str(config), KAGGLE_API_ENVIRONMENT="LOCALHOST")
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        env.pop(name, None)
    return fake, env


def test_kaggle_cli_downloads_after_rules_are_accepted(
    cli_kaggle: tuple[FakeKaggle, dict[str, str]], tmp_path: Path
) -> None:
    fake, env = cli_kaggle
    fake.add_competition("titanic", FILES, rules_accepted=False)
    kaggle = Path(sys.executable).with_name("kaggle")
    command = [
        str(kaggle),
        "competitions",
        "download",
        "-c",
        "titanic",
        "-p",
        str(tmp_path / "out"),
    ]
    before = subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert before.returncode == 1
    assert RULES_MESSAGE in before.stderr  # the 403 itself is in the request log below
    with requests.post(f"{fake.base_url}/admin/competitions/titanic/accept-rules", timeout=10) as r:
        assert r.status_code == 200
    after = subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert after.returncode == 0, after.stderr
    assert (tmp_path / "out" / "titanic.zip").read_bytes() == make_zip(FILES)
    assert [(r.endpoint, r.status) for r in fake.requests] == [
        ("DownloadDataFiles", 403),
        ("admin", 200),
        ("DownloadDataFiles", 302),
        ("blob", 200),
    ]


def test_kagglehub_competition_download(
    kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kagglehub  # type: ignore[import-untyped]
    from kagglehub.exceptions import KaggleApiHTTPError  # type: ignore[import-untyped]

    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "hub"))
    kaggle.add_competition("titanic", FILES, rules_accepted=False)
    with pytest.raises(KaggleApiHTTPError, match="403"):
        kagglehub.competition_download("titanic")
    kaggle.accept_rules("titanic")
    path = Path(kagglehub.competition_download("titanic"))
    assert {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()} == set(FILES)
    assert (path / "images" / "a.png").read_bytes() == FILES["images/a.png"]
    # The host fixes a file: the newer Last-Modified makes kagglehub fetch it again.
    kaggle.update_competition_data("titanic", {**FILES, "train.csv": b"fixed"})
    assert (
        Path(kagglehub.competition_download("titanic")).joinpath("train.csv").read_bytes()
        == b"fixed"
    )
    one = kagglehub.competition_download("titanic", "test.csv")
    assert Path(one).read_bytes() == FILES["test.csv"]
    assert kaggle.count("DownloadDataFiles") == 3
    assert kaggle.count("DownloadDataFile") == 1
