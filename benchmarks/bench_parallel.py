"""Where parallel ranged downloads pay, and with how many connections: the two defaults.

The fake Kaggle server (``tests/kaggle_server.py``, in this process, on loopback) paces
each connection at ``--mbps`` (10 MB/s by default, like a CDN that limits each TCP stream)
and, with ``--latency``, waits that long before each blob answer (a request's round trip
to a distant storage: every part costs one), with ``--connect`` before it serves a new
connection (what its TCP and TLS handshakes cost: every connection pays them once).
Measured, best of ``--runs``, each a cold ``kagman.pull(..., file=...)`` of one file (so
no extraction), in the same run:

* by object size (1-64 MB): one request (``KAGMAN_PARALLEL_MIN_BYTES`` above the size)
  against parts over 8 connections, printed as the ratio parallel / one request; the
  smallest size where parts win clearly at the given latency is the threshold;
* by connections (1-16) for a 150 MB object: the time and the rate reached, printed
  against one connection; the default is where more connections stop paying.

Run from the repository root with the project's environment active::

    python benchmarks/bench_parallel.py                   # 10 MB/s per connection
    python benchmarks/bench_parallel.py --latency 0.05    # and 50 ms before each answer
    python benchmarks/bench_parallel.py --mbps 0          # bare loopback
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
REF = "bench/parallel"
PORT = 7777
MB = 1_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbps", type=float, default=10.0, help="MB/s per connection (0: none)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--connect", type=float, default=0.0, help="seconds before a new connection is served"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1,2,4,8,16,32,64", help="object sizes, MB")
    parser.add_argument("--connections", default="1,2,4,8,12,16")
    parser.add_argument("--big", type=int, default=150, help="MB, for the connections sweep")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle

    import kagman

    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(c) for c in args.connections.split(",")]
    files = {f"f{size}.bin": os.urandom(size * MB) for size in sizes}
    files[f"big{args.big}.bin"] = os.urandom(args.big * MB)
    server = FakeKaggle(PORT)
    server.start()
    WORK.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-parallel-", dir=WORK))
    os.environ.update(
        KAGGLE_API_ENVIRONMENT="TEST", KAGGLE_USERNAME=TEST_USERNAME, KAGGLE_KEY=TEST_KEY
    )
    try:
        server.add_dataset(REF, files)
        server.throttle_bytes_per_sec = int(args.mbps * MB) or None
        server.blob_latency = args.latency
        server.connect_latency = args.connect

        def pull(name: str, connections: int, min_bytes: int) -> float:
            best = float("inf")
            for _ in range(args.runs):
                cache = scratch / "cache"
                os.environ.update(
                    KAGMAN_CACHE=str(cache),
                    KAGMAN_CONNECTIONS=str(connections),
                    KAGMAN_PARALLEL_MIN_BYTES=str(min_bytes),
                )
                t0 = time.perf_counter()
                path = kagman.pull(REF, file=name, progress=False)
                best = min(best, time.perf_counter() - t0)
                assert path.stat().st_size == len(files[name])
                shutil.rmtree(cache)
            return best

        rate = f"{args.mbps:g} MB/s per connection" if args.mbps else "unthrottled"
        print(
            f"{rate}, {args.latency * 1e3:.0f} ms before each answer, "
            f"{args.connect * 1e3:.0f} ms before each new connection, best of {args.runs}"
        )
        print("by size: one request vs parts over 8 connections")
        for size in sizes:
            name = f"f{size}.bin"
            one = pull(name, 1, 1 << 40)
            parts = pull(name, 8, 1)
            print(f"  {size:4d} MB  one {one:6.3f} s  parts {parts:6.3f} s  {parts / one:5.2f}x")
        print(f"by connections: a {args.big} MB object in parts")
        base = None
        for count in counts:
            took = pull(f"big{args.big}.bin", count, 1)
            base = base or took
            print(
                f"  {count:3d} connections  {took:6.3f} s  {args.big / took:7.1f} MB/s"
                f"  {took / base:5.2f}x one connection"
            )
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
