"""Build an :class:`~kagman.images.imageindex.ImageIndex` from a folder.

:func:`index_folder` walks the folder, detects its layout (see
:mod:`kagman.images.layout`), checks the files (see :mod:`kagman.images.check`)
and assembles the columns once, as arrays. One class map covers every split,
so a class missing from ``test`` never shifts label ids; such a gap raises a
:class:`UserWarning`. Informational notes go to the ``kagman.images`` logger.
Nothing is ever deleted or moved. Turning a dataset ref into a folder is not
done here: :func:`kagman.index` does it.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kagman.errors import ImageFolderError, InvalidArgumentError
from kagman.fs import counted
from kagman.images.check import (
    CHECK_LEVELS,
    FAST_HELPERS_MIN,
    CheckLevel,
    EarlyHelpers,
    check_many,
)
from kagman.images.classes import fold_case, warn_missing_classes
from kagman.images.formats import extensions_text
from kagman.images.imageindex import ImageIndex
from kagman.images.layout import detect
from kagman.images.listing import Problem, Walker, skipped_entries
from kagman.images.parts import Detected

__all__ = ["DEFAULT_CHECK", "index_folder"]

log = logging.getLogger("kagman.images")

#: Chosen by benchmarks/bench_index.py (100,000 files, 2-core VM): ``none`` costs
#: 1.3x a bare ``os.scandir`` walk, ``fast`` about 10 us per file (12x the walk, bound
#: by one open/read/close per file) and catches empty, truncated and HTML-as-JPEG
#: files before they crash an epoch; ``header`` costs about 120 us per file.
DEFAULT_CHECK: CheckLevel = "fast"


def index_folder(
    folder: str | os.PathLike[str],
    *,
    check: CheckLevel = DEFAULT_CHECK,
    labels: str | os.PathLike[str] | None = None,
    path_col: str | None = None,
    label_col: str | None = None,
    label_sep: str | None = None,
    case_insensitive_classes: bool = False,
    follow_symlinks: bool = True,
) -> ImageIndex:
    """Index the images under a folder (what :func:`kagman.index` does once it has one).

    Parameters
    ----------
    folder
        An existing folder (``~`` is expanded; relative to the working folder).
    check, labels, path_col, label_col, label_sep, case_insensitive_classes, follow_symlinks
        As for :func:`kagman.index`.

    Returns
    -------
    ImageIndex

    Raises
    ------
    ImageFolderError
        The folder does not exist or is a file, holds no images, or the labels
        CSV does not fit it.
    InvalidArgumentError
        ``check`` is not one of the levels.
    """
    if check not in CHECK_LEVELS:
        msg = f"check must be one of {', '.join(CHECK_LEVELS)}; got {check!r}."
        raise InvalidArgumentError(msg)
    root = _existing_folder(folder)
    early = EarlyHelpers()  # check="fast" helpers, started once the walk finds many images
    try:
        when_many = (FAST_HELPERS_MIN, early.start) if check == "fast" else None
        found = detect(
            root,
            follow_symlinks=follow_symlinks,
            labels=os.fspath(labels) if labels is not None else None,
            path_col=path_col,
            label_col=label_col,
            label_sep=label_sep,
            walker=Walker(follow_symlinks=follow_symlinks, when_many=when_many),
        )
        return _build(found, check, case_insensitive_classes, early)
    finally:
        early.close()


def _build(
    found: Detected, check: CheckLevel, case_insensitive_classes: bool, early: EarlyHelpers
) -> ImageIndex:
    """The index of what :func:`~kagman.images.layout.detect` found, checked at ``check``."""
    parts = [p for p in found.parts if p.count]
    problems = list(found.problems)
    if not parts:
        reasons = pd.Series([p.reason for p in problems], dtype=object).value_counts()
        skipped = ", ".join(f"{n} {r}" for r, n in reasons.items()) or "nothing"
        msg = (
            f"No images found under {found.root} (skipped: {skipped}). Image files need one "
            f"of the extensions {extensions_text()} (any case)."
        )
        raise ImageFolderError(msg, path=Path(found.root))
    description = found.description + fold_case(parts, merge=case_insensitive_classes)
    multilabel = any(isinstance(lab, tuple) for p in parts for lab, _ in p.runs)
    classes = _sorted_classes(set().union(*(p.classes for p in parts)))
    splits = [p.split for p in parts]
    sizes = [p.count for p in parts]
    # One pass from the listing's chunks straight into the column's array.
    chunks = itertools.chain.from_iterable(c for p in parts for c in p.chunks)
    rows: dict[str, Any] = {"path": np.fromiter(chunks, dtype=object, count=sum(sizes))}
    runs = [run for part in parts for run in part.runs]
    counts = [n for _, n in runs]
    if multilabel:
        tags = [() if lab is None else (lab,) if isinstance(lab, str) else lab for lab, _ in runs]
        rows["labels"] = np.repeat(np.fromiter(tags, dtype=object, count=len(tags)), counts)
    else:
        # Columns are built once, as arrays, from (label, count) runs: a class folder
        # of 10,000 images costs one lookup, not 10,000.
        class_to_idx = {c: i for i, c in enumerate(classes)}
        run_ids = [class_to_idx.get(lab, -1) if isinstance(lab, str) else -1 for lab, _ in runs]
        rows["label_id"] = np.repeat(np.array(run_ids, dtype=np.int64), counts)
    rows["split"] = np.repeat(np.arange(len(parts)), sizes)
    if found.masks:
        rows = _pair_masks(rows, found.masks, splits, problems)
    paths = rows["path"].tolist()
    results = check_many(paths, check, early=early) if check != "none" else []
    if any(r.reason for r in results):
        keep = np.array([not r.reason for r in results])
        problems.extend(
            Problem(p, splits[s], r.reason, r.detail)
            for p, s, r in zip(rows["path"].tolist(), rows["split"].tolist(), results, strict=True)
            if r.reason
        )
        results = [r for r in results if not r.reason]
        rows = {name: column[keep] for name, column in rows.items()}
    columns: dict[str, Any] = {
        "path": pd.Series(rows["path"], dtype=object, copy=False),
        "split": pd.Categorical.from_codes(rows["split"], pd.Index(splits, dtype=object)),
    }
    if multilabel:
        columns["labels"] = pd.Series([list(t) for t in rows["labels"].tolist()], dtype=object)
    else:
        columns["label"] = pd.Categorical.from_codes(
            rows["label_id"], pd.Index(classes, dtype=object)
        )
        columns["label_id"] = rows["label_id"]
    if "mask" in rows:
        columns["mask"] = pd.Series(rows["mask"], dtype=object, copy=False)
    if check != "none":
        columns["format"] = pd.Categorical([r.format for r in results])
    if check in ("header", "full"):
        columns["width"] = np.array([r.width for r in results], dtype=np.int64)
        columns["height"] = np.array([r.height for r in results], dtype=np.int64)
        columns["mode"] = pd.Categorical([r.mode for r in results])
    df = pd.DataFrame(columns, copy=False)
    result = ImageIndex(
        df,
        _problem_frame(problems),
        classes,
        root=Path(found.root),
        layout="\n".join(description),
        check=check,
        unmatched_rows=found.unmatched_rows,
        multilabel=multilabel,
    )
    warn_missing_classes(df, classes, multilabel=multilabel)
    _log_notes(result)
    return result


def _pair_masks(
    rows: dict[str, Any], masks: dict[str, str], splits: list[str], problems: list[Problem]
) -> dict[str, Any]:
    """Add the ``mask`` column; in a split with masks, an image without one is skipped."""
    paths = rows["path"].tolist()
    mask = np.fromiter((masks.get(p) for p in paths), dtype=object, count=len(paths))
    has = np.fromiter((m is not None for m in mask.tolist()), dtype=bool, count=len(paths))
    paired = np.unique(rows["split"][has])
    keep = has | ~np.isin(rows["split"], paired)
    why = "no mask with the same name; a split with masks pairs every image"
    problems.extend(
        Problem(paths[i], splits[rows["split"][i]], "no-mask", why) for i in np.flatnonzero(~keep)
    )
    rows = {name: column[keep] for name, column in rows.items()}
    rows["mask"] = mask[keep]
    return rows


def _existing_folder(folder: str | os.PathLike[str]) -> str:
    """``folder`` as an absolute path string, or :class:`ImageFolderError`."""
    text = os.fspath(folder)
    # abspath, unlike resolve(), drops ".." but keeps the symlinks the user chose.
    path = Path(os.path.abspath(Path(text).expanduser()))  # noqa: PTH100
    if path.is_dir():
        return str(path)
    if path.exists():
        msg = f"{text} is a file, not a folder. Pass the folder that holds the images."
        raise ImageFolderError(msg, path=path)
    msg = f"No folder {path} (from the working folder {Path.cwd()}). Check the path."
    raise ImageFolderError(msg, path=path)


def _sorted_classes(labels: set[str]) -> list[str]:
    """Sort class names; numerically when every name is a number, so '10' follows '9'.

    >>> _sorted_classes({"10", "9", "1"}), _sorted_classes({"b", "a", "B"})
    (['1', '9', '10'], ['B', 'a', 'b'])
    """
    if labels and all(lab.isdecimal() for lab in labels):
        return sorted(labels, key=lambda lab: (int(lab), lab))
    return sorted(labels)


def _problem_frame(problems: list[Problem]) -> pd.DataFrame:
    """Skipped files as a DataFrame sorted by path; ``split`` ``""`` is outside any split."""
    rows = sorted(problems)
    return pd.DataFrame(
        {
            "path": pd.Series([r.path for r in rows], dtype=object),
            "split": pd.Categorical([r.split for r in rows]),
            "reason": pd.Categorical([r.reason for r in rows]),
            "detail": pd.Series([r.detail for r in rows], dtype=object),
            "folder": pd.Series([r.folder for r in rows], dtype=bool),
        },
        copy=False,
    )


def _log_notes(idx: ImageIndex) -> None:
    """Informational notes for the log: what was skipped, surprising formats and modes."""
    if len(idx.problems):
        counts = idx.problems.reason.value_counts()
        summary = ", ".join(f"{n:,} {r}" for r, n in counts.items() if n)
        # not ".problems": the CLI prints the index's Problems section right after this line
        what = skipped_entries(len(idx.problems), int(idx.problems.folder.sum()))
        log.info("Skipped %s (%s): see Problems in the index's summary.", what, summary)
    if "format" in idx.df and log.isEnabledFor(logging.INFO):  # a pass over every path
        formats = {"jpg": "JPEG", "jpe": "JPEG", "jfif": "JPEG", "tif": "TIFF", "dib": "BMP"}
        wrong = sum(
            formats.get(ext := p[p.rfind(".") + 1 :].lower(), ext.upper()) != f
            for p, f in zip(idx.df.path.tolist(), idx.df.format.tolist(), strict=True)
        )
        if wrong:
            log.info(
                "%s in another format than %s extension says; PIL-based "
                "loaders do not mind, the 'format' column has the truth.",
                counted(wrong, "image is", "images are"),
                "its" if wrong == 1 else "their",
            )
    if "mode" in idx.df and (idx.df["mode"] == "CMYK").any():
        n = int((idx.df["mode"] == "CMYK").sum())
        log.info(
            "%s CMYK; convert %s with .convert('RGB') when loading.",
            counted(n, "image is", "images are"),
            "it" if n == 1 else "them",
        )
