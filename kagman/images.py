"""Image folders into clean path and label lists, ready for any loader.

:func:`index` walks a folder (or a dataset's cached copy), detects its layout
(see :mod:`kagman.layout`), checks the files (see :mod:`kagman.imagecheck`) and
returns an :class:`ImageIndex`. One class map covers every split, so a class
missing from ``test`` never shifts label ids; such a gap raises a
:class:`UserWarning`. Informational notes go to the ``kagman.images`` logger.
Nothing is ever deleted or moved.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kagman.errors import ImageFolderError
from kagman.fsutil import atomic_write_bytes
from kagman.imagecheck import CHECK_LEVELS, CheckLevel, check_many
from kagman.layout import SPLIT_ORDER, detect

__all__ = ["DEFAULT_CHECK", "ImageIndex", "index"]

log = logging.getLogger(__name__)

#: Chosen by benchmarks/bench_index.py (100,000 files, 2-core VM): ``none`` costs
#: 1.3x a bare ``os.scandir`` walk, ``fast`` about 10 us per file (12x the walk, bound
#: by one open/read/close per file) and catches empty, truncated and HTML-as-JPEG
#: files before they crash an epoch; ``header`` costs about 120 us per file.
DEFAULT_CHECK: CheckLevel = "fast"


def index(
    source: str | os.PathLike[str],
    *,
    check: CheckLevel = DEFAULT_CHECK,
    labels: str | os.PathLike[str] | None = None,
    path_col: str | None = None,
    label_col: str | None = None,
    follow_symlinks: bool = True,
) -> ImageIndex:
    """Index the images under a folder, or under a dataset's cached copy.

    Parameters
    ----------
    source
        A folder, or a dataset ref ``owner/slug[/versions/N]`` (pulled first when
        it is not cached) when no such folder exists.
    check
        ``"none"``, ``"fast"`` (size, magic bytes, end marker; the default),
        ``"header"`` (Pillow parses the header) or ``"full"`` (decode every image
        in a process pool). Bad files go to ``.problems``, never into ``.paths()``.
    labels, path_col, label_col
        A labels CSV and its file-name and label columns, overriding detection.
    follow_symlinks
        Follow symlinked files and folders (loops are detected and skipped).

    Returns
    -------
    ImageIndex

    Raises
    ------
    ImageFolderError
        The source is neither a folder nor a dataset ref, holds no images, or the
        labels CSV does not fit it.

    Examples
    --------
    ::

        idx = kagman.index("chest_xray")      # or kagman.index("owner/slug")
        idx.classes                           # ['NORMAL', 'PNEUMONIA']
        train = idx.paths("train"), idx.labels("train")
    """
    if check not in CHECK_LEVELS:
        msg = f"check must be one of {', '.join(CHECK_LEVELS)}; got {check!r}."
        raise ValueError(msg)
    root = _resolve_source(source)
    found = detect(
        root,
        follow_symlinks=follow_symlinks,
        labels=os.fspath(labels) if labels is not None else None,
        path_col=path_col,
        label_col=label_col,
    )
    parts = [p for p in found.parts if p.count]
    problems = list(found.problems)
    if not parts:
        reasons = pd.Series([p[2] for p in problems], dtype=object).value_counts()
        skipped = ", ".join(f"{n} {r}" for r, n in reasons.items()) or "nothing"
        msg = (
            f"No images found under {found.root} (skipped: {skipped}). Image files need one "
            "of the extensions .jpg .jpeg .png .bmp .gif .webp .tif .tiff (any case)."
        )
        raise ImageFolderError(msg, path=Path(found.root))
    classes = _sorted_classes(set().union(*(p.classes for p in parts)))
    splits = [p.split for p in parts]
    sizes = [p.count for p in parts]
    # One pass from the listing's chunks straight into the column's array.
    chunks = itertools.chain.from_iterable(c for p in parts for c in p.chunks)
    path_array = np.fromiter(chunks, dtype=object, count=sum(sizes))
    runs = [run for part in parts for run in part.runs]
    # Columns are built once, as arrays, from (label, count) runs: a class folder
    # of 10,000 images costs one lookup, not 10,000.
    class_to_idx = {c: i for i, c in enumerate(classes)}
    run_ids = np.array([class_to_idx.get(lab, -1) for lab, _ in runs], dtype=np.int64)  # type: ignore[arg-type]
    label_ids = np.repeat(run_ids, [n for _, n in runs])
    split_codes = np.repeat(np.arange(len(parts)), sizes)
    results = check_many(path_array.tolist(), check) if check != "none" else []
    if any(r[0] for r in results):
        keep = np.array([not r[0] for r in results])
        problems.extend(
            (p, splits[s], r[0], r[1])
            for p, s, r in zip(path_array.tolist(), split_codes.tolist(), results, strict=True)
            if r[0]
        )
        results = [r for r in results if not r[0]]
        path_array, label_ids, split_codes = path_array[keep], label_ids[keep], split_codes[keep]
    columns: dict[str, Any] = {
        "path": pd.Series(path_array, dtype=object, copy=False),
        "split": pd.Categorical.from_codes(split_codes, pd.Index(splits, dtype=object)),
        "label": pd.Categorical.from_codes(label_ids, pd.Index(classes, dtype=object)),
        "label_id": label_ids,
    }
    if check != "none":
        columns["format"] = pd.Categorical([r[2] for r in results])
    if check in ("header", "full"):
        columns["width"] = np.array([r[3] for r in results], dtype=np.int64)
        columns["height"] = np.array([r[4] for r in results], dtype=np.int64)
        columns["mode"] = pd.Categorical([r[5] for r in results])
    df = pd.DataFrame(columns, copy=False)
    result = ImageIndex(
        df,
        _problem_frame(problems),
        classes,
        root=Path(found.root),
        layout="\n".join(found.description),
        check=check,
        unmatched_rows=found.unmatched_rows,
    )
    _warn_missing_classes(result, stacklevel=3)
    _log_notes(result)
    return result


def _resolve_source(source: str | os.PathLike[str]) -> str:
    """Turn ``source`` into an absolute folder, pulling a dataset ref if needed."""
    text = os.fspath(source)
    # abspath, unlike resolve(), drops ".." but keeps the symlinks the user chose.
    path = Path(os.path.abspath(Path(text).expanduser()))  # noqa: PTH100
    if path.is_dir():
        return str(path)
    if path.exists():
        msg = f"{text} is a file, not a folder. Pass the folder that holds the images."
        raise ImageFolderError(msg, path=path)
    from kagman.handle import looks_like_ref

    if looks_like_ref(text):
        from kagman.datasets import pull

        log.info("No folder %s here; indexing the dataset %s from the cache.", text, text)
        folder = pull(text)
        if not folder.is_dir():
            msg = f"The dataset {text} is a single file ({folder}), not a folder of images."
            raise ImageFolderError(msg, path=folder)
        return str(folder.absolute())
    msg = (
        f"No folder {path}. Pass an existing folder of images, or a dataset ref like "
        "owner/slug to index its cached copy."
    )
    raise ImageFolderError(msg, path=path)


def _sorted_classes(labels: set[str]) -> list[str]:
    """Sort class names; numerically when every name is a number, so '10' follows '9'.

    >>> _sorted_classes({"10", "9", "1"}), _sorted_classes({"b", "a", "B"})
    (['1', '9', '10'], ['B', 'a', 'b'])
    """
    if labels and all(lab.isdecimal() for lab in labels):
        return sorted(labels, key=lambda lab: (int(lab), lab))
    return sorted(labels)


def _problem_frame(problems: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Skipped files as a DataFrame sorted by path; ``split`` ``""`` is outside any split."""
    rows = sorted(problems)
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return pd.DataFrame(
        {
            "path": pd.Series(columns[0], dtype=object),
            "split": pd.Categorical(columns[1]),
            "reason": pd.Categorical(columns[2]),
            "detail": pd.Series(columns[3], dtype=object),
        },
        copy=False,
    )


