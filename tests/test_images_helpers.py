"""Real image files and trees for the indexer tests, made with Pillow (no tests here)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image


def encode(fmt: str, *, mode: str = "RGB", size: tuple[int, int] = (16, 12)) -> bytes:
    """A small real image in ``fmt`` (JPEG, PNG, BMP, GIF, WEBP, TIFF)."""
    buf = io.BytesIO()
    color = (0, 128, 255, 0)[: len(mode)] if mode != "L" else 128
    Image.new(mode, size, color).save(buf, fmt)  # type: ignore[arg-type]
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def truncated_jpeg() -> bytes:
    data = encode("JPEG", size=(64, 64))
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    """A PNG whose IDAT data is garbage but whose CRC is right: only decoding finds it."""
    png = bytearray(encode("PNG"))
    i = png.index(b"IDAT")
    (length,) = struct.unpack(">I", png[i - 4 : i])
    bad = bytes(png[i + 4 : i + 6]) + bytes(b ^ 0xFF for b in png[i + 6 : i + 4 + length])
    png[i + 4 : i + 4 + length] = bad
    png[i + 4 + length : i + 8 + length] = struct.pack(">I", zlib.crc32(b"IDAT" + bad))
    return bytes(png)


HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in</body></html>"
UNICODE_NAME = "Ünïcödé 犬.jpg"


def build_zoo(base: Path) -> Path:
    """Split folders in a wrapper, with every trap the issue lists.

    ::

        base/
          __MACOSX/dataset/._x.jpg          junk folder next to the wrapper
          dataset/                          single-child wrapper, seen through
            TRAIN/cats|dogs|birds/          class folders, traps in cats/
            valid/                          flat, unlabeled
            Test/cats|dogs/                 no birds: a class missing from test
    """
    root = base / "dataset"
    cats = root / "TRAIN" / "cats"
    write(cats / "a.jpg", encode("JPEG"))
    write(cats / "B.JPG", encode("JPEG"))
    write(cats / "c.Png", encode("PNG"))
    write(cats / "cmyk.jpg", encode("JPEG", mode="CMYK"))
    write(cats / "png_named.jpg", encode("PNG"))
    write(cats / "scan.TIFF", encode("TIFF"))
    write(cats / "truncated.jpg", truncated_jpeg())
    write(cats / "empty.jpg", b"")
    write(cats / "page.jpg", HTML)
    write(cats / "notes.txt", b"not an image")
    write(cats / "._a.jpg", b"\x00\x05\x16\x07AppleDouble")
    write(cats / ".ipynb_checkpoints" / "a-checkpoint.jpg", encode("JPEG"))
    write(cats / "Thumbs.db", b"\x00" * 10)
    dogs = root / "TRAIN" / "dogs"
    write(dogs / "d1.jpeg", encode("JPEG"))
    write(dogs / UNICODE_NAME, encode("JPEG"))
    (dogs / "loop").symlink_to("..")
    birds = root / "TRAIN" / "birds"
    write(birds / "b1.bmp", encode("BMP"))
    write(birds / "b2.gif", encode("GIF", mode="P"))
    write(birds / "b3.WebP", encode("WEBP"))
    write(root / "valid" / "v1.jpg", encode("JPEG"))
    write(root / "valid" / "v2.png", encode("PNG"))
    write(root / "Test" / "cats" / "t1.jpg", encode("JPEG"))
    write(root / "Test" / "dogs" / "t2.jpg", encode("JPEG"))
    write(base / "__MACOSX" / "dataset" / "._x.jpg", b"\x00\x05\x16\x07")
    return base


#: (path relative to base/dataset, split, label) of every good image in the zoo, in order.
ZOO_ROWS = [
    ("TRAIN/birds/b1.bmp", "train", "birds"),
    ("TRAIN/birds/b2.gif", "train", "birds"),
    ("TRAIN/birds/b3.WebP", "train", "birds"),
    ("TRAIN/cats/B.JPG", "train", "cats"),
    ("TRAIN/cats/a.jpg", "train", "cats"),
    ("TRAIN/cats/c.Png", "train", "cats"),
    ("TRAIN/cats/cmyk.jpg", "train", "cats"),
    ("TRAIN/cats/png_named.jpg", "train", "cats"),
    ("TRAIN/cats/scan.TIFF", "train", "cats"),
    ("TRAIN/dogs/d1.jpeg", "train", "dogs"),
    (f"TRAIN/dogs/{UNICODE_NAME}", "train", "dogs"),
    ("valid/v1.jpg", "val", None),
    ("valid/v2.png", "val", None),
    ("Test/cats/t1.jpg", "test", "cats"),
    ("Test/dogs/t2.jpg", "test", "dogs"),
]

#: (path relative to base, split, reason) skipped while listing, whatever the check level.
ZOO_LISTING_PROBLEMS = {
    ("__MACOSX", "", "macos-junk"),
    ("dataset/TRAIN/cats/._a.jpg", "train", "macos-junk"),
    ("dataset/TRAIN/cats/.ipynb_checkpoints", "train", "notebook-checkpoint"),
    ("dataset/TRAIN/cats/Thumbs.db", "train", "windows-junk"),
    ("dataset/TRAIN/cats/notes.txt", "train", "other-file"),
    ("dataset/TRAIN/dogs/loop", "train", "symlink-loop"),
}

#: Problems only a content check finds.
ZOO_CONTENT_PROBLEMS = {
    ("dataset/TRAIN/cats/empty.jpg", "train", "empty"),
    ("dataset/TRAIN/cats/page.jpg", "train", "not-an-image"),
    ("dataset/TRAIN/cats/truncated.jpg", "train", "truncated"),
}
