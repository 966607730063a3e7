"""The manifest: what a cache entry holds, written last so that its presence means "complete".

One builder (:func:`build_manifest`) for every kind of entry, so the rules live
once: the signed download URL is stored without its query string (the storage
signature is a bearer secret), times are UTC ISO 8601, JSON is compact (with
``indent``, :mod:`json` falls back to its pure-Python encoder: 0.3 s for 30,000
files).

Format 2 (format 1 manifests are still read; they lack hashes, so ``verify``
checks their sizes only)::

    {"format": 2, "kind": "dataset" | "competition" | "subset", "ref": "owner/slug",
     "version": 3,                                             (null for a competition)
     "downloaded_at": "2026-11-30T08:16:02Z", "total_bytes": 123,
     "files": [["train/cat/1.jpg", 700, "<sha256 hex>"], ...], (exactly what the entry holds)
     "source": "https://.../archive.zip", "validator": "<ETag>",
     "archive_bytes": 45, "skipped": {"macos-junk": 2},        (dataset, competition)
     "selections": ["<a Selection.key() text>", ...],           (subset)
     "sources": {"t.csv": ["https://.../t.csv", "<ETag>", false]},  (subset)
     "competition": "titanic", "state": "746ac060d0f192ab",    (a competition's entries)
     "links": ["/home/ada/project/data/slug"],                 (pull --link, added later)
     "newer_version": 4}                                       (a later pull saw it)

Kind ``file`` is a single file of the layout before subsets (``files/<N>/<name>``, with
``"file": "<name>"``), still read as a subset of one file. ``links`` and ``newer_version``
are added after the pull (:func:`update_manifest`); a rewrite of the entry keeps them
(:func:`later_fields`).

The manifest's modification time is the entry's "last used" time: cache hits
touch it (:func:`kagman.cache.entries.touch`), and rewrites (:func:`update_manifest`)
keep it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from kagman.cache.paths import manifest_path
from kagman.cache.selection import Selection
from kagman.cache.shared import write_shared
from kagman.remote.refs import CompetitionRef, Ref

__all__ = [
    "LATER_FIELDS",
    "MANIFEST_FORMAT",
    "ManifestFiles",
    "build_manifest",
    "drop_files",
    "later_fields",
    "read_manifest",
    "strip_query",
    "update_manifest",
    "write_manifest",
]

MANIFEST_FORMAT = 2
LATER_FIELDS = ("links", "newer_version")  # added after the pull; kept by a rewrite

_ROWS_PER_CHUNK = 4096  # "files" rows serialized at a time: ~0.4 MB of JSON


class ManifestFiles:
    """A manifest's ``"files"``: ``[path, size, sha256]`` rows made as the manifest is written.

    Never a list of every file: a 300,000-file pull would hold ~90 MB of small lists
    and strings for it. Iterable again and again, like the ``files`` it reads.
    """

    __slots__ = ("_digests", "_files")

    def __init__(self, files: Sequence[Sequence[Any]], digests: Mapping[str, str]) -> None:
        self._files = files
        self._digests = digests

    def __len__(self) -> int:
        return len(self._files)

    def __iter__(self) -> Iterator[list[Any]]:
        digests = self._digests
        for item in self._files:
            path = str(item[0])
            digest = str(item[2]) if len(item) > 2 and item[2] else digests.get(path)
            yield [path, int(item[1]), digest] if digest else [path, int(item[1])]


def strip_query(url: str) -> str:
    """A URL without its query and fragment: what may be stored of a signed URL.

    >>> strip_query("https://storage.example/b/o.zip?X-Goog-Signature=abc#x")
    'https://storage.example/b/o.zip'
    """
    return url.split("?", 1)[0].split("#", 1)[0]


def build_manifest(
    *,
    kind: Literal["dataset", "competition", "subset"],
    ref: Ref,
    total_bytes: int,
    files: Sequence[Sequence[Any]] = (),
    source_url: str = "",
    validator: str = "",
    sha256: Mapping[str, str] | None = None,
    archive_bytes: int | None = None,
    skipped: Mapping[str, int] | None = None,
    selections: Sequence[str] = (),
    sources: Mapping[str, tuple[str, str, bool]] | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """The manifest of a finished entry, as a JSON-ready dict.

    Parameters
    ----------
    kind
        ``"dataset"`` (a whole extracted version), ``"competition"`` (a whole state of a
        competition's data) or ``"subset"`` (the part of a version or state that was pulled;
        ``files`` names exactly the files the entry holds).
        :func:`kagman.cache.entries.entry_state` reads it.
    ref
        The pinned dataset ref (``ref.version`` set), or the competition.
    total_bytes
        Bytes of data in the entry.
    files
        ``(posix path, size in bytes)`` or ``(posix path, size in bytes, SHA-256 hex)``
        per file the entry holds (:class:`kagman.archive.ExtractedFile` rows are the
        latter). Read when the manifest is written, not copied.
    source_url, validator
        Where the archive came from (only its path is kept) and its ETag (or Last-Modified).
    sha256
        Posix path -> SHA-256 hex digest, computed while writing, for rows that do not
        carry their own; a file without one is recorded with its size only.
    archive_bytes, skipped
        The archive's size and the junk members skipped, by reason.
    selections
        For a subset: the selections (``--file``, ``--include``/``--exclude``) it answers in
        full, as the keys :mod:`kagman.cache.selection` makes.
    sources
        For a subset: ``name -> (URL, validator, unwrapped from Kaggle's zip)`` per file.
    state
        For a competition: the data state the entry holds (named from the redirect).
    """
    body: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "kind": kind,
        "ref": ref.name,
        "version": getattr(ref, "version", None),
        "downloaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "total_bytes": total_bytes,
    }
    if isinstance(ref, CompetitionRef):
        body["competition"] = ref.slug
        body["state"] = state
    if kind == "subset":
        body["selections"] = sorted(set(selections))
        body["sources"] = {
            name: [strip_query(url), check, unwrapped]
            for name, (url, check, unwrapped) in sorted((sources or {}).items())
        }
    else:
        body["source"] = strip_query(source_url)
        body["validator"] = validator
        body["archive_bytes"] = archive_bytes
        body["skipped"] = dict(skipped or {})
    body["files"] = ManifestFiles(files, sha256 or {})
    return body


def drop_files(manifest: dict[str, Any], names: Collection[str]) -> bool:
    """Take the files ``names`` out of a subset's manifest (``kagman rm --file``), in place.

    Their sizes, hashes and sources go, and so does every recorded selection that took one
    of them: the entry no longer answers it in full. Returns whether anything changed.
    """
    gone = set(names)
    files = [item for item in manifest.get("files") or () if str(item[0]) not in gone]
    if len(files) == len(manifest.get("files") or ()):
        return False
    manifest["files"] = files
    manifest["total_bytes"] = sum(int(item[1]) for item in files)
    sources = manifest.get("sources") or {}
    manifest["sources"] = {name: value for name, value in sources.items() if name not in gone}
    manifest["selections"] = [
        key for key in manifest.get("selections") or () if not _takes_any(key, gone)
    ]
    return True


def _takes_any(key: str, names: set[str]) -> bool:
    """Whether the recorded selection ``key`` takes one of ``names`` (unreadable: assume so)."""
    try:
        selection = Selection.from_key(key)
    except (ValueError, TypeError):
        return True
    return any(selection.covers(name) for name in names)


def write_manifest(entry: Path, manifest: Mapping[str, Any]) -> None:
    """Mark ``entry`` complete by writing its manifest atomically (the last step of a pull).

    Compact JSON, its ``"files"`` serialized a block of rows at a time (a list or
    :class:`ManifestFiles`), so a big manifest is never one string in memory. In a
    shared cache the manifest is group-writable, so every member of the group can
    record "last used" on it.
    """
    write_shared(manifest_path(entry), _json_chunks(manifest))


def _json_chunks(manifest: Mapping[str, Any]) -> Iterator[bytes]:
    """``json.dumps(manifest, separators=(",", ":"))``, encoded, in pieces.

    >>> b"".join(_json_chunks({"a": 1, "files": [["x", 2]], "b": None}))
    b'{"a":1,"files":[["x",2]],"b":null}'
    """
    compact = (",", ":")
    sep = b"{"
    for key, value in manifest.items():
        yield sep + json.dumps(key).encode() + b":"
        sep = b","
        if key != "files":
            yield json.dumps(value, separators=compact).encode()
            continue
        rows, glue = iter(value), b"["
        while block := list(islice(rows, _ROWS_PER_CHUNK)):
            yield glue + json.dumps(block, separators=compact)[1:-1].encode()
            glue = b","
        yield b"[]" if glue == b"[" else b"]"
    yield b"{}" if sep == b"{" else b"}"


def update_manifest(entry: Path, change: Callable[[dict[str, Any]], bool]) -> bool:
    """Rewrite ``entry``'s manifest if ``change(manifest)`` edits it (returns True).

    Atomic, and the file keeps its modification time, which is the entry's
    "last used" time. The caller holds the dataset's lock.

    Returns
    -------
    bool
        Whether the manifest was rewritten.

    Raises
    ------
    OSError, ValueError
        The manifest is missing, not JSON, or cannot be written.
    """
    path = manifest_path(entry)
    before = path.stat()
    manifest = json.loads(path.read_bytes())
    if not change(manifest):
        return False
    write_manifest(entry, manifest)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    return True


def later_fields(entry: Path) -> dict[str, Any]:
    """The fields added to ``entry``'s manifest after its pull (``--link`` links, a newer
    version seen), to carry into the manifest that replaces it: a subset that grows or
    becomes complete, a forced pull. ``{}`` when there is no readable manifest.
    """
    try:
        old = read_manifest(entry)
    except (OSError, ValueError):
        return {}
    return {name: old[name] for name in LATER_FIELDS if old.get(name)}


def read_manifest(entry: Path) -> dict[str, Any]:
    """The manifest of a complete entry.

    Raises
    ------
    OSError, ValueError
        Missing or not JSON.
    """
    data: dict[str, Any] = json.loads(manifest_path(entry).read_bytes())
    return data
