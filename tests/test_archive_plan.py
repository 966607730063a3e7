"""kagman.archive's seams: planning from the archive's last bytes, the compact member table,
the writer on a partly present file, the inflate libraries (ISA-L and zlib), the manifest
streamed row by row."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from test_archive import make_zip, patch, tree

from kagman.archive import ExtractLimits, extract_zip, inflate
from kagman.archive.plan import plan
from kagman.archive.writer import plan_batches, write_batch
from kagman.archive.zipformat import TAIL_SIZE
from kagman.errors import UnsafeArchiveError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def suffix_reader(data: bytes, keep: int) -> tuple[Callable[[int, int], bytes], list[int]]:
    """A reader that holds only the last ``keep`` bytes, as a suffix Range request would."""
    asked: list[int] = []

    def read(offset: int, length: int) -> bytes:
        asked.append(offset)
        assert offset >= len(data) - keep, "planning read before the archive's end"
        return data[offset : offset + length]

    return read, asked


def central_size(data: bytes) -> int:
    at = data.rfind(b"PK\x05\x06")
    return int(struct.unpack_from("<L", data, at + 12)[0])


def test_planning_reads_only_the_end_of_the_archive(tmp_path: Path) -> None:
    members = {f"d{n % 3}/f{n:03d}.bin": os.urandom(2000) for n in range(300)}
    data = make_zip(tmp_path / "a.zip", members).read_bytes()
    keep = central_size(data) + TAIL_SIZE  # the directory and every end record, no member data
    assert keep < len(data) // 2
    read, asked = suffix_reader(data, keep)
    found = plan(tmp_path / "a.zip", read, len(data), ExtractLimits())
    assert len(asked) == 2  # the tail, then the central directory
    assert [found.members.path(i) for i in found.by_path()] == sorted(members)
    assert found.folders == ("d0", "d1", "d2")
    assert found.declared == 600_000
    # a hostile archive is refused from the same bytes, before any member data exists
    evil = {"ok.bin": os.urandom(200_000), "../evil.txt": b"2"}
    hostile = make_zip(tmp_path / "b.zip", evil).read_bytes()
    read, _ = suffix_reader(hostile, central_size(hostile) + TAIL_SIZE)
    with pytest.raises(UnsafeArchiveError, match="climb out"):
        plan(tmp_path / "b.zip", read, len(hostile), ExtractLimits())


def test_a_batch_is_written_from_its_own_bytes_alone(tmp_path: Path, dest: Path) -> None:
    members = {f"f{n:04d}.txt": f"{n} ".encode() * 50 for n in range(700)}
    members["big.bin"] = os.urandom(3 << 20)  # streamed on its own
    archive = make_zip(tmp_path / "a.zip", members)
    data = archive.read_bytes()
    found = plan(archive, lambda off, n: data[off : off + n], len(data), ExtractLimits())
    batches = plan_batches(found.members)
    assert len(batches) >= 4
    partial = tmp_path / "partial.zip"  # what a ranged download has so far: holes are zeros
    for batch in (batches[1], batches[-1]):
        body = bytearray(len(data))
        body[batch.begin : batch.end] = data[batch.begin : batch.end]
        partial.write_bytes(bytes(body))
        fd = os.open(partial, os.O_RDONLY)
        try:
            written = write_batch(partial, fd, str(dest), found.members, batch, lambda _: None)
        finally:
            os.close(fd)
        paths = [found.members.path(i) for i in range(batch.start, batch.stop)]
        expected = b"".join(hashlib.sha256(members[p]).digest() for p in paths)
        assert written == expected
    assert tree(dest) == {p: members[p] for p in tree(dest)}
    assert len(tree(dest)) == batches[1].stop - batches[1].start + 1


def reorder_central(path: Path) -> None:
    """Write the central directory records in reverse order (offsets no longer increase)."""
    data = path.read_bytes()
    end = data.rfind(b"PK\x05\x06")
    size, start = struct.unpack_from("<LL", data, end + 12)
    records, pos = [], start
    while pos < start + size:
        nlen, elen, clen = struct.unpack_from("<3H", data, pos + 28)
        records.append(data[pos : pos + 46 + nlen + elen + clen])
        pos += 46 + nlen + elen + clen
    path.write_bytes(data[:start] + b"".join(reversed(records)) + data[start + size :])


@pytest.mark.parametrize("workers", [1, 2])
def test_central_directory_out_of_archive_order(tmp_path: Path, workers: int) -> None:
    members = {f"{chr(97 + n % 26)}/{n:04d}.bin": os.urandom(n % 500) for n in range(900)}
    archive = make_zip(tmp_path / "a.zip", members)
    reorder_central(archive)
    out = tmp_path / "out"
    out.mkdir()
    report = extract_zip(archive, out, workers=workers, start_method="spawn")
    assert tree(out) == members
    assert [f.path for f in report.files] == sorted(members)
    assert report.sha256 == {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}
    # overlaps are still found when the records come out of order
    patch(archive, "a/0026.bin", offset=0)
    again = tmp_path / "again"
    again.mkdir()
    with pytest.raises(UnsafeArchiveError, match="overlaps"):
        extract_zip(archive, again)
    assert list(again.iterdir()) == []


def test_bzip2_and_lzma_members_between_deflated_ones(tmp_path: Path) -> None:
    archive = tmp_path / "mixed.zip"
    methods = [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_STORED, zipfile.ZIP_LZMA]
    members = {f"m{n:04d}.txt": f"member {n} ".encode() * (n % 40 + 1) for n in range(800)}
    with zipfile.ZipFile(archive, "w") as zf:
        for n, (name, body) in enumerate(members.items()):
            zf.writestr(name, body, compress_type=methods[(n // 97) % 4])
    for workers, method in ((1, None), (2, "fork"), (2, "forkserver")):
        out = tmp_path / f"out-{workers}-{method}"
        out.mkdir()
        report = extract_zip(archive, out, workers=workers, start_method=method)
        assert tree(out) == members
        assert report.sha256 == {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}


def test_isal_inflates_when_installed() -> None:
    pytest.importorskip("isal")  # a dependency: installed wherever kagman is
    assert inflate.BACKEND == "isal"


# The inflate-sensitive tests again, in a fresh interpreter where ISA-L cannot be imported:
# the zlib fallback keeps every check, the zip-bomb ones first.
ON_ZLIB = """
import sys
sys.modules["isal"] = None  # as if not installed
import pytest
from kagman.archive import inflate
assert inflate.BACKEND == "zlib", inflate.BACKEND
sys.exit(pytest.main(sys.argv[1:]))
"""
INFLATE_TESTS = (
    "lie or lying or flipped_byte or truncated_deflate or big_members_stream or exact_report "
    "or (several_workers and fork and not forkserver)"
)


def test_zlib_fallback_keeps_every_check(tmp_path: Path) -> None:
    args = ["-q", "-p", "no:cacheprovider", "-x", str(ROOT / "tests" / "test_archive.py")]
    args += ["-k", INFLATE_TESTS, "--basetemp", str(tmp_path / "t")]
    done = subprocess.run(
        [sys.executable, "-c", ON_ZLIB, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
    assert "deselected" in done.stdout  # only the selection ran


def test_manifest_rows_stream_like_json_dumps(tmp_path: Path) -> None:
    from kagman.cache.manifest import _json_chunks, build_manifest
    from kagman.remote.refs import parse_ref

    rows = [(f"f{n:05d}.bin", n, hashlib.sha256(b"%d" % n).hexdigest()) for n in range(9000)]
    rows += [("no-hash.bin", 3, "")]
    manifest = build_manifest(
        kind="dataset",
        ref=parse_ref("o/d/versions/1"),
        total_bytes=1,
        files=rows,
        sha256={"no-hash.bin": "ab" * 32},
    )
    text = b"".join(_json_chunks(manifest))
    body = json.loads(text)
    assert body["files"][:2] == [[rows[0][0], 0, rows[0][2]], [rows[1][0], 1, rows[1][2]]]
    assert body["files"][-1] == ["no-hash.bin", 3, "ab" * 32]
    assert len(body["files"]) == 9001
    assert text == json.dumps(body, separators=(",", ":")).encode()
    assert b"".join(_json_chunks({"files": []})) == b'{"files":[]}'
    assert b"".join(_json_chunks({})) == b"{}"


# A big member's chunks are written by a thread of their own: its write errors must reach
# the caller. RLIMIT_FSIZE makes writes past 2 MiB fail (EFBIG), in a process of its own.
FILE_LIMIT = """
import errno, resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))
from kagman.archive import extract_zip
try:
    extract_zip(Path(sys.argv[1]), Path(sys.argv[2]), workers=1)
except OSError as err:
    print("refused", errno.errorcode[err.errno])
"""


def test_write_errors_of_a_streamed_member_reach_the_caller(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"big.bin": os.urandom(3 << 20)})
    done = subprocess.run(
        [sys.executable, "-c", FILE_LIMIT, str(archive), str(dest)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["refused", "EFBIG"]
    assert (dest / "big.bin").stat().st_size == 2 << 20
