"""Blob serving of the fake Kaggle server: GCS headers, ranges, validators, drops, throttling."""

from __future__ import annotations

import base64
import hashlib
import http.client
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from kaggle_server import FakeKaggle, make_zip
from kaggle_server_http import CRC32C_MAX_BYTES, crc32c
from test_kaggle_server import blob_url

FILES = {"train.csv": b"a,b\n1,2\n", "images/cat.png": b"\x89PNG" + bytes(range(256)) * 40}

_KILLED_CLIENT = """
import os, signal, sys, time, requests
with requests.get(sys.argv[1], stream=True, timeout=10) as r:
    r.raw.read(50_000)
    time.sleep(0.3)  # unthrottled, the server has written everything and waits for a request
    print("reading", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_blob_ranges(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    data = fake_kaggle.archive_bytes("alice/cats")
    url = blob_url("alice/cats")
    with requests.get(url, headers={"Range": "bytes=10-"}, timeout=10) as r:
        assert r.status_code == 206
        assert r.content == data[10:]
        assert r.headers["Content-Range"] == f"bytes 10-{len(data) - 1}/{len(data)}"
    with requests.get(url, headers={"Range": "bytes=5-9"}, timeout=10) as r:
        assert (r.status_code, r.content) == (206, data[5:10])
    with requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10) as r:
        assert r.status_code == 416
        assert r.headers["Content-Range"] == f"bytes */{len(data)}"
    assert [r.range for r in fake_kaggle.requests[-3:]] == [
        "bytes=10-",
        "bytes=5-9",
        f"bytes={len(data)}-",
    ]


def test_if_range_match_and_mismatch(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    old = fake_kaggle.archive_bytes("alice/cats")
    url = blob_url("alice/cats")
    with requests.head(url, timeout=10) as r:
        etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
    for validator in (etag, modified):
        headers = {"Range": "bytes=100-", "If-Range": validator}
        with requests.get(url, headers=headers, timeout=10) as r:
            assert (r.status_code, r.content) == (206, old[100:])
    new = make_zip({"other.csv": b"changed" * 100})
    fake_kaggle.replace_archive("alice/cats", 1, new)
    assert blob_url("alice/cats") == url
    for validator in (etag, modified):
        headers = {"Range": "bytes=100-", "If-Range": validator}
        with requests.get(url, headers=headers, timeout=10) as r:
            assert (r.status_code, r.content) == (200, new)
            assert r.headers["ETag"] != etag
    with requests.get(
        url, headers={"Range": "bytes=100-", "If-Range": "W/" + etag}, timeout=10
    ) as r:
        assert r.status_code == 200  # a weak validator never matches


def test_head_sends_headers_only(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    size = len(fake_kaggle.archive_bytes("alice/cats"))
    with requests.head(blob_url("alice/cats"), timeout=10) as r:
        assert r.status_code == 200
        assert r.content == b""
        assert r.headers["Content-Length"] == str(size)
        assert r.headers["Accept-Ranges"] == "bytes"
        assert r.headers["Content-Type"] == "application/zip"
        assert r.headers["ETag"].startswith('"')


def test_drop_connection_truncates_then_resume_completes(fake_kaggle: FakeKaggle) -> None:
    data = bytes(range(256)) * 2000
    fake_kaggle.add_dataset("alice/big", archive=data)
    path = urlsplit(blob_url("alice/big"))
    fake_kaggle.drop_connection_after(100_000)
    conn = http.client.HTTPConnection("localhost", 7777, timeout=10)
    try:
        conn.request("GET", f"{path.path}?{path.query}")
        response = conn.getresponse()
        assert response.getheader("Content-Length") == str(len(data))
        etag = response.getheader("ETag")
        with pytest.raises(http.client.IncompleteRead) as err:
            response.read()
    finally:
        conn.close()
    got = err.value.partial
    assert got == data[:100_000]
    headers = {"Range": f"bytes={len(got)}-", "If-Range": str(etag)}
    with requests.get(path.geturl(), headers=headers, timeout=10) as r:
        assert r.status_code == 206
        assert got + r.content == data
    # `times` drops, then full bodies again.
    fake_kaggle.drop_connection_after(10, times=2)
    for _ in range(2):
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(path.geturl(), timeout=10)
    with requests.get(path.geturl(), timeout=10) as r:
        assert r.content == data


def test_throttle_slows_blob_bodies(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/big", archive=bytes(100_000))
    url = blob_url("alice/big")
    fake_kaggle.throttle_bytes_per_sec = 500_000
    began = time.monotonic()
    with requests.get(url, timeout=10) as r:
        assert len(r.content) == 100_000
    assert time.monotonic() - began >= 0.15


@pytest.mark.parametrize("throttle", [1_000_000, None])
def test_client_killed_mid_download_is_quiet(
    fake_kaggle: FakeKaggle, capfd: pytest.CaptureFixture[str], throttle: int | None
) -> None:
    # Two ways to die: mid-body (throttled), and after the server has written the whole body
    # into socket buffers and waits for the next request on the keep-alive connection.
    fake_kaggle.add_dataset("alice/big", archive=bytes(1_000_000))
    url = blob_url("alice/big")
    fake_kaggle.throttle_bytes_per_sec = throttle
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED_CLIENT, url], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "reading"
        assert proc.wait(timeout=10) == -signal.SIGKILL
    time.sleep(0.2)  # let the handler thread notice the reset
    fake_kaggle.throttle_bytes_per_sec = None
    with requests.get(url, timeout=10) as r:
        assert len(r.content) == 1_000_000
    assert capfd.readouterr().err == ""


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def test_blobs_carry_gcs_headers(fake_kaggle: FakeKaggle) -> None:
    from kagglehub.integrity import get_md5_checksum_from_response  # type: ignore[import-untyped]

    fake_kaggle.add_dataset("alice/cats", FILES)
    data = fake_kaggle.archive_bytes("alice/cats")
    url = blob_url("alice/cats")
    for method, headers in (("HEAD", {}), ("GET", {}), ("GET", {"Range": "bytes=7-"})):
        with requests.request(method, url, headers=headers, timeout=10) as r:
            assert r.headers["Accept-Ranges"] == "bytes"
            assert r.headers["ETag"].startswith('"')
            crc, md5 = r.headers["x-goog-hash"].split(",")
            assert md5 == f"md5={_md5_b64(data)}"  # the whole object's, also on a 206
            assert get_md5_checksum_from_response(r) == _md5_b64(data)  # as kagglehub reads it
            assert crc == "crc32c=" + base64.b64encode(crc32c(data).to_bytes(4, "big")).decode()
    big = bytes(CRC32C_MAX_BYTES + 1)
    fake_kaggle.add_dataset("alice/big", archive=big)
    with requests.head(blob_url("alice/big"), timeout=10) as r:
        assert r.headers["x-goog-hash"] == f"md5={_md5_b64(big)}"


def test_blob_urls_are_signed_and_any_query_serves(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES, zipped_files=["train.csv"])
    data = fake_kaggle.archive_bytes("alice/cats")
    for kwargs in ({}, {"fileName": "train.csv"}, {"fileName": "images/cat.png"}):
        query = urlsplit(blob_url("alice/cats", **kwargs)).query
        assert query.startswith("X-Goog-Expires=3600&X-Goog-Signature=")
    path = urlsplit(blob_url("alice/cats")).path
    for query in ("", "?X-Goog-Signature=forged", "?a=1&b=2"):
        with requests.get(f"{fake_kaggle.base_url}{path}{query}", timeout=10) as r:
            assert (r.status_code, r.content) == (200, data)
    assert [r.query for r in fake_kaggle.requests if r.endpoint == "blob"] == [
        "",
        "X-Goog-Signature=forged",
        "a=1&b=2",
    ]


def test_no_ranges_ignores_range(fake_kaggle: FakeKaggle) -> None:
    fake_kaggle.add_dataset("alice/cats", FILES)
    data = fake_kaggle.archive_bytes("alice/cats")
    url = blob_url("alice/cats")
    fake_kaggle.no_ranges()
    assert not fake_kaggle.ranges_enabled
    with requests.get(url, headers={"Range": "bytes=10-"}, timeout=10) as r:
        assert (r.status_code, r.content) == (200, data)
        assert "Accept-Ranges" not in r.headers
        assert "Content-Range" not in r.headers
    fake_kaggle.reset()
    assert fake_kaggle.ranges_enabled


def test_throttle_is_per_connection(fake_kaggle: FakeKaggle) -> None:
    # Two parallel halves at 500 kB/s each take ~0.3 s together; a shared budget would take 0.6 s.
    fake_kaggle.add_dataset("alice/big", archive=bytes(300_000))
    url = blob_url("alice/big")
    fake_kaggle.throttle_bytes_per_sec = 500_000

    def part(first: int) -> float:
        began = time.monotonic()
        headers = {"Range": f"bytes={first}-{first + 149_999}"}
        with requests.get(url, headers=headers, timeout=10) as r:
            assert len(r.content) == 150_000
        return time.monotonic() - began

    began = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        each = list(pool.map(part, (0, 150_000)))
    assert min(each) >= 0.25  # each connection is throttled...
    assert time.monotonic() - began < 0.5  # ...on its own
