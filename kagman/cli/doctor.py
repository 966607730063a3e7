"""``kagman doctor``: why things do or do not work, on one screen."""

from __future__ import annotations

import click

__all__ = ["doctor_command"]


@click.command("doctor")
@click.option("--online", is_flag=True, help="Also ask Kaggle whether it accepts the credentials.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def doctor_command(online: bool, as_json: bool) -> None:
    """Show which credentials each Kaggle client will use, the packages, the cache and proxies.

    Names the file or variable kagman, the kaggle CLI, kagglehub and kagglesdk
    each read, with permission problems and conflicts; the installed kaggle,
    kagglesdk and kagglehub (kaggle is found, never imported); the cache, its
    size, free space, leftovers and whether it is shared; proxy variables.
    Never prints a secret. Exits 0 (the report is the result).

    \b
    Example:
        kagman doctor
        kagman doctor --online
        kagman doctor --json | jq .credentials.clients
    """
    from kagman import doctor

    report = doctor(online=online)
    if as_json:
        import json

        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(str(report))
