"""One class map for every split: names that differ only in case, splits that lack classes.

Both are said out loud (a :class:`~kagman.errors.KagmanWarning` at the caller's line), never fixed
silently: ``Cat`` in train and ``cat`` in test stay two classes unless the caller
passes ``case_insensitive_classes=True``.
"""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pandas as pd

from kagman.errors import ClassCaseWarning, MissingClassWarning
from kagman.fs import counted
from kagman.images.parts import Label, Part
from kagman.ui.warn import warn

__all__ = ["fold_case", "warn_missing_classes"]

log = logging.getLogger("kagman.images")


def _tags(label: Label) -> tuple[str, ...]:
    if label is None:
        return ()
    return (label,) if isinstance(label, str) else label


def fold_case(parts: list[Part], *, merge: bool) -> list[str]:
    """Warn about (or, with ``merge``, merge) class names that differ only in case.

    Merging keeps the spelling with the most images (the first in sorted order on a
    tie). Returns the lines to add to the layout description.
    """
    images: Counter[str] = Counter()
    where: dict[str, set[str]] = {}
    for part in parts:
        for label, n in part.runs:
            for tag in _tags(label):
                images[tag] += n
                where.setdefault(tag, set()).add(part.split)
    spellings: dict[str, list[str]] = {}
    for name in sorted(images):
        spellings.setdefault(name.casefold(), []).append(name)
    clashes = [names for names in spellings.values() if len(names) > 1]
    if not clashes:
        return []
    if not merge:
        for names in clashes:
            shown = " and ".join(
                f"{n!r} ({counted(images[n], 'image')} in {', '.join(sorted(where[n]))})"
                for n in names
            )
            head = (
                f"Class names {shown} differ only in case; they are kept as "
                f"{counted(len(names), 'class', 'classes')}. Pass "
            )
            warn(
                f"{head}case_insensitive_classes=True to merge them.",
                ClassCaseWarning,
                cli=f"{head}--case-insensitive-classes to merge them.",
            )
        return []
    chosen: dict[str, str] = {}
    lines = []
    for names in clashes:
        keep = min(names, key=lambda n: (-images[n], n))
        chosen.update(dict.fromkeys(names, keep))
        merged = " + ".join(repr(n) for n in names)
        lines.append(f"  classes {merged} merged as {keep!r} (case_insensitive_classes=True)")
    for part in parts:
        runs: list[tuple[Label, int]] = []
        for label, n in part.runs:
            if isinstance(label, str):
                runs.append((chosen.get(label, label), n))
            elif label is not None:
                runs.append((tuple(dict.fromkeys(chosen.get(t, t) for t in label)), n))
            else:
                runs.append((None, n))
        part.runs = runs
        part.classes = {chosen.get(c, c) for c in part.classes}
    log.info("Merged class names that differ only in case: %s", "; ".join(lines))
    return lines


def warn_missing_classes(df: pd.DataFrame, classes: list[str], *, multilabel: bool) -> None:
    """Warn once per labelled split (of an index's ``df``) that lacks some classes."""
    n_classes = len(classes)
    splits = [str(s) for s in df.split.cat.categories]
    codes = df.split.cat.codes.to_numpy()
    if multilabel:
        present = np.zeros((len(splits), n_classes), dtype=bool)
        class_to_idx = {c: i for i, c in enumerate(classes)}
        for code, tags in zip(codes.tolist(), df["labels"].tolist(), strict=True):
            for tag in tags:
                present[code, class_to_idx[tag]] = True
        table = present.astype(np.int64)
    else:
        ids = df.label_id.to_numpy()
        labelled = ids >= 0
        # One pass: a split x class presence table from the flat (split, class) pair codes.
        pairs = np.bincount(codes[labelled] * n_classes + ids[labelled], minlength=0)
        pairs = np.pad(pairs, (0, len(splits) * n_classes - len(pairs)))
        table = pairs.reshape(len(splits), n_classes)
    for code, split in enumerate(splits):
        row = table[code]
        if not row.any():
            continue  # an unlabeled split lacks nothing
        missing = [c for c, n in zip(classes, row.tolist(), strict=True) if n == 0]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
            msg = (
                f"Split {split!r} has no images of {counted(len(missing), 'class', 'classes')}: "
                f"{shown}. Label ids "
                "come from the classes of all splits, so they do not shift."
            )
            warn(msg, MissingClassWarning)
