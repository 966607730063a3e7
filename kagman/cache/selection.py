"""Which files of a version a pull wants: a file, a folder, gitignore-style globs.

A subset entry's manifest records the selections it answers in full as :meth:`Selection.key`
texts, so the cache owns their format: pulls, ``kagman ls``, ``path`` and ``rm`` read them
back with :meth:`Selection.from_key`.

``--file NAME`` names a file or a folder (a trailing ``/`` says folder; without it, a name
Kaggle does not know as a file is tried as a folder, and against a listing, a name that is
no file of it is a folder). ``--include``/``--exclude`` take gitignore-style patterns,
matched by ``pathspec`` (the matcher pip-tools, black and many others use) against each
file's path inside the dataset: ``train/**``, ``*.csv``, and ``!*.tif`` to take back part of
what an earlier pattern took. A file is selected when it is inside ``NAME`` (if given; the
file itself when ``NAME`` is a file), matches the includes (if any) and matches no exclude.

>>> sel = Selection(include=("train/**", "!*.tif"), exclude=("*.txt",))
>>> sel.select(["train/a.jpg", "train/b.tif", "train/c.txt", "test/d.jpg"])
['train/a.jpg']
>>> Selection(file="train").select(["train/a.jpg", "trainer.csv"], folder=True)
['train/a.jpg']
>>> Selection(file="t.csv", include=("*.csv",)).select(["t.csv", "u.csv"])  # NAME is a file
['t.csv']
>>> Selection.from_key(Selection(file="train").key(folder=True)).short
'train/'
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kagman.errors import EmptySelectionError
from kagman.fs import counted

__all__ = ["Selection", "nothing_matches", "top_level"]


@dataclass(frozen=True)
class Selection:
    """Part of a dataset version or competition's data; all empty means the whole of it."""

    file: str | None = None  # a checked path inside the data; a trailing "/" means a folder
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def whole(self) -> bool:
        """Whether this selects everything (no file, no patterns)."""
        return self.file is None and not self.include and not self.exclude

    @property
    def name(self) -> str | None:
        """The file or folder name without a trailing slash."""
        return self.file.rstrip("/") if self.file is not None else None

    @property
    def maybe_single_file(self) -> bool:
        """``--file NAME`` alone, without a trailing slash: perhaps one file."""
        return self.file is not None and not self.file.endswith("/") and not self.patterns

    def folder_in(self, names: Iterable[str]) -> bool:
        """Whether ``--file NAME`` is a folder of the listing ``names``: written ``NAME/``, or no
        file of that exact name is listed (``True`` without a ``--file`` too).

        >>> Selection("t.csv").folder_in(["t.csv"]), Selection("train").folder_in(["train/a"])
        (False, True)
        """
        if self.file is None or self.file.endswith("/"):
            return True
        return self.name not in (names if isinstance(names, (set, frozenset, dict)) else set(names))

    @property
    def patterns(self) -> bool:
        """Whether ``--include``/``--exclude`` were given."""
        return bool(self.include or self.exclude)

    def key(self, *, folder: bool) -> str:
        """A canonical text for this selection, as recorded in a subset's manifest."""
        body: dict[str, Any] = {"include": list(self.include), "exclude": list(self.exclude)}
        if self.name is not None:
            body["folder" if folder else "file"] = self.name
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_key(cls, key: str) -> Selection:
        """The selection a :meth:`key` text names (a folder's name gets its trailing ``/``).

        Raises
        ------
        ValueError
            Not a key this module wrote.
        """
        body = json.loads(key)
        if not isinstance(body, dict):
            msg = f"not a selection key: {key!r}"
            raise ValueError(msg)
        file = body.get("file")
        if body.get("folder") is not None:
            file = f"{body['folder']}/"
        return cls(
            None if file is None else str(file),
            tuple(str(p) for p in body.get("include") or ()),
            tuple(str(p) for p in body.get("exclude") or ()),
        )

    def covers(self, name: str) -> bool:
        """Whether the file ``name`` is one this selection takes (as read back by
        :meth:`from_key`: a ``file`` without a trailing ``/`` is that one file).

        >>> Selection("train/").covers("train/a.jpg"), Selection("a.csv").covers("a.csv/b")
        (True, False)
        """
        folder = self.file is None or self.file.endswith("/")
        return bool(self.select([name], folder=folder))

    @property
    def short(self) -> str:
        """The selection as briefly as it can be said: ``t.csv``, ``train/``, or the options.

        >>> Selection("t.csv").short, Selection(include=("*.csv",)).short
        ('t.csv', "--include '*.csv'")
        """
        if self.file is not None and not self.patterns:
            return self.file
        return self.describe()

    def select(self, names: Iterable[str], *, folder: bool | None = None) -> list[str]:
        """The names this selection takes, in the order given.

        ``folder``: whether ``file`` names a folder (else only that exact file is taken);
        ``None`` decides from ``names`` (:meth:`folder_in`).
        """
        if folder is None:
            names = list(names)
            folder = self.folder_in(names)
        include, exclude = self._specs
        return [
            n
            for n in names
            if self._inside(n, folder)
            and (include is None or include.match_file(n))
            and (exclude is None or not exclude.match_file(n))
        ]

    def takes_any(self, names: Collection[str]) -> bool:
        """Whether :meth:`select` would take any of ``names``; stops at the first one.

        >>> Selection(include=("*.png",)).takes_any(["a.csv", "b.png"])
        True
        """
        folder = self.folder_in(names)
        include, exclude = self._specs
        return any(
            self._inside(n, folder)
            and (include is None or include.match_file(n))
            and (exclude is None or not exclude.match_file(n))
            for n in names
        )

    def _inside(self, name: str, folder: bool) -> bool:
        if self.name is None:
            return True
        return name.startswith(self.name + "/") if folder else name == self.name

    @cached_property
    def _specs(self) -> tuple[Any, Any]:
        import pathspec

        include = pathspec.GitIgnoreSpec.from_lines(self.include) if self.include else None
        exclude = pathspec.GitIgnoreSpec.from_lines(self.exclude) if self.exclude else None
        return include, exclude

    def describe(self, *, python: bool = False) -> str:
        """The selection as command-line options (``python``: as keyword arguments), for messages.

        >>> sel = Selection("train/", ("*.jpg",))
        >>> sel.describe(), sel.describe(python=True)
        ("--file train/ --include '*.jpg'", "file='train/', include=['*.jpg']")
        """
        if python:
            named = [f"file={self.file!r}"] if self.file is not None else []
            named += [f"include={list(self.include)!r}"] if self.include else []
            named += [f"exclude={list(self.exclude)!r}"] if self.exclude else []
            return ", ".join(named) or "everything"
        parts = [f"--file {self.file}"] if self.file is not None else []
        parts += [f"--include {p!r}" for p in self.include]
        parts += [f"--exclude {p!r}" for p in self.exclude]
        return " ".join(parts) or "everything"


