"""The HTTP layer of the fake Kaggle server: RPC dispatch, blobs with Range/If-Range, faults.

``kaggle_server.FakeKaggle`` owns the state; this module only turns HTTP requests into calls
on it (see ``Backend``) and writes the answers the way Kaggle and GCS do.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import socket
import socketserver
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

CHUNK_SIZE = 64 * 1024
UNSATISFIABLE = (-1, -1)


@dataclass
class RecordedRequest:
    """One request the server answered, for assertions such as "a cache hit made no calls"."""

    method: str
    path: str
    endpoint: str  # RPC method name ("GetDataset"), "blob", or "other"
    status: int
    range: str | None  # the Range header as sent
    user: str | None  # the authenticated user, if the credentials were valid


@dataclass
class Blob:
    data: bytes
    content_type: str
    last_modified: int  # epoch seconds
    etag: str = ""

    def __post_init__(self) -> None:
        self.etag = f'"{hashlib.sha256(self.data).hexdigest()[:32]}"'


@dataclass
class Fault:
    status: int
    times: int
    endpoint: str
    retry_after: float | None


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

    def _authenticate(self, header: str | None) -> str | None: ...
    def _take_fault(self, endpoint: str) -> Fault | None: ...
    def _take_drop(self) -> int | None: ...
    def _record(self, entry: RecordedRequest) -> None: ...
    def _blob(self, path: str) -> Blob | None: ...
    def _call(
        self, rpc: str, user: str | None, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]: ...


class FakeHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to one loopback address, serving one ``Backend``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], fake: Backend, family: int) -> None:
        self.address_family = family
        self.fake = fake
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

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        path = unquote(urlsplit(self.path).path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        rpc = path.removeprefix("/api/v1/")
        if path.startswith("/blobs/"):
            endpoint = "blob"
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
        )
        try:
            fault = fake._take_fault(endpoint)
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
            status, reply = fake._call(rpc, self._entry.user, body)
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
        blob = self.server.fake._blob(path)
        if blob is None:
            raise ApiError(404, f"No such blob: {path}")
        size = len(blob.data)
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": blob.etag,
            "Last-Modified": email.utils.formatdate(blob.last_modified, usegmt=True),
            "Content-Type": blob.content_type,
        }
        start, end = 0, size - 1
        status = 200
        wanted = parse_range(self.headers.get("Range"), size)
        if wanted is not None and if_range_matches(self.headers.get("If-Range"), blob):
            if wanted == UNSATISFIABLE:
                headers["Content-Range"] = f"bytes */{size}"
                headers["Content-Length"] = "0"
                self._send_head(416, headers)
                return
            start, end = wanted
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        self._send_head(status, headers)
        if self.command == "GET":
            self._write_body(memoryview(blob.data)[start : end + 1])

    def _write_body(self, body: memoryview) -> None:
        fake = self.server.fake
        drop = fake._take_drop()
        rate = fake.throttle_bytes_per_sec
        limit = len(body) if drop is None else min(drop, len(body))
        chunk = CHUNK_SIZE if not rate else max(1024, min(CHUNK_SIZE, rate // 20))
        began = time.monotonic()
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
