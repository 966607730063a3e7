"""What arrives is verified: the storage's MD5 (x-goog-hash), Content-Range and declared
lengths. A short body, a bad MD5 or a resume spliced from two objects under one ETag is
downloaded again from zero once, then is a CorruptDownloadError; never kept as complete."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from kaggle_server import FakeKaggle, make_zip
from test_kaggle_server import blob_url

import kagman
from kagman import CorruptArchiveError, CorruptDownloadError, NetworkError, ServerError
from kagman.remote.transfer import download_to

TABLE = b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(40_000))  # ~500 KB


def cache_root() -> Path:
    return Path(os.environ["KAGMAN_CACHE"])


def blobs(kaggle: FakeKaggle) -> list[tuple[str | None, int]]:
    return [(r.range, r.status) for r in kaggle.requests if r.endpoint == "blob"]


def incomplete(ref: str) -> list[str]:
    folder = cache_root() / "datasets" / ref / ".incomplete"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_short_body_is_caught_by_the_md5_and_downloaded_again(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/tables", {"t.csv": TABLE})
    kaggle.short_body(1000)  # Content-Length: 1000, 1,000 bytes, a clean end
    path = kagman.pull("owner/tables", file="t.csv")
    assert path.read_bytes() == TABLE
    assert blobs(kaggle) == [(None, 200), (None, 200)]  # the second from zero, not resumed
    assert incomplete("owner/tables") == []


@pytest.mark.parametrize("fault", ["short_body", "bad_md5"])
@pytest.mark.parametrize("file", [None, "t.csv"], ids=["archive", "single-file"])
def test_twice_wrong_is_a_corrupt_download(
    kaggle: FakeKaggle, fault: str, file: str | None
) -> None:
    kaggle.add_dataset("owner/tables", {"t.csv": TABLE})
    if fault == "short_body":
        kaggle.short_body(1000, times=2)
    else:
        kaggle.bad_md5(times=2)
    with pytest.raises(CorruptDownloadError, match="did not match the MD5") as info:
        kagman.pull("owner/tables", file=file)
    assert isinstance(info.value, CorruptArchiveError)
    assert info.value.exit_code == 7
    assert "localhost:7777" in str(info.value)  # names the storage host
    assert incomplete("owner/tables") == []  # the bad bytes were not kept
    assert not list((cache_root() / "datasets/owner/tables").glob("*/1*.manifest.json"))
    assert kagman.pull("owner/tables", file=file).exists()  # and the next pull works


def test_a_bad_md5_once_on_an_archive_is_downloaded_again(kaggle: FakeKaggle) -> None:
    files = {"a.bin": os.urandom(300_000)}
    kaggle.add_dataset("owner/data", files)
    kaggle.bad_md5()
    path = kagman.pull("owner/data")
    assert (path / "a.bin").read_bytes() == files["a.bin"]
    assert blobs(kaggle) == [(None, 200), (None, 200)]


def leave_a_partial(kaggle: FakeKaggle, nbytes: int, file: str | None) -> None:
    kaggle.drop_connection_after(nbytes)
    os.environ["KAGMAN_RETRIES"] = "0"
    try:
        with pytest.raises(NetworkError, match="resumes"):
            kagman.pull("owner/data/versions/1", file=file)
    finally:
        del os.environ["KAGMAN_RETRIES"]


@pytest.mark.parametrize("file", [None, "t.csv"], ids=["archive", "single-file"])
def test_a_resume_under_the_same_etag_is_never_spliced(
    kaggle: FakeKaggle, file: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    old, new = os.urandom(400_000), os.urandom(400_000)
    kaggle.add_dataset("owner/data", {"t.csv": old})
    target = blob_url("owner/data", fileName=file) if file else "owner/data"
    new_blob = new if file else make_zip({"t.csv": new})
    # The object changes, keeping its ETag and Last-Modified, once the first download has
    # sent its (old) headers; that download drops after 150,000 old bytes. If-Range would
    # match on resume: only the MD5 (x-goog-hash) shows the rest is another object's.
    kaggle.splice_same_etag(target, 1, new_blob)
    leave_a_partial(kaggle, 150_000, file)
    with caplog.at_level("INFO", logger="kagman"):
        path = kagman.pull("owner/data/versions/1", file=file)
    got = path.read_bytes() if file else (path / "t.csv").read_bytes()
    assert got == new
    assert incomplete("owner/data") == []
    assert all(rng is None for rng, _ in blobs(kaggle))  # never resumed across the change
    # caught before a byte was appended, not after a wasted download
    assert "changed under the same ETag" in caplog.text
    assert "did not match its MD5" not in caplog.text


def test_a_dropped_download_resumes_and_is_verified(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/tables", {"t.csv": TABLE})
    kaggle.drop_connection_after(200_000)
    assert kagman.pull("owner/tables", file="t.csv").read_bytes() == TABLE
    assert blobs(kaggle)[-1] == ("bytes=200000-", 206)


AUDIT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    part = Path(sys.argv[1])
    reads = []
    def hook(event, args):
        if event == "open" and args[0] in (str(part), part) and args[1] in ("r", "rb"):
            reads.append(args[1])
    sys.addaudithook(hook)
    from kagman.remote import datasets
    from kagman.remote.refs import parse_ref
    from kagman.remote.transfer import download_to
    ref = parse_ref("owner/tables/versions/1")
    try:
        result = download_to(part, lambda: datasets.open_download(ref, file="t.csv"))
        print(f"done {result.size} reads={len(reads)}")
    except Exception as err:
        print(f"failed {type(err).__name__} reads={len(reads)}")
    """
)


