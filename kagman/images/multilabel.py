"""Multi-label images: tags in one CSV cell, multi-hot arrays, and stratified splits.

A label cell such as ``agriculture clear primary water`` holds several tags. The
separator is decided from the data, never from the header: a separator is one when
most cells that it splits split into tags that also occur elsewhere (on their own
or in another combination). A class name such as ``golden retriever``, whose words
never occur apart, stays whole.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["SEPARATORS", "detect_separator", "iterative_split", "multi_hot", "split_tags"]

#: Tried in this order; the first that qualifies wins (``a, b`` splits on the comma).
SEPARATORS = ("|", ";", ",", " ")


def split_tags(value: str, sep: str) -> tuple[str, ...]:
    """The tags of one cell, in order, without blanks or repeats.

    >>> split_tags(" clear primary  water primary", " "), split_tags("a|b|", "|")
    (('clear', 'primary', 'water'), ('a', 'b'))
    """
    parts = value.split() if sep == " " else value.split(sep)
    return tuple(dict.fromkeys(t.strip() for t in parts if t.strip()))


def detect_separator(values: Sequence[str]) -> str | None:
    """The separator of a multi-label column, or ``None`` when its cells are single labels.

    >>> detect_separator(["clear primary", "haze primary water", "clear", "water clear"])
    ' '
    >>> detect_separator(["golden retriever", "beagle", "labrador retriever", "pug"]) is None
    True
    >>> detect_separator(["No Finding", "Effusion|Mass", "Mass", "Effusion", "No Finding"])
    '|'
    """
    cells = Counter(v.strip() for v in values if v.strip())
    for sep in SEPARATORS:
        tags = {cell: split_tags(cell, sep) for cell in cells}
        multi = [cell for cell, t in tags.items() if len(t) > 1]
        if not multi:
            continue
        # How many distinct cells each tag occurs in (alone or in a combination).
        seen_in = Counter(tag for t in tags.values() for tag in t)
        rows = sum(cells[c] for c in multi)
        convincing = sum(cells[c] for c in multi if all(seen_in[t] > 1 for t in tags[c]))
        if convincing * 2 > rows:
            return sep
    return None


def multi_hot(tag_ids: Sequence[Sequence[int]], n_classes: int) -> NDArray[np.uint8]:
    """An ``(n_images, n_classes)`` ``uint8`` array with a 1 for each tag of each image.

    >>> multi_hot([[0, 2], [], [1]], 3).tolist()
    [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    """
    import numpy as np

    out = np.zeros((len(tag_ids), n_classes), dtype=np.uint8)
    rows = [i for i, ids in enumerate(tag_ids) for _ in ids]
    cols = [c for ids in tag_ids for c in ids]
    out[rows, cols] = 1
    return out


def iterative_split(tag_ids: Sequence[Sequence[int]], fraction: float, seed: int) -> list[int]:
    """Indices (into ``tag_ids``) to move to a validation part, stratified by tag.

    Iterative stratification (Sechidis, Tsoumakas and Vlahavas, 2011): the rarest
    tag is dealt out first, each image to the part that still wants most of that
    tag. Afterwards every tag with two or more images is made to appear in both
    parts where a move keeps all other tags present in both.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not security
    n = len(tag_ids)
    want_val = round(fraction * n)
    counts: Counter[int] = Counter(t for ids in tag_ids for t in ids)
    # desired[part][tag]: how many more images with the tag each part wants (0 = val).
    desired = [
        {t: fraction * c for t, c in counts.items()},
        {t: (1 - fraction) * c for t, c in counts.items()},
    ]
    size_left = [float(want_val), float(n - want_val)]
    part_of = [-1] * n
    by_tag: dict[int, list[int]] = {}
    for i, ids in enumerate(tag_ids):
        for t in ids:
            by_tag.setdefault(t, []).append(i)
    left = dict(counts)
    while left:
        tag = min(left, key=lambda t: (left[t], t))
        members = [i for i in by_tag[tag] if part_of[i] < 0]
        rng.shuffle(members)
        for i in members:
            choice = max((0, 1), key=lambda p: (desired[p][tag], size_left[p], rng.random()))
            part_of[i] = choice
            size_left[choice] -= 1
            for t in tag_ids[i]:
                desired[choice][t] -= 1
                left[t] -= 1
        left = {t: c for t, c in left.items() if c > 0}
    rest = [i for i in range(n) if part_of[i] < 0]  # images without tags
    rng.shuffle(rest)
    for i in rest:
        choice = 0 if size_left[0] > size_left[1] else 1
        part_of[i] = choice
        size_left[choice] -= 1
    _cover_every_tag(tag_ids, part_of, by_tag)
    return [i for i in range(n) if part_of[i] == 0]


def _cover_every_tag(
    tag_ids: Sequence[Sequence[int]], part_of: list[int], by_tag: dict[int, list[int]]
) -> None:
    """Move single images so that each tag with 2+ images is in both parts, where possible.

    A move never takes a part's last image of any tag, so each move only adds
    presence; passes repeat until none is possible.
    """
    per_part: list[Counter[int]] = [Counter(), Counter()]
    for i, ids in enumerate(tag_ids):
        per_part[part_of[i]].update(ids)
    moved = True
    while moved:
        moved = False
        for tag in sorted(by_tag):
            if len(by_tag[tag]) < 2:
                continue
            for missing in (0, 1):
                if per_part[missing][tag]:
                    continue
                donor = 1 - missing
                for i in by_tag[tag]:
                    ids = tag_ids[i]
                    if part_of[i] == donor and all(per_part[donor][t] > 1 for t in ids):
                        part_of[i] = missing
                        per_part[donor].subtract(ids)
                        per_part[missing].update(ids)
                        moved = True
                        break
