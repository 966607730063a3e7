"""The HTTP layer of the fake Kaggle server: RPC dispatch, blobs with Range/If-Range, faults.

``kaggle_server.FakeKaggle`` owns the state; this module only turns HTTP requests into calls
on it (see ``Backend``) and writes the answers the way Kaggle and Google Cloud Storage do.

Blob answers look like GCS objects: ``ETag``, ``Last-Modified``, ``Accept-Ranges: bytes`` and
``x-goog-hash: crc32c=<b64>,md5=<b64>`` (hashes of the whole object, also on 206 answers;
crc32c is left out above ``CRC32C_MAX_BYTES`` because it is computed in pure Python). The
query string of a blob URL (the ``X-Goog-*`` signature) is ignored: any query serves the blob.

Throttling is per response, and so per connection: each blob answer is paced on its own, so N
parallel connections get N times ``throttle_bytes_per_sec`` in total, like a CDN that limits
each TCP stream rather than each client.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import fcntl
import functools
import hashlib
import json
import os
import socket
import socketserver
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

CHUNK_SIZE = 64 * 1024
CRC32C_MAX_BYTES = 2 << 20
UNSATISFIABLE = (-1, -1)


@dataclass
class RecordedRequest:
    """One request the server answered, for assertions such as "a cache hit made no calls"."""

    method: str
    path: str
    endpoint: str  # RPC method name ("GetDataset"), "blob", "admin" or "other"
    status: int
    range: str | None  # the Range header as sent
    user: str | None  # the authenticated user, if the credentials were valid
    query: str = ""  # the raw query string (blob URLs carry X-Goog-Expires/X-Goog-Signature)
    server: str = "api"  # "api", or "storage" for the separate storage listener


def _crc32c_entry(crc: int) -> int:
    for _ in range(8):
        crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc


_CRC32C_TABLE = [_crc32c_entry(byte) for byte in range(256)]


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum GCS puts in ``x-goog-hash``.

    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
    """
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


@dataclass
class Blob:
    """One stored object. ``etag`` defaults to a digest of the data; pass one to keep it."""

    data: bytes
    content_type: str
    last_modified: int  # epoch seconds
    etag: str = ""
    md5: str = field(init=False)  # base64 of the MD5 digest, as in x-goog-hash

    def __post_init__(self) -> None:
        if not self.etag:
            self.etag = f'"{hashlib.sha256(self.data).hexdigest()[:32]}"'
        self.md5 = base64.b64encode(hashlib.md5(self.data, usedforsecurity=False).digest()).decode()

    @functools.cached_property
    def crc32c(self) -> str | None:
        if len(self.data) > CRC32C_MAX_BYTES:
            return None
        return base64.b64encode(crc32c(self.data).to_bytes(4, "big")).decode()

    def goog_hash(self, *, bad_md5: bool = False) -> str:
        """The ``x-goog-hash`` value; ``bad_md5`` advertises the MD5 of other bytes."""
        md5 = self.md5
        if bad_md5:
            md5 = base64.b64encode(
                hashlib.md5(b"not " + self.data, usedforsecurity=False).digest()
            ).decode()
        return f"crc32c={self.crc32c},md5={md5}" if self.crc32c else f"md5={md5}"


@dataclass
class Fault:
    status: int
    times: int
    endpoint: str
    retry_after: float | None


@dataclass
class BodyFaults:
    """What one blob body suffers (see ``FaultQueues.take_body``)."""

    drop: int | None = None  # close the socket after this many body bytes
    short: int | None = None  # Content-Length and body cut to this many bytes, clean end
    bad_md5: bool = False
    wrong_range: bool = False  # a 206 that starts at 0 whatever was asked


