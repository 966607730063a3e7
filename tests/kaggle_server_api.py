"""What the fake Kaggle knows and answers: users, datasets, versions, blobs and the RPCs.

No HTTP and no pytest here: ``kaggle_server_http`` turns requests into ``FakeCatalog.call``
and ``BlobStore.get``; ``kaggle_server.FakeKaggle`` is the public face used by tests.
Blob paths look like ``/blobs/datasets/<owner>/<slug>/<version>/<slug>.zip`` (whole dataset)
and ``.../<version>/files/<name>[.zip]`` (one file). Download RPCs answer 302 with a
*relative* signed URL (``/blobs/...?X-Goog-Expires=...&X-Goog-Signature=...``);
``FakeKaggle`` puts the storage host in front.

``kaggle_server_competitions`` reuses the blob store and the listing helpers defined here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import mimetypes
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from kaggle_server_http import ApiError, Blob

TEST_USERNAME = "kagtester"
TEST_KEY = "5f3a9c2e8b7d4f10a6e2c9b8d7f4a3e1"
TEST_TOKEN = "KGAT_0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"

DEFAULT_PAGE_SIZE = 20
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
RPCS = frozenset(
    {
        "datasets.DatasetApiService/GetDataset",
        "datasets.DatasetApiService/GetDatasetMetadata",
        "datasets.DatasetApiService/ListDatasetFiles",
        "datasets.DatasetApiService/ListTreeDatasetFiles",
        "datasets.DatasetApiService/DownloadDataset",
        "api.v1.DiagnosticsService/Hello",
        "security.OAuthService/IntrospectToken",
    }
)


def make_zip(files: Mapping[str, bytes]) -> bytes:
    """Build a deterministic zip (sorted names, fixed timestamps, DEFLATED) so hashes are stable.

    >>> make_zip({"b.txt": b"2", "a.txt": b"1"}) == make_zip({"a.txt": b"1", "b.txt": b"2"})
    True
    >>> zipfile.ZipFile(io.BytesIO(make_zip({"x/y.csv": b"1,2"}))).namelist()
    ['x/y.csv']
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buf.getvalue()


