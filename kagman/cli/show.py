"""``kagman show``: a contact sheet of an image folder or dataset, written to a file."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["show_command"]


@click.command("show")
@click.argument("source", metavar="PATH | owner/slug")
@click.option(
    "-c",
    "--competition",
    is_flag=True,
    help="SOURCE names a competition (its data is pulled if needed); URLs need no -c.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the sheet here (.png, .jpg or .webp).",
)
@click.option(
    "--per-class",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Images per class (per row).",
)
@click.option(
    "--size",
    type=click.IntRange(min=16),
    default=96,
    show_default=True,
    help="Thumbnail size in pixels (the longer side).",
)
@click.option("--split", metavar="NAME", help="Only this split [default: all].")
@click.option("--seed", type=int, default=0, show_default=True, help="Which images are sampled.")
def show_command(
    source: str,
    competition: bool,
    out: Path,
    per_class: int,
    size: int,
    split: str | None,
    seed: int,
) -> None:
    """Draw a contact sheet of PATH (or a dataset's cached copy): one labelled row per class.

    Thumbnails are decoded small, so large JPEGs stay fast; an image that does not
    open is a marked placeholder. Multi-label datasets get their tags under each
    image, segmentation datasets their masks laid over. A dataset ref that is no
    local folder is pulled first if needed; with -c, SOURCE is a competition. Prints the
    written file's path.

    \b
    Example:
        kagman show data/chest_xray --out sheet.png
        kagman show paultimothymooney/chest-xray-pneumonia --split test --out test.jpg
    """
    import warnings

    from kagman import parse_competition
    from kagman.api import show
    from kagman.ui.warn import cli_text

    target = parse_competition(source) if competition else source
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            # a split that is not there, an extension Pillow cannot write: InvalidArgumentError,
            # exit 2; a failed pull or index keeps its own exit code
            show(target, out=out, per_class=per_class, size=size, split=split, seed=seed)
        finally:
            for warning in caught:
                click.echo(f"Warning: {cli_text(warning.message)}", err=True)
    click.echo(str(out))
