"""The fake Kaggle server, exercised through the real kagglesdk client and plain requests."""

from __future__ import annotations

import io
import shlex
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
from kaggle_server import (
    TEST_KEY,
    TEST_TOKEN,
    TEST_USERNAME,
    FakeKaggle,
    fake_kaggle_localhost,  # noqa: F401
    make_zip,
)
from kagglesdk import KaggleClient
from kagglesdk.datasets.types.dataset_api_service import (
    ApiDownloadDatasetRequest,
    ApiGetDatasetMetadataRequest,
    ApiGetDatasetRequest,
    ApiListDatasetFilesRequest,
    ApiListTreeDatasetFilesRequest,
)
from kagglesdk.security.types.oauth_service import IntrospectTokenRequest

FILES = {"train.csv": b"a,b\n1,2\n", "images/cat.png": b"\x89PNG" + bytes(range(256)) * 40}


def client(
    *, user: str | None = TEST_USERNAME, key: str | None = TEST_KEY, token: str | None = None
) -> KaggleClient:
    """A real kagglesdk client; env=None makes it read KAGGLE_API_ENVIRONMENT like kagman does."""
    return KaggleClient(env=None, username=user, password=key, api_token=token)


def get_dataset(ref: str, **creds: Any) -> Any:
    owner, slug = ref.split("/")
    request = ApiGetDatasetRequest()
    request.owner_slug, request.dataset_slug = owner, slug
    with client(**creds) as kaggle:
        return kaggle.datasets.dataset_api_client.get_dataset(request)


def download(
    ref: str, *, version: int | None = None, file_name: str | None = None
) -> tuple[str, bytes]:
    """Download through the real client (302 followed); return (final URL, body)."""
    owner, slug = ref.split("/")
    request = ApiDownloadDatasetRequest()
    request.owner_slug, request.dataset_slug = owner, slug
    request.dataset_version_number = version
    request.file_name = file_name
    with client() as kaggle:
        response = kaggle.datasets.dataset_api_client.download_dataset(request)
        with response:
            return response.url, response.content


def blob_url(ref: str, **kwargs: Any) -> str:
    """The blob URL DownloadDataset redirects to, without following it."""
    owner, slug = ref.split("/")
    body = {"ownerSlug": owner, "datasetSlug": slug, **kwargs}
    with requests.post(
        "http://localhost:7777/api/v1/datasets.DatasetApiService/DownloadDataset",
        json=body,
        auth=(TEST_USERNAME, TEST_KEY),
        allow_redirects=False,
        timeout=10,
    ) as response:
        assert response.status_code == 302
        return response.headers["Location"]


def test_get_dataset_returns_current_version(fake_kaggle: FakeKaggle) -> None:
    assert fake_kaggle.add_dataset("alice/cats", FILES) == 1
    dataset = get_dataset("alice/cats")
    assert dataset.ref == "alice/cats"
    assert dataset.current_version_number == 1
    assert dataset.url == "http://localhost:7777/datasets/alice/cats"
    assert dataset.total_bytes == sum(len(v) for v in FILES.values())
    assert [v.version_number for v in dataset.versions] == [1]
    assert dataset.versions[0].status == "ready"
    assert not dataset.is_private
    assert dataset.last_updated is not None
    request = ApiGetDatasetMetadataRequest()  # what the kaggle CLI asks before a download
    request.owner_slug, request.dataset_slug = "alice", "cats"
    with client() as kaggle:
        info = kaggle.datasets.dataset_api_client.get_dataset_metadata(request).info
    assert (info.dataset_slug, [lic.name for lic in info.licenses]) == ("cats", ["CC0-1.0"])


