"""``kagman pull``: download a dataset into the cache and print only its path."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["pull"]


@click.command("pull")
@click.argument("ref")
@click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    help="Pin this version (like owner/slug/versions/N).",
)
@click.option(
    "--file",
    "file",
    metavar="NAME",
    help="Pull only this file or folder (train/ or train); prints its path.",
)
@click.option(
    "--include",
    "include",
    multiple=True,
    metavar="PATTERN",
    help="Pull only files matching this gitignore-style glob (repeatable: '*.csv', "
    "'train/**', '!*.tif').",
)
@click.option(
    "--exclude",
    "exclude",
    multiple=True,
    metavar="PATTERN",
    help="Leave out files matching this glob (repeatable).",
)
@click.option("--force", is_flag=True, help="Download again even if the version is cached.")
@click.option(
    "--offline",
    is_flag=True,
    help="No network: newest complete cached version (or KAGMAN_OFFLINE=1).",
)
@click.option(
    "--link",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also create DIR/<slug>, a symlink to the cache entry.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bars on stderr [default: on a terminal].",
)
def pull(
    ref: str,
    version: int | None,
    file: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    force: bool,
    offline: bool,
    link: Path | None,
    progress: bool | None,
) -> None:
    """Download a dataset (or part of it) into the cache and print its path, only that.

    REF is owner/slug or owner/slug/versions/N, or any URL of the dataset copied from
    kaggle.com (?select=FILE means --file FILE). --file, --include and --exclude pull part
    of the version, file by file, into its cache entry; a later pull adds only what is
    missing. The working directory is never touched.

    \b
    Example:
        kagman pull paultimothymooney/chest-xray-pneumonia
        cd "$(kagman pull owner/dataset --version 2)"
        kagman pull owner/dataset --file train.csv --link data
        kagman pull owner/dataset --file chest_xray/train/ --exclude '*.tif'
        kagman pull owner/dataset --include '*.csv' --include 'labels/**'
    """
    if force and offline:
        msg = "--force and --offline cannot be used together."
        raise click.UsageError(msg)
    from kagman.api import pull as pull_dataset

    path = pull_dataset(
        ref,
        version=version,
        file=file,
        include=include,
        exclude=exclude,
        force=force,
        offline=offline,
        link=link,
        progress=progress,
    )
    click.echo(str(path))