def zip_sizes(data: bytes) -> dict[str, int]:
    """Read names and sizes from a zip's directory only (never the data: it may be a bomb).

    >>> zip_sizes(make_zip({"a/b.txt": b"123"})), zip_sizes(b"not a zip")
    ({'a/b.txt': 3}, {})
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {i.filename: i.file_size for i in zf.infolist() if not i.is_dir()}
    except (zipfile.BadZipFile, OSError, ValueError):
        return {}


def iso_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def signed(path: str) -> str:
    """A relative URL that looks signed like GCS, so clients must not derive names from it."""
    signature = hashlib.sha256(path.encode()).hexdigest()[:16]
    return f"{quote(path)}?X-Goog-Expires=3600&X-Goog-Signature={signature}"


def page(items: list[Any], body: dict[str, Any], cap: int | None) -> tuple[list[Any], str]:
    """One page of ``items`` for ``pageToken``/``pageSize``; return it and the next token.

    ``cap`` (``FakeKaggle.page_size``) bounds the page whatever the client asks.

    >>> page(list("abcde"), {"pageSize": 2}, None)
    (['a', 'b'], 'Mg==')
    >>> page(list("abcde"), {"pageSize": 2, "pageToken": "NA=="}, None), page([1, 2], {}, 1)
    ((['e'], ''), ([1], 'MQ=='))
    """
    token = str(body.get("pageToken") or "")
    try:
        start = int(base64.urlsafe_b64decode(token).decode()) if token else 0
    except (ValueError, binascii.Error):
        raise ApiError(400, f"Invalid page token {token!r}") from None
    size = min(int(body.get("pageSize") or DEFAULT_PAGE_SIZE), 1000, cap or 1000)
    more = start + size < len(items)
    following = base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else ""
    return items[start : start + size], following


def tree_page(
    sizes: Mapping[str, int], created: str, body: dict[str, Any], cap: int | None
) -> dict[str, Any]:
    """An ``ApiDirectoryContent`` for ``body["path"]``: its folders first, then its files.

    ``name`` is the last path part and ``relativeUrl`` the whole path from the root, as
    kagglehub expects; a missing folder is an empty answer, as on Kaggle.
    """
    folder = str(body.get("path") or "").strip("/")
    prefix = f"{folder}/" if folder else ""
    dirs: dict[str, dict[str, int]] = {}
    files: list[str] = []
    for name in sorted(sizes):
        if not name.startswith(prefix):
            continue
        head, sep, _ = name[len(prefix) :].partition("/")
        if sep:
            dirs.setdefault(prefix + head, {"files": 0, "dirs": 0})
        else:
            files.append(name)
    for sub, counts in dirs.items():  # direct children of each sub-folder
        inner = {n[len(sub) + 1 :].partition("/") for n in sizes if n.startswith(f"{sub}/")}
        counts["files"] = sum(1 for _, sep, _ in inner if not sep)
        counts["dirs"] = len({head for head, sep, _ in inner if sep})
    entries, following = page([*dirs, *files], body, cap)
    return {
        "directories": [
            {
                "name": PurePosixPath(d).name,
                "relativeUrl": d,
                "totalDirectories": dirs[d]["dirs"],
                "totalFiles": dirs[d]["files"],
                "totalChildren": dirs[d]["dirs"] + dirs[d]["files"],
            }
            for d in entries
            if d in dirs
        ],
        "files": [
            {
                "name": PurePosixPath(f).name,
                "relativeUrl": f,
                "totalBytes": sizes[f],
                "creationDate": created,
            }
            for f in entries
            if f not in dirs
        ],
        "totalDirectories": len(dirs),
        "totalFiles": len(files),
        "totalChildren": len(dirs) + len(files),
        "nextPageToken": following,
    }


class BlobStore:
    """Blob paths -> ``Blob``, shared by datasets and competitions, with a fake clock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._blobs: dict[str, Blob] = {}
        # Strictly increasing past dates, so an If-Range date can tell two contents apart.
        self._clock = int(time.time()) - 86_400

    def tick(self, *, now: bool = False) -> int:
        """The next Last-Modified; ``now`` makes it at least the wall clock plus one second."""
        with self.lock:
            self._clock = max(self._clock + 1, int(time.time()) + 1 if now else 0)
            return self._clock

    def put(
        self, path: str, data: bytes, kind: str = "application/zip", *, now: bool = False
    ) -> Blob:
        blob = Blob(data, kind, self.tick(now=now))
        self.set(path, blob)
        return blob

    def set(self, path: str, blob: Blob) -> None:
        with self.lock:
            self._blobs[path] = blob

    def get(self, path: str) -> Blob | None:
        with self.lock:
            return self._blobs.get(path)

    def file_blob(self, path: str, name: str, zipped: bool, content: Callable[[], bytes]) -> str:
        """Create (once) the blob for one file, zipped as ``<name>.zip`` when ``zipped``."""
        path += ".zip" if zipped else ""
        with self.lock:
            if path not in self._blobs:
                if zipped:
                    self.put(path, make_zip({PurePosixPath(name).name: content()}))
                else:
                    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                    self.put(path, content(), kind)
        return path


