"""Label flat image folders from a CSV such as ``labels.csv`` with ``id,breed``.

The CSV's path column is joined on the file name, with or without extension
(``abc``, ``abc.jpg`` and ``train/abc.jpg`` all match ``.../abc.jpg``). The label
column is the one named like a label (``label``, ``class``, ``breed``, ``tags``, ...),
else the only other non-numeric column. Never a label: probabilities, a column of
split names (``split``, ``fold``, ``Usage``: a class is never a split), ids and
run-length masks (every value distinct, or long). A cell holding several tags makes
a multi-label column (:mod:`kagman.images.multilabel`). Rows that match no image
and images that match no row are reported, never guessed.
"""

# Paths are the plain str paths of the listing (see kagman.images.layout).
# ruff: noqa: PTH100, PTH113, PTH118, PTH119, PTH120, PTH202
from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from kagman.errors import ImageFolderError
from kagman.fs import counted
from kagman.images.formats import IMAGE_EXTENSIONS
from kagman.images.listing import Problem
from kagman.images.multilabel import detect_separator, split_tags
from kagman.images.names import split_name
from kagman.images.parts import Label
from kagman.ui.warn import Name, worded

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CsvFinder", "refused"]

_LABEL_NAMES = (
    "label",
    "labels",
    "class",
    "class_name",
    "classname",
    "category",
    "breed",
    "species",
    "target",
    "diagnosis",
    "dx",
    "y",
    "tags",
    "tag",
    "finding labels",
    "finding_labels",
)
# Columns that say which split a row belongs to: never labels.
_SPLIT_COLUMNS = {"split", "subset", "fold", "set", "usage", "partition", "is_train", "is_test"}
_ID_MIN_ROWS = 20  # below this, a column of distinct values may still be a label
_MAX_LABEL_LENGTH = 100  # median length above this: run-length masks, captions, not labels
_MAX_CSV_BYTES = 200 * 1024 * 1024
_RUN_LENGTHS = re.compile(r"^\d+(?: \d+)+$")  # "1 3 10 5": a run-length encoded mask
_FRACTION = re.compile(r"^-?\d*\.\d+(e-?\d+)?$|^-?\d+e-?\d+$", re.IGNORECASE)


def _key(value: str) -> str:
    """The file-name part of a CSV cell.

    >>> _key(" train\\\\abc.jpg ")
    'abc.jpg'
    """
    return value.strip().replace("\\", "/").rpartition("/")[2]


def _is_fractional(values: list[str]) -> bool:
    """Whether a column holds probabilities or measurements rather than labels.

    >>> _is_fractional(["0.25", "0.75"]), _is_fractional(["cat", "0.5"]), _is_fractional(["1", "2"])
    (True, False, False)
    """
    sample = [v for v in values[:1000] if v]
    return bool(sample) and all(_FRACTION.match(v.strip()) for v in sample)


