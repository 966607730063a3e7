"""``kagman verify``: are the cached files still what the pull wrote?

Each complete or subset entry (of a dataset or a competition) is compared with its
manifest, which lists exactly the files the entry holds: files missing,
files added, sizes changed, and contents changed (the SHA-256 recorded while
extracting, recomputed here in parallel threads: :mod:`hashlib` and file reads
release the GIL). Entries pulled before kagman recorded hashes are checked by
size only, and say so. Reads only: no lock, no "last used" touch.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from kagman.cache.info import html_table
from kagman.cache.listing import EntryInfo, entries
from kagman.cache.paths import MANIFEST_SUFFIX
from kagman.errors import CacheVerificationError
from kagman.fs import counted
from kagman.remote.refs import CompetitionRef, Ref

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
    check against (``kagman prune`` removes them). ``str()`` is what ``kagman verify``
    prints, with a summary line; in a notebook it shows as a table.
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
            what = _name(row)
            verdict = "ok" if check.ok else counted(len(check.problems), "problem")
            files = counted(check.files, "file")
            out.append(f"{what}: {files}, {check.method}: {verdict}")
            out += [f"  {p.kind}: {p.path or '(entry)'}  {p.detail}" for p in check.problems]
        running = {(row.kind, row.ref) for row in self.skipped if row.in_progress}
        left = [row for row in self.skipped if not row.in_progress]
        if left:
            n = len(left)
            out.append(
                f"{counted(n, 'leftover of an interrupted pull', 'leftovers of interrupted pulls')}"
                " not checked."
            )
        out += [
            f"{ref}: a pull is running, so what it writes was not checked."
            for _, ref in sorted(running)
        ]
        return out

    def summary(self) -> str:
        """One line: how many entries were checked and whether they are intact."""
        bad = [check for check in self.checks if not check.ok]
        n = len(self.checks)
        checked = f"{counted(n, 'cached entry', 'cached entries')} checked"
        if not bad:
            return f"{checked}: all intact."
        problems = sum(len(check.problems) for check in bad)
        where = counted(len(bad), "entry", "entries")
        return f"{checked}: {counted(problems, 'problem')} in {where}."

    def __str__(self) -> str:
        return "\n".join([*self.lines(), self.summary()])

    def __repr__(self) -> str:
        return f"<VerifyReport ok={self.ok}: {self.summary()}>"

    def _repr_html_(self) -> str:
        rows: list[tuple[str, ...]] = []
        for check in self.checks:
            files = f"{check.files:,}"
            verdict = "ok" if check.ok else counted(len(check.problems), "problem")
            rows.append((_name(check.entry), files, check.method, verdict, ""))
            rows += [
                ("", "", "", p.kind, f"{p.path or '(entry)'}: {p.detail}") for p in check.problems
            ]
        rows += [
            (_name(row), "", "", "not checked", "left by an interrupted pull")
            for row in self.skipped
        ]
        header = ("entry", "files", "checked by", "result", "problem")
        return html_table(self.summary(), header, rows)

    def error(self) -> CacheVerificationError | None:
        """The error the CLI exits with when something is wrong (``None`` when intact)."""
        bad = [check for check in self.checks if not check.ok]
        if not bad:
            return None
        problems = tuple(f"{_name(c.entry)}: {p.kind} {p.path}" for c in bad for p in c.problems)
        shown = "; ".join(
            f"{_name(c.entry)}: "
            + ", ".join(f"{p.kind} {p.path or '(entry)'}" for p in c.problems[:5])
            + (f" and {len(c.problems) - 5} more" if len(c.problems) > 5 else "")
            for c in bad[:3]
        )
        msg = (
            f"{counted(len(problems), 'problem')} in "
            f"{counted(len(bad), 'cached entry', 'cached entries')} ({shown}). "
            f"{_fix(bad[0], len(bad))}."
        )
        return CacheVerificationError(msg, problems=problems)


def _name(row: EntryInfo) -> str:
    if row.single_file:
        return f"{row.label} file {row.file}"
    return row.label + (" (subset)" if row.state == "subset" else "")


def _fix(check: EntryCheck, bad: int) -> str:
    """What to run about a damaged entry: pull it again (a subset: the damaged file)."""
    others = " (and the others)" if bad > 1 else ""
    row, ref = check.entry, check.entry.to_ref()
    rm = f"kagman rm -c {ref}" if isinstance(ref, CompetitionRef) else f"kagman rm {ref}"
    pull = f"kagman pull -c {ref}" if isinstance(ref, CompetitionRef) else f"kagman pull {ref}"
    if row.state == "subset":
        damaged = [p.path for p in check.problems if p.kind != "extra" and p.path]
        if not damaged and not row.single_file:
            return f"Delete the files its manifest does not list, or remove it with `{rm}`{others}"
        pull += f" --file {row.file if row.single_file else damaged[0]}"
    return f"Pull again with `{pull} --force`{others}, or remove with `{rm}`"


def _listed(row: EntryInfo) -> tuple[list[tuple[str, int, str]], Path, str | None]:
    """``(files (path, size, sha256 or ""), folder, problem)`` from the manifest."""
    manifest = row.manifest or {}
    files = manifest.get("files")
    if row.single_file:  # files/<N>/<name>, the layout before subsets: the entry is the file
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


class _Item(NamedTuple):
    """One listed file to check: which entry, its name, where, and what it should be."""

    entry: int  # index of the entry's check
    rel: str
    path: str
    size: int
    digest: str  # "" when the manifest has no hash: size only


def _plan(index: int, row: EntryInfo) -> tuple[list[Problem], list[_Item], Method, int]:
    """Problems found from names alone (extra files), the files to check, method, count."""
    listed, top, trouble = _listed(row)
    if trouble:
        return [Problem("manifest", "", trouble)], [], "sizes only", 0
    problems: list[Problem] = []
    hashed = bool(listed) and all(digest for _, _, digest in listed)
    if not row.single_file:  # a subset's folder holds exactly the files it lists, too
        present = _walk(top)
        wanted = {rel for rel, _, _ in listed}
        problems += [
            Problem("extra", rel, "not in the manifest") for rel in sorted(present - wanted)
        ]
    base = os.fspath(top)
    items = [
        _Item(index, rel, f"{base}/{rel}" if rel else base, size, digest)
        for rel, size, digest in listed
    ]
    return problems, items, "sha256" if hashed else "sizes only", len(listed)


def _batches(work: list[_Item]) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    size = 0
    for item in work:
        batch.append(item)
        size += item.size
        if size >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


_OPEN = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _check(item: _Item) -> Problem | None:
    """Open, ``fstat`` and (if hashed) read one file: four system calls for a small one."""
    try:
        fd = os.open(item.path, _OPEN | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return Problem("missing", item.rel, "listed in the manifest, not on disk")
    except OSError as err:
        if err.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
            return Problem("extra", item.rel, "a symbolic link, not the file")
        return Problem("content", item.rel, f"unreadable: {err.strerror}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Problem("extra", item.rel, "not a regular file")
        if st.st_size != item.size:
            return Problem("size", item.rel, f"{st.st_size:,} bytes, expected {item.size:,}")
        if not item.digest:
            return None
        digest, left = hashlib.sha256(), st.st_size
        while left > 0:
            chunk = os.read(fd, min(_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        if digest.hexdigest() != item.digest:
            return Problem("content", item.rel, "SHA-256 differs")
        return None
    except OSError as err:
        return Problem("content", item.rel, f"unreadable: {err.strerror}")
    finally:
        os.close(fd)


def _check_batch(batch: list[_Item]) -> tuple[list[tuple[int, Problem]], int]:
    """Problems in one batch (by entry index) and the bytes it covered."""
    found = []
    for item in batch:
        problem = _check(item)
        if problem is not None:
            found.append((item.entry, problem))
    return found, sum(item.size for item in batch)


def verify(
    ref: str | Ref | None = None,
    *,
    progress: bool | None = None,
    workers: int | None = None,
) -> VerifyReport:
    """Check cached files against their manifests: missing, extra, resized, changed.

    Parameters
    ----------
    ref
        ``owner/slug`` (every version), ``owner/slug/versions/N``, a dataset or
        competition URL, or a :class:`~kagman.CompetitionRef` (every data state);
        ``None`` for the whole cache.
    progress
        A progress bar (bytes hashed) on stderr; ``None``: only where someone watches.
    workers
        Checking threads; default: the CPU count (at least 2).

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
        ``ref`` is not a dataset or competition ref.
    NotCachedError
        ``ref`` is given and nothing of it is cached.
    """
    from kagman.errors import NotCachedError
    from kagman.ui.progress import Bar, progress_enabled

    rows = entries(ref, measure=False)  # sizes on disk are `ls`'s business, not needed here
    if ref is not None and not rows:
        about = f"the competition {ref}" if isinstance(ref, CompetitionRef) else str(ref)
        msg = f"{about} is not in the cache; nothing to verify. See `kagman ls`."
        raise NotCachedError(msg, ref=str(ref))
    found: list[tuple[EntryInfo, list[Problem], Method, int]] = []
    for row in rows:
        if row.state == "incomplete" and row.path.name.endswith(MANIFEST_SUFFIX):
            gone = Problem("missing", "", "the entry's data is gone; only its manifest is left")
            found.append((row, [gone], "sizes only", 0))
    work: list[_Item] = []
    for row in rows:
        if row.state != "incomplete":
            problems, items, method, count = _plan(len(found), row)
            found.append((row, problems, method, count))
            work += items
    threads = workers or max(2, os.cpu_count() or 2)
    with (
        Bar("Verifying", enabled=progress_enabled(progress)) as bar,
        ThreadPoolExecutor(threads) as pool,
    ):
        bar.set_total(sum(item.size for item in work))
        for batch_problems, done in pool.map(_check_batch, _batches(work)):
            for index, problem in batch_problems:
                found[index][1].append(problem)
            bar(done)
    checks = tuple(
        EntryCheck(row, method, count, tuple(sorted(problems, key=lambda p: (p.path, p.kind))))
        for row, problems, method, count in found
    )
    checks = tuple(sorted(checks, key=lambda check: str(check.entry.path)))
    seen = {check.entry.path for check in checks}
    skipped = tuple(row for row in rows if row.state == "incomplete" and row.path not in seen)
    return VerifyReport(checks, skipped)
