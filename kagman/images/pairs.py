"""Segmentation layouts: each image paired with its mask, and masks never taken for images.

Two shapes, found before splits and classes are decided::

    images/ + masks/              a mask folder (masks, mask, labels, label, annotations,
    train/  + train_masks/        or <name>_masks, <name>_labels, ...) beside the images
    img_1.png + img_1_mask.png    mask files beside their images (_mask, -mask, _masks, _mask_2)

A mask pairs with the image of the same stem, or of its stem without the mask suffix
(Carvana's ``train_masks/abc_mask.gif`` pairs with ``train/abc.jpg``), in the same
relative folder (or by stem alone when stems are unique and that pairs more). Stems
match exactly: ``img_1`` never takes ``img_10_mask``. A mask folder holds images
(a YOLO ``labels/`` folder of ``.txt`` files is no mask folder).
"""

# Paths stay plain str with os.path here, like the listing they come from.
# ruff: noqa: PTH119, PTH120
from __future__ import annotations

import os
from dataclasses import dataclass, field

from kagman.fs import counted
from kagman.images.listing import Node
from kagman.images.names import (
    IMAGE_FOLDER_WORDS,
    mask_folder_prefix,
    mask_stem_base,
    name_words,
    split_name,
)

__all__ = ["Masks", "find_masks"]


@dataclass
class Masks:
    """What :func:`find_masks` found: pairs, masks without an image, notes for the layout."""

    pairs: dict[str, str] = field(default_factory=dict)  # image path -> mask path
    orphans: list[tuple[str, str]] = field(default_factory=list)  # (mask path, why)
    extras: list[tuple[str, str]] = field(default_factory=list)  # (mask path, its image)
    notes: list[str] = field(default_factory=list)


def find_masks(root: Node) -> Masks:
    """Take mask folders and ``_mask`` files out of the tree and pair them with images."""
    found = Masks()
    _mask_folders(root, root, found)
    _masks_beside(root, found)
    root.recount()
    return found


def _stem(path: str) -> str:
    name = os.path.basename(path)
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def _rel(path: str, base: str) -> str:
    return os.path.relpath(path, base).replace(os.sep, "/")


def _mask_folders(root: Node, node: Node, found: Masks) -> None:
    for child in list(node.dirs):
        prefix = mask_folder_prefix(child.name)
        if prefix is None or not child.total:
            continue
        at = node.dirs.index(child)
        node.drop(child)
        partner, named = _partner(node, prefix)
        masks = child.flat()
        if partner is None:
            why = f"a mask folder with no image folder beside it ({_rel(child.path, root.path)})"
            found.orphans.extend((m, why) for m in masks)
            found.notes.append(f"{_rel(child.path, root.path)!r}: masks, but no images to pair")
            continue
        base = child
        inner = [d for d in base.dirs if d.total]
        while not base.images and len(inner) == 1:  # annotations/{trimaps,xmls}: trimaps
            base = inner[0]
            inner = [d for d in base.dirs if d.total]
        images = partner.flat()
        result = _pair(images, partner.path, masks, base.path, any_suffix=True)
        if not result[0] and not named:
            # "with_mask" beside "without_mask", nothing of the same name: a class folder
            # whose name ends in a mask word (a face-mask classifier), not masks
            node.dirs.insert(at, child)
            node.total += child.total
            continue
        _record(found, result, masks, f"no image of the same name in {partner.name!r}")
        where = repr(_rel(partner.path, root.path)) if partner is not root else "the root"
        found.notes.append(
            f"masks in {_rel(child.path, root.path)!r} paired with the images in {where}"
            f" ({counted(len(result[0]), 'pair')})"
        )
    for child in node.dirs:
        _mask_folders(root, child, found)


def _partner(node: Node, prefix: str) -> tuple[Node | None, bool]:
    """The folder whose images the masks in a child of ``node`` belong to, and whether its
    name (or holding images itself) says so; ``False``: it is only the one folder beside."""
    kids = [d for d in node.dirs if d.total]
    if prefix:
        want = name_words(prefix)
        split = split_name(prefix)
        for d in kids:
            words = name_words(d.name)
            if words == want or (split is not None and split_name(d.name) == split):
                return d, True
    else:
        named = [d for d in kids if set(name_words(d.name)) <= IMAGE_FOLDER_WORDS]
        if len(named) == 1:
            return named[0], True
    if node.images:
        return node, True
    return (kids[0] if len(kids) == 1 else None), False


