"""``kagman pull``: download a dataset into the cache and print only its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["pull"]


@click.command("pull")
@click.argument("ref")
@click.option(
    "-c",
    "--competition",
    is_flag=True,
    help="REF names a competition (titanic), not a dataset; competition URLs need no -c.",
)
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
    "--wait-for-rules",
    "wait_for_rules",
    type=click.FloatRange(min=0, min_open=True),
    is_flag=False,
    flag_value=30.0,
    default=None,
    metavar="[MINUTES]",
    help="Competitions: until the rules are accepted on kaggle.com, ask again every 10 s "
    "(up to MINUTES, default 30).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bars on stderr [default: on a terminal].",
)
@click.option(
    "--no-mount",
    is_flag=True,
    help="In a Kaggle notebook or Colab, download instead of mounting the data.",
)
def pull(
    ref: str,
    competition: bool,
    version: int | None,
    file: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    force: bool,
    offline: bool,
    link: Path | None,
    wait_for_rules: float | None,
    progress: bool | None,
    no_mount: bool,
) -> None:
    """Download a dataset or competition (or part of it) into the cache; print its path only.

    REF is owner/slug or owner/slug/versions/N, any URL of the dataset or competition
    copied from kaggle.com (?select=FILE means --file FILE), or with -c a competition's
    name. --file, --include and --exclude pull part of it, file by file, into its cache
    entry; a later pull adds only what is missing. The working directory is never touched.
    In a Kaggle notebook (and Colab, for datasets in its cache), the platform mounts the
    data (no download) and the mount's path is printed.

    \b
    Example:
        kagman pull paultimothymooney/chest-xray-pneumonia
        cd "$(kagman pull owner/dataset --version 2)"
        kagman pull owner/dataset --file train.csv --link data
        kagman pull owner/dataset --file chest_xray/train/ --exclude '*.tif'
        kagman pull owner/dataset --include '*.csv' --include 'labels/**'
        kagman pull -c titanic --wait-for-rules
    """
    import warnings

    if force and offline:
        msg = "--force and --offline cannot be used together."
        raise click.UsageError(msg)
    from kagman.api import pull as pull_dataset
    from kagman.api import pull_competition

    options: dict[str, Any] = {
        "file": file,
        "include": include,
        "exclude": exclude,
        "force": force,
        "offline": offline,
        "link": link,
        "progress": progress,
        "wait_for_rules": wait_for_rules or False,
    }
    if competition and version is not None:
        msg = "--version is for datasets: competitions have no versions."
        raise click.UsageError(msg)
    # A mount that fell back warns, and the warning must show even when the download fails.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            if competition:
                path = pull_competition(ref, mount=not no_mount, **options)
            else:
                path = pull_dataset(ref, version=version, mount=not no_mount, **options)
        finally:
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)
    click.echo(str(path))
