"""Micro-benchmark: extracting a zip of 30,000 small JPEGs into tmpfs.

Compares Info-ZIP ``unzip -q`` (the baseline), ``zipfile.ZipFile.extractall``
and :func:`kagman.archive.extract_zip`: one process, two processes started each
way (``fork``, ``forkserver``, ``spawn``; see :mod:`kagman.archive.workers`),
two threads, and the automatic choice. Best of N interleaved rounds, all in the
same run and on the same tmpfs, so the ratios are comparable even when absolute
times drift between machines.

The archive is built once, deterministically, and cached under
``benchmarks/.work/`` (git-ignored)::

    python benchmarks/bench_extract.py            # best of 5
    python benchmarks/bench_extract.py --runs 3 --members 10000
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
CLASSES = ("cat", "dog", "bird", "fish", "frog", "horse", "ship", "truck", "plane", "deer")


def build_archive(path: Path, members: int, seed: int = 0) -> None:
    """Write a Kaggle-like image dataset zip: ``train/<class>/<n>.jpg`` JPEGs of ~1 KB.

    Smooth random colour fields with a little noise, 32-64 px, quality 85: real
    JPEG headers and entropy, so sizes and deflate behaviour look like a small
    image dataset's.
    """
    from PIL import Image

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    tmp = path.with_suffix(".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n in range(members):
            w, h = rng.randint(32, 64), rng.randint(32, 64)
            img = Image.frombytes("RGB", (4, 4), rng.randbytes(48)).resize(
                (w, h), Image.Resampling.BICUBIC
            )
            noise = Image.effect_noise((w, h), 64).convert("RGB")
            img = Image.blend(img, noise, 0.03)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=85)
            label = CLASSES[n % len(CLASSES)]
            zf.writestr(f"train/{label}/{n:06d}.jpg", buf.getvalue())
    tmp.replace(path)


def best_times(
    runs: int, methods: list[tuple[str, Callable[[Path], object]]], scratch: Path
) -> dict[str, float]:
    """Best wall time of each method over ``runs`` rounds, each into a fresh empty folder.

    Rounds interleave the methods, so a burst of load from elsewhere on the
    machine hurts them all alike instead of one method's whole series.
    """
    best = dict.fromkeys((name for name, _ in methods), float("inf"))
    for _ in range(runs):
        for name, fn in methods:
            dest = scratch / "dest"
            dest.mkdir()
            t0 = time.perf_counter()
            fn(dest)
            best[name] = min(best[name], time.perf_counter() - t0)
            shutil.rmtree(dest)
    return best


def threaded_extract(src: Path, dest: Path, threads: int) -> None:
    """The thread alternative the worker module was measured against (benchmark only)."""
    from concurrent.futures import ThreadPoolExecutor

    from kagman.archive.plan import ExtractLimits, plan
    from kagman.archive.writer import plan_batches, write_batch
    from kagman.archive.zipformat import file_reader

    fd = os.open(src, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        found = plan(src, file_reader(fd), size, ExtractLimits(1 << 40, 1000.0, 1 << 30))
        for folder in found.folders:
            (dest / folder).mkdir()
        members = found.members
        batches = plan_batches(members)
        with ThreadPoolExecutor(threads) as pool:
            list(
                pool.map(
                    lambda b: write_batch(src, fd, str(dest), members, b, lambda _: None), batches
                )
            )
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """Build (once) and time every extractor; print a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per method (best is kept)")
    parser.add_argument("--members", type=int, default=30_000, help="JPEGs in the archive")
    parser.add_argument("--tmp", default="/dev/shm", help="folder to extract into (tmpfs)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE.parent))
    from kagman.archive import extract_zip

    WORK.mkdir(exist_ok=True)
    archive = WORK / f"jpegs-{args.members}.zip"
    if not archive.exists():
        print(f"building {archive} ...", flush=True)
        build_archive(archive, args.members)
    # Read the archive from tmpfs too, so no method pays for a cold disk cache.
    tmp_root = Path(args.tmp) if Path(args.tmp).is_dir() else Path(tempfile.gettempdir())
    scratch = Path(tempfile.mkdtemp(prefix="kagman-bench-", dir=tmp_root))
    try:
        src = scratch / archive.name
        shutil.copyfile(archive, src)
        print(
            f"archive: {src.stat().st_size / 1e6:.1f} MB, {args.members} members; "
            f"extracting into {scratch}; best of {args.runs}; {os.cpu_count()} CPUs"
        )

        def unzip(dest: Path) -> None:
            subprocess.run(["unzip", "-q", str(src), "-d", str(dest)], check=True)

        def extractall(dest: Path) -> None:
            with zipfile.ZipFile(src) as zf:
                zf.extractall(dest)

        methods: list[tuple[str, Callable[[Path], object]]] = []
        if shutil.which("unzip"):
            methods.append(("unzip -q", unzip))
        else:
            print("unzip not found (apt-get install -y unzip); ratios are vs workers=1")

        def threads(dest: Path) -> None:
            threaded_extract(src, dest, 2)

        def start(method: str) -> Callable[[Path], object]:
            return lambda d: extract_zip(src, d, workers=2, start_method=method)  # type: ignore[arg-type]

        methods += [
            ("zipfile.extractall", extractall),
            ("extract_zip workers=1", lambda d: extract_zip(src, d, workers=1)),
            ("2 processes, fork", start("fork")),
            ("2 processes, forkserver", start("forkserver")),
            ("2 processes, spawn", start("spawn")),
            ("2 threads", threads),
            ("extract_zip auto", lambda d: extract_zip(src, d)),
        ]
        results = list(best_times(args.runs, methods, scratch).items())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = results[0][1]
    one = dict(results).get("extract_zip workers=1", base)
    print(f"{'method':<26} {'best s':>8} {'vs ' + results[0][0]:>16} {'vs 1 process':>13}")
    for name, secs in results:
        print(f"{name:<26} {secs:>8.3f} {secs / base:>15.2f}x {secs / one:>12.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
