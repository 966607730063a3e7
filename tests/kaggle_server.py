"""A local fake Kaggle server that speaks the wire protocol of the real ``kagglesdk`` client.

The real client, with ``KAGGLE_API_ENVIRONMENT=TEST``, POSTs JSON to
``http://localhost:7777/api/v1/<service>/<Method>``; ``DownloadDataset`` answers with a 302
to a blob URL on this same server, like the signed GCS URLs Kaggle hands out. Blobs support
``Range``/``If-Range`` so resumable downloads can be tested, and faults (error statuses,
dropped connections, throttling) can be injected.

The code is split by idea: ``kaggle_server_api`` (Kaggle's state and RPC semantics),
``kaggle_server_http`` (the wire: routing, blobs, faults) and this module (the public
``FakeKaggle`` API, lifecycle, pytest fixtures and the command line).

Only one process at a time can own a port, so ``start()`` takes an advisory lock file
(``<tmp>/kagman-fake-kaggle-<port>.lock``); concurrent pytest sessions wait for each other
instead of failing on ``EADDRINUSE``.

Run standalone for benchmarks::

    python tests/kaggle_server.py --port 7777 --dataset owner/slug=/path/to/archive.zip
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kaggle_server_api import TEST_KEY, TEST_TOKEN, TEST_USERNAME, FakeCatalog, make_zip
from kaggle_server_http import Blob, FakeHTTPServer, Fault, RecordedRequest

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


class FakeKaggle:
    """The fake server: Kaggle's state (``FakeCatalog``), fault injection and a request log."""

    def __init__(self, port: int = 7777, *, lock_timeout: float = 300.0) -> None:
        self.port = port
        self.lock_timeout = lock_timeout
        self.throttle_bytes_per_sec: int | None = None
        self.requests: list[RecordedRequest] = []
        self._lock = threading.RLock()
        self._servers: list[FakeHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self._lock_fd: int | None = None
        self.reset()

    @property
    def base_url(self) -> str:
        """The endpoint kagglesdk derives from ``KAGGLE_API_ENVIRONMENT`` (TEST or LOCALHOST)."""
        return "http://localhost" if self.port == 80 else f"http://localhost:{self.port}"

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
        self._catalog.base_url = self.base_url
        if socket.has_ipv6:
            with contextlib.suppress(OSError):
                self._servers.append(FakeHTTPServer(("::1", self.port), self, socket.AF_INET6))
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop listening and free the port (idempotent)."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []
        self._release_port_lock()

    def reset(self) -> None:
        """Forget datasets, faults and the log; keep only the default user and token."""
        with self._lock:
            self._catalog = FakeCatalog(self.base_url)
            self._faults: list[Fault] = []
            self._drops: list[int] = []
            self.requests.clear()
            self.throttle_bytes_per_sec = None

    def _acquire_port_lock(self) -> None:
        path = Path(tempfile.gettempdir()) / f"kagman-fake-kaggle-{self.port}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    holder = os.pread(fd, 500, 0).decode(errors="replace").strip()
                    os.close(fd)
                    msg = (
                        f"port {self.port} is held by another fake Kaggle server ({holder}) for "
                        f"more than {self.lock_timeout:.0f} s; stop it or wait and retry"
                    )
                    raise RuntimeError(msg) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {' '.join(sys.argv)[:400]}".encode(), 0)
        self._lock_fd = fd

    def _release_port_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    # -- state ------------------------------------------------------------------------------

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
        ``<name>.zip`` when downloaded one by one, as Kaggle does for large files.
        """
        return self._catalog.add_dataset(
            ref, files, archive, private=private, terms=terms, zipped_files=zipped_files
        )

    def replace_archive(self, ref: str, version: int, archive: bytes) -> None:
        """Serve new bytes (and so a new ETag and Last-Modified) at the same archive URL."""
        self._catalog.replace_archive(ref, version, archive)

    def archive_bytes(self, ref: str, version: int | None = None) -> bytes:
        """Return what a whole-dataset download of ``ref`` (current version by default) gets."""
        return self._catalog.archive_bytes(ref, version)

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
        with self._lock:
            self._faults.append(Fault(status, times, endpoint, retry_after))

    def drop_connection_after(self, nbytes: int, *, times: int = 1) -> None:
        """Close the socket after ``nbytes`` of the next ``times`` blob GET bodies.

        The headers still promise the full Content-Length, as when a network drops mid-way.
        """
        with self._lock:
            self._drops.extend([nbytes] * times)

    def count(self, endpoint: str | None = None) -> int:
        """Count answered requests, all or those to one endpoint ("GetDataset", "blob", ...)."""
        with self._lock:
            return sum(1 for r in self.requests if endpoint is None or r.endpoint == endpoint)

    # -- the kaggle_server_http.Backend protocol (called from handler threads) --------------

    def _authenticate(self, header: str | None) -> str | None:
        return self._catalog.authenticate(header)

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.endpoint in ("*", endpoint):
                    fault.times -= 1
                    return fault
        return None

    def _take_drop(self) -> int | None:
        with self._lock:
            return self._drops.pop(0) if self._drops else None

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def _blob(self, path: str) -> Blob | None:
        return self._catalog.blob(path)

    def _call(self, rpc: str, user: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._catalog.call(rpc, user, body)


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
    """Like ``fake_kaggle`` but on port 80 with ``KAGGLE_API_ENVIRONMENT=LOCALHOST``."""
    try:
        server = _shared_server(80)
    except OSError as err:
        pytest.skip(f"cannot listen on localhost:80: {err}")
    server.reset()
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    yield server
    server.reset()


def main(argv: list[str] | None = None) -> int:
    """Serve datasets from zip files until SIGTERM (for benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7777)
    parser.add_argument("--dataset", action="append", default=[], metavar="OWNER/SLUG=ARCHIVE.zip")
    args = parser.parse_args(argv)
    server = FakeKaggle(args.port)
    for spec in args.dataset:
        ref, sep, archive = spec.partition("=")
        if not sep:
            parser.error(f"--dataset wants OWNER/SLUG=PATH, got {spec!r}")
        server.add_dataset(ref, archive=Path(archive).read_bytes())
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
