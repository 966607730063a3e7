"""A local fake Kaggle server that speaks the wire protocol of the real ``kagglesdk`` client.

The real client, with ``KAGGLE_API_ENVIRONMENT=TEST``, POSTs JSON to
``http://localhost:7777/api/v1/<service>/<Method>``; download RPCs answer 302 to a signed-looking
blob URL on this server (or on a storage-only listener, see ``separate_storage``), like the GCS
URLs Kaggle hands out. Blobs carry GCS headers and support ``Range``/``If-Range``; storage and
API faults can be queued. Split by idea: ``kaggle_server_api`` (users, datasets, blobs,
listings), ``kaggle_server_competitions`` (competitions, rules, the admin route),
``kaggle_server_http`` (the wire: routing, blobs, faults, the port lock) and this module (the
public ``FakeKaggle`` API, pytest fixtures and the command line).

Run standalone for benchmarks::

    python tests/kaggle_server.py --port 7777 --dataset owner/slug=/path/to/archive.zip \
        --competition titanic=/path/to/titanic.zip
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from kaggle_server_api import (
    TEST_KEY,
    TEST_TOKEN,
    TEST_USERNAME,
    BlobStore,
    FakeCatalog,
    make_zip,
)
from kaggle_server_competitions import CompetitionStore, FakeCompetitions
from kaggle_server_http import (
    Blob,
    FakeHTTPServer,
    Fault,
    FaultQueues,
    RecordedRequest,
    lock_port,
)

__all__ = [
    "TEST_KEY",
    "TEST_TOKEN",
    "TEST_USERNAME",
    "FakeKaggle",
    "RecordedRequest",
    "fake_kaggle",
    "fake_kaggle_localhost",
    "make_zip",
]


class FakeKaggle(FakeCompetitions):
    """The fake server: Kaggle's state, fault injection and a request log.

    ``throttle_bytes_per_sec`` paces every blob answer on its own (so per connection: N
    parallel ranged GETs get N times the rate); ``blob_latency`` seconds pass before each
    blob answer's headers (a round trip to a distant storage), ``connect_latency`` before a
    new connection is served (its TCP and TLS handshakes). ``ranges_enabled = False`` (or
    ``no_ranges()``) makes blobs ignore ``Range`` and drop ``Accept-Ranges``. ``page_size``
    bounds every listing page whatever the client asks. ``reset()`` restores all of these.
    """

    def __init__(self, port: int = 7777, *, lock_timeout: float = 300.0) -> None:
        self.port = port
        self.lock_timeout = lock_timeout
        self.throttle_bytes_per_sec: int | None = None
        self.blob_latency = self.connect_latency = 0.0
        self.ranges_enabled = True
        self.requests: list[RecordedRequest] = []
        self._lock = threading.RLock()
        self._servers: list[FakeHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self._lock_fd: int | None = None
        self._storage: FakeHTTPServer | None = None
        self._dead: socket.socket | None = None
        self.reset()

    @property
    def base_url(self) -> str:
        """The endpoint kagglesdk derives from ``KAGGLE_API_ENVIRONMENT`` (TEST or LOCALHOST)."""
        return "http://localhost" if self.port == 80 else f"http://localhost:{self.port}"

    @property
    def storage_base_url(self) -> str:
        """Where download redirects point: ``base_url``, or the storage listener."""
        if self._storage_separate and self._storage is not None:
            return f"http://127.0.0.1:{self._storage.server_address[1]}"
        return self.base_url

    @property
    def page_size(self) -> int | None:
        """At most this many entries per listing page (None: what the client asks, <= 1000)."""
        return self._catalog.page_size

    @page_size.setter
    def page_size(self, size: int | None) -> None:
        self._catalog.page_size = self._competitions.page_size = size

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on 127.0.0.1 (and ::1 when available), loopback only."""
        if self._servers:
            return
        if self.port:
            self._acquire_port_lock()
        try:
            self._servers.append(FakeHTTPServer(("127.0.0.1", self.port), self, socket.AF_INET))
        except OSError:
            self._release_port_lock()
            raise
        self.port = self._servers[0].server_address[1]
        self._catalog.base_url = self._competitions.base_url = self.base_url
        if socket.has_ipv6:
            with contextlib.suppress(OSError):
                self._servers.append(FakeHTTPServer(("::1", self.port), self, socket.AF_INET6))
        for server in self._servers:
            self._serve(server)

    def _serve(self, server: FakeHTTPServer) -> None:
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop listening and free the port (idempotent)."""
        for server in [*self._servers, *([self._storage] if self._storage else [])]:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._dead is not None:
            self._dead.close()
        self._servers, self._threads, self._storage, self._dead = [], [], None, None
        self._release_port_lock()

    def reset(self) -> None:
        """Forget datasets, competitions, faults, settings and the log; keep the default user."""
        with self._lock:
            self._blobs = BlobStore()
            self._catalog = FakeCatalog(self.base_url, self._blobs)
            self._competitions = CompetitionStore(self.base_url, self._blobs)
            self._faults = FaultQueues()
            self._storage_separate = False
            self.requests.clear()
            self.throttle_bytes_per_sec = None
            self.blob_latency = self.connect_latency = 0.0
            self.ranges_enabled = True

    def _acquire_port_lock(self) -> None:
        self._lock_fd = lock_port(self.port, self.lock_timeout)

    def _release_port_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    # -- users and datasets -----------------------------------------------------------------

    def add_user(self, username: str, key: str) -> None:
        """Accept HTTP Basic ``username:key``."""
        self._catalog.add_user(username, key)

    def add_token(self, token: str, username: str) -> None:
        """Accept ``Authorization: Bearer <token>`` as ``username``."""
        self._catalog.add_token(token, username)

    def add_dataset(
        self,
        ref: str,
        files: dict[str, bytes] | None = None,
        *,
        archive: bytes | None = None,
        private: bool = False,
        terms: bool = False,
        zipped_files: Iterable[str] = (),
    ) -> int:
        """Add a new version of ``ref`` ("owner/slug") and return its number (1, 2, ...).

        ``archive`` is served as the whole-dataset download instead of a zip built from
        ``files`` (for corrupt or malicious zips); without ``files`` the listing comes from the
        archive's directory. ``private``/``terms`` apply to the whole dataset (last call wins);
        ``terms`` makes DownloadDataset answer 403. ``zipped_files`` are served as
        ``<name>.zip`` when downloaded one by one, as Kaggle does for large files. Names may
        hold folders ("images/cat.png"); ListTreeDatasetFiles shows them as a tree.
        """
        return self._catalog.add_dataset(
            ref, files, archive, private=private, terms=terms, zipped_files=zipped_files
        )

    def replace_archive(self, ref: str, version: int, archive: bytes) -> None:
        """Serve new bytes (and so a new ETag and Last-Modified) at the same archive URL."""
        self._catalog.replace_archive(ref, version, archive)

    def archive_bytes(self, ref: str, version: int | None = None) -> bytes:
        """What a whole download of ``ref`` gets: "owner/slug" (current version by default)
        or a competition slug."""
        blob = self._blobs.get(self._blob_path(ref, version))
        assert blob is not None
        return blob.data

    # -- faults -----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        endpoint: str = "*",
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``endpoint`` with ``status``.

        ``endpoint`` is an RPC method name ("GetDataset", "DownloadDataset", "Hello", ...),
        "blob" or "*". Faults apply before authentication and queue in call order.
        """
        with self._faults.lock:
            self._faults.statuses.append(Fault(status, times, endpoint, retry_after))

    def drop_connection_after(self, nbytes: int, *, times: int = 1) -> None:
        """Close the socket after ``nbytes`` of the next ``times`` blob GET bodies (200 or 206).

        The headers still promise the full Content-Length, as when a network drops mid-way.
        """
        with self._faults.lock:
            self._faults.drops.extend([nbytes] * times)

    def drop_range_after(
        self, nbytes: int, *, times: int = 1, range_start: int | None = None
    ) -> None:
        """Like ``drop_connection_after`` but only for ranged (206) answers, and only those
        starting at ``range_start`` when given: one part of a parallel download dies."""
        with self._faults.lock:
            self._faults.range_drops.extend([(nbytes, range_start)] * times)

    def short_body(self, nbytes: int, *, times: int = 1) -> None:
        """The next ``times`` blob GETs send ``Content-Length: nbytes`` and only ``nbytes``
        bytes, then end cleanly (a server that sends part of a file and says that is all)."""
        with self._faults.lock:
            self._faults.shorts.extend([nbytes] * times)

    def bad_md5(self, *, times: int = 1) -> None:
        """The next ``times`` blob GETs advertise a wrong md5 in ``x-goog-hash``."""
        self._faults.add("bad_md5", times)

    def wrong_content_range(self, *, times: int = 1) -> None:
        """The next ``times`` 206 answers start at byte 0 whatever was asked: a request for
        ``bytes=N-M`` gets ``Content-Range: bytes 0-(M-N)/size`` and those bytes."""
        self._faults.add("wrong_range", times)

    def swap_blob_after_headers(self, target: str, version: int | None, data: bytes) -> None:
        """As the next GET of ``target`` sends its headers, replace the object behind the same
        URL with ``data`` (new ETag, newer Last-Modified); that answer still sends the old
        headers and bytes, so a client that resumes gets the changed object.

        ``target``: "owner/slug" (the archive of ``version``, current if None), a competition
        slug (its current archive), or a blob URL or path.
        """
        self._queue_swap(target, version, data, same_etag=False)

    def splice_same_etag(self, target: str, version: int | None, data: bytes) -> None:
        """Like ``swap_blob_after_headers`` but ETag and Last-Modified stay the same, so an
        If-Range resume matches and splices two objects; only an md5 check catches it."""
        self._queue_swap(target, version, data, same_etag=True)

    def no_ranges(self) -> None:
        """Blobs ignore ``Range`` (always 200 and the whole body) and omit Accept-Ranges."""
        self.ranges_enabled = False

    def storage_unreachable(self, *, times: int = 1) -> None:
        """The next ``times`` download redirects point to ``http://127.0.0.1:<port>``, a port
        that refuses connections, so clients can tell the API host from the storage host."""
        self._faults.add("unreachable", times)

    def separate_storage(self) -> str:
        """Serve blobs (for redirects) from a storage-only listener on ``127.0.0.1:<other
        port>`` until ``reset()``; return its base URL (also ``storage_base_url``)."""
        with self._lock:
            if self._storage is None:
                self._storage = FakeHTTPServer(("127.0.0.1", 0), self, socket.AF_INET, "storage")
                self._serve(self._storage)
            self._storage_separate = True
        return self.storage_base_url

    def dead_url(self) -> str:
        """``http://127.0.0.1:<port>`` where nothing listens (a bound, never listening socket)."""
        with self._lock:
            if self._dead is None:
                self._dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self._dead.bind(("127.0.0.1", 0))
            return f"http://127.0.0.1:{self._dead.getsockname()[1]}"

    def _queue_swap(
        self, target: str, version: int | None, data: bytes, *, same_etag: bool
    ) -> None:
        path = self._blob_path(target, version)
        old = self._blobs.get(path)
        if old is None:
            raise KeyError(path)
        if same_etag:
            new = Blob(data, old.content_type, old.last_modified, old.etag)
        else:
            new = Blob(data, old.content_type, self._blobs.tick())
        with self._faults.lock:
            self._faults.swaps[path] = new

    def _blob_path(self, target: str, version: int | None) -> str:
        if target.startswith(("http://", "https://")):
            return unquote(urlsplit(target).path)
        if target.startswith("/blobs/"):
            return target
        if "/" in target:
            return self._catalog.archive_path(target, version)
        return self._competitions.archive_path(target)

    def count(self, endpoint: str | None = None) -> int:
        """Count answered requests, all or those to one endpoint ("GetDataset", "blob", ...)."""
        with self._lock:
            return sum(1 for r in self.requests if endpoint is None or r.endpoint == endpoint)

    # -- the kaggle_server_http.Backend protocol (called from handler threads) --------------

    def _authenticate(self, header: str | None) -> str | None:
        return self._catalog.authenticate(header)

    def _blob_answer_started(self, path: str) -> None:
        new = self._faults.take_swap(path)
        if new is not None:
            self._blobs.set(path, new)

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def _blob(self, path: str) -> Blob | None:
        return self._blobs.get(path)

    def _call(self, rpc: str, user: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if rpc.startswith("/admin/"):
            return self._competitions.admin(rpc, user or TEST_USERNAME, body)
        if rpc.startswith("competitions."):
            status, reply = self._competitions.call(rpc, user, body)
        else:
            status, reply = self._catalog.call(rpc, user, body)
        if status == 302:
            dead = self._faults.take("unreachable")
            reply = {"url": (self.dead_url() if dead else self.storage_base_url) + reply["url"]}
        return status, reply


# -- pytest fixtures --------------------------------------------------------------------------

_SHARED: dict[int, FakeKaggle] = {}


def _shared_server(port: int) -> FakeKaggle:
    """Start one server per port for the whole session; the fixtures reset it per test."""
    server = _SHARED.get(port)
    if server is None:
        server = FakeKaggle(port)
        server.start()
        atexit.register(server.stop)
        _SHARED[port] = server
    return server


@pytest.fixture
def fake_kaggle(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKaggle]:
    """A clean fake Kaggle on localhost:7777, ``KAGGLE_API_ENVIRONMENT=TEST``, no credentials."""
    server = _shared_server(7777)
    server.reset()
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "TEST")
    yield server
    server.reset()