def test_second_add_makes_version_two_current(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    assert fake_kaggle.add_dataset("alice/cats", {"new.csv": b"x"}) == 2
    dataset = get_dataset("alice/cats")
    assert dataset.current_version_number == 2
    assert sorted(v.version_number for v in dataset.versions) == [1, 2]
    assert download("alice/cats")[1] == make_zip({"new.csv": b"x"})
    assert download("alice/cats", version=1)[1] == make_zip(FILES)
    assert fake_kaggle.archive_bytes("alice/cats", 1) == make_zip(FILES)


def test_download_follows_redirect_to_exact_zip(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    url, body = download("alice/cats")
    assert url.startswith("http://localhost:7777/blobs/")
    assert body == fake_kaggle.archive_bytes("alice/cats")
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert {name: zf.read(name) for name in zf.namelist()} == FILES
    assert [r.status for r in fake_kaggle.requests] == [302, 200]


def test_archive_bytes_are_served_verbatim(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/broken", archive=b"PK\x03\x04 not really a zip")
    assert download("alice/broken")[1] == b"PK\x03\x04 not really a zip"
    assert get_dataset("alice/broken").total_bytes == 0


def test_file_download_raw_and_zipped(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES, zipped_files=["train.csv"])
    url, body = download("alice/cats", file_name="images/cat.png")
    assert url.split("?")[0].endswith("images/cat.png")
    assert body == FILES["images/cat.png"]
    url, body = download("alice/cats", file_name="train.csv")
    assert url.split("?")[0].endswith("train.csv.zip")
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.namelist() == ["train.csv"]
        assert zf.read("train.csv") == FILES["train.csv"]


def test_file_download_from_archive_only_dataset(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", archive=make_zip(FILES))
    assert download("alice/cats", file_name="train.csv")[1] == FILES["train.csv"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"file_name": "nope.csv"}, "nope.csv"), ({"version": 7}, "Version 7")],
)
def test_unknown_file_or_version_is_404(
    fake_kaggle: FakeKaggle, kwargs: dict[str, Any], message: str
) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    with pytest.raises(requests.HTTPError, match=message) as err:
        download("alice/cats", **kwargs)
    assert err.value.response is not None
    assert err.value.response.status_code == 404


def test_list_dataset_files_pages(fake_kaggle: FakeKaggle) -> None:
    files = {f"img/{i:03d}.png": bytes(i) for i in range(45)}
    fake_kaggle.add_dataset("alice/many", files)
    for cap, asked, pages in ((None, None, 3), (7, 200, 7)):
        fake_kaggle.page_size = cap  # bounds every page, whatever the client asks
        request = ApiListDatasetFilesRequest()
        request.owner_slug, request.dataset_slug, request.page_size = "alice", "many", asked
        seen: list[str] = []
        before = fake_kaggle.count("ListDatasetFiles")
        with client() as kaggle:
            while True:
                page = kaggle.datasets.dataset_api_client.list_dataset_files(request)
                assert len(page.dataset_files) <= (cap or 20)
                seen += [f.name for f in page.dataset_files]
                if not page.next_page_token:
                    break
                request.page_token = page.next_page_token
        assert seen == sorted(files)
        assert fake_kaggle.count("ListDatasetFiles") - before == pages


TREE = {
    "top.csv": b"1",
    "images/cat.png": b"cat",
    "images/dog.png": b"dog",
    "images/big/whale.png": b"whale",
    "labels/all.txt": b"a",
}


def list_tree(path: str, token: str = "", **request_fields: Any) -> Any:
    request = ApiListTreeDatasetFilesRequest()
    request.owner_slug, request.dataset_slug, request.path = "alice", "tree", path
    request.page_token = token
    for name, value in request_fields.items():
        setattr(request, name, value)
    with client() as kaggle:
        return kaggle.datasets.dataset_api_client.list_tree_dataset_files(request)


def test_list_tree_dataset_files(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/tree", TREE)
    root = list_tree("")
    assert [
        (d.name, d.relative_url, d.total_files, d.total_directories) for d in root.directories
    ] == [
        ("images", "images", 2, 1),
        ("labels", "labels", 1, 0),
    ]
    assert [(f.name, f.relative_url, f.total_bytes) for f in root.files] == [
        ("top.csv", "top.csv", 1)
    ]
    assert (root.total_children, root.total_directories, root.total_files) == (3, 2, 1)
    images = list_tree("images/", page_size=2)  # one folder and one file
    assert [d.relative_url for d in images.directories] == ["images/big"]
    assert [f.relative_url for f in images.files] == ["images/cat.png"]
    rest = list_tree("images", images.next_page_token, page_size=2)
    assert [f.name for f in rest.files] == ["dog.png"]
    assert not rest.next_page_token
    assert list_tree("nothing/here").total_children == 0  # like Kaggle: empty, not 404


def test_kagglehub_downloads_a_folder_through_the_tree(
    kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kagglehub  # type: ignore[import-untyped]

    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "hub"))
    kaggle.add_dataset("alice/tree", TREE, zipped_files=["images/dog.png"])
    kaggle.page_size = 1  # kagglehub asks for 200 per page; make it follow the tokens
    path = Path(kagglehub.dataset_download("alice/tree", path="images"))
    got = {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert got == {n[len("images/") :]: c for n, c in TREE.items() if n.startswith("images/")}
    assert kaggle.count("ListTreeDatasetFiles") == 4  # images: 3 pages, images/big: 1
    assert kaggle.count("blob") == 3


@pytest.mark.parametrize(
    "creds",
    [
        {"user": None, "key": None},
        {"user": TEST_USERNAME, "key": "0" * 32},
        {"user": "mallory", "key": TEST_KEY},
        {"user": None, "key": None, "token": "KGAT_" + "0" * 32},
    ],
)
def test_bad_credentials_are_401(fake_kaggle: FakeKaggle, creds: dict[str, Any]) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    with pytest.raises(requests.HTTPError, match="Unauthenticated") as err:
        get_dataset("alice/cats", **creds)
    assert err.value.response is not None
    assert err.value.response.status_code == 401
    assert err.value.response.json() == {"code": 401, "message": "Unauthenticated"}


def test_bearer_token_and_kaggle_json_work(fake_kaggle: FakeKaggle, isolated_env: Path) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    assert get_dataset("alice/cats", user=None, key=None, token=TEST_TOKEN).ref == "alice/cats"
    # With no explicit credentials kagglesdk reads ~/.kaggle/kaggle.json.
    (isolated_env / ".kaggle").mkdir()
    (isolated_env / ".kaggle" / "kaggle.json").write_text(
        f'{{"username": "{TEST_USERNAME}", "key": "{TEST_KEY}"}}'
    )
    assert get_dataset("alice/cats", user=None, key=None).ref == "alice/cats"
    assert {r.user for r in fake_kaggle.requests} == {TEST_USERNAME}


def test_terms_dataset_is_403_on_download_only(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/rules", FILES, terms=True)
    assert get_dataset("alice/rules").ref == "alice/rules"
    with pytest.raises(requests.HTTPError, match="accept this dataset's rules") as err:
        download("alice/rules")
    assert err.value.response is not None
    assert err.value.response.status_code == 403


def test_unknown_and_foreign_private_datasets_are_404(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/secret", FILES, private=True)
    fake_kaggle.add_user("alice", "a" * 32)
    for ref in ("alice/nothing", "alice/secret"):
        with pytest.raises(requests.HTTPError, match="not found") as err:
            get_dataset(ref)
        assert err.value.response is not None
        assert err.value.response.status_code == 404
    assert get_dataset("alice/secret", user="alice", key="a" * 32).is_private


def test_fail_next_429_then_success(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    fake_kaggle.fail_next(429, times=2, endpoint="GetDataset", retry_after=2)
    for _ in range(2):
        with pytest.raises(requests.HTTPError) as err:
            get_dataset("alice/cats")
        assert err.value.response is not None
        assert err.value.response.status_code == 429
        assert err.value.response.headers["Retry-After"] == "2"
    assert get_dataset("alice/cats").ref == "alice/cats"
    assert [r.status for r in fake_kaggle.requests] == [429, 429, 200]


def test_fail_next_blob_only_hits_the_blob(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    fake_kaggle.fail_next(503, endpoint="blob")
    with pytest.raises(requests.HTTPError) as err:
        download("alice/cats")
    assert err.value.response is not None
    assert err.value.response.status_code == 503
    assert download("alice/cats")[1] == fake_kaggle.archive_bytes("alice/cats")


def test_count_counts_per_endpoint(fake_kaggle: FakeKaggle) -> None:
    assert fake_kaggle.count() == 0
    fake_kaggle.add_dataset("alice/cats", FILES)
    get_dataset("alice/cats")
    get_dataset("alice/cats")
    download("alice/cats")
    assert fake_kaggle.count("GetDataset") == 2
    assert fake_kaggle.count("DownloadDataset") == 1
    assert fake_kaggle.count("blob") == 1
    assert fake_kaggle.count() == 4
    fake_kaggle.reset()
    assert fake_kaggle.count() == 0


def test_hello_and_introspect_token(fake_kaggle: FakeKaggle) -> None:
    hello = "http://localhost:7777/api/v1/api.v1.DiagnosticsService/Hello"
    with requests.post(hello, json={}, auth=(TEST_USERNAME, TEST_KEY), timeout=10) as r:
        assert r.json() == {"userName": TEST_USERNAME}
    with requests.post(hello, json={}, auth=(TEST_USERNAME, "bad"), timeout=10) as r:
        assert r.status_code == 401
        assert r.json()["code"] == 401
    fake_kaggle.add_token("KGAT_" + "b" * 32, "bob")
    with client(user=None, key=None, token=TEST_TOKEN) as kaggle:
        for token, active, name in [
            (TEST_TOKEN, True, TEST_USERNAME),
            ("KGAT_" + "b" * 32, True, "bob"),
            ("KGAT_" + "0" * 32, False, ""),
        ]:
            request = IntrospectTokenRequest()
            request.token = token
            reply = kaggle.security.oauth_client.introspect_token(request)
            assert (reply.active, reply.username) == (active, name)


def test_every_localhost_address_connects_fast(fake_kaggle: FakeKaggle) -> None:
    for *_, address in socket.getaddrinfo("localhost", 7777, type=socket.SOCK_STREAM):
        began = time.monotonic()
        with socket.create_connection((str(address[0]), int(address[1])), timeout=1):
            pass
        assert time.monotonic() - began < 0.5


def test_second_server_on_a_busy_port_says_who_holds_it(fake_kaggle: FakeKaggle) -> None:
    with pytest.raises(RuntimeError, match=r"port 7777 is held by .*pid \d+"):
        FakeKaggle(7777, lock_timeout=0.2).start()


def _can_unshare() -> bool:
    try:
        done = subprocess.run(["unshare", "-n", "true"], check=False, capture_output=True)
        return done.returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -n` (root on Linux)")
def test_a_server_in_another_network_namespace_does_not_wait(fake_kaggle: FakeKaggle) -> None:
    # port 7777 here is held; in a fresh namespace the same port is free, so is its lock
    here = Path(__file__).parent
    start = (
        "import sys; sys.path.insert(0, sys.argv[1]); from kaggle_server import FakeKaggle; "
        "s = FakeKaggle(7777, lock_timeout=0.2); s.start(); s.stop(); print('served')"
    )
    script = f"ip link set lo up; {sys.executable} -c {shlex.quote(start)} {shlex.quote(str(here))}"
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "served", result.stderr[-2000:]


def test_localhost_environment(fake_kaggle_localhost: FakeKaggle) -> None:  # noqa: F811
    assert fake_kaggle_localhost.base_url == "http://localhost"
    fake_kaggle_localhost.add_dataset("alice/cats", FILES)
    assert get_dataset("alice/cats").url == "http://localhost/datasets/alice/cats"
    url, body = download("alice/cats")
    assert url.startswith("http://localhost/blobs/")
    assert body == make_zip(FILES)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_standalone_server_serves_an_archive(tmp_path: Path) -> None:
    archive = tmp_path / "data.zip"
    archive.write_bytes(make_zip(FILES))
    port = _free_port()
    script = Path(__file__).with_name("kaggle_server.py")
    args = ["--port", str(port), "--dataset", f"alice/cats={archive}"]
    with subprocess.Popen(
        [sys.executable, str(script), *args, "--competition", f"titanic={archive}"],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            with requests.post(
                f"http://localhost:{port}/api/v1/datasets.DatasetApiService/DownloadDataset",
                json={"ownerSlug": "alice", "datasetSlug": "cats"},
                auth=(TEST_USERNAME, TEST_KEY),
                timeout=10,
            ) as r:
                assert r.content == archive.read_bytes()
            with requests.post(
                f"http://localhost:{port}/api/v1/competitions.CompetitionApiService/DownloadDataFiles",
                json={"competitionName": "titanic"},
                auth=(TEST_USERNAME, TEST_KEY),
                timeout=10,
            ) as r:
                assert r.content == archive.read_bytes()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0


def test_kagglehub_whoami_uses_hello(
    fake_kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kagglehub  # type: ignore[import-untyped]

    monkeypatch.setenv("KAGGLE_USERNAME", TEST_USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", TEST_KEY)
    assert kagglehub.whoami(verbose=False) == {"username": TEST_USERNAME}
    assert fake_kaggle.count("Hello") == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/datasets.DatasetApiService/NoSuchMethod", {}, 404),
        ("GET", "/api/v1/datasets.DatasetApiService/GetDataset", None, 405),
        ("POST", "/api/v1/datasets.DatasetApiService/GetDataset", "[not json", 400),
        (
            "POST",
            "/api/v1/datasets.DatasetApiService/DownloadDataset",
            {"ownerSlug": "alice", "datasetSlug": "cats", "datasetVersionNumber": "x"},
            500,
        ),
        ("GET", "/blobs/datasets/alice/cats/9/cats.zip", None, 404),
    ],
)
def test_bad_requests_get_json_errors(
    fake_kaggle: FakeKaggle, method: str, path: str, body: Any, status: int
) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    data = body if isinstance(body, str) else None
    payload = None if isinstance(body, str) else body
    with requests.request(
        method,
        f"{fake_kaggle.base_url}{path}",
        json=payload,
        data=data,
        auth=(TEST_USERNAME, TEST_KEY),
        timeout=10,
    ) as r:
        assert r.status_code == status
        assert r.json()["code"] == status
    # The connection survives: the next call on a fresh client works.
    assert get_dataset("alice/cats").ref == "alice/cats"