class CsvFinder:
    """Finds, reads and joins label CSVs for the parts of one index run."""

    def __init__(
        self,
        source: str,
        root: str,
        labels: str | None,
        *,
        path_col: str | None,
        label_col: str | None,
        label_sep: str | None = None,
    ) -> None:
        self.source = source
        self.label_sep = label_sep
        self.root = root
        self.explicit = labels is not None
        self.path_col = path_col
        self.label_col = label_col
        self.used: list[str] = []
        self.problems: list[Problem] = []
        self._columns: dict[str, list[str]] = {}  # every candidate read: its columns
        self._frames: dict[str, pd.DataFrame | None] = {}
        self._matched: dict[str, list[bool]] = {}
        self._explicit_path = ""
        if labels is not None:
            path = os.path.abspath(labels)
            if not os.path.isfile(path) and os.path.isfile(os.path.join(source, labels)):
                path = os.path.join(source, labels)
            if not os.path.isfile(path):
                msg = f"The labels file {labels} does not exist. Pass the path of a CSV file."
                raise ImageFolderError(msg)
            self._explicit_path = path
            if self._read(path) is None:
                msg = (
                    f"Could not read {path} as a CSV file. Check its format, or leave labels=None."
                )
                raise ImageFolderError(msg)

    def _candidates(self, folder: str) -> list[str]:
        if self.explicit:
            return [self._explicit_path]
        found: list[str] = []
        places = [folder, os.path.dirname(folder), self.root, self.source]
        inside = [p for p in places if p == self.source or p.startswith(self.source + os.sep)]
        for where in dict.fromkeys(inside):
            try:
                with os.scandir(where) as it:
                    names = sorted(
                        e.name
                        for e in it
                        if e.name.lower().endswith(".csv")
                        and not e.name.startswith(".")
                        and "submission" not in e.name.lower()
                        and e.is_file()
                    )
            except OSError:
                continue
            found.extend(os.path.join(where, n) for n in names)
        return found

    def _read(self, path: str) -> pd.DataFrame | None:
        if path in self._frames:
            return self._frames[path]
        import pandas as pd

        frame: pd.DataFrame | None = None
        try:
            if os.path.getsize(path) <= _MAX_CSV_BYTES:
                frame = pd.read_csv(
                    path, dtype=str, keep_default_na=False, encoding_errors="replace"
                )
                if frame.shape[1] == 1 and ";" in str(frame.columns[0]):
                    frame = pd.read_csv(
                        path, sep=";", dtype=str, keep_default_na=False, encoding_errors="replace"
                    )
        except (OSError, ValueError, pd.errors.ParserError):
            frame = None
        self._frames[path] = frame
        return frame

    def _label_column(self, frame: pd.DataFrame, path_col: str, csv: str) -> str | None:
        columns = [str(c) for c in frame.columns]
        if self.label_col is not None:
            if self.label_col not in columns:
                if not self.explicit:
                    return None
                msg = f"{csv} has no column {self.label_col!r}; its columns are {columns}."
                raise ImageFolderError(msg)
            return self.label_col
        others = [c for c in columns if c != path_col]
        cands = [c for c in others if _may_be_labels(c, frame[c].tolist())]
        for name in _LABEL_NAMES:
            for c in cands:
                if c.strip().lower() == name:
                    return c
        if len(cands) == 1:
            return cands[0]
        # Fewest distinct values wins; an all-distinct column is another id, not a label.
        scored = sorted((frame[c].nunique(), i, c) for i, c in enumerate(cands))
        for distinct, _, c in scored:
            if distinct < len(frame):
                return c
        return None

    def _separator(self, frame: pd.DataFrame, label_col: str) -> str | None:
        """The tag separator of a label column (``label_sep=`` wins), or ``None``."""
        if self.label_sep is not None:
            return self.label_sep or None
        return detect_separator(frame[label_col].tolist())

    def label(self, paths: list[str], split: str, folder: str) -> tuple[list[Label], str] | None:
        """Labels for ``paths`` from the best-matching CSV, plus a note; ``None`` if none fits.

        A label is a class name, or a tuple of tags in a multi-label column. A label
        of ``""`` marks an image whose rows disagree; it is already recorded as a
        ``conflicting-labels`` problem.
        """
        if not paths:
            return None
        cut = len(os.sep)
        names = [p[p.rfind(os.sep) + cut :] for p in paths]
        by_name: dict[str, list[int]] = {}
        by_stem: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            by_name.setdefault(name, []).append(i)
            by_stem.setdefault(name.rpartition(".")[0], []).append(i)
        best: tuple[int, str, str, list[list[int] | None]] | None = None
        for csv in self._candidates(folder):
            frame = self._read(csv)
            if frame is None:
                continue
            columns = [str(c) for c in frame.columns]
            self._columns[csv] = columns
            lacking = [c for c in (self.path_col, self.label_col) if c and c not in columns]
            if lacking:  # a column the caller named: a CSV without it labels nothing
                if self.explicit:
                    msg = f"{csv} has no column {lacking[0]!r}; its columns are {columns}."
                    raise ImageFolderError(msg)
                continue
            for col in [self.path_col] if self.path_col is not None else columns:
                hits = [_lookup(_key(v), by_name, by_stem) for v in frame[col].tolist()]
                covered = len({i for h in hits if h for i in h})
                if covered and (best is None or covered > best[0]):
                    best = (covered, csv, col, hits)
        if best is None or (not self.explicit and best[0] * 2 < len(paths)):
            return None
        covered, csv, path_col, hits = best
        frame = self._read(csv)
        assert frame is not None  # noqa: S101 - read above, cached
        label_col = self._label_column(frame, path_col, csv)
        if label_col is None:
            if self.explicit:
                raise refused(
                    lambda name: (
                        f"Could not tell which column of {csv} holds the labels. "
                        f"Name it with {name('label_col=', '--label-col')}."
                    )
                )
            return None
        sep = self._separator(frame, label_col)
        labels: list[Label] = [None] * len(paths)
        conflicts: dict[int, set[str]] = {}
        matched = self._matched.setdefault(csv, [False] * len(frame))
        for row, (hit, value) in enumerate(zip(hits, frame[label_col].tolist(), strict=True)):
            if not hit:
                continue
            matched[row] = True
            text = value.strip()
            if not text:
                continue
            label: Label = split_tags(text, sep) if sep else text
            if not label:
                continue  # only separators: no label
            for i in hit:
                if labels[i] is None:
                    labels[i] = label
                elif labels[i] != label:
                    conflicts.setdefault(i, {_shown(labels[i])}).add(_shown(label))
        for i, values in conflicts.items():
            labels[i] = ""
            detail = f"rows of {os.path.basename(csv)} give {sorted(values)}"
            self.problems.append(Problem(paths[i], split, "conflicting-labels", detail))
        if csv not in self.used:
            self.used.append(csv)
        if sep:
            n_classes = len({t for lab in labels if isinstance(lab, tuple) for t in lab})
            kind = (
                f"multi-label, tags separated by {sep!r}; {counted(n_classes, 'class', 'classes')}"
            )
        else:
            n_classes = len({lab for lab in labels if lab})
            kind = counted(n_classes, "class", "classes")
        missing = sum(lab is None for lab in labels)
        note = (
            f"images labelled by {os.path.relpath(csv, self.source)} (file names from column "
            f"{path_col!r}, labels from {label_col!r}; {kind}"
            + (f", {counted(missing, 'image')} without a row" if missing else "")
            + ")"
        )
        return labels, note

    def check_given_columns(self) -> None:
        """Refuse a ``path_col``/``label_col`` that no labels CSV used: never ignore it silently.

        Raises
        ------
        ImageFolderError
            No CSV beside the images has the column (the message lists the columns each
            has, and a spelling differing only in case), or none of those that have it
            matched the images.
        """
        given = [
            (option, flag, column)
            for option, flag, column in (
                ("path_col", "--path-col", self.path_col),
                ("label_col", "--label-col", self.label_col),
            )
            if column is not None
        ]

        def options(name: Name, only: str | None = None) -> str:
            """``path_col='x' and label_col='y'`` (Python) or ``--path-col x and ...``."""
            return " and ".join(
                name(f"{option}={column!r}", f"{flag} {column}")
                for option, flag, column in given
                if only is None or option == only
            )

        if self.explicit or self.used or not given:
            return
        seen = dict(self._columns)
        for csv in self._candidates(self.root):
            frame = self._read(csv)
            if frame is not None and csv not in seen:
                seen[csv] = [str(c) for c in frame.columns]
        if not seen:
            raise refused(
                lambda name: (
                    f"{options(name)} was given, but no labels CSV lies beside the "
                    f"images under {self.root}. Name the CSV with {name('labels=', '--labels')}, "
                    "or leave the option out."
                )
            )
        shown = "; ".join(
            f"{os.path.relpath(c, self.source)} has {cols}" for c, cols in seen.items()
        )
        for option, _, column in given:
            if any(column in cols for cols in seen.values()):
                continue
            near = sorted(
                {c for cols in seen.values() for c in cols if c.lower() == column.lower()}
            )
            hint = f" Did you mean {near[0]!r}? Column names are case-sensitive." if near else ""
            head = f"No labels CSV under {self.source} has the column of "
            tail = f": {shown}.{hint}"
            python, cli = options(_python, option), options(_flag, option)
            err = ImageFolderError(head + python + tail)
            err.cli_message = head + cli + tail
            raise err
        raise refused(
            lambda name: (
                f"The labels CSVs with {options(name)} name too few of the images "
                f"under {self.root} (a CSV must name at least half of a split's images; {shown}). "
                f"Pass the CSV with {name('labels=', '--labels')} to use it anyway, or name its "
                f"file-name column with {name('path_col=', '--path-col')}."
            )
        )

    def unmatched_rows(self) -> pd.DataFrame | None:
        """Rows of the used CSVs that matched no image, with a ``csv`` column naming the file."""
        if not self.used:
            return None
        import pandas as pd

        frames = []
        for csv in self.used:
            frame = self._frames[csv]
            assert frame is not None  # noqa: S101 - only read frames are used
            keep = [not m for m in self._matched[csv]]
            rows = frame.loc[keep].copy()
            rows.insert(0, "csv", csv)
            frames.append(rows)
        return pd.concat(frames, ignore_index=True)


