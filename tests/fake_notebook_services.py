"""Fakes of the notebook-side services kagglehub talks to in Kaggle Notebooks and in Colab.

* ``FakeKaggleDataProxy``: the Kaggle Notebooks data proxy (``KAGGLE_DATA_PROXY_URL``).
  kagglehub's ``KaggleJwtClient`` POSTs ``/kaggle-jwt-handler/AttachDatasourceUsingJwtRequest``
  with ``X-Kaggle-Authorization: Bearer <KAGGLE_USER_SECRETS_TOKEN>``,
  ``X-KAGGLE-PROXY-DATA: <KAGGLE_DATA_PROXY_TOKEN>`` and a JSON body ``{"datasetRef":
  {"OwnerSlug", "DatasetSlug"[, "VersionNumber": "<str>"]}}`` or ``{"competitionRef":
  {"CompetitionSlug"}}``; the answer is ``{"wasSuccessful": true, "result": {"mountSlug",
  "versionNumber"}}`` and the data then appears under ``$KAGGLE_CACHE_MOUNT_FOLDER/<mountSlug>``
  (kagglehub polls for that folder every 5 s, so the default is to mount before answering).
* ``FakeColabRuntime``: Colab's runtime service (``TBE_RUNTIME_ADDR``, ``host:port`` without a
  scheme). ``POST /kagglehub/datasets/is_supported`` with ``{"owner", "dataset"[, "version":
  int]}`` is 404 when the dataset is not in Colab's cache; ``POST /kagglehub/datasets/mount``
  answers ``{"slug"}`` and the data appears under ``$COLAB_CACHE_MOUNT_FOLDER/<slug>``. Requests
  carry the Kaggle credentials kagglehub found (HTTP Basic, or Bearer for an API token).
* ``colab_userdata``: a stand-in ``google.colab.userdata`` whose ``get(name)`` returns the
  configured secrets and raises ``SecretNotFoundError`` / ``NotebookAccessError`` like Colab's.

Both servers listen on 127.0.0.1 on a free port and record every request (headers and JSON
body) in ``requests``. Mounts are atomic: files are written to a staging folder beside the
mount root and renamed into place, so a poller never sees half a mount.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

KAGGLE_JWT_TOKEN = "eyJhbGciOiJIUzI1NiJ9.fake-notebook-jwt.c2lnbmF0dXJlLW9mLXRlc3Q"
KAGGLE_PROXY_TOKEN = "kdp-7c1e0b9a4d2f48e6a3b5c8d9e0f1a2b3"
ATTACH_PATH = "/kaggle-jwt-handler/AttachDatasourceUsingJwtRequest"

__all__ = [
    "KAGGLE_JWT_TOKEN",
    "KAGGLE_PROXY_TOKEN",
    "ColabSecrets",
    "FakeColabRuntime",
    "FakeKaggleDataProxy",
    "ServiceRequest",
    "colab_runtime",
    "colab_userdata",
    "kaggle_notebook",
]


@dataclass
class ServiceRequest:
    """One request a fake service answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it is not JSON
    status: int = 0


@dataclass
class _Refusal:
    status: int
    message: str
    times: int


@dataclass
class _Source:
    files: dict[str, bytes]
    mount_slug: str
    version: int | None = None


