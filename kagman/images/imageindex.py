"""The index of an image folder: flat path and label lists, counts, problems, batches, splits.

One class for three kinds of index: single-label (a label id per image), multi-label
(``.multilabel``: a list of tag ids per image, multi-hot arrays) and paired
(``.paired``: each image with its segmentation mask).
"""

from __future__ import annotations

import logging
import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import pandas as pd

from kagman.errors import InvalidArgumentError
from kagman.fs import counted, write_output
from kagman.images.carve import carve_val
from kagman.images.check import CheckLevel
from kagman.images.classes import warn_missing_classes
from kagman.images.multilabel import multi_hot

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from PIL import Image

__all__ = ["Batch", "ImageIndex"]

log = logging.getLogger("kagman.images")

#: What :meth:`ImageIndex.batches` yields beside the paths: label ids (single-label),
#: a multi-hot array (multi-label), or mask paths (paired).
Batch = tuple[list[str], Union[list[int], "NDArray[np.uint8]", list[str | None]]]


class ImageIndex:
    """Paths, labels and problems of an indexed image folder.

    Attributes
    ----------
    df
        One row per image, sorted by split then path: ``path`` (absolute str),
        ``split`` (categorical); single-label: ``label`` (categorical, missing when
        unlabeled) and ``label_id`` (``-1`` when unlabeled); multi-label: ``labels``
        (a list of tag names, empty when unlabeled); paired: ``mask`` (the mask's
        path, ``None`` in a split without masks); plus ``format`` (``check`` other
        than ``"none"``) and ``width``, ``height``, ``mode`` (``header``/``full``).
    problems
        Skipped files and folders: ``path``, ``split``, ``reason``, ``detail``.
    layout
        What was detected, in words.
    root
        The folder that was indexed (after seeing through wrapper folders).
    name
        What titles call it: the folder's name, or for a dataset's cached copy the dataset
        and version (``owner/slug v3``), as :func:`kagman.index` names it.
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
        multilabel: bool = False,
        name: str | None = None,
    ) -> None:
        self.name = name or root.name
        self.df = df
        self.problems = problems
        self._classes = list(classes)
        self.root = root
        self.layout = layout
        self.check = check
        self.unmatched_rows = unmatched_rows
        self._multilabel = multilabel
        self._thumbnails: dict[tuple[str, int], str] = {}  # (path, size) -> data URI

    @property
    def classes(self) -> list[str]:
        """Sorted union of the labels (or tags) of every split."""
        return list(self._classes)

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name to label id, the same for every split."""
        return {c: i for i, c in enumerate(self._classes)}

    @property
    def splits(self) -> list[str]:
        """Split names in order: train, val, test, then others alphabetically."""
        return [str(s) for s in self.df.split.cat.categories]

    @property
    def multilabel(self) -> bool:
        """Whether an image may carry several classes (tags), from a multi-label CSV column."""
        return self._multilabel

    @property
    def paired(self) -> bool:
        """Whether images come with segmentation masks (see :meth:`pairs`)."""
        return "mask" in self.df.columns

    def __len__(self) -> int:
        return len(self.df)

    def _rows(self, split: str | None) -> pd.DataFrame:
        if split is None:
            return self.df
        if split not in self.splits:
            msg = f"No split {split!r} in this index; it has {self.splits}."
            raise InvalidArgumentError(msg)
        return self.df[self.df.split == split]

    def paths(self, split: str | None = None) -> list[str]:
        """Absolute path strings, one per image, that any loader accepts.

        Raises
        ------
        InvalidArgumentError
            ``split`` is not one of :attr:`splits` (also a ``ValueError``); the same for
            :meth:`labels`, :meth:`multi_hot` and :meth:`batches`.
        """
        return [str(p) for p in self._rows(split).path.tolist()]

    def labels(self, split: str | None = None) -> list[int] | list[list[int]]:
        """Label ids aligned with :meth:`paths`.

        Single-label: one ``int`` per image, ``-1`` when unlabeled. Multi-label: a
        list of class ids per image (empty when unlabeled).
        """
        rows = self._rows(split)
        return self._tag_ids(rows) if self._multilabel else self._label_ids(rows)

    def _tag_ids(self, rows: pd.DataFrame) -> list[list[int]]:
        class_to_idx = self.class_to_idx
        return [[class_to_idx[t] for t in tags] for tags in rows["labels"].tolist()]

    @staticmethod
    def _label_ids(rows: pd.DataFrame) -> list[int]:
        return [int(i) for i in rows.label_id.tolist()]

    def multi_hot(self, split: str | None = None) -> NDArray[np.uint8]:
        """A ``numpy.ndarray`` of shape ``(n_images, n_classes)``, dtype ``uint8``.

        Row ``i`` has a 1 for each class of image ``i`` of :meth:`paths`; a
        single-label index gives one-hot rows (all zeros when unlabeled).
        """
        rows = self._rows(split)
        if self._multilabel:
            ids = self._tag_ids(rows)
        else:
            ids = [[i] if i >= 0 else [] for i in self._label_ids(rows)]
        return multi_hot(ids, len(self._classes))

    def pairs(self, split: str | None = None) -> tuple[list[str], list[str]]:
        """``(image_paths, mask_paths)``, aligned: every image that has a mask, in order.

        Raises
        ------
        InvalidArgumentError
            The index (or ``split``) has no masks, or ``split`` is not one of :attr:`splits`
            (a ``ValueError`` too, like every misuse of the index).
        """
        if not self.paired:
            msg = "This index has no masks: pairs() is for image/mask (segmentation) folders."
            raise InvalidArgumentError(msg)
        rows = self._rows(split)
        rows = rows[rows["mask"].notna()]
        if split is not None and not len(rows):
            with_masks = [str(s) for s in self.df.split[self.df["mask"].notna()].unique()]
            msg = f"Split {split!r} has no masks; the splits with masks are {with_masks}."
            raise InvalidArgumentError(msg)
        return [str(p) for p in rows.path.tolist()], [str(m) for m in rows["mask"].tolist()]

    def counts(self) -> pd.DataFrame:
        """A split x class table of image counts, plus unlabeled and total columns.

        Multi-label: images per tag, so a row sums to more than its total.
        """
        split_codes = self.df.split.cat.codes.to_numpy()
        n = len(self._classes)
        rows = []
        if self._multilabel:
            per_split: list[Counter[int]] = [Counter() for _ in self.splits]
            unlabeled = [0] * len(self.splits)
            for code, tags in zip(split_codes.tolist(), self._tag_ids(self.df), strict=True):
                per_split[code].update(tags)
                unlabeled[code] += not tags
            for code, tally in enumerate(per_split):
                total = int((split_codes == code).sum())
                rows.append([*(tally[i] for i in range(n)), unlabeled[code], total])
        else:
            ids = self.df.label_id.to_numpy()
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
    ) -> Iterator[Batch]:
        """Yield mini-batches: every image exactly once per pass.

        Each batch is ``(paths, label_ids)`` for a single-label index,
        ``(paths, multi_hot)`` (a ``uint8`` array, one row per image) for a
        multi-label one, and ``(image_paths, mask_paths)`` for a paired one. With
        ``drop_last=True`` the final short batch is left out.
        """
        if batch_size < 1:
            msg = f"batch_size must be at least 1; got {batch_size}."
            raise InvalidArgumentError(msg)
        paths = self.paths(split)
        targets: list[int] | list[list[int]] | list[str | None] | NDArray[np.uint8]
        if self.paired:
            targets = [None if pd.isna(m) else str(m) for m in self._rows(split)["mask"].tolist()]
        elif self._multilabel:
            targets = self.multi_hot(split)
        else:
            targets = self.labels(split)
        order = list(range(len(paths)))
        if shuffle:
            random.Random(seed).shuffle(order)  # noqa: S311 - seeded order, not security

        def generate() -> Iterator[Batch]:
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                if drop_last and len(chunk) < batch_size:
                    return
                if isinstance(targets, np.ndarray):
                    yield [paths[i] for i in chunk], targets[chunk]
                else:
                    yield [paths[i] for i in chunk], [targets[i] for i in chunk]  # type: ignore[misc]

        return generate()

    def split(
        self, val: float = 0.2, *, seed: int = 0, stratify: bool = True, if_missing: bool = False
    ) -> ImageIndex:
        """A new index with a seeded validation split carved from ``train``.

        Stratified by class: each class with at least two images gives at least
        one to ``val`` and keeps at least one in ``train``. Multi-label: iterative
        stratification keeps every tag in both parts where it can. A paired index
        is split by image; each mask follows its image.

        Parameters
        ----------
        val
            The fraction of ``train`` that moves to ``val`` (between 0 and 1).
        seed
            Which images move; the same seed moves the same images.
        stratify
            Keep each class's share (``False``: a plain random draw).
        if_missing
            When the index already has a ``val`` split (the dataset ships one, as
            chest-xray does): ``True`` returns this index unchanged (and logs so), for
            code that works on datasets with and without one; ``False`` (the default)
            refuses, so a carve you asked for is never silently skipped.

        Raises
        ------
        InvalidArgumentError
            ``val`` out of range, no ``train`` split, or a ``val`` split already there
            and not ``if_missing`` (a ``ValueError`` too).
        """
        if not 0 < val < 1:
            msg = f"val is the fraction of train to move to val, between 0 and 1; got {val}."
            raise InvalidArgumentError(msg)
        if "val" in self.splits:
            n_val = int((self.df.split == "val").sum())
            if if_missing:
                log.info(
                    "split(): this index already has a 'val' split (%s); kept as it is.",
                    counted(n_val, "image"),
                )
                return self
            msg = (
                f"This index already has a 'val' split ({counted(n_val, 'image')} from the "
                "dataset), "
                "so split() carves none. Pass if_missing=True to keep the dataset's val (code "
                "that serves datasets with and without one), or use it as it is."
            )
            raise InvalidArgumentError(msg)
        if "train" not in self.splits:
            msg = f"No 'train' split to carve val from; the splits are {self.splits}."
            raise InvalidArgumentError(msg)
        new_df, note = carve_val(
            self.df,
            self._classes,
            multilabel=self._multilabel,
            val=val,
            seed=seed,
            stratify=stratify,
        )
        result = ImageIndex(
            new_df,
            self.problems,
            self._classes,
            root=self.root,
            layout=f"{self.layout}\n  {note}",
            check=self.check,
            unmatched_rows=self.unmatched_rows,
            multilabel=self._multilabel,
            name=self.name,
        )
        warn_missing_classes(new_df, self._classes, multilabel=self._multilabel)
        return result

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :attr:`df` to ``path`` as CSV, atomically; returns the path.

        Multi-label: the ``labels`` cell holds the tags joined by ``|``.

        Raises
        ------
        OutputPathError
            ``path`` cannot be written: its folder is missing or not writable, or it is a
            folder (exit code 2; an ``OSError`` too).
        """
        target = Path(path)
        df = self.df
        if self._multilabel:
            df = df.assign(labels=["|".join(tags) for tags in df["labels"].tolist()])
        write_output(target, df.to_csv(index=False).encode("utf-8"))
        return target

    def _kind(self) -> str:
        kind = " (multi-label)" if self._multilabel else ""
        return kind + (", paired with masks" if self.paired else "")

    def __str__(self) -> str:
        """What ``kagman index`` prints: the layout, the split x class counts, the problems."""
        from kagman.images.display import index_text

        return index_text(self)

    def __repr__(self) -> str:
        per_split = ", ".join(f"{s}={n}" for s, n in self.df.split.value_counts(sort=False).items())
        return (
            f"ImageIndex({counted(len(self.df), 'image')}, "
            f"{counted(len(self._classes), 'class', 'classes')}{self._kind()}, "
            f"{per_split}; {counted(len(self.problems), 'problem')}; root={str(self.root)!r})"
        )

    def show(
        self, per_class: int = 8, size: int = 96, split: str | None = None, seed: int = 0
    ) -> Image.Image:
        """A contact sheet: one labelled row per class, ``per_class`` seeded random images each.

        Thumbnails are decoded small (``Image.draft``, then ``thumbnail``), so large
        JPEGs cost a fraction of a full decode; an image that fails to open is a marked
        placeholder, never an exception. Multi-label: one row per tag, each image's tags
        under it. Unlabeled: one row per split. Segmentation: each mask laid over its
        image. In a notebook the returned image shows inline.

        Parameters
        ----------
        per_class
            Images per row (fewer when a class has fewer).
        size
            The longer side of each thumbnail, in pixels (at least 16).
        split
            Only this split (default: all).
        seed
            Which images are sampled; the same seed draws the same sheet.

        Returns
        -------
        PIL.Image.Image
            An RGB image; ``.save("sheet.png")`` writes it.

        Raises
        ------
        InvalidArgumentError
            ``split`` is not a split of the index, or ``per_class``/``size`` is too small
            (a ``ValueError`` too).
        """
        from kagman.images.sheet import contact_sheet

        return contact_sheet(self, per_class=per_class, size=size, split=split, seed=seed)

    def _repr_html_(self) -> str:
        """Layout, split x class counts with bars, problems by reason, thumbnails (cached)."""
        from kagman.images.display import index_html

        return index_html(self, self._thumbnails)
