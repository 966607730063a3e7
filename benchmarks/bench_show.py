"""Benchmark ``ImageIndex.show()`` against opening and resizing every image whole, same run.

Builds 20 class folders of 8 photos each, 4000 x 3000 JPEGs (smooth gradients with
noise, about 3 MB each at quality 90, like camera photos), once, under ``benchmarks/.work/show/``.
Then, warm (every file read once first, so both sides read from the page cache),
interleaved, best of ``--repeats``:

- baseline: for each of the 160 images, ``Image.open``, a full decode, ``convert("RGB")``
  and ``thumbnail((96, 96))``, one after the other (what a loop over ``PIL.Image.open``
  does without ``draft``);
- ``show(per_class=8, size=96)``: the whole contact sheet, thumbnails decoded at 1/8
  scale with ``Image.draft``, on up to 4 threads;
- the same with one thread (``contact_sheet(..., workers=1)``): the gain of ``draft``
  alone.

Target: ``show()`` at least 5x faster than the baseline.

Run: ``python benchmarks/bench_show.py [--repeats N] [--dir PATH]``
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

N_CLASSES, PER_CLASS, SIZE = 20, 8, 96
WIDTH, HEIGHT = 4000, 3000


def photo(rng: np.random.Generator) -> Image.Image:
    """A 4000 x 3000 picture with gradients and sensor-like noise (JPEG-compresses like a photo)."""
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    a, b, c = (rng.uniform(40, 215, size=3).astype(np.float32) for _ in range(3))
    pixels = a * (1 - x) * (1 - y) + b * x + c * y * (1 - x)
    pixels += rng.normal(0, 6, size=(HEIGHT, WIDTH, 1)).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def build(root: Path) -> Path:
    """Create the tree once; a marker file says it is complete."""
    tree = root / "photos"
    marker = root / "photos.done"
    if marker.exists():
        return tree
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for c in range(N_CLASSES):
        folder = tree / f"class_{c:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(PER_CLASS):
            photo(rng).save(folder / f"photo_{i}.jpg", quality=90)
        print(f"  built class {c + 1}/{N_CLASSES}", file=sys.stderr)
    marker.touch()
    print(f"built {N_CLASSES * PER_CLASS} photos in {time.perf_counter() - started:.0f} s")
    return tree


def baseline(paths: list[str]) -> None:
    """Open, decode whole, convert and shrink every image: no draft."""
    for path in paths:
        with Image.open(path) as im:
            small = im.convert("RGB")
            small.thumbnail((SIZE, SIZE))


def best(fn: Callable[[], object], times: list[float]) -> None:
    started = time.perf_counter()
    fn()
    times.append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(__file__).parent / ".work" / "show")
    args = parser.parse_args()

    import kagman
    from kagman.images.sheet import contact_sheet

    tree = build(args.dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idx = kagman.index(tree, check="none")
    paths = idx.paths()
    assert len(paths) == N_CLASSES * PER_CLASS, len(paths)
    total = sum(Path(p).stat().st_size for p in paths)
    for p in paths:  # warm the page cache: both sides read from memory
        Path(p).read_bytes()
    print(
        f"{len(paths)} JPEGs of {WIDTH} x {HEIGHT} in {N_CLASSES} classes, "
        f"{total / len(paths) / 1e6:.1f} MB each; thumbnails {SIZE} px"
    )

    base: list[float] = []
    shown: list[float] = []
    single: list[float] = []
    for _ in range(args.repeats):
        best(lambda: baseline(paths), base)
        best(lambda: idx.show(per_class=PER_CLASS, size=SIZE), shown)
        best(lambda: contact_sheet(idx, per_class=PER_CLASS, size=SIZE, workers=1), single)
    b, s, one = min(base), min(shown), min(single)
    rows = [
        ("baseline: open + full decode + thumbnail, each image", b),
        (f"show(per_class={PER_CLASS}, size={SIZE})", s),
        ("  the same on one thread (draft alone)", one),
    ]
    for label, seconds in rows:
        print(f"{label:<54}{seconds:7.2f} s  {b / seconds:5.1f}x faster")
    verdict = "met" if b / s >= 5 else "MISSED"
    print(f"target: show() >= 5x faster than the baseline: {verdict}")


if __name__ == "__main__":
    main()