def test_md5_is_computed_while_writing_with_no_second_read(
    kaggle: FakeKaggle, tmp_path: Path
) -> None:
    """In one process the hash follows the writes, across a resume; a new process resuming
    another's partial file reads that prefix once (as kagglehub does), never the whole."""
    kaggle.add_dataset("owner/tables", {"t.csv": TABLE})
    part = tmp_path / "t.part"
    env = {**os.environ, "KAGMAN_RETRIES": "3"}

    def run(retries: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", AUDIT, str(part)],
            capture_output=True,
            text=True,
            env={**env, "KAGMAN_RETRIES": retries},
            check=True,
            timeout=60,
        )
        return proc.stdout.strip()

    kaggle.drop_connection_after(100_000)  # resumed within the same process
    assert run("3") == f"done {len(TABLE)} reads=0"
    part.unlink()
    kaggle.drop_connection_after(100_000)  # this process gives up; the next one resumes
    assert run("0") == "failed NetworkError reads=0"
    assert part.stat().st_size == 100_000
    assert run("0") == f"done {len(TABLE)} reads=1"
    assert blobs(kaggle)[-1] == ("bytes=100000-", 206)


# --- answers that break their own declarations, from a server written for the purpose -----


class _Liar(BaseHTTPRequestHandler):
    """A blob with ETag and x-goog-hash; what its ranged answers do is ``server.script``."""

    protocol_version = "HTTP/1.1"
    server: _LiarServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        data, server = self.server.data, self.server
        rng = self.headers.get("Range")
        server.log.append(rng)
        lie = server.script.pop(0) if rng is not None and server.script else "honest"
        hashed = data + b"other object" if lie == "other-md5" else data
        md5 = base64.b64encode(hashlib.md5(hashed, usedforsecurity=False).digest()).decode()
        self.send_response(200 if rng is None else 206)
        self.send_header("ETag", '"v1"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("x-goog-hash", f"md5={md5}")
        if rng is None:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            limit = server.first_drop if server.first_drop else len(data)
            server.first_drop = 0
            self.wfile.write(data[:limit])
            if limit < len(data):
                self.close_connection = True
            return
        start = int(rng.removeprefix("bytes=").rstrip("-"))
        body = data[start:]
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if lie == "overrun":  # chunked, and more bytes than the Content-Range declares
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            extra = body + b"EXTRA" * 1000
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(extra), extra))
            return
        length = len(body) - 7 if lie == "length" else len(body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body[:length])


class _LiarServer(ThreadingHTTPServer):
    daemon_threads = True
    data = b""
    first_drop = 0
    script: list[str]
    log: list[str | None]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closes a kept-alive connection is no error of the server's."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@pytest.fixture
def liar() -> Iterator[_LiarServer]:
    server = _LiarServer(("127.0.0.1", 0), _Liar)
    server.data = os.urandom(300_000)
    server.script, server.log = [], []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("lie", ["overrun", "length"])
def test_a_body_longer_or_shorter_than_declared_is_never_kept(
    liar: _LiarServer, tmp_path: Path, lie: str
) -> None:
    url = f"http://127.0.0.1:{liar.server_address[1]}/blob"
    part = tmp_path / "blob.part"
    liar.first_drop = 100_000
    liar.script = [lie]
    result = download_to(part, lambda: requests.get(url, stream=True, timeout=10))
    assert part.read_bytes() == liar.data
    assert result.size == len(liar.data)
    # the bad answer was refused (and its bytes cut off): the retry asked from the same byte
    assert liar.log == [None, None, "bytes=100000-", None, "bytes=100000-"]


def test_a_server_that_keeps_lying_is_a_server_error_and_keeps_the_good_prefix(
    liar: _LiarServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGMAN_RETRIES", "2")
    url = f"http://127.0.0.1:{liar.server_address[1]}/blob"
    part = tmp_path / "blob.part"
    liar.first_drop = 100_000
    liar.script = ["overrun"] * 10
    with pytest.raises(ServerError, match="runs past") as info:
        download_to(part, lambda: requests.get(url, stream=True, timeout=10))
    assert "127.0.0.1" in str(info.value)
    assert part.read_bytes() == liar.data[:100_000]  # the good prefix, nothing of the lies


def test_a_206_of_another_object_under_the_same_etag_is_never_written(
    liar: _LiarServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{liar.server_address[1]}/blob"
    part = tmp_path / "blob.part"
    liar.first_drop = 100_000
    liar.script = ["other-md5"]  # the 206 says it is part of an object with another MD5
    with caplog.at_level("INFO", logger="kagman"):
        download_to(part, lambda: requests.get(url, stream=True, timeout=10))
    assert part.read_bytes() == liar.data
    assert liar.log == [None, None, "bytes=100000-", None]  # refused, then from zero
    assert "changed under the same ETag" in caplog.text
