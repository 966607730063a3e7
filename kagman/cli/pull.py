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
    help="Pull only this file of the dataset; prints the file's path.",
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
@click.option(
    "--no-mount",
    is_flag=True,
    help="In a Kaggle notebook or Colab, download instead of mounting the dataset.",
)
def pull(
    ref: str,
    version: int | None,
    file: str | None,
    force: bool,
    offline: bool,
    link: Path | None,
    progress: bool | None,
    no_mount: bool,
) -> None:
    """Download a dataset into the cache and print its path (only the path, on stdout).

    REF is owner/slug or owner/slug/versions/N, as in kaggle.com/datasets/owner/slug.
    The working directory is never touched. In a Kaggle notebook or Colab, the
    platform mounts the dataset (no download) and the mount's path is printed.

    \b
    Example:
        kagman pull paultimothymooney/chest-xray-pneumonia
        cd "$(kagman pull owner/dataset --version 2)"
        kagman pull owner/dataset --file train.csv --link data
    """
    import warnings

    if force and offline:
        msg = "--force and --offline cannot be used together."
        raise click.UsageError(msg)
    from kagman.api import pull as pull_dataset

    # A mount that fell back warns, and the warning must show even when the download fails.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            path = pull_dataset(
                ref,
                version=version,
                file=file,
                force=force,
                offline=offline,
                link=link,
                progress=progress,
                mount=not no_mount,
            )
        finally:
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)
    click.echo(str(path))
