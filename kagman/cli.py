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


@cli.command("init")
@click.argument("source", required=False, metavar="[PATH | -]")
@click.option("--from-env", is_flag=True, help="Install KAGGLE_USERNAME and KAGGLE_KEY.")
@click.option(
    "--token",
    "use_token",
    is_flag=True,
    help="Install a new-style API token as access_token (from PATH, '-', KAGGLE_API_TOKEN "
    "or a hidden prompt).",
)
@click.option("--force", is_flag=True, help="Replace different credentials; keep the old as .bak.")
@click.option("--move", is_flag=True, help="Delete the source file once installed.")
@click.option("--check", is_flag=True, help="Ask Kaggle whether the credentials work.")
def init_command(
    source: str | None, from_env: bool, use_token: bool, force: bool, move: bool, check: bool
) -> None:
    """Install Kaggle credentials where kagman, the kaggle CLI and kagglehub all look.

    PATH is a kaggle.json ('-' reads it from stdin). Without one: KAGGLE_USERNAME
    and KAGGLE_KEY, ./kaggle.json, the newest kaggle.json in your downloads
    folder, else a hidden prompt on a terminal. Installs into $KAGGLE_CONFIG_DIR
    or ~/.kaggle (folder 0700, file 0600); run again to fix loose permissions.
    With --check alone, only verifies what is installed.

    \b
    Example:
        kagman init ~/Downloads/kaggle.json --move
        kagman init --token
        kagman init --check
    """
    from kagman.credentials_install import install

    if from_env and (source or use_token):
        msg = "--from-env cannot be combined with a PATH or --token."
        raise click.UsageError(msg)
    if move and (source in (None, "-")):
        msg = "--move needs a PATH to the source file."
        raise click.UsageError(msg)
    if check and not (source or from_env or use_token or force or move):
        return _print_whoami(None)

    interactive = sys.stdin.isatty()
    if use_token:
        token, origin, token_path = _read_token(source, interactive)
        report = install(
            token=token, force=force, move=move, token_origin=origin, token_path=token_path
        )
    else:

        def prompt() -> dict[str, str]:
            click.echo("Paste your Kaggle username and API key (the key stays hidden).", err=True)
            username = click.prompt("Kaggle username", err=True)
            key = click.prompt("Kaggle API key", hide_input=True, err=True)
            return {"username": username, "key": key}

        report = install(
            source, force=force, move=move, use_env=from_env, prompt=prompt if interactive else None
        )
    for line in report.messages():
        click.echo(line)
    for line in report.warnings:
        click.echo(f"Warning: {line}", err=True)
    if check:
        _print_whoami(report.path)
    return None


def _read_token(source: str | None, interactive: bool) -> tuple[str, str, Path | None]:
    """Get a token for ``init --token``: PATH, stdin, KAGGLE_API_TOKEN, then a prompt."""
    from kagman.credentials import read_limited, token_from_env, ways_to_provide
    from kagman.errors import CredentialsNotFoundError

    if source == "-":
        data = sys.stdin.buffer.read(65537)
        return data.decode("utf-8", "replace"), "stdin", None
    if source:
        path = Path(source).expanduser().absolute()
        return read_limited(path).decode("utf-8", "replace"), str(path), path
    env = token_from_env()
    if env is not None and env.token is not None:
        return env.token, env.source, None
    if interactive:
        value = click.prompt("Kaggle API token", hide_input=True, err=True)
        return str(value), "the prompt", None
    msg = (
        "No token given and no terminal to ask on: pass a file, '-' for stdin, or set "
        f"KAGGLE_API_TOKEN.\n{ways_to_provide()}"
    )
    raise CredentialsNotFoundError(msg)


def _print_whoami(installed: Path | None) -> None:
    """Check the just-installed file, or what kagman would use, with Kaggle."""
    from kagman.credentials import installed_credentials, resolve_credentials
    from kagman.kaggle_api import whoami

    creds = installed_credentials(installed) if installed else resolve_credentials()
    username = whoami(creds)
    click.echo(f"Kaggle accepts the credentials in {creds.source}: you are {username}.")


@cli.command("whoami")
def whoami_command() -> None:
    """Ask Kaggle whose credentials kagman is using, and print that username.

    Tells a rejected key (exit 3) from an unreachable Kaggle (exit 5).

    \b
    Example:
        kagman whoami
    """
    from kagman.credentials import resolve_credentials
    from kagman.kaggle_api import whoami

    creds = resolve_credentials()
    logging.getLogger("kagman").info("Using the credentials from %s.", creds.source)
    click.echo(whoami(creds))


@cli.command("index")
@click.argument("source", metavar="PATH | owner/slug")
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
def index_command(
    source: str,
    csv_file: Path | None,
    check: str | None,
    labels: str | None,
    path_col: str | None,
    label_col: str | None,
) -> None:
    """Index the images under PATH (or a dataset's cached copy): layout, counts, problems.

    Detects class folders, split folders and labels CSVs; skips junk and bad files
    (listed by reason) without touching them. A dataset ref is pulled first if needed.

    \b
    Example:
        kagman index data/chest_xray
        kagman index paultimothymooney/chest-xray-pneumonia --csv index.csv
        kagman index data/dogs --labels data/dogs/labels.csv --label-col breed
    """
    import warnings

    from kagman.images import index as build_index

    kwargs: dict[str, Any] = {"labels": labels, "path_col": path_col, "label_col": label_col}
    if check is not None:
        kwargs["check"] = check
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        idx = build_index(source, **kwargs)
    for warning in caught:
        click.echo(f"Warning: {warning.message}", err=True)
    counts = idx.counts()
    if counts.shape[1] > 12:  # many classes read better as rows
        counts = counts.T
    click.echo(f"Layout: {idx.layout}")
    click.echo(
        f"Images: {len(idx)} in {len(idx.splits)} split(s), {len(idx.classes)} classes "
        f"(check: {idx.check})\n"
    )
    click.echo(counts.to_string())
    reasons = idx.problems.reason.value_counts()
    reasons = reasons[reasons > 0]
    click.echo(f"\nProblems: {len(idx.problems)} files or folders skipped")
    for reason, n in reasons.items():
        click.echo(f"  {n:>7}  {reason}")
    if csv_file is not None:
        idx.to_csv(csv_file)
        click.echo(f"\nWrote {csv_file} ({len(idx)} rows).")


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="kagman")
    sys.exit(0)  # pragma: no cover - click.main exits itself
