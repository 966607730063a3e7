"""The records the layout detector fills: one :class:`Part` per split, and :class:`Detected`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from kagman.images.listing import Problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Detected", "Label", "Part"]

#: A class name, the tags of a multi-label image, or ``None`` (unlabeled).
Label = Union[str, tuple[str, ...], None]  # noqa: UP007 - a runtime alias on Python 3.10


@dataclass
class Part:
    """One split's images and labels, in tree order."""

    split: str
    #: Lists of paths, one per class folder or labelled folder, never concatenated here:
    #: each pass over 100,000 path strings costs a good part of the listing itself.
    chunks: list[list[str]] = field(default_factory=list)
    #: (label, count) runs aligned with the concatenated chunks.
    runs: list[tuple[Label, int]] = field(default_factory=list)
    classes: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        """Number of images."""
        return sum(map(len, self.chunks))

    @property
    def paths(self) -> list[str]:
        """All image paths, concatenated (a copy)."""
        return [p for chunk in self.chunks for p in chunk]

    def add(self, paths: list[str], label: Label) -> None:
        """Append images that share one label."""
        if not paths:
            return
        self.chunks.append(paths)
        self.runs.append((label, len(paths)))
        if isinstance(label, str):
            self.classes.add(label)
        elif label is not None:
            self.classes.update(label)

    def add_each(self, paths: list[str], labels: list[Label]) -> None:
        """Append images with a label each (from a CSV)."""
        if not paths:
            return
        self.chunks.append(paths)
        for label in labels:
            self.runs.append((label, 1))
            if isinstance(label, str):
                self.classes.add(label)
            elif label is not None:
                self.classes.update(label)


@dataclass
class Detected:
    """What the layout detector found: parts, problems, masks and a description in words."""

    root: str
    parts: list[Part]
    problems: list[Problem]
    description: list[str]
    unmatched_rows: pd.DataFrame | None = None
    masks: dict[str, str] = field(default_factory=dict)  # image path -> mask path
