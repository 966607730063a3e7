"""``kagman index``: the layout, split x class counts and problems of an image folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["index_command"]


@click.command("index")
@click.argument("source", metavar="PATH | owner/slug")
@click.option(
    "-c",
    "--competition",
    is_flag=True,
    help="SOURCE names a competition (its data is pulled if needed); URLs need no -c.",
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the index, one row per image, to FILE.",
)
@click.option(
    "--check",
    type=click.Choice(["none", "fast", "header", "full"]),
    default=None,
    help="How hard to check each image [default: fast].",
)
@click.option("--labels", metavar="CSV", help="A labels CSV for flat image folders.")
@click.option("--path-col", metavar="COLUMN", help="The labels CSV's file-name column.")
@click.option("--label-col", metavar="COLUMN", help="The labels CSV's label column.")
@click.option(
    "--label-sep",
    metavar="SEP",
    help="Tag separator of a multi-label column ('' = never split) [default: from the data].",
)
@click.option(
    "--case-insensitive-classes",
    is_flag=True,
    help="Merge class names that differ only in case (Cat, cat).",
)
def index_command(
    source: str,
    competition: bool,
    csv_file: Path | None,
    check: str | None,
    labels: str | None,
    path_col: str | None,
    label_col: str | None,
    label_sep: str | None,
    case_insensitive_classes: bool,
) -> None:
    """Index the images under PATH (or a dataset's cached copy): layout, counts, problems.

    Detects split folders (at any depth), class folders, labels CSVs (also
    multi-label), image/mask pairs and duplicate copies of the tree; skips junk
    and bad files (listed by reason) without touching them. A dataset ref that
    is no local folder is pulled first if needed; with -c, SOURCE is a competition.

    \b
    Example:
        kagman index data/chest_xray
        kagman index -c some-image-competition
        kagman index paultimothymooney/chest-xray-pneumonia --csv index.csv
        kagman index data/dogs --labels data/dogs/labels.csv --label-col breed
        kagman index data/planet --label-sep " "
    """
    import warnings

    from kagman import parse_competition
    from kagman.api import index as build_index
    from kagman.fs import check_output, counted
    from kagman.ui.warn import cli_text

    kwargs: dict[str, Any] = {
        "labels": labels,
        "path_col": path_col,
        "label_col": label_col,
        "label_sep": label_sep,
        "case_insensitive_classes": case_insensitive_classes,
    }
    if check is not None:
        kwargs["check"] = check
    if csv_file is not None:  # before indexing (minutes, for a big folder) and printing
        check_output(csv_file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        idx = build_index(parse_competition(source) if competition else source, **kwargs)
    for warning in caught:
        click.echo(f"Warning: {cli_text(warning.message)}", err=True)
    click.echo(str(idx))
    if csv_file is not None:
        idx.to_csv(csv_file)
        click.echo(f"\nWrote {csv_file} ({counted(len(idx), 'row')}).")
