"""Synthetic image datasets that look like something: shapes, masks, tags (no tests here).

Used by the display tests, the example notebook's fake Kaggle dataset and the README's
contact sheet (``python tests/synthetic_images.py docs/``), so what the README shows is
what the tests check.
"""

from __future__ import annotations

import io
import random
import sys
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

#: class -> images per split; deliberately imbalanced, and "star" is missing from test.
SHAPES = {
    "circle": {"train": 14, "val": 4, "test": 6},
    "square": {"train": 9, "val": 3, "test": 4},
    "triangle": {"train": 5, "val": 2, "test": 2},
    "star": {"train": 3, "val": 1, "test": 0},
}


def _background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    top = tuple(rng.randrange(150, 250) for _ in range(3))
    bottom = tuple(rng.randrange(60, 160) for _ in range(3))
    im = Image.new("RGB", size)
    draw = ImageDraw.Draw(im)
    for y in range(size[1]):
        t = y / max(1, size[1] - 1)
        draw.line(
            (0, y, size[0], y),
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    return im


def shape_polygon(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """The outline of ``kind`` (square, triangle, star) centred at ``(cx, cy)``."""
    import math

    if kind == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if kind == "triangle":
        return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in (-1.5708, 0.5236, 2.618)]
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = -1.5708 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def shape_image(
    kind: str, seed: int, size: tuple[int, int] = (160, 120)
) -> tuple[Image.Image, Image.Image]:
    """An RGB picture of one shape on a gradient, and its mask (``L``, 255 on the shape)."""
    rng = random.Random(f"{kind}-{seed}")  # noqa: S311 - pictures, not secrets
    im = _background(rng, size)
    mask = Image.new("L", size, 0)
    r = rng.uniform(0.18, 0.32) * min(size)
    cx = rng.uniform(r + 4, size[0] - r - 4)
    cy = rng.uniform(r + 4, size[1] - r - 4)
    colour = tuple(rng.randrange(0, 256) for _ in range(3))
    for target, fill in ((ImageDraw.Draw(im), colour), (ImageDraw.Draw(mask), 255)):
        if kind == "circle":
            target.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)  # type: ignore[arg-type]
        else:
            target.polygon(shape_polygon(kind, cx, cy, r), fill=fill)  # type: ignore[arg-type]
    return im.filter(ImageFilter.SMOOTH), mask


def jpeg(im: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def shapes_files(*, broken: bool = True) -> dict[str, bytes]:
    """The shapes dataset as ``{relative path: bytes}``: split/class/NNN.jpg.

    ``broken`` adds ``train/circle/broken.jpg``, a JPEG cut in half (the index's
    ``truncated`` problem), and a ``.DS_Store``.
    """
    files: dict[str, bytes] = {}
    for kind, per_split in SHAPES.items():
        for s, (split, n) in enumerate(per_split.items()):
            for i in range(n):
                im, _ = shape_image(kind, 1000 * s + i)
                files[f"shapes/{split}/{kind}/{kind}_{split}_{i:03d}.jpg"] = jpeg(im)
    if broken:
        whole = files["shapes/train/circle/circle_train_000.jpg"]
        files["shapes/train/circle/broken.jpg"] = whole[: len(whole) // 2]
        files["shapes/.DS_Store"] = b"\x00\x00\x00\x01Bud1"
    return files


def write_files(base: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return base


def shapes_zip(*, broken: bool = True) -> bytes:
    """The shapes dataset zipped, as Kaggle would serve it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for rel, data in sorted(shapes_files(broken=broken).items()):
            zf.writestr(rel, data)
    return buf.getvalue()


def segmentation_files(n: int = 6) -> dict[str, bytes]:
    """``images/NNN.jpg`` + ``masks/NNN.png``: a paired (segmentation) dataset."""
    files = {}
    for i in range(n):
        im, mask = shape_image(["circle", "square", "triangle", "star"][i % 4], i)
        files[f"seg/images/{i:03d}.jpg"] = jpeg(im)
        files[f"seg/masks/{i:03d}.png"] = png(mask)
    return files


#: chest-xray's classes -> images per split (it ships a tiny val split of its own)
CHEST_XRAY = {
    "NORMAL": {"train": 6, "val": 2, "test": 3},
    "PNEUMONIA": {"train": 9, "val": 2, "test": 4},
}


def chest_xray_files() -> dict[str, bytes]:
    """The shape of paultimothymooney/chest-xray-pneumonia as Kaggle extracts it, with pictures.

    ``chest_xray/{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg``, a full copy of that tree
    in ``chest_xray/chest_xray/``, Finder's ``__MACOSX`` junk and a ``.DS_Store``; one
    training image is a PNG saved under a ``.jpeg`` name.
    """
    tree: dict[str, bytes] = {}
    for (cls, per_split), kind in zip(CHEST_XRAY.items(), ("circle", "square"), strict=True):
        for s, (split, n) in enumerate(per_split.items()):
            for i in range(n):
                im, _ = shape_image(kind, 1000 * s + i)
                tree[f"{split}/{cls}/person{i}_{split}.jpeg"] = jpeg(im)
    tree["train/NORMAL/person0_train.jpeg"] = png(shape_image("circle", 0)[0])
    files = {f"chest_xray/{rel}": data for rel, data in tree.items()}
    files |= {f"chest_xray/chest_xray/{rel}": data for rel, data in tree.items()}
    files["chest_xray/__MACOSX/chest_xray/train/NORMAL/._person1_train.jpeg"] = b"\x00\x05"
    files["chest_xray/chest_xray/.DS_Store"] = b"\x00\x00\x00\x01Bud1"
    return files


def multilabel_files() -> dict[str, bytes]:
    """``train/*.jpg`` + ``train.csv`` whose ``tags`` column holds several shapes per image."""
    files = {}
    rows = ["image,tags"]
    combos = [("circle",), ("circle", "square"), ("square",), ("square", "star"), ("star",)]
    for i in range(10):
        tags = combos[i % len(combos)]
        im, _ = shape_image(tags[0], i)
        if len(tags) > 1:
            other, _ = shape_image(tags[1], i + 100)
            im = Image.blend(im, other, 0.5)
        files[f"ml/train/img{i}.jpg"] = jpeg(im)
        rows.append(f"img{i},{' '.join(tags)}")
    files["ml/train.csv"] = ("\n".join(rows) + "\n").encode()
    return files


def _page(fragment: str) -> str:
    """The HTML repr in a page styled like a notebook output, for a screenshot."""
    return (
        f'<!DOCTYPE html><html><body style="margin:12px;background:#fff">{fragment}</body></html>'
    )


if __name__ == "__main__":
    # The README's pictures, from the same synthetic dataset the tests use:
    #   python tests/synthetic_images.py docs
    #   chromium --headless --screenshot=docs/index-repr.png --window-size=820,900 \
    #       file://$PWD/docs/index-repr.html     (then trim the white margin)
    import warnings

    import kagman

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    work = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/kagman-docs")
    root = write_files(work, shapes_files())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idx = kagman.index(root / "shapes")
    kagman.show(idx, per_class=8, size=72, out=out / "contact-sheet.png")
    (out / "index-repr.html").write_text(_page(idx._repr_html_()))
    print(out / "contact-sheet.png")