class FaultQueues:
    """Faults queued by ``FakeKaggle``; each queued entry is consumed by one request."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # FakeKaggle queues under it too
        self.statuses: list[Fault] = []
        self.drops: list[int] = []
        self.range_drops: list[tuple[int, int | None]] = []  # (nbytes, only this start)
        self.shorts: list[int] = []
        self.counts = {"bad_md5": 0, "wrong_range": 0, "unreachable": 0}
        self.swaps: dict[str, Blob] = {}  # blob path -> what replaces it once a GET starts

    def take_status(self, endpoint: str) -> Fault | None:
        with self.lock:
            for fault in self.statuses:
                if fault.times > 0 and fault.endpoint in ("*", endpoint):
                    fault.times -= 1
                    return fault
        return None

    def take_body(self, *, ranged: bool, start: int) -> BodyFaults:
        """Faults for one blob GET with a body: a 200, or a 206 when ``ranged``."""
        faults = BodyFaults()
        with self.lock:
            if ranged:
                for i, (nbytes, only) in enumerate(self.range_drops):
                    if only is None or only == start:
                        faults.drop = nbytes
                        del self.range_drops[i]
                        break
                faults.wrong_range = self.take("wrong_range")
            if faults.drop is None and self.drops:
                faults.drop = self.drops.pop(0)
            if self.shorts:
                faults.short = self.shorts.pop(0)
            faults.bad_md5 = self.take("bad_md5")
        return faults

    def add(self, name: str, times: int) -> None:
        with self.lock:
            self.counts[name] += times

    def take(self, name: str) -> bool:
        """Consume one of the counted faults ("bad_md5", "wrong_range", "unreachable")."""
        with self.lock:
            if self.counts[name] > 0:
                self.counts[name] -= 1
                return True
        return False

    def take_swap(self, path: str) -> Blob | None:
        with self.lock:
            return self.swaps.pop(path, None)


class ApiError(Exception):
    """An error reply in Kaggle's JSON shape ``{"code": N, "message": "..."}``."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class Backend(Protocol):
    """What the handler needs from ``FakeKaggle`` (called from handler threads)."""

    throttle_bytes_per_sec: int | None
    blob_latency: float
    connect_latency: float
    ranges_enabled: bool
    _faults: FaultQueues

    def _authenticate(self, header: str | None) -> str | None: ...
    def _blob_answer_started(self, path: str) -> None: ...
    def _record(self, entry: RecordedRequest) -> None: ...
    def _blob(self, path: str) -> Blob | None: ...
    def _call(self, rpc: str, user: str | None, body: dict[str, Any]) -> tuple[int, Any]: ...


class FakeHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to one loopback address, serving one ``Backend``.

    ``role="storage"`` makes a storage-only listener: blobs, and 404 for everything else.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], fake: Backend, family: int, role: str = "api"
    ) -> None:
        self.address_family = family
        self.fake = fake
        self.role = role
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that can hang offline.
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        socketserver.TCPServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that vanish (killed, timed out); print real bugs as usual."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Kaggle's RPC routes (``POST /api/v1/<service>/<Method>``) and GCS-like ``/blobs/...``."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients would wait
    # ~40 ms for a delayed ACK on every request.
    disable_nagle_algorithm = True
    server: FakeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Stay quiet: the request log is ``FakeKaggle.requests``."""

    def setup(self) -> None:
        if self.server.fake.connect_latency:
            time.sleep(self.server.fake.connect_latency)  # the handshakes of a new connection
        super().setup()

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        path = unquote(url.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        rpc = path.removeprefix("/api/v1/")
        if path.startswith("/blobs/"):
            endpoint = "blob"
        elif path.startswith("/admin/"):
            endpoint = "admin"
        elif path.startswith("/api/v1/") and "/" in rpc:
            endpoint = rpc.rsplit("/", 1)[1]
        else:
            endpoint = "other"
        self._entry = RecordedRequest(
            self.command,
            path,
            endpoint,
            0,
            self.headers.get("Range"),
            fake._authenticate(self.headers.get("Authorization")),
            url.query,
            self.server.role,
        )
        try:
            if self.server.role == "storage" and endpoint != "blob":
                raise ApiError(404, f"No such object: {path}")
            fault = fake._faults.take_status(endpoint)
            if fault is not None:
                extra = {}
                if fault.retry_after is not None:
                    extra["Retry-After"] = f"{fault.retry_after:g}"
                raise ApiError(fault.status, f"Injected failure {fault.status}", extra)
            if endpoint == "blob":
                self._serve_blob(path)
                return
            if self.command != "POST":
                raise ApiError(405, f"{self.command} not allowed on {path}")
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise ApiError(400, "Request body is not valid JSON") from None
            body = body if isinstance(body, dict) else {}
            # An admin route goes by its path, an RPC as "<service>/<Method>".
            status, reply = fake._call(path if endpoint == "admin" else rpc, self._entry.user, body)
            if status == 302:
                self._send_head(302, {"Location": reply["url"], "Content-Length": "0"})
            else:
                self._send_json(status, reply)
        except ApiError as err:
            self._send_json(err.status, {"code": err.status, "message": err.message}, err.headers)
        except Exception as err:
            # A bug or a malformed field (e.g. a non-numeric version): answer like a server
            # error instead of dropping the connection, unless the reply has already started.
            if self._entry.status:
                raise
            self._send_json(500, {"code": 500, "message": f"{type(err).__name__}: {err}"})

    def _send_head(self, status: int, headers: Mapping[str, str]) -> None:
        self._entry.status = status
        self.server.fake._record(self._entry)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, status: int, body: Any, extra: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        self._send_head(status, {**headers, **(extra or {})})
        if self.command != "HEAD":
            self.wfile.write(data)

    def _serve_blob(self, path: str) -> None:
        if self.command not in ("GET", "HEAD"):
            raise ApiError(405, f"{self.command} not allowed on blobs")
        fake = self.server.fake
        blob = fake._blob(path)
        if blob is None:
            raise ApiError(404, f"No such blob: {path}")
        size = len(blob.data)
        headers = {
            "ETag": blob.etag,
            "Last-Modified": email.utils.formatdate(blob.last_modified, usegmt=True),
            "Content-Type": blob.content_type,
        }
        if fake.ranges_enabled:
            headers["Accept-Ranges"] = "bytes"
        wanted = parse_range(self.headers.get("Range"), size) if fake.ranges_enabled else None
        if wanted is not None and not if_range_matches(self.headers.get("If-Range"), blob):
            wanted = None
        if wanted == UNSATISFIABLE:
            headers["x-goog-hash"] = blob.goog_hash()
            headers["Content-Range"] = f"bytes */{size}"
            headers["Content-Length"] = "0"
            self._send_head(416, headers)
            return
        start, end = wanted or (0, size - 1)
        faults = BodyFaults()
        if self.command == "GET":
            faults = fake._faults.take_body(ranged=wanted is not None, start=start)
        headers["x-goog-hash"] = blob.goog_hash(bad_md5=faults.bad_md5)
        if wanted is not None:
            if faults.wrong_range:
                start, end = 0, end - start
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        body = memoryview(blob.data)[start : end + 1]
        if faults.short is not None:
            body = body[: faults.short]
        headers["Content-Length"] = str(len(body))
        if fake.blob_latency:
            time.sleep(fake.blob_latency)
        if self.command == "GET":
            # Swap before the headers leave: a client that reads them and at once sends a
            # ranged request must find the new object (this answer keeps the old bytes).
            fake._blob_answer_started(path)
        self._send_head(206 if wanted is not None else 200, headers)
        if self.command == "GET":
            self._write_body(body, faults.drop)

    def _write_body(self, body: memoryview, drop: int | None) -> None:
        rate = self.server.fake.throttle_bytes_per_sec
        limit = len(body) if drop is None else min(drop, len(body))
        chunk = CHUNK_SIZE if not rate else max(1024, min(CHUNK_SIZE, rate // 20))
        began = time.monotonic()  # per response: each connection gets the full rate
        sent = 0
        try:
            while sent < limit:
                piece = body[sent : min(sent + chunk, limit)]
                self.wfile.write(piece)
                sent += len(piece)
                if rate:
                    time.sleep(max(0.0, sent / rate - (time.monotonic() - began)))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if drop is not None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)


def lock_port(port: int, timeout: float) -> int:
    """Take the advisory lock ``<tmp>/kagman-fake-kaggle-<port>.lock``; return its descriptor.

    Only one process can own a port, so concurrent pytest sessions wait for each other instead
    of failing on ``EADDRINUSE``; after ``timeout`` seconds, say who holds the port. A port
    belongs to a network namespace, so the lock's name holds the namespace's inode (sessions
    in separate ``unshare -n`` namespaces never wait for each other).
    """
    path = Path(tempfile.gettempdir()) / f"kagman-fake-kaggle-{_netns()}{port}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                holder = os.pread(fd, 500, 0).decode(errors="replace").strip()
                os.close(fd)
                msg = (
                    f"port {port} is held by another fake Kaggle server ({holder}) for "
                    f"more than {timeout:.0f} s; stop it or wait and retry"
                )
                raise RuntimeError(msg) from None
            time.sleep(0.1)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}: {' '.join(sys.argv)[:400]}".encode(), 0)
    return fd


def _netns() -> str:
    """``net<inode>-`` of this process's network namespace; empty where Linux's is unknown."""
    try:
        return f"net{Path('/proc/self/ns/net').stat().st_ino}-"
    except OSError:
        return ""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=`` range; None means "ignore it and send everything".

    >>> parse_range("bytes=10-", 100), parse_range("bytes=10-19", 100)
    ((10, 99), (10, 19))
    >>> parse_range("bytes=-5", 100), parse_range("bytes=100-", 100) == UNSATISFIABLE
    ((95, 99), True)
    >>> parse_range("bytes=0-1,5-6", 100), parse_range("x", 9)
    (None, None)
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes=") :].strip().partition("-")
    try:
        if not first:  # suffix range: the last N bytes
            count = int(last)
            return (max(0, size - count), size - 1) if count > 0 and size else UNSATISFIABLE
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        return UNSATISFIABLE
    return (start, min(end, size - 1)) if end >= start else None


def if_range_matches(header: str | None, blob: Blob) -> bool:
    """An If-Range validator (strong ETag or HTTP date) must match for a Range to apply."""
    if header is None:
        return True
    header = header.strip()
    if header.startswith(('"', "W/")):
        return header == blob.etag
    try:
        stamp = email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return False
    return int(stamp) == blob.last_modified
