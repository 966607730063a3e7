"""Thumbnails and contact sheets: look at a dataset instead of reading about it.

A thumbnail is decoded small: :meth:`PIL.Image.Image.draft` asks the JPEG decoder for
a 1/2, 1/4 or 1/8 scale image (a 4000 x 3000 photo decodes as 500 x 375), then
:meth:`~PIL.Image.Image.thumbnail` shrinks it the rest of the way.
``benchmarks/bench_show.py`` measures it against opening and resizing every image
whole. A file that does not open is a marked placeholder, never an exception.

A contact sheet has one labelled row per class (per tag for a multi-label index,
with each image's tags under it; per split for an unlabeled one), a few seeded
random images per row, and for a segmentation index each image with its mask laid
over it.
"""

from __future__ import annotations

import base64
import io
import math
import os
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kagman.errors import InvalidArgumentError
from kagman.fs import counted, write_output

if TYPE_CHECKING:
    import pandas as pd
    from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "Indexed",
    "Row",
    "contact_sheet",
    "data_uri",
    "mask_colour",
    "save_image",
    "sheet_rows",
    "thumbnail",
]


class Indexed(Protocol):
    """What drawing needs of an :class:`~kagman.images.ImageIndex` (which imports this module)."""

    @property
    def df(self) -> pd.DataFrame: ...
    @property
    def problems(self) -> pd.DataFrame: ...
    @property
    def root(self) -> Path: ...
    @property
    def name(self) -> str: ...
    @property
    def layout(self) -> str: ...
    @property
    def check(self) -> str: ...
    @property
    def classes(self) -> list[str]: ...
    @property
    def splits(self) -> list[str]: ...
    @property
    def multilabel(self) -> bool: ...
    @property
    def paired(self) -> bool: ...
    def __len__(self) -> int: ...
    def counts(self) -> pd.DataFrame: ...
    def pairs(self, split: str | None = None) -> tuple[list[str], list[str]]: ...


_BACKGROUND = (255, 255, 255)
_TILE = (238, 238, 238)
_TEXT = (30, 30, 30)
_MUTED = (110, 110, 110)
_BAD = (200, 30, 30)
# Mask values 1, 2, 3, ... get these colours in turn (0 is background, left clear), the same
# colour for the same value in every tile; 255, a binary mask's foreground, is 1's colour.
_MASK_COLOURS = ((255, 40, 40), (40, 200, 40), (40, 90, 255), (255, 200, 0), (200, 0, 200))
_MASK_ALPHA = 0.45
_PAD = 4
_MAX_LABEL_WIDTH = 180  # pixels; longer class names are shortened with "..."


