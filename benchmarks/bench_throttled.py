"""Benchmark a cold pull over a link paced per connection: kagman against the Kaggle CLI
and kagglehub, and against what the link and the disk allow, in one run.

The fake Kaggle server (``tests/kaggle_server.py``, its own process) serves a ~150 MB zip
of 20,000 files and paces every connection at ``--mbps`` (10 MB/s by default), like a CDN
that limits each TCP stream. Measured:

* ``kagman pull`` (the installed command, a cold cache on tmpfs each run; best of
  ``--runs``), SHA-256 of every file and the archive's MD5 included;
* ``kagglehub.dataset_download`` (its own process), and ``kaggle datasets download
  --unzip``: the Kaggle CLI talks only to ``KAGGLE_API_ENVIRONMENT=LOCALHOST``, port 80, so
  it runs in a private network namespace (``unshare -n``, loopback only) with a server of
  its own on port 80, paced the same (one run each: they take a while);
* the link: the archive fetched over ``--connections`` connections (8, kagman's default)
  by a bare downloader (threads, ranged GETs, ``pwrite``), no hashing, no extraction;
* the disk: ``extract_zip`` of the archive from tmpfs (workers and hashing as in a pull).

Targets: kagman at most 0.25x each of the Kaggle CLI and kagglehub, and at most 1.3x
max(link, disk). Run from the repository root (needs ``unshare`` and root for the CLI
part; the first run builds ``benchmarks/.work/venv`` with kagman, kaggle and kagglehub)::

    python benchmarks/bench_throttled.py            # --runs 3 --mbps 10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
REF = "bench/throttled"
PORT = 7777


def build_archive(path: Path, members: int, total: int, seed: int = 15) -> None:
    """``members`` files of random bytes (sizes around ``total / members``), deflated."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    tmp = path.with_suffix(".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(members):
            size = rng.randint(total // members // 2, 3 * total // members // 2)
            zf.writestr(f"train/class_{i % 20:02d}/img_{i:05d}.jpg", rng.randbytes(size))
    tmp.replace(path)


def start_server(archive: Path, port: int, mbps: float) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "kaggle_server.py"), "--port", str(port),
         "--dataset", f"{REF}={archive}", "--throttle", str(mbps)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    if server.stdout.readline().strip() != "ready":
        msg = "the fake Kaggle server did not start"
        raise SystemExit(msg)
    return server


def blob_url(base: str, user: str, key: str) -> str:
    """The signed storage URL ``DownloadDataset`` redirects to (as every client gets it)."""
    import requests

    api = f"{base}/api/v1/datasets.DatasetApiService/DownloadDataset"
    owner, slug = REF.split("/")
    body = {"ownerSlug": owner, "datasetSlug": slug}
    with requests.post(api, json=body, auth=(user, key), allow_redirects=False, timeout=30) as r:
        return str(r.headers["Location"])


