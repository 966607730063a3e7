"""Benchmark: peak memory of a cold pull of a 300,000-member archive, and the parent's planning.

* Peak RSS (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by a small wrapper
  process whose only child is the pull, so the figure covers the ``kagman pull`` process
  and the extraction workers it forks) of a cold ``kagman pull`` from the fake Kaggle
  server, beside the same pull of a 1-member archive in the same run (what the process
  costs before any member) and the cost per member. Target: <= 150 MB at 300,000 members.
* The serial work of the parent around the workers at 100,000 members, in-process:
  planning (end records, one pass over the central directory, the path order and the
  batches) and the manifest (built and written from the report's compact rows), beside
  ``zipfile.ZipFile(...).infolist()`` of the same archive, the standard library's bare
  read of the central directory.

The archives (small members, ``train/<class>/<n>.bin``, classes interleaved so the paths
are not in archive order) are built once under ``benchmarks/.work/`` (git-ignored). The
server binds localhost:7777, so run it where no other fake server runs (or in a network
namespace of its own: ``unshare -n``, then ``ip link set lo up``)::

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --members 100000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
PORT = 7777
CLASSES = ("cat", "dog", "bird", "fish", "frog", "horse", "ship", "truck", "plane", "deer")

# The wrapper: runs `kagman pull` (this tree's kagman) as its only child, prints its peak RSS.
WRAPPER = """
import resource, subprocess, sys
code = "import sys; from kagman.cli import main; sys.argv[0] = 'kagman'; main()"
subprocess.run([sys.executable, "-c", code, "pull", sys.argv[1], "--no-progress"], check=True,
               stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
"""


def build_archive(path: Path, members: int, seed: int = 0) -> None:
    """``members`` small deflated files of 100-700 bytes, once; classes interleaved."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    words = [rng.randbytes(8).hex() for _ in range(64)]
    tmp = path.with_suffix(".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n in range(members):
            body = " ".join(rng.choices(words, k=rng.randint(6, 40))).encode()
            zf.writestr(f"train/{CLASSES[n % len(CLASSES)]}/{n:07d}.bin", body)
    tmp.replace(path)


def archive_for(members: int) -> Path:
    WORK.mkdir(exist_ok=True)
    path = WORK / f"members-{members}.zip"
    if not path.exists():
        print(f"building {path} ...", flush=True)
        build_archive(path, members)
    return path


def start_server(datasets: dict[str, Path]) -> subprocess.Popen[str]:
    specs = [arg for ref, path in datasets.items() for arg in ("--dataset", f"{ref}={path}")]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "kaggle_server.py"), "--port", str(PORT), *specs],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    if server.stdout.readline().strip() != "ready":
        msg = "the fake Kaggle server did not start"
        raise SystemExit(msg)
    return server


def peak_rss_of_pull(ref: str, env: dict[str, str]) -> int:
    """Peak RSS in bytes of a cold `kagman pull ref` and the workers it forks."""
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, ref], env=env, check=True, capture_output=True, text=True
    )
    return int(out.stdout.split()[-1]) * 1024


def planning_times(archive: Path, scratch: Path, runs: int) -> dict[str, float]:
    """Best times of the parent's serial steps on ``archive``, and zipfile's bare read."""
    from kagman.archive import extract_zip
    from kagman.archive.plan import ExtractLimits, plan
    from kagman.archive.writer import plan_batches
    from kagman.archive.zipformat import file_reader
    from kagman.cache.manifest import build_manifest, write_manifest
    from kagman.remote.refs import parse_ref

    dest = scratch / "dest"
    dest.mkdir()
    report = extract_zip(archive, dest)
    ref = parse_ref("bench/memory/versions/1")
    best = dict.fromkeys(("zipfile infolist", "plan + batches", "manifest"), float("inf"))
    for _ in range(runs):
        t0 = time.perf_counter()
        with zipfile.ZipFile(archive) as zf:
            zf.infolist()
        t1 = time.perf_counter()
        fd = os.open(archive, os.O_RDONLY)
        try:
            found = plan(archive, file_reader(fd), os.fstat(fd).st_size, ExtractLimits())
            plan_batches(found.members)
        finally:
            os.close(fd)
        t2 = time.perf_counter()
        manifest = build_manifest(
            kind="dataset", ref=ref, total_bytes=report.total_bytes, files=report.files
        )
        write_manifest(dest, manifest)
        t3 = time.perf_counter()
        for key, secs in zip(best, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            best[key] = min(best[key], secs)
    shutil.rmtree(dest)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300_000, help="members of the big pull")
    parser.add_argument("--plan-members", type=int, default=100_000, help="for planning times")
    parser.add_argument("--runs", type=int, default=3, help="rounds (best / lowest kept)")
    parser.add_argument("--tmp", default="/dev/shm", help="cache folder root (tmpfs)")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from kaggle_server_api import TEST_KEY, TEST_USERNAME

    big, tiny = archive_for(args.members), archive_for(1)
    planned = archive_for(args.plan_members)
    tmp_root = args.tmp if Path(args.tmp).is_dir() else tempfile.gettempdir()
    scratch = Path(tempfile.mkdtemp(prefix="kagman-bench-", dir=tmp_root))
    env = {
        **os.environ,
        "HOME": str(scratch / "home"),
        "KAGGLE_API_ENVIRONMENT": "TEST",
        "KAGGLE_USERNAME": TEST_USERNAME,
        "KAGGLE_KEY": TEST_KEY,
        "PYTHONPATH": str(ROOT),  # this tree's kagman, whatever is installed
    }
    env.pop("KAGGLE_CONFIG_DIR", None)
    (scratch / "home").mkdir()
    server = start_server({"bench/big": big, "bench/tiny": tiny})
    peaks: dict[str, int] = {"bench/tiny": 1 << 62, "bench/big": 1 << 62}
    try:
        for i in range(args.runs):
            for ref in list(peaks):
                cache = scratch / f"cache-{i}-{ref.replace('/', '-')}"
                rss = peak_rss_of_pull(ref, {**env, "KAGMAN_CACHE": str(cache)})
                peaks[ref] = min(peaks[ref], rss)
                shutil.rmtree(cache)
    finally:
        server.terminate()
        server.wait()
    try:
        times = planning_times(planned, scratch, args.runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    base, peak = peaks["bench/tiny"], peaks["bench/big"]
    mb = 1e6
    print(f"cold pull peak RSS (kagman process and its workers), lowest of {args.runs}:")
    print(f"  1 member                {base / mb:7.1f} MB  (the process before any member)")
    print(
        f"  {args.members:,} members  {peak / mb:7.1f} MB  "
        f"({(peak - base) / args.members:,.0f} bytes per member over the 1-member pull)  "
        f"target <= 150 MB: {'met' if peak <= 150 * mb else 'MISSED'}"
    )
    ref_secs = times["zipfile infolist"]
    print(f"parent's serial steps at {args.plan_members:,} members, best of {args.runs}:")
    for name, secs in times.items():
        print(f"  {name:34} {secs:7.3f} s  {secs / ref_secs:5.2f}x zipfile's infolist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
