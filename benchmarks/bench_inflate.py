"""Benchmark: inflate and CRC-32 with the standard ``zlib``, ``zlib-ng`` and ISA-L (``isal``).

Measured on real data, all in one run, best of N interleaved rounds:

* a ~1 GB CSV (bench_load.py's table: ids, floats, words, counts, dates) deflated at
  zipfile's default level into one ~0.5 GB member, inflated the way kagman's writer
  streams a big member (1 MiB of input at a time, ``max_length`` bounded, so a lying
  header is caught while inflating);
* the 30,000 small JPEGs of bench_extract.py, each member inflated whole in memory, as
  the writer does for small members;
* CRC-32 of the inflated bytes with each library;
* ``extract_zip`` end to end on both archives (workers=1 and the automatic choice) with
  :mod:`kagman.archive.inflate` on each backend it can use (the others blocked from import
  in a fresh process).

The archives are built once under ``benchmarks/.work/`` (git-ignored) and copied to tmpfs::

    python benchmarks/bench_inflate.py            # best of 3
    python benchmarks/bench_inflate.py --runs 5 --mb 200
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
MIB = 1 << 20


def libraries() -> dict[str, ModuleType]:
    """The inflate libraries importable here, by name."""
    found: dict[str, ModuleType] = {"zlib": zlib}
    try:
        from zlib_ng import zlib_ng

        found["zlib-ng"] = zlib_ng
    except ImportError:
        print("zlib-ng is not installed (pip install zlib-ng)")
    try:
        from isal import isal_zlib

        found["isal"] = isal_zlib
    except ImportError:
        print("isal is not installed (pip install isal)")
    return found


def build_csv_zip(path: Path, megabytes: int) -> None:
    """One CSV of ``megabytes`` MB, deflated into a zip of one member (built once)."""
    sys.path.insert(0, str(HERE))
    from bench_load import write_csv

    csv = WORK / f"table-{megabytes}mb.csv"
    if not csv.exists():
        print(f"writing {csv} ...", flush=True)
        write_csv(csv, megabytes)
    print(f"deflating it into {path} ...", flush=True)
    tmp = path.with_suffix(".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv, "table.csv")
    tmp.replace(path)
    csv.unlink()


def raw_members(archive: Path) -> list[tuple[bytes, int, int]]:
    """``(deflated bytes, uncompressed size, CRC)`` of each deflated member."""
    out = []
    with zipfile.ZipFile(archive) as zf, archive.open("rb") as fh:
        for info in zf.infolist():
            fh.seek(info.header_offset + 26)
            name_len, extra_len = (
                int.from_bytes(fh.read(2), "little"),
                int.from_bytes(fh.read(2), "little"),
            )
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            out.append((fh.read(info.compress_size), info.file_size, info.CRC))
    return out


def stream_inflate(lib: ModuleType, data: bytes, usize: int) -> int:
    """Inflate like the writer's big-member path: 1 MiB in, at most 1 MiB out per call."""
    inflater = lib.decompressobj(-15)
    view, total = memoryview(data), 0
    for at in range(0, len(data), MIB):
        chunk: bytes | memoryview = view[at : at + MIB]
        while chunk:
            total += len(inflater.decompress(chunk, MIB))
            chunk = inflater.unconsumed_tail
    total += len(inflater.flush())
    assert inflater.eof, "the stream did not end"
    assert total == usize, (total, usize)
    return total


def whole_inflate(lib: ModuleType, members: list[tuple[bytes, int, int]]) -> None:
    """Inflate each member whole, bounded by its size + 1, like the writer's batch path."""
    for data, usize, crc in members:
        inflater = lib.decompressobj(-15)
        out = inflater.decompress(data, usize + 1)
        assert inflater.eof, "a member did not end"
        assert len(out) == usize, (len(out), usize)
        assert lib.crc32(out) == crc, "bad CRC"


