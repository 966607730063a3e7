"""One file into a pandas DataFrame, by its extension, with errors that name the fix.

CSV goes through pandas' ``pyarrow`` engine where it is faster: it parses on several
threads, and from 4 cores up it beats the C engine on large files; on 2 cores the C
engine measured faster (``benchmarks/bench_load.py``: 0.55 s against 0.68-1.15 s for 133 MB
on a loaded 2-core machine), so there the C engine reads. The C engine also reads when an
argument needs it (``nrows``, ``skipfooter``, ``comment``, ...: pandas' list of what the
pyarrow engine refuses), and ``engine=`` chooses outright. When pyarrow fails to parse, the
C engine reads the file again: it either succeeds or says which line is wrong. No copy is
made of what pandas returns.

A ``.csv`` written with another separator (``;`` from a European spreadsheet, a tab, ``|``)
reads as one column whose name holds them all; when no ``sep`` was given and the one column's
header holds such a separator and no comma, it is read again with it (logged). ``sep=``
decides outright.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from kagman.errors import TableError
from kagman.tables.diagnose import (
    first_bad_json_line,
    first_undecodable,
    guess_encoding,
    line_of_offset,
)
from kagman.tables.formats import COMPRESSIONS, describe_formats, table_format
from kagman.tables.sqlite import read_sqlite

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_table"]

logger = logging.getLogger(__name__)
_OTHER_SEPARATORS = (";", "\t", "|")  # tried, in order, on a CSV that read as one column

# pandas.io.parsers.readers._pyarrow_unsupported (pandas 2.x-3.x), plus arguments whose
# values the pyarrow engine refuses in some forms (checked in _pyarrow_ok).
_PYARROW_REFUSES = frozenset(
    {
        "chunksize",
        "comment",
        "converters",
        "dayfirst",
        "dialect",
        "float_precision",
        "iterator",
        "lineterminator",
        "low_memory",
        "memory_map",
        "na_filter",
        "nrows",
        "quoting",
        "skipfooter",
        "skipinitialspace",
        "thousands",
        "on_bad_lines",
        "encoding_errors",
        "date_parser",
        "verbose",
    }
)
_LINE_RE_WORDS = ("line ", "row ")
PYARROW_MIN_CORES = 4


def read_table(
    path: Path, *, table: str | None = None, sql: str | None = None, **kwargs: Any
) -> pd.DataFrame:
    """Read one table file into a DataFrame, choosing the reader by extension.

    Parameters
    ----------
    path
        A local file: ``.csv``, ``.tsv`` (also ``.gz``, ``.bz2``, ``.xz``, ``.zip``-wrapped),
        ``.json``, ``.jsonl``, ``.parquet``, ``.feather``, ``.xlsx``, ``.sqlite``/``.db``, or a
        ``.zip`` holding one CSV.
    table, sql
        For SQLite only: the table to load, or one read-only query.
    kwargs
        Passed to the pandas reader (``usecols``, ``nrows``, ``dtype``, ``encoding``, ...).

    Raises
    ------
    TableError
        The format is unknown, a reader is missing, or the file does not parse (the
        message names the file, the reader and, where known, the line or byte offset).
    """
    fmt = table_format(path.name)
    if fmt is None:
        msg = f"kagman cannot read {path.name} as a table; it reads {describe_formats()}."
        raise TableError(msg, path=path)
    if (table is not None or sql is not None) and fmt != "sqlite":
        msg = f"table= and sql= are for SQLite files; {path.name} is {fmt}."
        cli = f"--table and --sql are for SQLite files; {path.name} is {fmt}."
        raise TableError(msg, path=path, reader=fmt, cli_message=cli)
    if fmt in ("csv", "tsv"):
        if fmt == "tsv":
            kwargs.setdefault("sep", "\t")
        if "sep" in kwargs or "delimiter" in kwargs:
            return _read_csv(path, path, kwargs)
        return _other_separator(path, _read_csv(path, path, dict(kwargs)), kwargs)
    if fmt == "zip":
        return _read_zipped_csv(path, kwargs)
    if fmt in ("json", "jsonl"):
        return _read_json(path, fmt == "jsonl", kwargs)
    if fmt == "sqlite":
        return read_sqlite(path, table=table, sql=sql, **kwargs)
    return _read_binary(path, fmt, kwargs)


def _read_csv(path: Path, source: Any, kwargs: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    engine = kwargs.pop("engine", None)
    auto = engine is None and _cores() >= PYARROW_MIN_CORES and _pyarrow_ok(kwargs)
    if auto or engine == "pyarrow":
        fast: pd.DataFrame | None = None
        try:
            fast = pd.read_csv(source, engine="pyarrow", **kwargs)
        except Exception as err:  # any pyarrow failure: the C engine decides
            if _is_utf8_error(err):
                raise _encoding_error(path, kwargs, err) from err
            if hasattr(source, "seek"):
                source.seek(0)
        if fast is not None:
            if _has_bytes(fast):  # pyarrow types text that is not UTF-8 as binary, silently
                raise _encoding_error(path, kwargs, ValueError("undecodable text"))
            return fast
    engine = "c" if engine in (None, "pyarrow") else engine
    kwargs["engine"] = engine
    try:
        result: pd.DataFrame = pd.read_csv(source, **kwargs)
        return result
    except UnicodeDecodeError as err:
        raise _encoding_error(path, kwargs, err) from err
    except (ValueError, pd.errors.ParserError, OSError, EOFError) as err:
        reader = f"pandas.read_csv (engine={engine})"
        raise _parse_error(path, reader, err) from err


def _other_separator(path: Path, df: pd.DataFrame, kwargs: dict[str, Any]) -> pd.DataFrame:
    """``df`` read again with ``;``, a tab or ``|`` when it came out as one column whose header
    holds that separator (and no comma): a CSV written with another separator."""
    if df.shape[1] != 1 or "," in (header := str(df.columns[0])):
        return df
    for sep in _OTHER_SEPARATORS:
        if sep in header:
            again = _read_csv(path, path, {**kwargs, "sep": sep})
            if again.shape[1] > 1:
                logger.info(
                    "%s has no comma in its header but %r: read it as %r-separated (%d "
                    "columns). sep=',' (--sep ,) reads it as one column.",
                    path.name,
                    sep,
                    sep,
                    again.shape[1],
                )
                return again
    return df


def _cores() -> int:
    """CPUs this process may run on (pyarrow's threads are no use beyond them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _has_bytes(df: pd.DataFrame) -> bool:
    """Whether a column holds ``bytes`` (pyarrow's binary type; checked on object columns)."""
    for name in df.columns[df.dtypes.map(lambda t: t == "object")]:
        first = df[name].first_valid_index()
        if first is not None and isinstance(df[name].loc[first], bytes):
            return True
    return False


def _pyarrow_ok(kwargs: dict[str, Any]) -> bool:
    if _PYARROW_REFUSES & set(kwargs):
        return False
    sep = kwargs.get("sep", kwargs.get("delimiter", ","))
    if not isinstance(sep, str) or len(sep) != 1:
        return False  # sniffing (None) and regex separators need the python engine
    skiprows = kwargs.get("skiprows")
    if skiprows is not None and not isinstance(skiprows, int):
        return False
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def _is_utf8_error(err: BaseException) -> bool:
    text = str(err)
    return isinstance(err, UnicodeDecodeError) or "UTF8" in text or "UTF-8" in text


def _encoding_error(path: Path, kwargs: dict[str, Any], err: BaseException) -> TableError:
    encoding = str(kwargs.get("encoding") or "utf-8")
    compressed = PurePosixPath(path.name).suffix.lower() in COMPRESSIONS
    found = None if compressed else first_undecodable(path, encoding)
    if found is None:
        said = f"{path} is not {encoding} text ({err}). Load it with the encoding it was written in"
        return TableError(
            f"{said}, e.g. encoding='latin-1' or encoding='cp949'.",
            path=path,
            reader="pandas.read_csv",
            cli_message=f"{said}, e.g. --encoding latin-1 or --encoding cp949.",
        )
    offset, byte = found
    line = line_of_offset(path, offset)
    guess = guess_encoding(path, offset)
    said = (
        f"{path} is not {encoding} text: byte 0x{byte.hex().upper()} at offset {offset} "
        f"(line {line}) cannot be decoded. It looks like {guess}: load it with"
    )
    return TableError(
        f"{said} encoding={guess!r}.",
        path=path,
        reader="pandas.read_csv",
        line=line,
        cli_message=f"{said} --encoding {guess}.",
    )


def _parse_error(path: Path, reader: str, err: BaseException) -> TableError:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    line = _line_in(text)
    where = f" at line {line}" if line is not None else ""
    msg = f"{path} does not parse with {reader}{where}: {text}"
    return TableError(msg, path=path, reader=reader, line=line)


def _line_in(text: str) -> int | None:
    lowered = text.lower()
    for word in _LINE_RE_WORDS:
        at = lowered.find(word)
        if at >= 0:
            digits = ""
            for ch in lowered[at + len(word) :]:
                if not ch.isdigit():
                    break
                digits += ch
            if digits:
                return int(digits)
    return None


def _read_zipped_csv(path: Path, kwargs: dict[str, Any]) -> pd.DataFrame:
    """A ``.zip`` that holds one CSV (or TSV), clutter such as ``__MACOSX/`` aside."""
    from kagman.archive.junk import path_junk_reason

    try:
        with zipfile.ZipFile(path) as zf:
            members = [
                i.filename
                for i in zf.infolist()
                if not i.is_dir() and not path_junk_reason(tuple(i.filename.split("/")))
            ]
            tables = [m for m in members if table_format(m) in ("csv", "tsv")]
            if len(tables) != 1:
                msg = (
                    f"{path.name} holds {len(tables)} CSV files ({', '.join(tables[:10])}); "
                    "kagman reads a zip that holds exactly one. Pull the dataset and read "
                    "the file you want from the extracted folder."
                )
                raise TableError(msg, path=path, reader="zip")
            if table_format(tables[0]) == "tsv":
                kwargs.setdefault("sep", "\t")
            with zf.open(tables[0]) as fh:
                return _read_csv(path, fh, kwargs)
    except zipfile.BadZipFile as err:
        msg = f"{path} is not a valid zip archive ({err})."
        raise TableError(msg, path=path, reader="zip") from err


def _read_json(path: Path, lines: bool, kwargs: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    reader = "pandas.read_json" + (" (lines=True)" if lines else "")
    if lines:
        kwargs.setdefault("lines", True)
    try:
        result: pd.DataFrame = pd.read_json(path, **kwargs)
        return result
    except UnicodeDecodeError as err:
        raise _encoding_error(path, kwargs, err) from err
    except (ValueError, OSError) as err:
        line = first_bad_json_line(path, lines=lines, encoding=kwargs.get("encoding"))
        where = f" at line {line}" if line is not None else ""
        msg = f"{path} does not parse with {reader}{where}: {err}"
        raise TableError(msg, path=path, reader=reader, line=line) from err


def _read_binary(path: Path, fmt: str, kwargs: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    if fmt == "excel":
        import importlib.util

        if importlib.util.find_spec("openpyxl") is None:
            msg = (
                f"Reading {path.name} needs openpyxl, which is not installed. Install it with "
                "`pip install 'kagman[excel]'` (or `pip install openpyxl`)."
            )
            raise TableError(msg, path=path, reader="pandas.read_excel")
        readers: dict[str, Any] = {"excel": pd.read_excel}
        kwargs.setdefault("engine", "openpyxl")
    else:
        readers = {"parquet": pd.read_parquet, "feather": pd.read_feather}
    reader = readers[fmt]
    try:
        result: pd.DataFrame = reader(path, **kwargs)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as err:
        raise _parse_error(path, f"pandas.{reader.__name__}", err) from err
    except Exception as err:  # pyarrow's ArrowInvalid and friends
        if type(err).__module__.startswith("pyarrow"):
            raise _parse_error(path, f"pandas.{reader.__name__}", err) from err
        raise
    return result
