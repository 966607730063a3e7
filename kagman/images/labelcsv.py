"""Label flat image folders from a CSV such as ``labels.csv`` with ``id,breed``.

The CSV's path column is joined on the file name, with or without extension
(``abc``, ``abc.jpg`` and ``train/abc.jpg`` all match ``.../abc.jpg``). The label
column is the one named like a label (``label``, ``class``, ``breed``, ...), else
the only other non-numeric column. Rows that match no image and images that
match no row are reported, never guessed.
"""

# Paths are the plain str paths of the listing (see kagman.images.layout).
# ruff: noqa: PTH100, PTH113, PTH118, PTH119, PTH120, PTH202
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from kagman.errors import ImageFolderError
from kagman.images.formats import IMAGE_EXTENSIONS
from kagman.images.listing import Problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CsvFinder"]

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
)
_MAX_CSV_BYTES = 200 * 1024 * 1024
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
    ) -> None:
        self.source = source
        self.root = root
        self.explicit = labels is not None
        self.path_col = path_col
        self.label_col = label_col
        self.used: list[str] = []
        self.problems: list[Problem] = []
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
        cands = [c for c in others if not _is_fractional(frame[c].tolist())]
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

    def label(
        self, paths: list[str], split: str, folder: str
    ) -> tuple[list[str | None], str] | None:
        """Labels for ``paths`` from the best-matching CSV, plus a note; ``None`` if none fits.

        A label of ``""`` marks an image whose rows disagree; it is already recorded
        as a ``conflicting-labels`` problem.
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
            if self.path_col is not None and self.path_col not in columns:
                if self.explicit:
                    msg = f"{csv} has no column {self.path_col!r}; its columns are {columns}."
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
                msg = (
                    f"Could not tell which column of {csv} holds the labels. "
                    "Name it with label_col= (--label-col)."
                )
                raise ImageFolderError(msg)
            return None
        labels: list[str | None] = [None] * len(paths)
        conflicts: dict[int, set[str]] = {}
        matched = self._matched.setdefault(csv, [False] * len(frame))
        for row, (hit, value) in enumerate(zip(hits, frame[label_col].tolist(), strict=True)):
            if not hit:
                continue
            matched[row] = True
            label = value.strip()
            if not label:
                continue
            for i in hit:
                if labels[i] is None:
                    labels[i] = label
                elif labels[i] != label:
                    conflicts.setdefault(i, {str(labels[i])}).add(label)
        for i, values in conflicts.items():
            labels[i] = ""
            detail = f"rows of {os.path.basename(csv)} give {sorted(values)}"
            self.problems.append(Problem(paths[i], split, "conflicting-labels", detail))
        if csv not in self.used:
            self.used.append(csv)
        n_classes = len({lab for lab in labels if lab})
        missing = sum(lab is None for lab in labels)
        note = (
            f"images labelled by {os.path.relpath(csv, self.source)} (file names from column "
            f"{path_col!r}, labels from {label_col!r}; {n_classes} classes"
            + (f", {missing} images without a row" if missing else "")
            + ")"
        )
        return labels, note

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
