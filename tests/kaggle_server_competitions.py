"""Competitions on the fake Kaggle: rules, data files and their blobs.

The RPCs are kagglesdk's ``competitions.CompetitionApiService``: ``GetCompetition``,
``ListDataFiles`` and ``ListDataTreeFiles`` (paged), ``DownloadDataFiles`` (302 to the whole
archive) and ``DownloadDataFile`` (302 to one file, ``<name>.zip`` for ``zipped_files``), all
keyed by ``competitionName`` (the slug). Blob paths are
``/blobs/competitions/<slug>/<generation>/<slug>.zip`` and ``.../<generation>/files/<name>``;
``update_data`` starts a new generation, so fixed data lives at a new URL with a new ETag and
a newer Last-Modified, as when hosts fix files.

Who may download: users who accepted the rules (``accept_rules``), everybody when the
competition was added with ``rules_accepted=True`` (unless ``late_download_forbidden``).
A private competition is 404 to everybody who has not accepted its rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kaggle_server_api import (
    TEST_USERNAME,
    BlobStore,
    iso_now,
    make_zip,
    page,
    read_member,
    signed,
    tree_page,
    zip_sizes,
)
from kaggle_server_http import ApiError

SERVICE = "competitions.CompetitionApiService/"
RPCS = frozenset(
    {
        "GetCompetition",
        "ListDataFiles",
        "ListDataTreeFiles",
        "DownloadDataFiles",
        "DownloadDataFile",
    }
)
RULES_MESSAGE = "You must accept this competition's rules before you'll be able to download files."
LATE_MESSAGE = (
    "New entrants are not allowed in this competition any more, so its rules cannot be "
    "accepted and its data cannot be downloaded."
)


@dataclass
class Data:
    """One generation of a competition's data files."""

    generation: int
    created: str
    sizes: dict[str, int]
    files: dict[str, bytes] | None
    zipped: frozenset[str]
    archive_path: str


@dataclass
class Competition:
    id: int
    slug: str
    rules_accepted: bool
    private: bool
    late_download_forbidden: bool
    data: Data
    accepted: set[str] = field(default_factory=set)  # lower-case user names

    def may_see(self, user: str) -> bool:
        return not self.private or user.lower() in self.accepted

    def may_download(self, user: str) -> bool:
        if user.lower() in self.accepted:
            return True
        return self.rules_accepted and not self.late_download_forbidden