def top_level(names: Iterable[str]) -> str:
    """The top-level folders (and a few files) of a listing, for "nothing matched" messages.

    >>> top_level(["a/x.csv", "a/y.csv", "b/z.csv", "readme.md"])
    'folders a/, b/; files readme.md'
    """
    folders: dict[str, None] = {}
    files: list[str] = []
    for name in sorted(names):
        head, sep, _ = name.partition("/")
        if sep:
            folders[head + "/"] = None
        else:
            files.append(name)
    parts = []
    if folders:
        shown = list(folders)[:20]
        more = f" and {len(folders) - 20} more" if len(folders) > 20 else ""
        parts.append("folders " + ", ".join(shown) + more)
    if files:
        more = f" and {len(files) - 10} more" if len(files) > 10 else ""
        parts.append("files " + ", ".join(files[:10]) + more)
    return "; ".join(parts) or "no files at all"


def nothing_matches(
    label: str, selection: Selection, names: Collection[str], files_command: str
) -> EmptySelectionError:
    """The error for a selection that takes none of ``names`` (every file of ``label``).

    One wording whether the listing came from Kaggle or from a cached entry, so the
    answer never depends on what is cached.

    >>> err = nothing_matches("o/d", Selection(include=("*.png",)), ["a.csv"], "kagman files")
    >>> str(err).split(". ")[:2]
    ["Nothing in o/d (1 file) matches include=['*.png']", 'Its top level has files a.csv']
    >>> str(err.cli_message).split(". ")[0]
    "Nothing in o/d (1 file) matches --include '*.png'"
    """
    head, tail = (
        f"Nothing in {label} ({counted(len(names), 'file')}) matches ",
        (f". Its top level has {top_level(names)}. See every file with `{files_command}`."),
    )
    err = EmptySelectionError(head + selection.describe(python=True) + tail, ref=label)
    err.cli_message = head + selection.describe() + tail
    return err