class _Service:
    """A loopback HTTP server answering JSON POSTs, recording them, mounting folders."""

    def __init__(self, mount_root: Path) -> None:
        self.mount_root = Path(mount_root)
        self.mount_root.mkdir(parents=True, exist_ok=True)
        self.mount_delay = 0.0  # seconds between the answer and the folder appearing
        self.never_mount = False  # answer but never create the folder (timeouts)
        self.requests: list[ServiceRequest] = []
        self._refusals: list[_Refusal] = []
        self._lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.service = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def refuse_next(self, *, times: int = 1, status: int = 200, message: str = "refused") -> None:
        """Refuse the next ``times`` requests: status 200 means a JSON failure the service's
        way (``wasSuccessful: false`` for the proxy), any other status an HTTP error."""
        with self._lock:
            self._refusals.append(_Refusal(status, message, times))

    def mounted(self, slug: str) -> Path:
        return self.mount_root / slug

    def _take_refusal(self) -> _Refusal | None:
        with self._lock:
            for refusal in self._refusals:
                if refusal.times > 0:
                    refusal.times -= 1
                    return refusal
        return None

    def _mount(self, slug: str, files: Mapping[str, bytes]) -> None:
        target = self.mount_root / slug
        if self.never_mount or target.exists():
            return

        def work() -> None:
            staging = self.mount_root.parent / f".{self.mount_root.name}-{uuid.uuid4().hex}"
            for name, data in files.items():
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            staging.mkdir(exist_ok=True)  # an empty data source still mounts
            with contextlib.suppress(OSError):  # mounted meanwhile by a concurrent attach
                staging.rename(target)

        if self.mount_delay <= 0:
            work()
            return
        timer = threading.Timer(self.mount_delay, work)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def answer(self, path: str, headers: Mapping[str, str], body: Any) -> tuple[int, Any]:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the log is ``requests``."""

    def do_POST(self) -> None:
        service: _Service = self.server.service  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode(errors="replace")
        headers = dict(self.headers.items())
        entry = ServiceRequest(self.command, self.path, headers, body)
        with service._lock:
            service.requests.append(entry)
        status, reply = service.answer(self.path, headers, body)
        entry.status = status
        data = json.dumps(reply).encode() if reply is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.do_POST()


class FakeKaggleDataProxy(_Service):
    """The Kaggle Notebooks data proxy that attaches datasets and competitions."""

    def __init__(
        self,
        mount_root: Path,
        *,
        jwt_token: str = KAGGLE_JWT_TOKEN,
        proxy_token: str = KAGGLE_PROXY_TOKEN,
    ) -> None:
        super().__init__(mount_root)
        self.jwt_token = jwt_token
        self.proxy_token = proxy_token
        self._datasets: dict[str, list[_Source]] = {}
        self._competitions: dict[str, _Source] = {}

    @property
    def url(self) -> str:
        """The value of ``KAGGLE_DATA_PROXY_URL``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def attaches(self) -> list[Any]:
        """The JSON bodies of all attach requests, in order."""
        return [r.body for r in self.requests if r.path == ATTACH_PATH]

    def add_dataset(
        self,
        ref: str,
        files: Mapping[str, bytes],
        *,
        version: int = 1,
        mount_slug: str | None = None,
    ) -> None:
        """Make ``ref`` ("owner/slug") version ``version`` attachable; the highest version is
        what an attach without ``VersionNumber`` gets. Mounts at ``mount_slug`` (the slug)."""
        slug = ref.split("/", 1)[1]
        source = _Source(dict(files), mount_slug or slug, version)
        self._datasets.setdefault(ref.lower(), []).append(source)

    def add_competition(
        self, slug: str, files: Mapping[str, bytes], *, mount_slug: str | None = None
    ) -> None:
        self._competitions[slug.lower()] = _Source(dict(files), mount_slug or slug)

    def answer(self, path: str, headers: Mapping[str, str], body: Any) -> tuple[int, Any]:
        if path != ATTACH_PATH:
            return 404, {"error": f"no route {path}"}
        lower = {k.lower(): v for k, v in headers.items()}
        if (
            lower.get("x-kaggle-authorization") != f"Bearer {self.jwt_token}"
            or lower.get("x-kaggle-proxy-data") != self.proxy_token
        ):
            return 401, {"wasSuccessful": False, "errors": ["Unauthorized"]}
        refusal = self._take_refusal()
        if refusal is not None:
            return refusal.status, {"wasSuccessful": False, "errors": [refusal.message]}
        source = self._find(body if isinstance(body, dict) else {})
        if source is None:
            return 200, {"wasSuccessful": False, "errors": ["Datasource not found"]}
        self._mount(source.mount_slug, source.files)
        result: dict[str, Any] = {"mountSlug": source.mount_slug}
        if source.version is not None:
            result["versionNumber"] = source.version
        return 200, {"wasSuccessful": True, "result": result}

    def _find(self, body: dict[str, Any]) -> _Source | None:
        if isinstance(body.get("competitionRef"), dict):
            return self._competitions.get(
                str(body["competitionRef"].get("CompetitionSlug")).lower()
            )
        ref = body.get("datasetRef")
        if not isinstance(ref, dict):
            return None  # modelRef, kernelRef: not faked
        sources = self._datasets.get(f"{ref.get('OwnerSlug')}/{ref.get('DatasetSlug')}".lower())
        if not sources:
            return None
        wanted = ref.get("VersionNumber")
        if wanted is None:
            return max(sources, key=lambda s: s.version or 0)
        return next((s for s in sources if str(s.version) == str(wanted)), None)


class FakeColabRuntime(_Service):
    """Colab's runtime service that mounts datasets from Colab's cache."""

    def __init__(self, mount_root: Path) -> None:
        super().__init__(mount_root)
        self.require_auth = False  # True: 401 for requests without Kaggle credentials
        self._datasets: dict[str, _Source] = {}

    @property
    def addr(self) -> str:
        """The value of ``TBE_RUNTIME_ADDR`` (no scheme: kagglehub prepends ``http://``)."""
        return f"127.0.0.1:{self.port}"

    def add_dataset(
        self,
        ref: str,
        files: Mapping[str, bytes],
        *,
        version: int | None = None,
        slug: str | None = None,
    ) -> None:
        """Put ``ref`` in Colab's cache (only ``version`` when given); mounts at ``slug``."""
        source = _Source(dict(files), slug or ref.split("/", 1)[1], version)
        self._datasets[ref.lower()] = source

    def answer(self, path: str, headers: Mapping[str, str], body: Any) -> tuple[int, Any]:
        routes = ("/kagglehub/datasets/is_supported", "/kagglehub/datasets/mount")
        if path not in routes:
            return 404, {"error": f"no route {path}"}
        if self.require_auth and "authorization" not in {k.lower() for k in headers}:
            return 401, {"error": "missing Kaggle credentials"}
        refusal = self._take_refusal()
        if refusal is not None:
            return refusal.status, {"error": refusal.message}
        body = body if isinstance(body, dict) else {}
        source = self._datasets.get(f"{body.get('owner')}/{body.get('dataset')}".lower())
        wanted = body.get("version")
        if source is None or (source.version is not None and wanted not in (None, source.version)):
            return 404, {"error": "not in Colab's cache"}
        if path.endswith("/is_supported"):
            return 200, {}
        self._mount(source.mount_slug, source.files)
        return 200, {"slug": source.mount_slug}


