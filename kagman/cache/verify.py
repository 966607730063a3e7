"""``kagman verify``: are the cached files still what the pull wrote?

Each complete or subset entry is compared with its manifest: files missing,
files added, sizes changed, and contents changed (the SHA-256 recorded while
extracting, recomputed here in parallel threads: :mod:`hashlib` and file reads
release the GIL). Entries pulled before kagman recorded hashes are checked by
size only, and say so. Reads only: no lock, no "last used" touch.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kagman.cache.listing import EntryInfo, entries
from kagman.cache.paths import MANIFEST_SUFFIX
from kagman.errors import CacheVerificationError
from kagman.remote.refs import DatasetRef

__all__ = ["EntryCheck", "Problem", "VerifyReport", "sha256_file", "verify"]

_CHUNK = 1 << 20
_BATCH_BYTES = 64 << 20  # one thread task: up to 64 MiB ...
_BATCH_FILES = 512  # ... or 512 files, whichever comes first

Method = Literal["sha256", "sizes only"]


def sha256_file(path: Path | str) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Problem:
    """One difference between an entry and its manifest."""

    kind: Literal["missing", "extra", "size", "content", "manifest"]
    path: str  # posix, relative to the entry ("" for the entry itself)
    detail: str


@dataclass(frozen=True)
class EntryCheck:
    """The verdict on one entry."""

    entry: EntryInfo
    method: Method
    files: int  # files the manifest lists
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


@dataclass(frozen=True)
class VerifyReport:
    """What ``kagman verify`` found, entry by entry.

    ``skipped`` lists leftovers of interrupted pulls, which have no manifest to
    check against (``kagman prune`` removes them).
    """

    checks: tuple[EntryCheck, ...]
    skipped: tuple[EntryInfo, ...] = ()

    @property
    def ok(self) -> bool:
        """Every checked entry is intact."""
        return all(check.ok for check in self.checks)

    def lines(self) -> list[str]:
        """One line per entry, then one per problem."""
        out = []
        for check in self.checks:
            row = check.entry
            what = f"{row.ref}/versions/{row.version}" + (f" file {row.file}" if row.file else "")
            verdict = "ok" if check.ok else f"{len(check.problems)} problem(s)"
            files = f"{check.files} file{'' if check.files == 1 else 's'}"
            out.append(f"{what}: {files}, {check.method}: {verdict}")
            out += [f"  {p.kind}: {p.path or '(entry)'}  {p.detail}" for p in check.problems]
        if self.skipped:
            out.append(f"{len(self.skipped)} leftover(s) of interrupted pulls not checked.")
        return out

    def error(self) -> CacheVerificationError | None:
        """The error the CLI exits with when something is wrong (``None`` when intact)."""
        bad = [check for check in self.checks if not check.ok]
        if not bad:
            return None
        problems = tuple(
            f"{c.entry.ref}/versions/{c.entry.version}: {p.kind} {p.path}"
            for c in bad
            for p in c.problems
        )
        refs = sorted({f"{c.entry.ref}/versions/{c.entry.version}" for c in bad})
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        others = " (and the others)" if len(refs) > 1 else ""
        msg = (
            f"{len(problems)} problem(s) in {len(bad)} cached "
            f"{'entry' if len(bad) == 1 else 'entries'}: {shown}. Pull again with "
            f"`kagman pull {refs[0]} --force`{others}, or remove with `kagman rm`."
        )
        return CacheVerificationError(msg, problems=problems)


def _listed(row: EntryInfo) -> tuple[list[tuple[str, int, str]], Path, str | None]:
    """``(files (path, size, sha256 or ""), folder, problem)`` from the manifest."""
    manifest = row.manifest or {}
    files = manifest.get("files")
    if row.file is not None:  # one file: the entry is the file itself
        size = int(manifest.get("total_bytes", -1))
        digest = ""
        if isinstance(files, list) and files and len(files[0]) > 2:
            digest = str(files[0][2])
        return [("", size, digest)], row.path, None
    if not isinstance(files, list):
        return [], row.path, "the manifest lists no files"
    out = [(str(f[0]), int(f[1]), str(f[2]) if len(f) > 2 else "") for f in files]
    return out, row.path, None


def _walk(top: Path) -> set[str]:
    """Every non-folder under ``top``, as posix paths relative to it (links not followed)."""
    found: set[str] = set()
    stack = [("", os.fspath(top))]
    while stack:
        rel, folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    name = f"{rel}{entry.name}"
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((f"{name}/", entry.path))
                    else:
                        found.add(name)
        except OSError:
            continue
    return found


def _check_sizes(row: EntryInfo) -> tuple[list[Problem], list[tuple[str, str, int]], Method, int]:
    """Structural problems, the files left to hash ``(rel, path, size)``, the method, count."""
    listed, top, trouble = _listed(row)
    if trouble:
        return [Problem("manifest", "", trouble)], [], "sizes only", 0
    problems: list[Problem] = []
    to_hash: list[tuple[str, str, int]] = []
    hashed = bool(listed) and all(digest for _, _, digest in listed)
    if row.file is None:
        present = _walk(top)
        wanted = {rel for rel, _, _ in listed}
        problems += [
            Problem("extra", rel, "not in the manifest") for rel in sorted(present - wanted)
        ]
    for rel, size, digest in listed:
        path = os.path.join(top, rel) if rel else os.fspath(top)  # noqa: PTH118
        try:
            st = os.lstat(path)
        except OSError:
            problems.append(Problem("missing", rel, "listed in the manifest, not on disk"))
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append(Problem("extra", rel, "not a regular file"))
        elif st.st_size != size:
            problems.append(Problem("size", rel, f"{st.st_size:,} bytes, expected {size:,}"))
        elif digest:
            to_hash.append((rel, path, size))
    return problems, to_hash, "sha256" if hashed else "sizes only", len(listed)


def _batches(work: list[tuple[int, str, str, int]]) -> Iterator[list[tuple[int, str, str, int]]]:
    batch: list[tuple[int, str, str, int]] = []
    size = 0
    for item in work:
        batch.append(item)
        size += item[3]
        if size >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _hash_batch(batch: list[tuple[int, str, str, int]]) -> list[tuple[int, str, str, int]]:
    out = []
    for index, rel, path, size in batch:
        try:
            digest = sha256_file(path)
        except OSError as err:
            digest = f"unreadable: {err.strerror}"
        out.append((index, rel, digest, size))
    return out


def verify(
    ref: str | DatasetRef | None = None,
    *,
    progress: bool | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """Check cached files against their manifests: missing, extra, resized, changed.

    Parameters
    ----------
    ref
        ``owner/slug`` (every version) or ``owner/slug/versions/N``; ``None`` for
        the whole cache.
    progress
        A progress bar (bytes hashed) on stderr; ``None``: only where someone watches.
    workers
        Hashing threads; default: the CPU count (at least 2).

    Returns
    -------
    VerifyReport
        ``.ok``, ``.checks`` (per entry: method ``"sha256"`` or ``"sizes only"``
        for entries pulled before hashes were recorded, and the problems), and
        ``.error()``: the :class:`~kagman.errors.CacheVerificationError` the CLI
        exits with (code 9) when something is wrong.

    Raises
    ------
    InvalidRefError
        ``ref`` is not a dataset ref.
    NotCachedError
        ``ref`` is given and nothing of it is cached.
    """
    from kagman.errors import NotCachedError
    from kagman.ui.progress import ByteProgress, progress_enabled

    rows = entries(ref)
    if ref is not None and not rows:
        msg = f"{ref} is not in the cache; nothing to verify. See `kagman ls`."
        raise NotCachedError(msg, ref=str(ref))
    checked = [row for row in rows if row.state != "incomplete"]
    found: list[tuple[EntryInfo, list[Problem], Method, int]] = []
    for row in rows:
        if row.state == "incomplete" and row.path.name.endswith(MANIFEST_SUFFIX):
            gone = Problem("missing", "", "the entry's data is gone; only its manifest is left")
            found.append((row, [gone], "sizes only", 0))
    work: list[tuple[int, str, str, int]] = []
    expected: dict[tuple[int, str], str] = {}
    for row in checked:
        index = len(found)
        problems, to_hash, method, count = _check_sizes(row)
        found.append((row, problems, method, count))
        listed = {rel: digest for rel, _, digest in _listed(row)[0]}
        for rel, path, size in to_hash:
            work.append((index, rel, path, size))
            expected[index, rel] = listed[rel]
    total = sum(item[3] for item in work)
    threads = workers or max(2, min(32, os.cpu_count() or 2))
    with (
        ByteProgress("Verifying", enabled=progress_enabled(progress)) as bar,
        ThreadPoolExecutor(threads) as pool,
    ):
        bar.set_total(total)
        for results in pool.map(_hash_batch, _batches(work)):
            for index, rel, digest, size in results:
                if digest != expected[index, rel]:
                    detail = digest if digest.startswith("unreadable") else "SHA-256 differs"
                    found[index][1].append(Problem("content", rel, detail))
                bar(size)
    checks = tuple(
        EntryCheck(row, method, count, tuple(sorted(problems, key=lambda p: (p.path, p.kind))))
        for row, problems, method, count in found
    )
    seen = {row.path for row, *_ in found}
    checks = tuple(sorted(checks, key=lambda check: str(check.entry.path)))
    skipped = tuple(row for row in rows if row.state == "incomplete" and row.path not in seen)
    return VerifyReport(checks, skipped)
