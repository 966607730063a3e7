"""SQLite files: opened read-only, and only a read-only query runs.

Two guards: the database is opened with ``mode=ro`` (SQLite's own read-only open, so no
journal or WAL file is created beside a cached file), and an authorizer allows only
reading (``SELECT``, reading columns, functions, ``WITH RECURSIVE``); anything else
(``INSERT``, ``PRAGMA``, ``ATTACH``, ...) is refused before it runs.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kagman.errors import TableError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_sqlite"]

_ALLOWED = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
_HEADER = b"SQLite format 3\x00"


def _read_only(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


def read_sqlite(
    path: Path, *, table: str | None = None, sql: str | None = None, **kwargs: Any
) -> pd.DataFrame:
    """One table (``table=``), or the result of one read-only query (``sql=``), of a database.

    Without either, a database with a single table (or view) loads it; otherwise the
    error lists the tables. ``kwargs`` go to :func:`pandas.read_sql_query`.

    Raises
    ------
    TableError
        Not an SQLite file, both or an unknown ``table``, a query that is not read-only,
        or a query that fails.
    """
    import pandas as pd

    if table is not None and sql is not None:
        msg = f"Give table= or sql= for {path.name}, not both."
        cli = f"Give --table or --sql for {path.name}, not both."
        raise TableError(msg, path=path, reader="sqlite", cli_message=cli)
    with path.open("rb") as fh:
        if fh.read(len(_HEADER)) != _HEADER:
            msg = f"{path} is not an SQLite database (no 'SQLite format 3' header)."
            raise TableError(msg, path=path, reader="sqlite")
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    con = sqlite3.connect(uri, uri=True)
    try:
        con.set_authorizer(_read_only)
        names = [
            str(row[0])
            for row in con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        if sql is None:
            sql = _select_all(path, names, table)
        elif not sql.lstrip().upper().startswith(("SELECT", "WITH", "VALUES")):
            msg = (
                f"Only a read-only query runs on {path.name} (SELECT ... or WITH ...); "
                f"refused: {sql.strip()[:80]!r}."
            )
            raise TableError(msg, path=path, reader="sqlite")
        try:
            result: pd.DataFrame = pd.read_sql_query(sql, con, **kwargs)
            return result
        except (sqlite3.Error, pd.errors.DatabaseError) as err:
            cause = str(err.__cause__ or err)
            if "not authorized" in cause:
                cause = "it does more than read (only SELECT queries run here)"
            msg = f"The query on {path.name} failed: {cause}. Tables: {', '.join(names)}."
            raise TableError(msg, path=path, reader="sqlite") from err
    except sqlite3.DatabaseError as err:
        msg = f"{path} cannot be read as SQLite: {err}."
        raise TableError(msg, path=path, reader="sqlite") from err
    finally:
        con.close()


def _select_all(path: Path, names: list[str], table: str | None) -> str:
    if table is None:
        if len(names) != 1:
            listed = ", ".join(names) or "none"
            said = f"{path.name} has {len(names)} tables ({listed}): name one with"
            msg = f"{said} table= or sql=."
            raise TableError(
                msg,
                path=path,
                reader="sqlite",
                cli_message=f"{said} --table or --sql.",
            )
        table = names[0]
    elif table not in names:
        msg = f"{path.name} has no table {table!r}; its tables: {', '.join(names) or 'none'}."
        raise TableError(msg, path=path, reader="sqlite")
    return 'SELECT * FROM "{}"'.format(table.replace('"', '""'))  # noqa: S608 - a checked name
