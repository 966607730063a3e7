"""The index of an image folder: flat path and label lists, counts, problems, batches, splits."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from kagman.fs import atomic_write_bytes
from kagman.images.check import CheckLevel
from kagman.images.layout import SPLIT_ORDER
from kagman.ui.warn import warn

__all__ = ["ImageIndex", "warn_missing_classes"]

log = logging.getLogger("kagman.images")


def warn_missing_classes(idx: ImageIndex) -> None:
    """Warn once per labelled split that lacks some classes."""
    n_classes = len(idx.classes)
    ids = idx.df.label_id.to_numpy()
    codes = idx.df.split.cat.codes.to_numpy()
    labelled = ids >= 0
    # One pass: a split x class presence table from the flat (split, class) pair codes.
    pairs = np.bincount(codes[labelled] * n_classes + ids[labelled], minlength=0)
    for code, split in enumerate(idx.splits):
        row = pairs[code * n_classes : (code + 1) * n_classes]
        if not row.any():
            continue  # an unlabeled split lacks nothing
        row = np.pad(row, (0, n_classes - len(row)))
        missing = [c for c, n in zip(idx.classes, row.tolist(), strict=True) if n == 0]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
            msg = (
                f"Split {split!r} has no images of {len(missing)} class(es): {shown}. Label ids "
                "come from the classes of all splits, so they do not shift."
            )
            warn(msg, UserWarning)


class ImageIndex:
    """Paths, labels and problems of an indexed image folder.

    Attributes
    ----------
    df
        One row per image, sorted by split then path: ``path`` (absolute str),
        ``split`` and ``label`` (categorical; label missing when unlabeled),
        ``label_id`` (``-1`` when unlabeled); plus ``format`` (``check`` other
        than ``"none"``) and ``width``, ``height``, ``mode`` (``header``/``full``).
    problems
        Skipped files and folders: ``path``, ``split``, ``reason``, ``detail``.
    layout
        What was detected, in words.
    root
        The folder that was indexed (after seeing through wrapper folders).
    unmatched_rows
        Rows of a labels CSV that matched no image, or ``None``.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        problems: pd.DataFrame,
        classes: list[str],
        *,
        root: Path,
        layout: str,
        check: CheckLevel,
        unmatched_rows: pd.DataFrame | None = None,
    ) -> None:
        self.df = df
        self.problems = problems
        self._classes = list(classes)
        self.root = root
        self.layout = layout
        self.check = check
        self.unmatched_rows = unmatched_rows

    @property
    def classes(self) -> list[str]:
        """Sorted union of the labels of every split."""
        return list(self._classes)

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name to label id, the same for every split."""
        return {c: i for i, c in enumerate(self._classes)}

    @property
    def splits(self) -> list[str]:
        """Split names in order: train, val, test, then others alphabetically."""
        return [str(s) for s in self.df.split.cat.categories]

    def __len__(self) -> int:
        return len(self.df)

    def _rows(self, split: str | None) -> pd.DataFrame:
        if split is None:
            return self.df
        if split not in self.splits:
            msg = f"No split {split!r} in this index; it has {self.splits}."
            raise ValueError(msg)
        return self.df[self.df.split == split]

    def paths(self, split: str | None = None) -> list[str]:
        """Absolute path strings, one per image, that any loader accepts."""
        return [str(p) for p in self._rows(split).path.tolist()]

    def labels(self, split: str | None = None) -> list[int]:
        """Label ids aligned with :meth:`paths`; ``-1`` for unlabeled images."""
        return [int(i) for i in self._rows(split).label_id.tolist()]

    def counts(self) -> pd.DataFrame:
        """A split x class table of image counts, plus unlabeled and total columns."""
        ids = self.df.label_id.to_numpy()
        split_codes = self.df.split.cat.codes.to_numpy()
        n = len(self._classes)
        rows = []
        for code in range(len(self.splits)):
            mine = ids[split_codes == code]
            row = np.bincount(mine[mine >= 0], minlength=n).tolist()
            rows.append([*row, int((mine < 0).sum()), len(mine)])
        columns = [*self._classes, "(unlabeled)", "total"]
        table = pd.DataFrame(rows, index=pd.Index(self.splits, name="split"), columns=columns)
        if not table["(unlabeled)"].any():
            table = table.drop(columns="(unlabeled)")
        table.columns.name = "label"
        return table

    def batches(
        self,
        batch_size: int,
        *,
        split: str | None = None,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> Iterator[tuple[list[str], list[int]]]:
        """Yield ``(paths, label_ids)`` mini-batches: every image exactly once per pass.

        With ``drop_last=True`` the final short batch is left out.
        """
        if batch_size < 1:
            msg = f"batch_size must be at least 1; got {batch_size}."
            raise ValueError(msg)
        paths, labels = self.paths(split), self.labels(split)
        order = list(range(len(paths)))
        if shuffle:
            random.Random(seed).shuffle(order)  # noqa: S311 - seeded order, not security

        def generate() -> Iterator[tuple[list[str], list[int]]]:
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                if drop_last and len(chunk) < batch_size:
                    return
                yield [paths[i] for i in chunk], [labels[i] for i in chunk]

        return generate()

    def split(self, val: float = 0.2, *, seed: int = 0, stratify: bool = True) -> ImageIndex:
        """A new index with a seeded validation split carved from ``train``.

        Stratified by class: each class with at least two images gives at least
        one to ``val`` and keeps at least one in ``train``.
        """
        if not 0 < val < 1:
            msg = f"val is the fraction of train to move to val, between 0 and 1; got {val}."
            raise ValueError(msg)
        if "val" in self.splits:
            msg = "This index already has a 'val' split; split() is for datasets that ship none."
            raise ValueError(msg)
        if "train" not in self.splits:
            msg = f"No 'train' split to carve val from; the splits are {self.splits}."
            raise ValueError(msg)
        df = self.df
        train = np.flatnonzero((df.split == "train").to_numpy())
        ids = df.label_id.to_numpy()[train]
        rng = random.Random(seed)  # noqa: S311 - a reproducible split, not security
        groups = [train[ids == i] for i in range(len(self._classes))] if stratify else []
        if not stratify or (ids < 0).all():
            groups = [train]
        chosen: list[int] = []
        for group in groups:
            n = len(group)
            k = min(max(round(val * n), 1), n - 1) if n >= 2 else 0
            chosen.extend(rng.sample(group.tolist(), k))
        split_labels = df.split.astype(str).to_numpy(copy=True)
        split_labels[chosen] = "val"
        cats = [s for s in (*SPLIT_ORDER, *self.splits) if s == "val" or s in self.splits]
        new_split = pd.Categorical(split_labels, categories=list(dict.fromkeys(cats)))
        order = np.lexsort((np.arange(len(df)), new_split.codes))
        new_df = df.assign(split=new_split).iloc[order].reset_index(drop=True)
        how = "stratified by class" if stratify and len(groups) > 1 else "at random"
        carved = f"{len(chosen)} images carved from train ({val:.0%}, {how}, seed {seed})"
        layout = f"{self.layout}\n  val: {carved}"
        result = ImageIndex(
            new_df,
            self.problems,
            self._classes,
            root=self.root,
            layout=layout,
            check=self.check,
            unmatched_rows=self.unmatched_rows,
        )
        warn_missing_classes(result)
        return result

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :attr:`df` to ``path`` as CSV, atomically; returns the path."""
        target = Path(path)
        atomic_write_bytes(target, self.df.to_csv(index=False).encode("utf-8"))
        return target

    def __repr__(self) -> str:
        per_split = ", ".join(f"{s}={n}" for s, n in self.df.split.value_counts(sort=False).items())
        return (
            f"ImageIndex({len(self.df)} images, {len(self._classes)} classes, {per_split}; "
            f"{len(self.problems)} problems; root={str(self.root)!r})"
        )

    def _repr_html_(self) -> str:
        import html

        head = (
            f"<p><b>ImageIndex</b> of <code>{html.escape(str(self.root))}</code>: "
            f"{len(self.df)} images, {len(self._classes)} classes, "
            f"{len(self.problems)} problems (check={self.check!r})</p>"
        )
        return head + self.counts().to_html()
