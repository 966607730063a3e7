"""Carve a seeded validation split out of ``train``: by class, by tag, or at random."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from kagman.fs import counted
from kagman.images.multilabel import iterative_split
from kagman.images.names import SPLIT_ORDER

__all__ = ["carve_val"]


def carve_val(
    df: pd.DataFrame,
    classes: list[str],
    *,
    multilabel: bool,
    val: float,
    seed: int,
    stratify: bool,
) -> tuple[pd.DataFrame, str]:
    """The rows of ``df`` with part of ``train`` moved to a new ``val`` split, and a note.

    Single-label: each class with two or more images gives at least one to ``val``
    and keeps one in ``train``. Multi-label: iterative stratification by tag
    (see :func:`kagman.images.multilabel.iterative_split`). Rows carry their masks.
    """
    splits = [str(s) for s in df.split.cat.categories]
    train = np.flatnonzero((df.split == "train").to_numpy())
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not security
    chosen: list[int] = []
    if multilabel:
        class_to_idx = {c: i for i, c in enumerate(classes)}
        tags = [[class_to_idx[t] for t in row] for row in df["labels"].to_numpy()[train].tolist()]
        by_tag = stratify and any(tags)
        if by_tag:
            chosen = train[iterative_split(tags, val, seed)].tolist()
        else:
            n = len(train)
            k = min(max(round(val * n), 1), n - 1) if n >= 2 else 0
            chosen = rng.sample(train.tolist(), k)
        how = "stratified by tag" if by_tag else "at random"
    else:
        ids = df.label_id.to_numpy()[train]
        groups = [train[ids == i] for i in range(len(classes))] if stratify else []
        if not stratify or (ids < 0).all():
            groups = [train]
        for group in groups:
            n = len(group)
            k = min(max(round(val * n), 1), n - 1) if n >= 2 else 0
            chosen.extend(rng.sample(group.tolist(), k))
        how = "stratified by class" if stratify and len(groups) > 1 else "at random"
    split_labels = df.split.astype(str).to_numpy(copy=True)
    split_labels[chosen] = "val"
    cats = [s for s in (*SPLIT_ORDER, *splits) if s == "val" or s in splits]
    new_split = pd.Categorical(split_labels, categories=list(dict.fromkeys(cats)))
    order = np.lexsort((np.arange(len(df)), new_split.codes))
    new_df = df.assign(split=new_split).iloc[order].reset_index(drop=True)
    note = f"val: {counted(len(chosen), 'image')} carved from train ({val:.0%}, {how}, seed {seed})"
    return new_df, note