def read_member(archive: bytes, name: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            return zf.read(name)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise ApiError(500, f"Cannot read '{name}' from the archive: {err}") from err


@dataclass
class Version:
    """One dataset version: its listing, its per-file contents and its archive blob."""

    number: int
    created: str
    sizes: dict[str, int]  # file name -> size, for listings
    files: dict[str, bytes] | None  # None: per-file downloads are read from the archive
    zipped: frozenset[str]
    archive_path: str


@dataclass
class Dataset:
    """A dataset and all its versions; the highest number is current."""

    id: int
    owner: str
    slug: str
    private: bool = False
    terms: bool = False
    versions: dict[int, Version] = field(default_factory=dict)

    @property
    def current(self) -> Version:
        return self.versions[max(self.versions)]


class FakeCatalog:
    """Thread-safe users and datasets of the fake Kaggle, and the RPC semantics on top."""

    def __init__(self, base_url: str, blobs: BlobStore | None = None) -> None:
        self.base_url = base_url
        self.blobs = blobs or BlobStore()
        self.page_size: int | None = None  # FakeKaggle.page_size
        self._lock = self.blobs.lock
        self._users = {TEST_USERNAME: TEST_KEY}
        self._tokens = {TEST_TOKEN: TEST_USERNAME}
        self._datasets: dict[str, Dataset] = {}

    def add_user(self, username: str, key: str) -> None:
        with self._lock:
            self._users[username] = key

    def add_token(self, token: str, username: str) -> None:
        with self._lock:
            self._tokens[token] = username

    def add_dataset(
        self,
        ref: str,
        files: dict[str, bytes] | None,
        archive: bytes | None,
        *,
        private: bool,
        terms: bool,
        zipped_files: Iterable[str],
    ) -> int:
        owner, sep, slug = ref.partition("/")
        if not (owner and sep and slug) or "/" in slug:
            msg = f"ref must look like 'owner/slug', got {ref!r}"
            raise ValueError(msg)
        zipped = frozenset(zipped_files)
        if zipped - set(files or {}):
            msg = f"zipped_files not in files: {sorted(zipped - set(files or {}))}"
            raise ValueError(msg)
        data = archive if archive is not None else make_zip(files or {})
        sizes = zip_sizes(data) if files is None else {n: len(c) for n, c in files.items()}
        with self._lock:
            dataset = self._datasets.get(ref.lower())
            if dataset is None:
                dataset = Dataset(id=len(self._datasets) + 1, owner=owner, slug=slug)
                self._datasets[ref.lower()] = dataset
            dataset.private, dataset.terms = private, terms
            number = max(dataset.versions, default=0) + 1
            version = Version(
                number=number,
                created=iso_now(),
                sizes=sizes,
                files=dict(files) if files is not None else None,
                zipped=zipped,
                archive_path=f"/blobs/datasets/{owner}/{slug}/{number}/{slug}.zip",
            )
            dataset.versions[number] = version
            self.blobs.put(version.archive_path, data)
            return number

    def archive_path(self, ref: str, version: int | None) -> str:
        with self._lock:
            return self._version(ref, version).archive_path

    def replace_archive(self, ref: str, version: int, archive: bytes) -> None:
        self.blobs.put(self.archive_path(ref, version), archive)

    def archive_bytes(self, ref: str, version: int | None) -> bytes:
        blob = self.blobs.get(self.archive_path(ref, version))
        assert blob is not None
        return blob.data

    def _version(self, ref: str, number: int | None) -> Version:
        dataset = self._datasets[ref.lower()]
        return dataset.current if not number else dataset.versions[number]

    def authenticate(self, header: str | None) -> str | None:
        """Return the user behind an ``Authorization`` header (Basic or Bearer), or None."""
        scheme, _, value = (header or "").partition(" ")
        with self._lock:
            if scheme.lower() == "bearer":
                return self._tokens.get(value.strip())
            if scheme.lower() == "basic":
                try:
                    user, _, key = base64.b64decode(value.strip()).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    return None
                return user if user in self._users and self._users[user] == key else None
        return None

    def call(self, rpc: str, user: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one RPC; return (status, JSON body); a 302 body carries the blob URL in "url"."""
        if rpc not in RPCS:
            raise ApiError(404, f"No such endpoint: /api/v1/{rpc}")
        method = rpc.rsplit("/", 1)[1]
        if method == "IntrospectToken":
            # No auth needed: the caller usually authenticates with the very token it checks.
            with self._lock:
                name = self._tokens.get(str(body.get("token") or ""))
            return 200, {"active": name is not None, "username": name or ""}
        if user is None:
            raise ApiError(401, "Unauthenticated")
        if method == "Hello":
            return 200, {"userName": user}
        with self._lock:
            dataset = self._find(user, body)
            if method == "GetDataset":
                return 200, self._dataset_json(dataset)
            if method == "GetDatasetMetadata":
                return 200, self._metadata_json(dataset)
            version = self._find_version(dataset, body)
            if method == "ListDatasetFiles":
                return 200, self._list_files(dataset, version, body)
            if method == "ListTreeDatasetFiles":
                return 200, tree_page(version.sizes, version.created, body, self.page_size)
            return 302, {"url": self._download_url(dataset, version, body)}

    def _find(self, user: str, body: dict[str, Any]) -> Dataset:
        owner, slug = str(body.get("ownerSlug") or ""), str(body.get("datasetSlug") or "")
        dataset = self._datasets.get(f"{owner}/{slug}".lower())
        if dataset is None or (dataset.private and dataset.owner.lower() != user.lower()):
            raise ApiError(404, f"Dataset '{owner}/{slug}' not found")
        return dataset

    def _find_version(self, dataset: Dataset, body: dict[str, Any]) -> Version:
        number = int(body.get("datasetVersionNumber") or 0)
        if number == 0:
            return dataset.current
        if number not in dataset.versions:
            msg = f"Version {number} of dataset '{dataset.owner}/{dataset.slug}' not found"
            raise ApiError(404, msg)
        return dataset.versions[number]

    def _dataset_json(self, ds: Dataset) -> dict[str, Any]:
        current = ds.current
        return {
            "id": ds.id,
            "ref": f"{ds.owner}/{ds.slug}",
            "title": ds.slug.replace("-", " ").title(),
            "subtitle": f"Test dataset {ds.slug}",
            "url": f"{self.base_url}/datasets/{ds.owner}/{ds.slug}",
            "currentVersionNumber": current.number,
            "totalBytes": sum(current.sizes.values()),
            "isPrivate": ds.private,
            "lastUpdated": current.created,
            "ownerRef": ds.owner,
            "ownerName": ds.owner,
            "creatorName": ds.owner,
            "licenseName": "CC0-1.0",
            "versions": [
                {"versionNumber": v.number, "creationDate": v.created, "status": "ready"}
                for v in sorted(ds.versions.values(), key=lambda v: -v.number)
            ],
        }

    def _metadata_json(self, ds: Dataset) -> dict[str, Any]:
        """``ApiGetDatasetMetadataResponse``; the kaggle CLI reads it before a download."""
        info = {
            "datasetId": ds.id,
            "datasetSlug": ds.slug,
            "ownerUser": ds.owner,
            "title": ds.slug.replace("-", " ").title(),
            "isPrivate": ds.private,
            "licenses": [{"name": "CC0-1.0"}],
        }
        return {"info": info, "errorMessage": ""}

    def _list_files(self, ds: Dataset, version: Version, body: dict[str, Any]) -> dict[str, Any]:
        names, following = page(sorted(version.sizes), body, self.page_size)
        return {
            "datasetFiles": [
                {
                    "ref": name,
                    "datasetRef": f"{ds.owner}/{ds.slug}",
                    "ownerRef": ds.owner,
                    "name": name,
                    "totalBytes": version.sizes[name],
                    "creationDate": version.created,
                    "fileType": PurePosixPath(name).suffix,
                }
                for name in names
            ],
            "nextPageToken": following,
        }

    def _download_url(self, ds: Dataset, version: Version, body: dict[str, Any]) -> str:
        if ds.terms:
            msg = (
                "You must accept this dataset's rules before you can download it. "
                f"Accept them at {self.base_url}/datasets/{ds.owner}/{ds.slug}/rules"
            )
            raise ApiError(403, msg)
        name = body.get("fileName")
        path = self._file_blob(ds, version, str(name)) if name else version.archive_path
        return signed(path)

    def _file_blob(self, ds: Dataset, version: Version, name: str) -> str:
        if name not in version.sizes:
            raise ApiError(404, f"File '{name}' not found in dataset '{ds.owner}/{ds.slug}'")

        def content() -> bytes:
            if version.files is not None:
                return version.files[name]
            blob = self.blobs.get(version.archive_path)
            assert blob is not None
            return read_member(blob.data, name)

        path = f"/blobs/datasets/{ds.owner}/{ds.slug}/{version.number}/files/{name}"
        return self.blobs.file_blob(path, name, name in version.zipped, content)