def _pair(
    images: list[str],
    image_base: str,
    masks: list[str],
    mask_base: str,
    *,
    any_suffix: bool = False,
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Pairs (image -> mask) and extra masks (mask, image) for one image/mask scope.

    A mask belongs to the image of its exact stem, or of its stem without the mask
    suffix, in the same relative folder; by stem alone when the image stems are
    unique and that pairs more. In a mask folder (``any_suffix``) the stem without
    its last ``_word`` counts too (CamVid's ``0001TP_006690_L.png``). The first
    mask of an image in name order wins.
    """
    by_rel: dict[tuple[str, str], str] = {}
    by_stem: dict[str, str] = {}
    for path in images:
        stem = _stem(path)
        by_rel.setdefault((os.path.dirname(_rel(path, image_base)), stem), path)
        by_stem.setdefault(stem, path)
    unique = len(by_stem) == len(images)
    stems = [_stem(m) for m in masks]
    bases = [mask_stem_base(s) or (_drop_last_word(s) if any_suffix else None) for s in stems]
    folders = [os.path.dirname(_rel(m, mask_base)) for m in masks]

    def match(lookup: list[str | None]) -> tuple[dict[str, str], list[tuple[str, str]]]:
        pairs: dict[str, str] = {}
        extras: list[tuple[str, str]] = []
        for mask, image in zip(masks, lookup, strict=True):
            if image is None:
                continue
            if image in pairs:
                extras.append((mask, image))
            else:
                pairs[image] = mask
        return pairs, extras

    rel = match(
        [
            by_rel.get((folder, stem)) or (by_rel.get((folder, base)) if base else None)
            for folder, stem, base in zip(folders, stems, bases, strict=True)
        ]
    )
    if not unique:
        return rel
    alone = match(
        [
            by_stem.get(stem) or (by_stem.get(base) if base else None)
            for stem, base in zip(stems, bases, strict=True)
        ]
    )
    return alone if len(alone[0]) > len(rel[0]) else rel


def _drop_last_word(stem: str) -> str | None:
    """``abc_L`` -> ``abc``; ``None`` when there is no ``_word``/``-word`` ending.

    >>> _drop_last_word("0001TP_006690_L"), _drop_last_word("plain")
    ('0001TP_006690', None)
    """
    cut = max(stem.rfind("_"), stem.rfind("-"))
    return stem[:cut] if cut > 0 else None


def _record(
    found: Masks, paired: tuple[dict[str, str], list[tuple[str, str]]], masks: list[str], why: str
) -> None:
    """Add pairs and extras; a mask that paired with nothing is an orphan."""
    pairs, extras = paired
    used = set(pairs.values()).union(m for m, _ in extras)
    found.pairs.update(pairs)
    found.extras.extend(extras)
    found.orphans.extend((m, why) for m in masks if m not in used)


def _masks_beside(root: Node, found: Masks) -> None:
    """Files named ``<stem>_mask.<ext>`` beside ``<stem>.<ext>``: masks, if most of them pair."""
    candidates: list[tuple[Node, list[str]]] = []
    todo = [root]
    while todo:
        node = todo.pop()
        todo.extend(node.dirs)
        if node.mask_hint and node.images:
            masks = [p for p in node.images if mask_stem_base(_stem(p)) is not None]
            if masks:
                candidates.append((node, masks))
    if not candidates:
        return
    paired = 0
    total = 0
    for node, masks in candidates:
        stems = {_stem(p) for p in node.images}
        total += len(masks)
        paired += sum(mask_stem_base(_stem(m)) in stems for m in masks)
    if not paired or paired * 2 < total:
        return  # names that merely end in _mask: images like any other
    n_pairs = 0
    for node, masks in sorted(candidates, key=lambda c: c[0].path):
        mask_set = set(masks)
        node.images = [p for p in node.images if p not in mask_set]
        result = _pair(node.images, node.path, masks, node.path)
        n_pairs += len(result[0])
        _record(found, result, masks, "no image of the same name beside it")
    found.notes.append(f"masks beside their images (<name>_mask.<ext>): {counted(n_pairs, 'pair')}")