@pytest.fixture
def fake_kaggle_localhost(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKaggle]:
    """Like ``fake_kaggle`` but on port 80 with ``KAGGLE_API_ENVIRONMENT=LOCALHOST`` (the only
    non-production endpoint the kaggle CLI honours)."""
    try:
        server = _shared_server(80)
    except OSError as err:
        pytest.skip(f"cannot listen on localhost:80: {err}")
    server.reset()
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    yield server
    server.reset()


def _specs(
    parser: argparse.ArgumentParser, specs: list[str], what: str
) -> Iterator[tuple[str, bytes]]:
    for spec in specs:
        name, sep, archive = spec.partition("=")
        if not sep:
            parser.error(f"--{what} wants NAME=PATH, got {spec!r}")
        yield name, Path(archive).read_bytes()


def main(argv: list[str] | None = None) -> int:
    """Serve datasets and competitions from zip files until SIGTERM (for benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7777)
    parser.add_argument("--dataset", action="append", default=[], metavar="OWNER/SLUG=ARCHIVE.zip")
    parser.add_argument("--competition", action="append", default=[], metavar="SLUG=ARCHIVE.zip")
    parser.add_argument(
        "--throttle", type=float, default=0, metavar="MB/S", help="pace each connection (0: no)"
    )
    args = parser.parse_args(argv)
    server = FakeKaggle(args.port)
    server.throttle_bytes_per_sec = int(args.throttle * 1e6) or None
    for ref, data in _specs(parser, args.dataset, "dataset"):
        server.add_dataset(ref, archive=data)
    for slug, data in _specs(parser, args.competition, "competition"):
        server.add_competition(slug, archive=data)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    server.start()
    print("ready", flush=True)
    stopping.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