@dataclass(frozen=True)
class Row:
    """One row of a contact sheet: its label, how many images it stands for, and the samples."""

    label: str
    count: int
    paths: tuple[str, ...]
    masks: tuple[str | None, ...]
    tags: tuple[tuple[str, ...], ...]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1: a scalable font
    except TypeError:  # pragma: no cover - older Pillow: the fixed bitmap font
        return ImageFont.load_default()


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB for display: 16-bit and float greyscale stretched to 0-255, alpha on white."""
    from PIL import Image

    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        import numpy as np

        a = np.asarray(im, dtype=np.float64)
        low, high = float(a.min()), float(a.max())
        scaled = (a - low) * (255.0 / (high - low)) if high > low else np.zeros_like(a)
        return Image.fromarray(scaled.astype(np.uint8)).convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


def thumbnail(path: str | os.PathLike[str], size: int, *, mask: str | None = None) -> Image.Image:
    """An RGB thumbnail of at most ``size`` x ``size`` pixels; a placeholder if it fails.

    Parameters
    ----------
    path
        The image file.
    size
        The longer side, in pixels.
    mask
        A segmentation mask to lay over the image (non-zero pixels, coloured by value).

    Returns
    -------
    PIL.Image.Image
        The thumbnail, or a grey tile with a red cross and "unreadable" when the file
        does not open or decode (Pillow's errors never get out).
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            opened.draft("RGB", (size, size))  # JPEG: decode at 1/2..1/8 scale
            im = ImageOps.exif_transpose(opened)
            im.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
            im = _to_rgb(im)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return placeholder(size, "unreadable")
    if mask is not None:
        im = _overlay(im, mask)
    return im


def _overlay(im: Image.Image, mask_path: str) -> Image.Image:
    """``im`` with the non-zero pixels of its mask tinted; a red frame if the mask fails."""
    import numpy as np
    from PIL import Image, ImageDraw

    try:
        with Image.open(mask_path) as opened:
            opened.draft("L", im.size)
            small = opened.resize(im.size, Image.Resampling.NEAREST)
            values = np.asarray(small.convert("L") if small.mode not in ("L", "P") else small)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        framed = im.copy()
        ImageDraw.Draw(framed).rectangle((0, 0, im.width - 1, im.height - 1), outline=_BAD)
        return framed
    base = np.asarray(im, dtype=np.float64)
    tint = np.zeros_like(base)
    for level in (int(v) for v in np.unique(values) if v):
        tint[values == level] = mask_colour(level)
    where = (values != 0)[..., None]
    mixed = np.where(where, base * (1 - _MASK_ALPHA) + tint * _MASK_ALPHA, base)
    return Image.fromarray(mixed.astype(np.uint8))


def mask_colour(value: int) -> tuple[int, int, int]:
    """The tint of mask value ``value``: by value, so 1 and 2 look alike in every tile.

    >>> mask_colour(1) == mask_colour(255), mask_colour(1) == mask_colour(2), mask_colour(6)
    (True, False, (255, 40, 40))
    """
    return _MASK_COLOURS[(0 if value == 255 else value - 1) % len(_MASK_COLOURS)]


def placeholder(size: int, text: str) -> Image.Image:
    """A grey tile with a red cross and ``text``: an image that could not be shown."""
    from PIL import Image, ImageDraw

    tile = Image.new("RGB", (size, size), _TILE)
    draw = ImageDraw.Draw(tile)
    draw.line((4, 4, size - 5, size - 5), fill=_BAD, width=2)
    draw.line((4, size - 5, size - 5, 4), fill=_BAD, width=2)
    font = _font(max(8, size // 8))
    width = draw.textlength(text, font=font)
    draw.text(((size - width) / 2, size - size // 4), text, fill=_BAD, font=font)
    return tile


def data_uri(im: Image.Image, *, quality: int = 70) -> str:
    """``im`` as a small inline JPEG (``data:image/jpeg;base64,...``) for HTML."""
    buffer = io.BytesIO()
    im.save(buffer, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def save_image(im: Image.Image, path: Path) -> Path:
    """Write ``im`` to ``path`` atomically, in the format its extension names.

    Raises
    ------
    InvalidArgumentError
        Pillow cannot write files with that extension.
    OutputPathError
        ``path`` cannot be written (its folder is missing or not writable).
    """
    from PIL import Image

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        msg = f"Cannot write an image named {path.name}: use .png, .jpg or .webp."
        raise InvalidArgumentError(msg)
    buffer = io.BytesIO()
    im.save(buffer, format=fmt)
    write_output(path, buffer.getvalue())
    return path


def sheet_rows(
    idx: Indexed, *, per_class: int, split: str | None, seed: int
) -> tuple[list[Row], str]:
    """The rows of a sheet (classes, tags, or splits when unlabeled) and what a row is."""
    df = idx.df if split is None else idx.df[idx.df.split == split]
    rng = random.Random(seed)  # noqa: S311 - a seeded sample, not security
    paths = df.path.tolist()
    masks: list[str | None] = df["mask"].tolist() if idx.paired else [None] * len(paths)
    if idx.multilabel:
        tags = [tuple(t) for t in df["labels"].tolist()]
        groups = {c: [i for i, t in enumerate(tags) if c in t] for c in idx.classes}
        kind = "tag"
    elif idx.classes:
        tags = [(str(lab),) if isinstance(lab, str) else () for lab in df.label.tolist()]
        ids = df.label_id.tolist()
        groups = {
            c: [i for i, lab in enumerate(ids) if lab == n] for n, c in enumerate(idx.classes)
        }
        unlabeled = [i for i, lab in enumerate(ids) if lab < 0]
        if unlabeled:
            groups["(unlabeled)"] = unlabeled
        kind = "class"
    else:
        tags = [()] * len(paths)
        splits = df.split.astype(str).tolist()
        groups = {s: [i for i, x in enumerate(splits) if x == s] for s in idx.splits}
        kind = "split"
    rows = []
    for label, members in groups.items():
        chosen = sorted(rng.sample(members, min(per_class, len(members))))
        rows.append(
            Row(
                label,
                len(members),
                tuple(paths[i] for i in chosen),
                tuple(None if _missing(masks[i]) else str(masks[i]) for i in chosen),
                tuple(tags[i] for i in chosen),
            )
        )
    return rows, kind


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fit(draw: ImageDraw.ImageDraw, text: str, font: object, width: float) -> str:
    """``text`` shortened with "..." to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:  # type: ignore[arg-type]
        return text
    while text and draw.textlength(text + "...", font=font) > width:  # type: ignore[arg-type]
        text = text[:-1]
    return text + "..."


def contact_sheet(
    idx: Indexed,
    *,
    per_class: int = 8,
    size: int = 96,
    split: str | None = None,
    seed: int = 0,
    max_rows: int = 60,
    workers: int | None = None,
) -> Image.Image:
    """Draw the contact sheet of ``idx``; see :meth:`ImageIndex.show`.

    ``workers`` threads decode the thumbnails (Pillow's decoders release the GIL);
    ``None`` is up to 4, one per core.
    """
    from PIL import Image, ImageDraw

    if per_class < 1 or size < 16:
        msg = f"per_class must be at least 1 and size at least 16; got {per_class}, {size}."
        raise InvalidArgumentError(msg)
    if split is not None and split not in idx.splits:
        msg = f"No split {split!r} in this index; it has {idx.splits}."
        raise InvalidArgumentError(msg)
    rows, kind = sheet_rows(idx, per_class=per_class, split=split, seed=seed)
    hidden = rows[max_rows:]
    rows = rows[:max_rows]
    jobs = [(p, m) for row in rows for p, m in zip(row.paths, row.masks, strict=True)]
    threads = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        tiles = iter(list(pool.map(lambda job: thumbnail(job[0], size, mask=job[1]), jobs)))

    font, small = _font(13), _font(max(9, min(12, size // 8)))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labels = [f"{row.label}" for row in rows]
    counts = [counted(row.count, "image") for row in rows]
    label_width = min(
        _MAX_LABEL_WIDTH,
        int(max([probe.textlength(t, font=font) for t in [*labels, *counts]] or [0])) + 2 * _PAD,
    )
    tag_height = 14 if idx.multilabel else 0
    row_height = size + tag_height + 2 * _PAD
    title = _title(idx, split, kind, len(rows) + len(hidden))
    header = 22
    footer = 18 if hidden else 0
    width = label_width + per_class * (size + _PAD) + _PAD
    height = header + len(rows) * row_height + footer
    sheet = Image.new("RGB", (max(width, 320), height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((_PAD, 4), _fit(draw, title, font, sheet.width - 2 * _PAD), fill=_TEXT, font=font)
    for r, row in enumerate(rows):
        top = header + r * row_height
        if r:
            draw.line((0, top, sheet.width, top), fill=_TILE)
        draw.text(
            (_PAD, top + _PAD),
            _fit(draw, labels[r], font, label_width - _PAD),
            fill=_TEXT,
            font=font,
        )
        draw.text((_PAD, top + _PAD + 16), counts[r], fill=_MUTED, font=small)
        for c, tags in enumerate(row.tags):
            tile = next(tiles)
            left = label_width + c * (size + _PAD)
            sheet.paste(
                tile, (left + (size - tile.width) // 2, top + _PAD + (size - tile.height) // 2)
            )
            if tag_height:
                text = _fit(draw, ", ".join(tags) or "(no tags)", small, size)
                draw.text((left, top + _PAD + size + 1), text, fill=_MUTED, font=small)
    if hidden:
        more = (
            f"... and {len(hidden)} more {kind}es"
            if kind == "class"
            else f"... and {len(hidden)} more {kind}s"
        )
        draw.text(
            (_PAD, height - footer + 2), more + f" (max_rows={max_rows})", fill=_MUTED, font=small
        )
    return sheet


def _title(idx: Indexed, split: str | None, kind: str, n_rows: int) -> str:
    extra = ", masks laid over the images" if idx.paired else ""
    if kind == "split":
        return f"{idx.name}: {counted(len(idx), 'image')}, one row per split{extra}"
    where = f"split {split!r}" if split is not None else counted(len(idx.splits), "split")
    what = "classes" if kind == "class" else "tags"
    return f"{idx.name}: {counted(len(idx), 'image')} in {where}, {n_rows:,} {what}{extra}"


def strip(
    idx: Indexed,
    cache: dict[tuple[str, int], str],
    *,
    per_class: int,
    size: int,
    classes: Sequence[str],
) -> dict[str, list[str]]:
    """Data URIs of a few thumbnails per row label (built once per path and size, in ``cache``)."""
    rows, _ = sheet_rows(idx, per_class=per_class, split=None, seed=0)
    wanted = [row for row in rows if row.label in classes]
    missing = [
        (p, m)
        for row in wanted
        for p, m in zip(row.paths, row.masks, strict=True)
        if (p, size) not in cache
    ]
    if missing:
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            made = pool.map(lambda job: data_uri(thumbnail(job[0], size, mask=job[1])), missing)
            for (path, _), uri in zip(missing, made, strict=True):
                cache[(path, size)] = uri
    return {row.label: [cache[(p, size)] for p in row.paths] for row in wanted}
