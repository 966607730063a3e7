"""Storage faults of the fake Kaggle server: what a careful download client must catch."""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle, make_zip
from test_kaggle_server import blob_url, download

DATA = bytes(range(256)) * 400  # 102,400 bytes
NEW = bytes(reversed(range(256))) * 400


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def advertised_md5(response: requests.Response | http.client.HTTPResponse) -> str:
    value = str(response.headers["x-goog-hash"])
    return dict(part.split("=", 1) for part in value.split(","))["md5"]


def get_until_drop(url: str) -> tuple[bytes, http.client.HTTPResponse]:
    """GET ``url`` over a raw connection and return what arrived before the drop."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=10)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        response = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead) as err:
            response.read()
    finally:
        conn.close()
    return err.value.partial, response


def test_short_body_ends_cleanly_with_a_short_length(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/big", archive=DATA)
    url = blob_url("alice/big")
    fake_kaggle.short_body(1000)
    with requests.Session() as session:
        with session.get(url, timeout=10) as r:
            assert r.status_code == 200
            assert r.headers["Content-Length"] == "1000"
            assert r.content == DATA[:1000]  # no error: the server said that was all
            assert advertised_md5(r) == md5_b64(DATA)  # ...but the hash is the object's
        with session.get(url, timeout=10) as r:  # same keep-alive connection, fault spent
            assert r.content == DATA


def test_bad_md5_is_caught_by_kagglehub(
    kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kagglehub  # type: ignore[import-untyped]
    from kagglehub.exceptions import DataCorruptionError  # type: ignore[import-untyped]

    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "hub"))
    kaggle.add_dataset("alice/cats", {"a.csv": b"1,2\n"})
    kaggle.bad_md5()
    with pytest.raises(DataCorruptionError, match="X-Goog-Hash"):
        kagglehub.dataset_download("alice/cats")
    path = Path(kagglehub.dataset_download("alice/cats"))
    assert (path / "a.csv").read_bytes() == b"1,2\n"


def test_wrong_content_range_starts_at_zero(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/big", archive=DATA)
    url = blob_url("alice/big")
    fake_kaggle.wrong_content_range()
    with requests.get(url, timeout=10) as r:  # a 200 does not spend the fault
        assert r.content == DATA
    with requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=10) as r:
        assert r.status_code == 206
        assert r.headers["Content-Range"] == f"bytes 0-999/{len(DATA)}"
        assert r.content == DATA[:1000]
    with requests.get(url, headers={"Range": "bytes=1000-"}, timeout=10) as r:
        assert r.headers["Content-Range"] == f"bytes 1000-{len(DATA) - 1}/{len(DATA)}"
        assert r.content == DATA[1000:]


def test_swap_after_headers_changes_the_object_under_a_resume(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/big", archive=DATA)
    url = blob_url("alice/big")
    fake_kaggle.drop_connection_after(40_000)
    fake_kaggle.swap_blob_after_headers("alice/big", 1, NEW)
    got, first = get_until_drop(url)
    assert got == DATA[:40_000]  # the started answer still sends the old object
    etag = str(first.getheader("ETag"))
    with requests.get(url, headers={"Range": "bytes=40000-", "If-Range": etag}, timeout=10) as r:
        assert (r.status_code, r.content) == (200, NEW)  # validator fails: whole new object
        assert r.headers["ETag"] != etag
    with requests.get(url, headers={"Range": "bytes=40000-"}, timeout=10) as r:
        assert (r.status_code, r.content) == (206, NEW[40_000:])  # blind resume: a splice
    assert fake_kaggle.archive_bytes("alice/big") == NEW
    assert blob_url("alice/big") == url


def test_splice_under_one_etag_only_md5_catches(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_competition("titanic", archive=DATA)
    with requests.post(
        f"{fake_kaggle.base_url}/api/v1/competitions.CompetitionApiService/DownloadDataFiles",
        json={"competitionName": "titanic"},
        auth=(TEST_USERNAME, TEST_KEY),
        allow_redirects=False,
        timeout=10,
    ) as r:
        url = r.headers["Location"]
    fake_kaggle.drop_connection_after(40_000)
    fake_kaggle.splice_same_etag(url, None, NEW)  # a blob URL, here a competition's archive
    got, first = get_until_drop(url)
    validators = {
        "ETag": first.getheader("ETag"),
        "Last-Modified": first.getheader("Last-Modified"),
    }
    headers = {"Range": f"bytes={len(got)}-", "If-Range": str(validators["ETag"])}
    with requests.get(url, headers=headers, timeout=10) as r:
        assert r.status_code == 206  # the validator still matches
        assert {k: r.headers[k] for k in validators} == validators
        spliced = got + r.content
    assert len(spliced) == len(DATA)
    assert spliced not in (DATA, NEW)
    assert md5_b64(spliced) != advertised_md5(first) == md5_b64(DATA)


def test_drop_range_after_hits_one_part_only(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/big", archive=DATA)
    url = blob_url("alice/big")
    fake_kaggle.drop_range_after(1000, range_start=51_200)
    with requests.get(url, timeout=10) as r:  # a whole GET is not affected
        assert r.content == DATA

    def part(first: int) -> bytes | str:
        headers = {"Range": f"bytes={first}-{first + 51_199}"}
        try:
            with requests.get(url, headers=headers, timeout=10) as r:
                return r.content
        except requests.exceptions.ChunkedEncodingError:
            return "dropped"

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(part, (0, 51_200))) == [DATA[:51_200], "dropped"]
    assert part(51_200) == DATA[51_200:]  # spent
    fake_kaggle.drop_range_after(10, times=2)
    with requests.get(url, timeout=10) as r:  # still not for a whole GET
        assert r.content == DATA
    assert [part(0), part(51_200), part(0)] == ["dropped", "dropped", DATA[:51_200]]


def test_storage_unreachable_then_reachable(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", {"a.csv": b"1"})
    fake_kaggle.storage_unreachable()
    location = urlsplit(blob_url("alice/cats"))
    assert location.hostname == "127.0.0.1"
    assert location.port != fake_kaggle.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", location.port), timeout=2).close()
    fake_kaggle.storage_unreachable()
    with pytest.raises(requests.ConnectionError):
        download("alice/cats")  # the real client follows the redirect and fails there
    assert download("alice/cats")[1] == fake_kaggle.archive_bytes("alice/cats")
    assert fake_kaggle.dead_url() == f"http://127.0.0.1:{location.port}"


def test_separate_storage_host(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", {"a.csv": b"1"})
    storage = fake_kaggle.separate_storage()
    assert storage == fake_kaggle.storage_base_url != fake_kaggle.base_url
    url, body = download("alice/cats")
    assert url.startswith(f"{storage}/blobs/")
    assert body == make_zip({"a.csv": b"1"})
    assert [(r.endpoint, r.server) for r in fake_kaggle.requests] == [
        ("DownloadDataset", "api"),
        ("blob", "storage"),
    ]
    with requests.post(f"{storage}/api/v1/api.v1.DiagnosticsService/Hello", timeout=10) as r:
        assert r.status_code == 404  # the storage host serves blobs only
    fake_kaggle.reset()
    assert fake_kaggle.storage_base_url == fake_kaggle.base_url