def _register_secrets(*secrets: str) -> None:
    """Let the suite-wide leak guard in conftest look for these tokens too."""
    with contextlib.suppress(ImportError):
        from conftest import register_secrets

        register_secrets(*secrets)


@pytest.fixture
def kaggle_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeKaggleDataProxy]:
    """A Kaggle Notebook: the data proxy plus the environment kagglehub reads there
    (KAGGLE_KERNEL_RUN_TYPE, KAGGLE_DATA_PROXY_URL, KAGGLE_USER_SECRETS_TOKEN,
    KAGGLE_DATA_PROXY_TOKEN, KAGGLE_CACHE_MOUNT_FOLDER=<tmp>/kaggle-input)."""
    proxy = FakeKaggleDataProxy(tmp_path / "kaggle-input")
    _register_secrets(proxy.jwt_token, proxy.proxy_token)
    proxy.start()
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    monkeypatch.setenv("KAGGLE_DATA_PROXY_URL", proxy.url)
    monkeypatch.setenv("KAGGLE_USER_SECRETS_TOKEN", proxy.jwt_token)
    monkeypatch.setenv("KAGGLE_DATA_PROXY_TOKEN", proxy.proxy_token)
    monkeypatch.setenv("KAGGLE_CACHE_MOUNT_FOLDER", str(proxy.mount_root))
    monkeypatch.delenv("DISABLE_KAGGLE_CACHE", raising=False)
    yield proxy
    proxy.stop()


@pytest.fixture
def colab_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeColabRuntime]:
    """A managed Colab runtime: the runtime service plus TBE_RUNTIME_ADDR,
    COLAB_CACHE_MOUNT_FOLDER=<tmp>/colab-input and COLAB_RELEASE_TAG."""
    runtime = FakeColabRuntime(tmp_path / "colab-input")
    runtime.start()
    monkeypatch.setenv("TBE_RUNTIME_ADDR", runtime.addr)
    monkeypatch.setenv("COLAB_CACHE_MOUNT_FOLDER", str(runtime.mount_root))
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-fake")
    monkeypatch.delenv("DISABLE_COLAB_CACHE", raising=False)
    yield runtime
    runtime.stop()


_USERDATA = '''"""Stand-in for google.colab.userdata (Colab's secrets), written by a fixture."""

import json

from google.colab import errors

_STATE = {state!r}


class NotebookAccessError(Exception):
    """The notebook has not been granted access to the secret."""

    def __init__(self, key):
        super().__init__(f"Notebook does not have access to secret {{key}}")


class SecretNotFoundError(errors.Error):
    """No secret has this name."""

    def __init__(self, key):
        super().__init__(f"Secret {{key}} does not exist.")


class TimeoutException(errors.Error):
    """Asking the frontend for the secret timed out."""

    def __init__(self, key):
        super().__init__(f"Requesting secret {{key}} timed out.")


def get(key):
    with open(_STATE) as f:
        state = json.load(f)
    if key not in state["secrets"]:
        raise SecretNotFoundError(key)
    if key in state["denied"]:
        raise NotebookAccessError(key)
    return state["secrets"][key]
'''


@dataclass
class ColabSecrets:
    """The secrets the stand-in ``google.colab.userdata.get`` serves (also to subprocesses)."""

    state: Path
    secrets: dict[str, str] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)

    def set(self, name: str, value: str, *, granted: bool = True) -> None:
        """Add a secret; ``granted=False``: it exists but the notebook may not read it."""
        self.secrets[name] = value
        if granted:
            self.denied.discard(name)
        else:
            self.denied.add(name)
        self._save()

    def remove(self, name: str) -> None:
        self.secrets.pop(name, None)
        self.denied.discard(name)
        self._save()

    def _save(self) -> None:
        state = {"secrets": self.secrets, "denied": sorted(self.denied)}
        self.state.write_text(json.dumps(state))


@pytest.fixture
def colab_userdata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ColabSecrets]:
    """Put a stand-in ``google.colab`` package on sys.path (and PYTHONPATH, for children)."""
    root = tmp_path / "colab-stub"
    package = root / "google" / "colab"  # "google" stays a namespace package
    package.mkdir(parents=True)
    control = ColabSecrets(root / "secrets.json")
    control._save()
    (package / "__init__.py").write_text('"""Stand-in for google.colab."""\n')
    (package / "errors.py").write_text("class Error(Exception):\n    pass\n")
    (package / "userdata.py").write_text(_USERDATA.format(state=str(control.state)))
    names = ("google.colab", "google.colab.errors", "google.colab.userdata")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(root))
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(root), old) if p))
    yield control
    for name in names:
        sys.modules.pop(name, None)
