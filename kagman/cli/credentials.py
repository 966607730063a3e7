"""``kagman init`` and ``kagman whoami``: install credentials, and ask Kaggle whose they are."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

__all__ = ["init_command", "whoami_command"]


@click.command("init")
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
    --move deletes the file the key came from (also one found without PATH);
    --force replaces different installed credentials (also with a newer download
    found without PATH). With --check alone, only verifies what is installed.

    \b
    Example:
        kagman init ~/Downloads/kaggle.json --move
        kagman init --token
        kagman init --check
    """
    from kagman.credentials import install

    if from_env and (source or use_token):
        msg = "--from-env cannot be combined with a PATH or --token."
        raise click.UsageError(msg)
    if move and source == "-":
        msg = "--move deletes the source file, and '-' reads stdin: give the file's PATH."
        raise click.UsageError(msg)
    if check and not (source or from_env or use_token or force or move):
        return _print_whoami(None)

    interactive = sys.stdin.isatty()

    def prompt() -> dict[str, str]:
        click.echo("Paste your Kaggle username and API key (the key stays hidden).", err=True)
        username = click.prompt("Kaggle username", err=True)
        key = click.prompt("Kaggle API key", hide_input=True, err=True)
        return {"username": username, "key": key}

    def token_prompt() -> str:
        return str(click.prompt("Kaggle API token", hide_input=True, err=True))

    report = install(
        source,
        token=True if use_token else None,
        from_env=from_env,
        force=force,
        move=move,
        prompt=prompt if interactive else None,
        token_prompt=token_prompt if interactive else None,
    )
    for line in report.messages():
        click.echo(line)
    for line in report.warnings:
        click.echo(f"Warning: {line}", err=True)
    if check:
        _print_whoami(report.path)
    return None


def _print_whoami(installed: Path | None) -> None:
    """Check the just-installed file, or what kagman would use, with Kaggle."""
    from kagman.credentials import installed_credentials, resolve_credentials
    from kagman.remote.client import whoami

    creds = installed_credentials(installed) if installed else resolve_credentials()
    username = whoami(creds)
    click.echo(f"Kaggle accepts the credentials in {creds.source}: you are {username}.")


@click.command("whoami")
def whoami_command() -> None:
    """Ask Kaggle whose credentials kagman is using, and print that username.

    Tells a rejected key (exit 3) from an unreachable Kaggle (exit 5).

    \b
    Example:
        kagman whoami
    """
    from kagman.credentials import resolve_credentials
    from kagman.remote.client import whoami

    creds = resolve_credentials()
    logging.getLogger("kagman").info("Using the credentials from %s.", creds.source)
    click.echo(whoami(creds))
