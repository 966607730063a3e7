"""Benchmark ``kagman.load`` of a cached CSV against the fastest direct pandas call, one run.

Target: ``kagman.load`` at most 1.1x the fastest of ``pd.read_csv(path)`` (C engine) and
``pd.read_csv(path, engine="pyarrow")`` on the same file: kagman must add no copy and no
second parse. The CSV (500 MB by default: ids, floats, short strings, dates) is written
once under ``benchmarks/.work/`` and put in a cache entry of a dataset version, so the load
is a pinned cache hit with no network. Best of N runs each (5), the order rotated every round.

Run from the repository root with the project's environment active::

    python benchmarks/bench_load.py            # --mb 100 for a quicker run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
REF = "bench/table/versions/1"


def write_csv(path: Path, megabytes: int) -> None:
    """A CSV of about ``megabytes`` MB, written in blocks with numpy (seeded)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    words = np.array(["cat", "dog", "bird", "horse", "mouse", "tiger", "zebra", "llama"])
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        rows = 0
        header = True
        while fh.tell() < megabytes * 1_000_000:
            n = 500_000
            block = pd.DataFrame(
                {
                    "id": np.arange(rows, rows + n),
                    "x": rng.random(n),
                    "y": rng.normal(size=n),
                    "label": words[rng.integers(0, len(words), n)],
                    "count": rng.integers(0, 1000, n),
                    "day": pd.Timestamp("2020-01-01")
                    + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
                }
            )
            block.to_csv(fh, index=False, header=header)
            header = False
            rows += n
    tmp.replace(path)


def cached_entry(cache: Path, csv: Path) -> None:
    """Make ``csv`` the one file of a complete cache entry of ``REF`` (what a pull leaves)."""
    os.environ["KAGMAN_CACHE"] = str(cache)
    from kagman.cache.manifest import build_manifest, write_manifest
    from kagman.cache.paths import entry_path
    from kagman.remote.refs import parse_ref

    ref = parse_ref(REF)
    entry = entry_path(ref)
    entry.mkdir(parents=True, exist_ok=True)
    target = entry / "big.csv"
    if not target.exists():
        os.link(csv, target)
    size = target.stat().st_size
    manifest = build_manifest(
        kind="dataset", ref=ref, total_bytes=size, files=[("big.csv", size)], archive_bytes=size
    )
    write_manifest(entry, manifest)


def best_of(runs: int, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best time of each, the order rotated every round (no one always goes first)."""
    best = dict.fromkeys(fns, float("inf"))
    names = list(fns)
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            fn = fns[name]
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="CSV size in MB (default 500)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import pandas as pd

    import kagman

    WORK.mkdir(exist_ok=True)
    csv = WORK / f"load-{args.mb}mb.csv"
    if not csv.exists():
        print(f"writing {csv} ...", file=sys.stderr)
        write_csv(csv, args.mb)
    with tempfile.TemporaryDirectory(dir=WORK) as cache:
        cached_entry(Path(cache), csv)
        path = kagman.pull(REF, file="big.csv")  # a pinned cache hit: no network
        fns: dict[str, Callable[[], object]] = {
            "kagman.load": lambda: kagman.load(REF, "big.csv"),
            "pd.read_csv(engine='pyarrow')": lambda: pd.read_csv(path, engine="pyarrow"),
            "pd.read_csv() (C engine)": lambda: pd.read_csv(path),
        }
        best = best_of(args.runs, fns)
    fastest = min(v for k, v in best.items() if k != "kagman.load")
    size = csv.stat().st_size / 1e6
    print(f"kagman.load of a cached {size:.0f} MB CSV, best of {args.runs}:")
    for name, seconds in best.items():
        print(f"  {name:<32} {seconds:7.2f} s   {seconds / fastest:5.2f}x the fastest pandas call")
    ratio = best["kagman.load"] / fastest
    print(f"ratio {ratio:.2f}x (target <= 1.1x): {'ok' if ratio <= 1.1 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
