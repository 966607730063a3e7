"""The ``kagman`` command: a thin click layer over the Python API.

Each command parses its flags, calls one API function, and formats the
result. Every :class:`~kagman.errors.KagmanError` becomes ``Error: <message>``
on stderr with the error's exit code and no traceback. Heavy modules are
imported inside the commands so ``kagman --help`` stays fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from kagman import __version__
from kagman.errors import KagmanError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _KagmanGroup(click.Group):
    """A group that turns kagman's errors into one clean line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KagmanError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(err.exit_code)


class _StderrHandler(logging.Handler):
    """Show kagman's log records to the person at the terminal, on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "" if record.levelno < logging.WARNING else f"{record.levelname.capitalize()}: "
        click.echo(f"{prefix}{record.getMessage()}", err=True)


def _setup_logging(verbose: bool, quiet: bool) -> None:
    logger = logging.getLogger("kagman")
    for handler in list(logger.handlers):
        if isinstance(handler, _StderrHandler):
            logger.removeHandler(handler)
    logger.addHandler(_StderrHandler())
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


@click.group(cls=_KagmanGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="kagman")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what is happening.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def cli(verbose: bool, quiet: bool) -> None:
    """kagman: Kaggle credentials, a dataset cache and image indexes, without the chores.

    \b
    Example:
        kagman init ~/Downloads/kaggle.json
        cd "$(kagman pull owner/dataset)"
        kagman index owner/dataset
    """
    if verbose and quiet:
        msg = "--verbose and --quiet cannot be used together."
        raise click.UsageError(msg)
    _setup_logging(verbose, quiet)


@cli.command()
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
def pull(
    ref: str,
    version: int | None,
    file: str | None,
    force: bool,
    offline: bool,
    link: Path | None,
    progress: bool | None,
) -> None:
    """Download a dataset into the cache and print its path (only the path, on stdout).

    REF is owner/slug or owner/slug/versions/N, as in kaggle.com/datasets/owner/slug.
    The working directory is never touched.

    \b
    Example:
        kagman pull paultimothymooney/chest-xray-pneumonia
        cd "$(kagman pull owner/dataset --version 2)"
        kagman pull owner/dataset --file train.csv --link data
    """
    if force and offline:
        msg = "--force and --offline cannot be used together."
        raise click.UsageError(msg)
    from kagman.datasets import pull as pull_dataset

    path = pull_dataset(
        ref, version=version, file=file, force=force, offline=offline, link=link, progress=progress
    )
    click.echo(str(path))


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="kagman")
    sys.exit(0)  # pragma: no cover - click.main exits itself