def link_time(url: str, size: int, connections: int, out: Path) -> float:
    """Seconds to fetch ``size`` bytes of ``url`` over ``connections`` ranged GETs."""
    import requests

    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    step = -(-size // connections)

    def fetch(start: int) -> None:
        end = min(size, start + step) - 1
        headers = {"Range": f"bytes={start}-{end}"}
        with requests.get(url, headers=headers, stream=True, timeout=60) as r:
            at = start
            for chunk in r.iter_content(1 << 20):
                os.pwrite(fd, chunk, at)
                at += len(chunk)
        assert at == end + 1, (at, end)

    threads = [threading.Thread(target=fetch, args=(k * step,)) for k in range(connections)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - t0
    os.close(fd)
    assert out.stat().st_size == size
    return took


def cli_part(archive: Path, mbps: float, scratch: Path) -> float:
    """In a private network namespace: ``kaggle datasets download --unzip``, port 80."""
    sys.path.insert(0, str(ROOT / "tests"))
    from kaggle_server_api import TEST_KEY, TEST_USERNAME

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = start_server(archive, 80, mbps)
    try:
        config = scratch / "kaggle-config"
        config.mkdir(exist_ok=True)
        (config / "kaggle.json").write_text(
            json.dumps({"username": TEST_USERNAME, "key": TEST_KEY})
        )
        (config / "kaggle.json").chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
        env.update(KAGGLE_API_ENVIRONMENT="LOCALHOST", KAGGLE_CONFIG_DIR=str(config))
        out = scratch / "cli-out"
        kaggle = str(Path(sys.executable).with_name("kaggle"))
        cmd = [kaggle, "datasets", "download", "-d", REF, "--unzip", "-p", str(out)]
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        took = time.perf_counter() - t0
        files = sum(1 for p in out.rglob("*") if p.is_file())
        assert files > 1, f"the CLI left {files} file(s) in {out}"
        return took
    finally:
        server.terminate()
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="kagman runs (best of)")
    parser.add_argument("--mbps", type=float, default=10.0, help="MB/s per connection")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=150, help="archive size, MB")
    parser.add_argument("--connections", type=int, default=8, help="for the link's time")
    parser.add_argument("--tmp", default="/dev/shm")
    parser.add_argument("--cli-part", type=Path, help=argparse.SUPPRESS)  # inside unshare -n
    args = parser.parse_args()
    sys.path[:0] = [str(HERE), str(ROOT / "tests")]
    from bench_pull import ensure_bench_venv

    ensure_bench_venv()
    archive = WORK / f"files-{args.members}-{args.mb}mb.zip"
    if args.cli_part is not None:
        print(json.dumps({"cli": cli_part(archive, args.mbps, args.cli_part)}))
        return 0
    from kaggle_server_api import TEST_KEY as KEY
    from kaggle_server_api import TEST_USERNAME as USER

    WORK.mkdir(exist_ok=True)
    if not archive.exists():
        print(f"building {archive.name} ...", file=sys.stderr)
        build_archive(archive, args.members, args.mb * 1_000_000)
    size = archive.stat().st_size
    scratch = Path(tempfile.mkdtemp(prefix="kagman-throttled-", dir=args.tmp))
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "HOME": str(scratch / "home"),
        "KAGGLE_API_ENVIRONMENT": "TEST",
        "KAGGLE_USERNAME": USER,
        "KAGGLE_KEY": KEY,
    }
    env.pop("KAGGLE_CONFIG_DIR", None)
    (scratch / "home").mkdir()
    results: dict[str, float] = {}
    server = start_server(archive, PORT, args.mbps)
    try:
        kagman_runs = []
        for i in range(args.runs):
            cache = scratch / f"kagman-{i}"
            t0 = time.perf_counter()
            subprocess.run(
                [str(bindir / "kagman"), "pull", REF, "--no-progress"],
                env={**env, "KAGMAN_CACHE": str(cache)}, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            kagman_runs.append(time.perf_counter() - t0)
            shutil.rmtree(cache)
        results["kagman pull, cold"] = min(kagman_runs)
        url = blob_url(f"http://localhost:{PORT}", USER, KEY)
        results["link"] = min(
            link_time(url, size, args.connections, scratch / "link.zip") for _ in range(args.runs)
        )
        (scratch / "link.zip").unlink()
        t0 = time.perf_counter()
        code = f"import kagglehub; kagglehub.dataset_download({REF!r})"
        subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "KAGGLEHUB_CACHE": str(scratch / "hub")}, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        results["kagglehub.dataset_download, cold"] = time.perf_counter() - t0
        shutil.rmtree(scratch / "hub")
    finally:
        server.terminate()
        server.wait()
    from kagman.archive import extract_zip

    local = scratch / archive.name
    shutil.copyfile(archive, local)
    disk = []
    for _ in range(args.runs):
        dest = scratch / "extracted"
        dest.mkdir()
        t0 = time.perf_counter()
        extract_zip(local, dest)
        disk.append(time.perf_counter() - t0)
        shutil.rmtree(dest)
    results["disk"] = min(disk)
    local.unlink()
    cli = subprocess.run(
        ["unshare", "-n", sys.executable, __file__, "--mbps", str(args.mbps),
         "--members", str(args.members), "--mb", str(args.mb), "--cli-part", str(scratch)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    results["kaggle datasets download --unzip"] = json.loads(cli.stdout.splitlines()[-1])["cli"]
    shutil.rmtree(scratch, ignore_errors=True)

    kagman = results["kagman pull, cold"]
    floor = max(results["link"], results["disk"])
    print(
        f"cold pull of a {size / 1e6:.1f} MB zip of {args.members:,} files, "
        f"{args.mbps:g} MB/s per connection; kagman best of {args.runs}, the others one run"
    )
    print(f"  kagman pull, cold                    {kagman:7.2f} s")
    for name in ("kaggle datasets download --unzip", "kagglehub.dataset_download, cold"):
        took = results[name]
        print(f"  {name:36s} {took:7.2f} s   kagman {kagman / took:5.3f}x  (target <= 0.25x)")
    print(f"  the link, {args.connections} connections, bare         {results['link']:7.2f} s")
    print(f"  extract_zip from tmpfs               {results['disk']:7.2f} s")
    print(f"kagman / max(link, disk): {kagman / floor:5.2f}x  (target <= 1.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
