"""``kagman files``: every file of a dataset version with its size, and folder totals."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

__all__ = ["files_command", "folder_totals"]


def folder_totals(files: Iterable[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """``(folder/, files below it, their bytes)`` for every folder of a listing, by name.

    >>> folder_totals([("a/b/x", 2), ("a/y", 3), ("z", 1)])
    [('a/', 2, 5), ('a/b/', 1, 2)]
    """
    counts: dict[str, list[int]] = {}
    for name, size in files:
        parts = str(name).split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            total = counts.setdefault("/".join(parts[:depth]) + "/", [0, 0])
            total[0] += 1
            total[1] += int(size)
    return [(name, n, size) for name, (n, size) in sorted(counts.items())]


@click.command("files")
@click.argument("ref", metavar="REF")
@click.option("-c", "--competition", is_flag=True, help="REF names a competition (titanic).")
@click.option("--version", type=click.IntRange(min=1), help="List this version.")
@click.option("--offline", is_flag=True, help="No network: list what the cache holds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (files, folders, totals).")
def files_command(
    ref: str, competition: bool, version: int | None, offline: bool, as_json: bool
) -> None:
    """List every file of a dataset version (or competition) with its size, and folder sizes.

    REF is owner/slug[/versions/N], a dataset or competition URL, or with -c a competition's
    name. A version cached whole is listed from the cache without any request; otherwise
    Kaggle is asked (paged ListDatasetFiles, or ListDataFiles for a competition).

    \b
    Example:
        kagman files paultimothymooney/chest-xray-pneumonia
        kagman files owner/dataset/versions/2 --json | jq '.folders'
        kagman files -c titanic
    """
    import pandas as pd

    from kagman import parse_competition
    from kagman.api import files as list_files
    from kagman.fs import counted, human_size

    if competition and version is not None:
        msg = "--version is for datasets: competitions have no versions."
        raise click.UsageError(msg)
    target = parse_competition(ref) if competition else ref
    df = list_files(target, version=version, offline=offline)
    folders = folder_totals(zip(df["name"], df["size"], strict=True))
    total = int(df["size"].sum())
    if as_json:
        body: dict[str, Any] = {
            "ref": df.attrs["ref"],
            "source": df.attrs["source"],
            "total_files": len(df),
            "total_bytes": total,
            "files": [
                {"name": n, "size": int(s), "modified": None if pd.isna(m) else m.isoformat()}
                for n, s, m in zip(df["name"], df["size"], df["modified"], strict=True)
            ],
            "folders": [{"name": n, "files": c, "size": b} for n, c, b in folders],
        }
        click.echo(json.dumps(body, indent=2))
        return
    width = max((len(n) for n in df["name"]), default=4)
    click.echo(f"{df.attrs['ref']}: {counted(len(df), 'file')}, {human_size(total)}\n")
    for name, size in zip(df["name"], df["size"], strict=True):
        click.echo(f"{name:<{width}}  {human_size(int(size)):>10}")
    if folders:
        click.echo("\nFolders:")
        fwidth = max(len(n) for n, _, _ in folders)
        for n, count, size in folders:
            files = "file " if count == 1 else "files"
            click.echo(f"{n:<{fwidth}}  {count:>7,} {files}  {human_size(size):>10}")
