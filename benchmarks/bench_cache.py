"""Benchmark `kagman verify` against `sha256sum` over the same files, in one run.

Two datasets are pulled from the local fake Kaggle server into a cache on
tmpfs (``/dev/shm``), then each is verified (sizes, and the SHA-256 of every
file against the manifest) by ``kagman verify REF`` as a user runs it, and
hashed by GNU ``sha256sum`` over exactly the same files (``xargs -0``, one
process at a time: the usual way), with ``xargs -P <cores>`` alongside for
reference. Printed as ratios against the baseline of the same run:

* 30,000 small JPEGs (~33 MB): the cost per file dominates;
* a few large files (``--big-mb`` in all, default 512): hashing speed dominates.

Run from the repository root (the first run builds ``benchmarks/.work/venv``,
see ``bench_pull.py``)::

    python benchmarks/bench_cache.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE)]
from bench_pull import PORT, WORK, best_of, ensure_bench_venv, run  # noqa: E402


def big_archive(path: Path, total_mb: int, parts: int = 8) -> None:
    """``parts`` files of random bytes, stored (random data does not compress)."""
    chunk = os.urandom(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for n in range(parts):
            with zf.open(f"part-{n}.bin", "w", force_zip64=True) as fh:
                for k in range(total_mb // parts):
                    fh.write(chunk[k % 7 :] + chunk[: k % 7])


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--big-mb", type=int, default=512)
    parser.add_argument("--tmp", default="/dev/shm")
    args = parser.parse_args()
    for tool in ("sha256sum", "xargs"):
        if shutil.which(tool) is None:
            msg = f"{tool} is needed for the baseline (GNU coreutils, findutils)"
            raise SystemExit(msg)
    ensure_bench_venv()

    sys.path[:0] = [str(ROOT / "tests")]
    from bench_extract import build_archive
    from kaggle_server_api import TEST_KEY as KEY
    from kaggle_server_api import TEST_USERNAME as USER

    WORK.mkdir(exist_ok=True)
    archives = {
        "bench/jpegs": WORK / f"jpegs-{args.members}.zip",
        "bench/big": WORK / f"big-{args.big_mb}mb.zip",
    }
    if not archives["bench/jpegs"].exists():
        build_archive(archives["bench/jpegs"], args.members)
    if not archives["bench/big"].exists():
        big_archive(archives["bench/big"], args.big_mb)
    scratch = Path(tempfile.mkdtemp(prefix="kagman-bench-cache-", dir=args.tmp))
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "HOME": str(scratch / "home"),
        "KAGGLE_API_ENVIRONMENT": "TEST",
        "KAGGLE_USERNAME": USER,
        "KAGGLE_KEY": KEY,
        "KAGMAN_CACHE": str(scratch / "cache"),
        "PATH": f"{bindir}:{os.environ['PATH']}",
    }
    env.pop("KAGGLE_CONFIG_DIR", None)
    (scratch / "home").mkdir()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    server = start_server(archives)
    lines = []
    try:
        for ref in archives:
            out = subprocess.run(
                [str(bindir / "kagman"), "pull", ref, "--no-progress"],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            entry = Path(out.stdout.strip())
            names = sorted(str(p) for p in entry.rglob("*") if p.is_file())
            listing = scratch / f"{ref.replace('/', '-')}.list"
            listing.write_bytes(b"\0".join(n.encode() for n in names))
            size_mb = sum(Path(n).stat().st_size for n in names) / 1e6

            def sha256sum(_: int, listing: Path = listing) -> None:
                with listing.open("rb") as names_in:
                    run(["xargs", "-0", "sha256sum"], env, stdin=names_in)

            def sha256sum_parallel(_: int, listing: Path = listing) -> None:
                with listing.open("rb") as names_in:
                    run(["xargs", "-0", "-P", str(cpus), "-n", "500", "sha256sum"], env,
                        stdin=names_in)  # fmt: skip

            def verify(_: int, ref: str = ref) -> None:
                run([str(bindir / "kagman"), "verify", ref, "--no-progress"], env)

            base = best_of(args.runs, sha256sum)
            parallel = best_of(args.runs, sha256sum_parallel)
            ours = best_of(args.runs, verify)
            what = f"{len(names):,} files, {size_mb:,.0f} MB"
            lines.append(f"kagman verify {ref} ({what}), best of {args.runs}, on {args.tmp}")
            for name, seconds in (
                ("sha256sum, one process (baseline)", base),
                (f"sha256sum, xargs -P {cpus}", parallel),
                ("kagman verify", ours),
            ):
                lines.append(f"  {name:36s} {seconds:7.3f} s  {seconds / base:5.2f}x")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
