"""Which files are tables, and which reader takes each: the one list of table extensions.

Matched on the lower-cased name, longest suffix first, so ``train.csv.gz`` is a compressed
CSV and ``data.zip`` a zip-wrapped CSV (a bare ``.zip`` is read only when asked for by name:
most zips on Kaggle are not tables).

>>> [table_format(n) for n in ("a.CSV", "b.tsv.gz", "c.jsonl", "d.db", "e.zip", "f.png")]
['csv', 'tsv', 'jsonl', 'sqlite', 'zip', None]
>>> is_table("e.zip"), is_table("e.csv.zip")
(False, True)
"""

from __future__ import annotations

from pathlib import PurePosixPath

__all__ = ["COMPRESSIONS", "FORMATS", "describe_formats", "is_table", "table_format"]

COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst", ".zip")  # pandas infers these from the name
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
}
_TEXT = frozenset({"csv", "tsv", "json", "jsonl"})  # may be compressed


def table_format(name: str) -> str | None:
    """The reader for a file name (``"csv"``, ``"parquet"``, ``"zip"``...), or ``None``."""
    suffixes = [s.lower() for s in PurePosixPath(name).suffixes]
    if not suffixes:
        return None
    last = suffixes[-1]
    if last in FORMATS:
        return FORMATS[last]
    if last in COMPRESSIONS and len(suffixes) > 1 and FORMATS.get(suffixes[-2]) in _TEXT:
        return FORMATS[suffixes[-2]]
    return "zip" if last == ".zip" else None


def is_table(name: str) -> bool:
    """Whether ``name`` counts as a table when looking for "the" table of a dataset."""
    fmt = table_format(name)
    return fmt is not None and fmt != "zip"


def describe_formats() -> str:
    """The supported extensions, for messages."""
    return ", ".join(sorted(FORMATS)) + " (text formats also .gz/.bz2/.xz/.zip)"