def _warn_missing_classes(idx: ImageIndex, *, stacklevel: int) -> None:
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
            warnings.warn(msg, UserWarning, stacklevel=stacklevel + 1)


def _log_notes(idx: ImageIndex) -> None:
    """Informational notes for the log: what was skipped, surprising formats and modes."""
    if len(idx.problems):
        counts = idx.problems.reason.value_counts()
        summary = ", ".join(f"{n} {r}" for r, n in counts.items() if n)
        log.info("Skipped %d files (%s); see .problems.", len(idx.problems), summary)
    if "format" in idx.df:
        formats = {"jpg": "JPEG", "jpe": "JPEG", "jfif": "JPEG", "tif": "TIFF", "dib": "BMP"}
        wrong = sum(
            formats.get(ext := p[p.rfind(".") + 1 :].lower(), ext.upper()) != f
            for p, f in zip(idx.df.path.tolist(), idx.df.format.tolist(), strict=True)
        )
        if wrong:
            log.info(
                "%d images are in another format than their extension says; PIL-based "
                "loaders do not mind, the 'format' column has the truth.",
                wrong,
            )
    if "mode" in idx.df and (idx.df["mode"] == "CMYK").any():
        n = int((idx.df["mode"] == "CMYK").sum())
        log.info("%d images are CMYK; convert them with .convert('RGB') when loading.", n)


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
        _warn_missing_classes(result, stacklevel=2)
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