def best(runs: int, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best wall time of each, interleaved over ``runs`` rounds."""
    times = dict.fromkeys(fns, float("inf"))
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name] = min(times[name], time.perf_counter() - t0)
    return times


# Runs extract_zip in a fresh process with the other inflate libraries blocked from import.
EXTRACT = """
import sys, time, shutil, pathlib
for name in sys.argv[4].split(","):
    if name:
        sys.modules[name] = None  # import fails: kagman.archive.inflate falls back
from kagman.archive import extract_zip, inflate
assert inflate.BACKEND == sys.argv[5], (inflate.BACKEND, sys.argv[5])
src, dest, workers = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
best = float("inf")
for _ in range(int(sys.argv[6])):
    dest.mkdir()
    t0 = time.perf_counter()
    extract_zip(src, dest, workers=None if workers == "auto" else int(workers))
    best = min(best, time.perf_counter() - t0)
    shutil.rmtree(dest)
print(best)
"""
BLOCK = {"zlib": "isal,zlib_ng", "isal": "zlib_ng", "zlib-ng": "isal"}


def extract_time(src: Path, scratch: Path, backend: str, workers: str, runs: int) -> float:
    """Best ``extract_zip`` time in a fresh process using ``backend`` for inflate and CRC."""
    out = subprocess.run(
        [sys.executable, "-c", EXTRACT, str(src), str(scratch / "dest"), workers,
         BLOCK[backend], backend, str(runs)],
        check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    return float(out.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (the best is kept)")
    parser.add_argument("--mb", type=int, default=1000, help="size of the CSV in MB")
    parser.add_argument("--tmp", default="/dev/shm", help="folder to extract into (tmpfs)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_extract import build_archive

    libs = libraries()
    WORK.mkdir(exist_ok=True)
    csv_zip = WORK / f"table-{args.mb}mb.zip"
    if not csv_zip.exists():
        build_csv_zip(csv_zip, args.mb)
    jpegs = WORK / "jpegs-30000.zip"
    if not jpegs.exists():
        print(f"building {jpegs} ...", flush=True)
        build_archive(jpegs, 30_000)

    [(big, big_usize, big_crc)] = raw_members(csv_zip)
    small = raw_members(jpegs)
    print(
        f"CSV member: {big_usize / 1e6:,.0f} MB deflated to {len(big) / 1e6:,.0f} MB; "
        f"{len(small):,} JPEG members, {sum(u for _, u, _ in small) / 1e6:.1f} MB; "
        f"best of {args.runs}; {os.cpu_count()} CPUs"
    )
    inflated = zlib.decompress(big, -15)
    assert zlib.crc32(inflated) == big_crc
    jpeg_bytes = [zlib.decompress(d, -15) for d, _, _ in small]

    fns: dict[str, Callable[[], object]] = {}
    for name, lib in libs.items():
        fns[f"{name}: inflate CSV member, streamed"] = lambda lib=lib: stream_inflate(
            lib, big, big_usize
        )
        fns[f"{name}: inflate 30,000 JPEGs, each whole"] = lambda lib=lib: whole_inflate(lib, small)
        fns[f"{name}: CRC-32 of the CSV"] = lambda lib=lib: lib.crc32(inflated)
        fns[f"{name}: CRC-32 of each JPEG"] = lambda lib=lib: [lib.crc32(b) for b in jpeg_bytes]
    times = best(args.runs, fns)
    print(f"{'what':48} {'best s':>8} {'vs zlib':>8} {'GB/s out':>9}")
    for key, secs in times.items():
        name, what = key.split(": ", 1)
        base = times[f"zlib: {what}"]
        out_bytes = big_usize if "CSV" in what else sum(u for _, u, _ in small)
        print(f"{key:48} {secs:8.3f} {secs / base:7.2f}x {out_bytes / secs / 1e9:9.2f}")

    tmp_root = Path(args.tmp) if Path(args.tmp).is_dir() else Path(tempfile.gettempdir())
    scratch = Path(tempfile.mkdtemp(prefix="kagman-bench-", dir=tmp_root))
    try:
        rows = []
        for archive in (csv_zip, jpegs):
            src = scratch / archive.name
            shutil.copyfile(archive, src)
            for workers in ("1", "auto"):
                found = {
                    name: extract_time(src, scratch, name, workers, args.runs)
                    for name in libs
                    if name != "zlib-ng"  # kagman's seam knows isal and zlib only
                }
                for name, secs in found.items():
                    rows.append((archive.name, workers, name, secs, secs / found["zlib"]))
            src.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    head = f"{'extract_zip end to end':30} {'workers':>7} {'inflate':>8}"
    print(f"\n{head} {'best s':>8} {'vs zlib':>8}")
    for archive_name, workers, name, secs, ratio in rows:
        print(f"{archive_name:30} {workers:>7} {name:>8} {secs:8.3f} {ratio:7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
