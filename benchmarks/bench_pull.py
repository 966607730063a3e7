"""Benchmark `kagman pull` against the tools people use today, in one run.

Measures, each as the best of N runs and printed as a ratio against a
baseline measured in the same run (absolute times drift between machines):

* cold pull of a ~28 MB zip of 30,000 small JPEGs from the local fake Kaggle
  server, vs ``curl`` + Info-ZIP ``unzip -q`` (target <= 1.2x), with
  ``kagglehub.dataset_download`` alongside for reference;
* what hashing every file while extracting (for ``kagman verify``) costs a cold
  pull: the same pull with hashing turned off, in the same run (with / without);
* a cache hit on a pinned version, in-process (target <= 5 ms);
* the ``kagman pull`` process on a cache hit vs a ``kagglehub.dataset_download``
  cache hit in its own process (target <= 0.3x);
* ``kagman --help`` vs ``kaggle --help`` (target <= 0.3x).

Caches and the baseline's output live on tmpfs (``/dev/shm``): the shared
disk's writeback noise would otherwise swamp the software's own cost.

Run from the repository root (needs ``curl`` and ``unzip``; the first run
builds ``benchmarks/.work/venv`` with kagman and kagglehub, and the archive)::

    python benchmarks/bench_pull.py
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
import venv
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
VENV = WORK / "venv"
PORT = 7777
REF = "bench/jpegs"


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_bench_venv() -> None:
    """Re-run this script inside a venv holding kagman (editable) and kagglehub.

    Bytecode is written and reused, as in any installed environment: with
    ``PYTHONDONTWRITEBYTECODE`` set, every process of an editable kagman would compile its
    modules again (~65 ms a start), which no user pays.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not venv_python().exists():
        print("building benchmarks/.work/venv (once) ...", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        pip = [str(venv_python()), "-m", "pip", "install", "-q"]
        # pytest: the fake server module also holds the test fixtures
        subprocess.run([*pip, "-e", str(ROOT), "kagglehub", "pytest"], check=True)
    script = str(Path(sys.argv[0]).resolve())  # the benchmark that was run (bench_cache too)
    os.execv(str(venv_python()), [str(venv_python()), script, *sys.argv[1:]])  # noqa: S606


def best_of(
    runs: int, fn: Callable[[int], None], cleanup: Callable[[int], None] | None = None
) -> float:
    """Best time of ``fn(i)``; ``cleanup(i)`` runs after each, untimed (tmpfs fills fast)."""
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
        if cleanup is not None:
            cleanup(i)
    return min(times)


def run(cmd: list[str], env: dict[str, str], **kw: object) -> None:
    subprocess.run(
        cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw
    )  # type: ignore[call-overload]


# A cold pull with extraction hashing off: the hashes=False switch exists for this line only.
# extract_zip is replaced before the pull code imports it, whichever module that is.
NO_HASHING = (
    "import functools, sys\n"
    "import kagman.archive as archive\n"
    "archive.extract_zip = functools.partial(archive.extract_zip, hashes=False)\n"
    "from kagman.cli import main\n"
    "sys.argv[0] = 'kagman'\n"
    "main()\n"
)


def start_server(archive: Path) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "kaggle_server.py"), "--port", str(PORT),
         "--dataset", f"{REF}={archive}"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    if server.stdout.readline().strip() != "ready":
        msg = "the fake Kaggle server did not start"
        raise SystemExit(msg)
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--tmp", default="/dev/shm")
    parser.add_argument(
        "--archive", type=Path, help="pull this zip instead of the JPEGs (e.g. a 1 GB CSV's)"
    )
    args = parser.parse_args()
    for tool in ("curl", "unzip"):
        if shutil.which(tool) is None:
            msg = f"{tool} is needed for the baseline: apt-get install -y {tool}"
            raise SystemExit(msg)
    ensure_bench_venv()

    sys.path[:0] = [str(HERE), str(ROOT / "tests")]
    from bench_extract import build_archive
    from kaggle_server_api import TEST_KEY as KEY  # the user the standalone server knows
    from kaggle_server_api import TEST_USERNAME as USER

    WORK.mkdir(exist_ok=True)
    archive = args.archive.resolve() if args.archive else WORK / f"jpegs-{args.members}.zip"
    if not archive.exists():
        build_archive(archive, args.members)
    size_mb = archive.stat().st_size / 1e6
    scratch = Path(tempfile.mkdtemp(prefix="kagman-bench-", dir=args.tmp))
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "HOME": str(scratch / "home"),
        "KAGGLE_API_ENVIRONMENT": "TEST",
        "KAGGLE_USERNAME": USER,
        "KAGGLE_KEY": KEY,
        "PATH": f"{bindir}:{os.environ['PATH']}",
    }
    env.pop("KAGGLE_CONFIG_DIR", None)
    (scratch / "home").mkdir()
    server = start_server(archive)
    results: dict[str, float] = {}
    try:
        api = f"http://localhost:{PORT}/api/v1/datasets.DatasetApiService/DownloadDataset"
        body = json.dumps({"ownerSlug": "bench", "datasetSlug": "jpegs"})

        def baseline(i: int) -> None:
            out = scratch / f"curl-{i}"
            out.mkdir()
            run(["curl", "-sS", "-L", "-u", f"{USER}:{KEY}", "-H", "Content-Type: application/json",
                 "-d", body, "-o", str(out / "a.zip"), api], env)  # fmt: skip
            run(["unzip", "-q", str(out / "a.zip"), "-d", str(out / "data")], env)

        def kagman_cold(i: int) -> None:
            run([str(bindir / "kagman"), "pull", REF, "--no-progress"],
                {**env, "KAGMAN_CACHE": str(scratch / f"kagman-{i}")})  # fmt: skip

        def kagman_cold_unhashed(i: int) -> None:
            run([sys.executable, "-c", NO_HASHING, "pull", REF, "--no-progress"],
                {**env, "KAGMAN_CACHE": str(scratch / f"nohash-{i}")})  # fmt: skip
            manifest = scratch / f"nohash-{i}/datasets/{REF}/versions/1.manifest.json"
            assert len(json.loads(manifest.read_bytes())["files"][0]) == 2, "hashing was on"

        def kagglehub_cold(i: int) -> None:
            code = f"import kagglehub; kagglehub.dataset_download({REF!r})"
            run([sys.executable, "-c", code], {**env, "KAGGLEHUB_CACHE": str(scratch / f"hub-{i}")})

        def drop(prefix: str, keep_first: bool = True) -> Callable[[int], None]:
            def cleanup(i: int) -> None:
                if i or not keep_first:  # run 0's caches serve the cache-hit timings below
                    shutil.rmtree(scratch / f"{prefix}-{i}")

            return cleanup

        results["curl + unzip -q (baseline)"] = best_of(
            args.runs, baseline, drop("curl", keep_first=False)
        )
        # with and without hashing, alternating, so both see the same machine
        hashed, unhashed_runs = [], []
        for i in range(args.runs):
            hashed.append(
                best_of(1, lambda _, i=i: kagman_cold(i), lambda _, i=i: drop("kagman")(i))
            )
            unhashed_runs.append(best_of(1, lambda _, i=i: kagman_cold_unhashed(i)))
            shutil.rmtree(scratch / f"nohash-{i}")
        results["kagman pull, cold"] = min(hashed)
        unhashed = min(unhashed_runs)
        results["kagglehub.dataset_download, cold"] = best_of(
            args.runs, kagglehub_cold, drop("hub")
        )

        # cache hits, pinned version (caches filled by the cold runs above)
        hit_env = {
            **env,
            "KAGMAN_CACHE": str(scratch / "kagman-0"),
            "KAGGLEHUB_CACHE": str(scratch / "hub-0"),
        }
        pinned = f"{REF}/versions/1"
        os.environ.update(hit_env)
        import kagman

        kagman.pull(pinned)
        n = 1000
        t0 = time.perf_counter()
        for _ in range(n):
            kagman.pull(pinned)
        in_process = (time.perf_counter() - t0) / n
        hit_kagman = best_of(
            args.runs * 2, lambda _: run([str(bindir / "kagman"), "pull", pinned], hit_env)
        )
        hub_code = f"import kagglehub; kagglehub.dataset_download({pinned!r})"
        hit_hub = best_of(args.runs * 2, lambda _: run([sys.executable, "-c", hub_code], hit_env))
        help_kagman = best_of(args.runs * 2, lambda _: run([str(bindir / "kagman"), "--help"], env))
        help_kaggle = best_of(args.runs * 2, lambda _: run([str(bindir / "kaggle"), "--help"], env))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(scratch, ignore_errors=True)

    base = results["curl + unzip -q (baseline)"]
    what = archive.name if args.archive else f"{args.members:,} JPEGs"
    head = f"cold pull of a {size_mb:.1f} MB zip of {what}"
    print(f"{head}, best of {args.runs}, on {args.tmp}")
    for name, seconds in results.items():
        print(f"  {name:38s} {seconds:7.3f} s  {seconds / base:5.2f}x  (kagman target <= 1.2x)")
    cold = results["kagman pull, cold"]
    print(
        f"cost of hashing every file while extracting: cold pull {cold:.3f} s with, "
        f"{unhashed:.3f} s without  {cold / unhashed:5.2f}x  (with / without)"
    )
    print(f"pinned cache hit, in-process: {in_process * 1e3:.3f} ms  (target <= 5 ms)")
    print(
        f"pinned cache hit, process: kagman {hit_kagman:.3f} s vs kagglehub {hit_hub:.3f} s"
        f"  {hit_kagman / hit_hub:5.2f}x  (target <= 0.3x)"
    )
    print(
        f"--help: kagman {help_kagman:.3f} s vs kaggle {help_kaggle:.3f} s"
        f"  {help_kagman / help_kaggle:5.2f}x  (target <= 0.3x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