def _shown(label: Label) -> str:
    return "|".join(label) if isinstance(label, tuple) else str(label)


def _may_be_labels(column: str, values: list[str]) -> bool:
    """Whether a column could hold labels: not fractions, split names, ids or long codes.

    >>> _may_be_labels("Usage", ["Training", "PublicTest"]), _may_be_labels("breed", ["pug"])
    (False, True)
    >>> _may_be_labels("rle_mask", ["1 3 10 5", "7 2"])
    False
    """
    if column.strip().lower() in _SPLIT_COLUMNS or _is_fractional(values):
        return False
    sample = [v.strip() for v in values[:1000] if v.strip()]
    if not sample:
        return False
    distinct = set(sample)
    if all(split_name(v) is not None for v in distinct):
        return False  # train/test/val: a class is never a split
    if len(sample) >= _ID_MIN_ROWS and len(distinct) == len(sample):
        return False
    if all(_RUN_LENGTHS.match(v) for v in distinct):
        return False
    lengths = sorted(len(v) for v in sample)
    return lengths[len(lengths) // 2] <= _MAX_LABEL_LENGTH


def _lookup(
    key: str, by_name: dict[str, list[int]], by_stem: dict[str, list[int]]
) -> list[int] | None:
    """Images a CSV key names: exact file name, else stem, else stem of a named image file."""
    hit = by_name.get(key) or by_stem.get(key)
    if hit is None:
        stem, _, ext = key.rpartition(".")
        if stem and ext.lower() in IMAGE_EXTENSIONS:
            hit = by_stem.get(stem)
    return hit


def _python(python: str, _flag: str) -> str:
    return python


def _flag(_python: str, flag: str) -> str:
    return flag


def refused(make: Callable[[Name], str]) -> ImageFolderError:
    """An :class:`ImageFolderError` worded for Python (``label_col=``) and, as its
    ``cli_message``, for the command line (``--label-col``)."""
    python, cli = worded(make)
    err = ImageFolderError(python)
    err.cli_message = cli
    return err
