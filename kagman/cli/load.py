"""``kagman load``: a preview and the shape of one table of a dataset (or a local file)."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["load_command"]


@click.command("load")
@click.argument("source", metavar="REF|PATH")
@click.argument("file", required=False, metavar="[FILE]")
@click.option(
    "-c",
    "--competition",
    is_flag=True,
    help="REF names a competition (titanic); competition URLs need no -c.",
)
@click.option(
    "--head", "head", type=click.IntRange(min=0), default=5, show_default=True, help="Rows to show."
)
@click.option("--version", type=click.IntRange(min=1), help="Pin a dataset version.")
@click.option("--encoding", help="The text encoding of a CSV/JSON file (e.g. latin-1, cp949).")
@click.option(
    "--sep",
    metavar="SEP",
    help="The CSV's separator (';', '\\t' or tab, '|') [default: ',', or what the header says "
    "when it reads as one column].",
)
@click.option("--table", help="SQLite: the table to load.")
@click.option("--sql", help="SQLite: one read-only query (SELECT ...).")
@click.option("--offline", is_flag=True, help="No network: only what the cache holds.")
def load_command(
    source: str,
    file: str | None,
    competition: bool,
    head: int,
    version: int | None,
    encoding: str | None,
    sep: str | None,
    table: str | None,
    sql: str | None,
    offline: bool,
) -> None:
    """Load one table (CSV, TSV, JSON, Parquet, Feather, Excel, SQLite) and show it.

    REF is a dataset ref or URL, or with -c a competition's name; only FILE is pulled when
    it is not cached. Without FILE, the only table is loaded. Prints the first rows and the
    shape.

    \b
    Example:
        kagman load owner/dataset train.csv
        kagman load -c titanic train.csv
        kagman load owner/dataset data.sqlite --sql 'SELECT * FROM t LIMIT 10'
        kagman load ./data/train.csv --head 20 --encoding latin-1
        kagman load ./data/export.csv --sep ';'
    """
    from kagman import parse_competition
    from kagman.api import load
    from kagman.fs import counted

    if competition and version is not None:
        msg = "--version is for datasets: competitions have no versions."
        raise click.UsageError(msg)
    target = parse_competition(source) if competition else source
    kwargs: dict[str, Any] = {}
    if encoding is not None:
        kwargs["encoding"] = encoding
    if sep is not None:
        kwargs["sep"] = {"\\t": "\t", "tab": "\t"}.get(sep, sep)
    df = load(target, file, version=version, table=table, sql=sql, offline=offline, **kwargs)
    if head:
        click.echo(df.head(head).to_string())
    rows, cols = df.shape
    click.echo(f"\n[{counted(rows, 'row')} x {counted(cols, 'column')}]")
