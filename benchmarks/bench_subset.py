"""Benchmark a folder subset: ``kagman pull --file folder/`` against the Kaggle CLI's ``-f``.

The fake Kaggle server (``tests/kaggle_server.py``, in this process, on loopback) serves a
dataset whose ``train/`` folder holds 200 files (20 KB each) beside 2,000 more (200 MB in
all). Measured in the same run:

* ``kagman pull owner/slug --file train/`` (the installed command, a cold cache each run);
* the same 200 files one by one with ``kaggle datasets download -d owner/slug -f NAME``
  (what a user of the official CLI must do: it has no folder or glob option);
* ``kagman pull owner/slug`` of the whole archive, for scale.

Target: the subset at most 0.5x the one-by-one CLI downloads, and far less than the whole
archive. Each connection is paced at ``--mbps`` (25 MB/s by default, like a CDN that limits
each TCP stream; on bare loopback a 200 MB archive costs nothing to send, which no user sees).
The CLI reaches the fake server through ``KAGGLE_API_ENVIRONMENT=LOCALHOST`` and a
``sitecustomize`` shim that points kagglesdk's LOCALHOST endpoint at the server's port (as
``tests/test_kaggle_server_competitions.py`` does). Everything is written under
``benchmarks/.work/``. Run from the repository root with the project's environment active::

    python benchmarks/bench_subset.py          # --files 50 for a quicker run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
REF = "bench/subset"
PORT = 7777
SHIM = """
from kagglesdk import kaggle_env
kaggle_env._env_to_endpoint[kaggle_env.KaggleEnv.LOCAL] = "http://localhost:{port}"
"""


def dataset(n_train: int) -> dict[str, bytes]:
    files = {f"train/img_{i:04}.jpg": os.urandom(20_000) for i in range(n_train)}
    files.update({f"other/part_{i:04}.bin": os.urandom(100_000) for i in range(2000)})
    return files


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="files in the folder (200)")
    parser.add_argument("--runs", type=int, default=3, help="kagman runs (best of)")
    parser.add_argument(
        "--mbps", type=float, default=25.0, help="MB/s per connection, like a CDN (25; 0: none)"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle

    WORK.mkdir(exist_ok=True)
    bindir = Path(sys.executable).parent
    server = FakeKaggle(PORT)
    server.start()
    server.throttle_bytes_per_sec = int(args.mbps * 1e6) or None
    try:
        files = dataset(args.files)
        server.add_dataset(REF, files)
        names = sorted(n for n in files if n.startswith("train/"))
        with tempfile.TemporaryDirectory(dir=WORK) as tmp:
            work = Path(tmp)
            env = {
                **os.environ,
                "KAGGLE_API_ENVIRONMENT": "TEST",
                "KAGGLE_USERNAME": TEST_USERNAME,
                "KAGGLE_KEY": TEST_KEY,
            }

            def kagman(*extra: str) -> float:
                cache = work / "cache"
                shutil.rmtree(cache, ignore_errors=True)
                cmd = [str(bindir / "kagman"), "-q", "pull", REF, "--no-progress", *extra]
                return timed(cmd, {**env, "KAGMAN_CACHE": str(cache)})

            subset = min(kagman("--file", "train/") for _ in range(args.runs))
            whole = min(kagman() for _ in range(args.runs))
            shim = work / "shim"
            shim.mkdir()
            (shim / "sitecustomize.py").write_text(SHIM.format(port=PORT))
            config = work / "kaggle-config"
            config.mkdir()
            (config / "kaggle.json").write_text(
                json.dumps({"username": TEST_USERNAME, "key": TEST_KEY})
            )
            (config / "kaggle.json").chmod(0o600)
            cli_env = {k: v for k, v in env.items() if k not in ("KAGGLE_USERNAME", "KAGGLE_KEY")}
            cli_env.update(
                KAGGLE_API_ENVIRONMENT="LOCALHOST",
                KAGGLE_CONFIG_DIR=str(config),
                PYTHONPATH=str(shim),
            )
            out = work / "cli"
            before = server.count("DownloadDataset")
            t0 = time.perf_counter()
            for name in names:
                cmd = [str(bindir / "kaggle"), "datasets", "download", "-d", REF, "-f", name]
                subprocess.run(
                    [*cmd, "-p", str(out)],
                    env=cli_env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            one_by_one = time.perf_counter() - t0
            assert server.count("DownloadDataset") - before >= len(names)
            got = sum(1 for p in out.rglob("*") if p.is_file())
            assert got == len(names), f"the CLI wrote {got} files, expected {len(names)}"
    finally:
        server.stop()
    size = sum(len(files[n]) for n in names) / 1e6
    total = sum(len(b) for b in files.values()) / 1e6
    print(
        f"{len(names)}-file folder ({size:.1f} MB) of a {len(files)}-file dataset "
        f"({total:.0f} MB), {args.mbps:g} MB/s per connection:"
    )
    print(f"  kagman pull --file train/         {subset:7.2f} s (best of {args.runs})")
    print(f"  kaggle datasets download -f x{len(names):<4} {one_by_one:7.2f} s (one run)")
    print(f"  kagman pull (whole archive)       {whole:7.2f} s (best of {args.runs})")
    ratio = subset / one_by_one
    print(f"ratio vs the CLI one by one: {ratio:.3f}x (target <= 0.5x): ", end="")
    print("ok" if ratio <= 0.5 else "MISSED")
    print(f"ratio vs the whole archive:  {subset / whole:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