class CompetitionStore:
    """Thread-safe competitions, sharing the datasets' ``BlobStore``."""

    def __init__(self, base_url: str, blobs: BlobStore) -> None:
        self.base_url = base_url
        self.blobs = blobs
        self.page_size: int | None = None
        self._lock = blobs.lock
        self._competitions: dict[str, Competition] = {}

    def add(
        self,
        slug: str,
        files: dict[str, bytes] | None,
        archive: bytes | None,
        *,
        rules_accepted: bool,
        private: bool,
        late_download_forbidden: bool,
        zipped_files: Iterable[str],
    ) -> None:
        if not slug or "/" in slug:
            msg = f"a competition slug has no '/', got {slug!r}"
            raise ValueError(msg)
        with self._lock:
            old = self._competitions.get(slug.lower())
            data = self._new_data(slug, files, archive, zipped_files, old, now=False)
            self._competitions[slug.lower()] = Competition(
                id=old.id if old else len(self._competitions) + 1,
                slug=slug,
                rules_accepted=rules_accepted,
                private=private,
                late_download_forbidden=late_download_forbidden,
                data=data,
                accepted=old.accepted if old else set(),
            )

    def update_data(
        self,
        slug: str,
        files: dict[str, bytes] | None,
        archive: bytes | None,
        zipped_files: Iterable[str],
    ) -> None:
        with self._lock:
            competition = self._get(slug)
            competition.data = self._new_data(
                slug, files, archive, zipped_files, competition, now=True
            )

    def _new_data(
        self,
        slug: str,
        files: dict[str, bytes] | None,
        archive: bytes | None,
        zipped_files: Iterable[str],
        old: Competition | None,
        *,
        now: bool,
    ) -> Data:
        zipped = frozenset(zipped_files)
        if zipped - set(files or {}):
            msg = f"zipped_files not in files: {sorted(zipped - set(files or {}))}"
            raise ValueError(msg)
        generation = old.data.generation + 1 if old else 1
        blob = archive if archive is not None else make_zip(files or {})
        path = f"/blobs/competitions/{slug}/{generation}/{slug}.zip"
        # A fix made now is newer than any copy a client already has (kagglehub compares).
        self.blobs.put(path, blob, now=now)
        return Data(
            generation=generation,
            created=iso_now(),
            sizes=zip_sizes(blob) if files is None else {n: len(c) for n, c in files.items()},
            files=dict(files) if files is not None else None,
            zipped=zipped,
            archive_path=path,
        )

    def accept_rules(self, slug: str, user: str) -> None:
        with self._lock:
            self._get(slug).accepted.add(user.lower())

    def archive_path(self, slug: str) -> str:
        with self._lock:
            return self._get(slug).data.archive_path

    def admin(self, path: str, user: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``POST /admin/competitions/<slug>/accept-rules``, body ``{"user": name}`` (else the
        authenticated user, else the test user): what a browser click does on Kaggle."""
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[1] != "competitions" or parts[3] != "accept-rules":
            raise ApiError(404, f"No such admin route: {path}")
        name = str(body.get("user") or user)
        self.accept_rules(parts[2], name)
        return 200, {"competition": parts[2], "user": name, "accepted": True}

    def _get(self, slug: str) -> Competition:
        competition = self._competitions.get(slug.lower())
        if competition is None:
            raise ApiError(404, f"Competition '{slug}' not found")
        return competition

    def call(self, rpc: str, user: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = rpc.removeprefix(SERVICE)
        if not rpc.startswith(SERVICE) or method not in RPCS:
            raise ApiError(404, f"No such endpoint: /api/v1/{rpc}")
        if user is None:
            raise ApiError(401, "Unauthenticated")
        slug = str(body.get("competitionName") or "")
        with self._lock:
            competition = self._competitions.get(slug.lower())
            if competition is None or not competition.may_see(user):
                raise ApiError(404, f"Competition '{slug}' not found")
            data = competition.data
            if method == "GetCompetition":
                return 200, self._competition_json(competition, user)
            if method == "ListDataFiles":
                names, following = page(sorted(data.sizes), body, self.page_size)
                files = [self._file_json(competition, name) for name in names]
                return 200, {"files": files, "nextPageToken": following}
            if method == "ListDataTreeFiles":
                return 200, tree_page(data.sizes, data.created, body, self.page_size)
            if not competition.may_download(user):
                late = competition.late_download_forbidden
                raise ApiError(403, LATE_MESSAGE if late else RULES_MESSAGE)
            if method == "DownloadDataFiles":
                return 302, {"url": signed(data.archive_path)}
            return 302, {"url": signed(self._file_blob(competition, str(body.get("fileName"))))}

    def _competition_json(self, c: Competition, user: str) -> dict[str, Any]:
        url = f"{self.base_url}/competitions/{c.slug}"
        return {
            "id": c.id,
            "ref": url,
            "title": c.slug.replace("-", " ").title(),
            "url": url,
            "description": f"Test competition {c.slug}",
            "organizationName": "Kaggle",
            "category": "Playground",
            "reward": "Knowledge",
            "deadline": "2030-01-01T00:00:00.000Z",
            "enabledDate": "2020-01-01T00:00:00.000Z",
            "dateCreated": "2020-01-01T00:00:00.000Z",
            "userHasEntered": c.may_download(user),
            "maxDailySubmissions": 5,
            "maxTeamSize": 5,
            "evaluationMetric": "Accuracy",
            "submissionsDisabled": c.late_download_forbidden,
            "hostName": "kaggle",
            "licenseName": "Subject to Competition Rules",
        }

    def _file_json(self, c: Competition, name: str) -> dict[str, Any]:
        return {
            "ref": name,
            "name": name,
            "description": "",
            "totalBytes": c.data.sizes[name],
            "url": f"{self.base_url}/competitions/{c.slug}/data?select={name}",
            "creationDate": c.data.created,
        }

    def _file_blob(self, c: Competition, name: str) -> str:
        data = c.data
        if name not in data.sizes:
            raise ApiError(404, f"File '{name}' not found in competition '{c.slug}'")

        def content() -> bytes:
            if data.files is not None:
                return data.files[name]
            blob = self.blobs.get(data.archive_path)
            assert blob is not None
            return read_member(blob.data, name)

        path = f"/blobs/competitions/{c.slug}/{data.generation}/files/{name}"
        return self.blobs.file_blob(path, name, name in data.zipped, content)


class FakeCompetitions:
    """The competitions part of ``kaggle_server.FakeKaggle``'s public API (a mixin)."""

    _competitions: CompetitionStore

    def add_competition(
        self,
        slug: str,
        files: dict[str, bytes] | None = None,
        *,
        archive: bytes | None = None,
        rules_accepted: bool = True,
        private: bool = False,
        late_download_forbidden: bool = False,
        zipped_files: Iterable[str] = (),
    ) -> None:
        """Add (or replace) competition ``slug`` with its data ``files`` (or ``archive``).

        ``rules_accepted=False``: downloads are 403 ("You must accept this competition's
        rules ...") until ``accept_rules``. ``late_download_forbidden``: 403 with a distinct
        message for everyone who has not accepted before. ``private``: 404 to those users.
        """
        self._competitions.add(
            slug,
            files,
            archive,
            rules_accepted=rules_accepted,
            private=private,
            late_download_forbidden=late_download_forbidden,
            zipped_files=zipped_files,
        )

    def update_competition_data(
        self,
        slug: str,
        files: dict[str, bytes] | None = None,
        *,
        archive: bytes | None = None,
        zipped_files: Iterable[str] = (),
    ) -> None:
        """The host fixes the data: a new archive at a NEW URL, new ETag, newer Last-Modified."""
        self._competitions.update_data(slug, files, archive, zipped_files)

    def accept_rules(self, slug: str, user: str = TEST_USERNAME) -> None:
        """Let ``user`` download (and see, if private) competition ``slug``.

        Over HTTP: ``POST /admin/competitions/<slug>/accept-rules`` with ``{"user": name}``.
        """
        self._competitions.accept_rules(slug, user)
