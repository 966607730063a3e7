"""``kagman pull``: download a dataset into the cache and print only its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["pull"]

RULES_MINUTES = 30.0  # --wait-for-rules without a number (Python: wait_for_rules=True)


def _minutes(text: str | None) -> bool:
    """Whether ``text`` is a number of minutes (else it is the next argument, such as REF)."""
    try:
        return text is not None and float(text) > 0
    except ValueError:
        return False


class _PullCommand(click.Command):
    """``--wait-for-rules [MINUTES]`` takes the next argument only when it is a number.

    click gives an optional option value whatever follows, so ``pull -c --wait-for-rules
    titanic`` would read ``titanic`` as MINUTES; here it is the REF, and the wait the default.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = list(args)
        for i, arg in enumerate(args):
            if arg == "--":
                break
            if arg == "--wait-for-rules" and not _minutes(
                args[i + 1] if i + 1 < len(args) else None
            ):
                args[i] = f"--wait-for-rules={RULES_MINUTES:g}"
        return super().parse_args(ctx, args)


@click.command("pull", cls=_PullCommand)
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
    flag_value=RULES_MINUTES,
    default=None,
    metavar="[MINUTES]",
    help="Competitions: until the rules are accepted on kaggle.com, ask again every 10 s "
    "(up to MINUTES, default 30; a MINUTES that is no number is the next argument).",
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
        kagman pull -c --wait-for-rules 5 titanic
    """
    import warnings

    from kagman.ui.warn import cli_text

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
                click.echo(f"Warning: {cli_text(warning.message)}", err=True)
    click.echo(str(path))
