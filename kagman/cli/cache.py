"""``kagman ls``, ``path``, ``rm``, ``prune``, ``verify``: see, find, free and check the cache.

Each takes a dataset ref or URL, or a competition: its URL, or its name with ``-c``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kagman.cache.removal import RemovalReport
    from kagman.remote.refs import CompetitionRef

_COMPETITION = click.option(
    "-c", "--competition", is_flag=True, help="REF names a competition (titanic)."
)


def _target(ref: str | None, competition: bool) -> str | CompetitionRef | None:
    """REF as the API takes it: with -c, a competition's name (or URL) made a CompetitionRef."""
    if not competition:
        return ref
    if ref is None:
        msg = "-c/--competition needs a competition's name, like -c titanic."
        raise click.UsageError(msg)
    from kagman import parse_competition

    return parse_competition(ref)


__all__ = ["ls_command", "path_command", "prune_command", "rm_command", "verify_command"]


@click.command("ls")
@click.argument("ref", required=False)
@_COMPETITION
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def ls_command(ref: str | None, competition: bool, as_json: bool) -> None:
    """List what the cache holds: versions, files, sizes, when pulled and last used.

    REF (owner/slug, owner/slug/versions/N, a URL, or with -c a competition) limits
    the list to one dataset, version or competition. A competition's entries are its
    data states (VERSION), the newest marked (latest). Entries holding part of a
    version are 'subset', with the file or selections they hold; what an interrupted
    pull left is 'incomplete' (`kagman prune` removes it). Reads only; no network.

    \b
    Example:
        kagman ls
        kagman ls owner/dataset
        kagman ls -c titanic
        kagman ls --json | jq '.entries[].size'
    """
    from kagman import cache_info

    info = cache_info(_target(ref, competition))
    if as_json:
        import json

        body = {
            "root": str(info.root),
            "size": info.size,
            "free": info.free,
            "entries": [row.to_dict() for row in info.entries],
        }
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(str(info))


@click.command("path")
@click.argument("ref")
@_COMPETITION
@click.option("--file", "file", metavar="NAME", help="A file (or folder/) of the data.")
def path_command(ref: str, competition: bool, file: str | None) -> None:
    """Print where REF (or one of its files) is cached; no network, nothing downloaded.

    REF is owner/slug (the newest cached version), owner/slug/versions/N, a URL, with
    -c a competition (its latest cached data state), or the absolute path a pull printed
    (that entry). --file finds the file in any cached entry that holds it, whole or part.
    Exits with 6 and says how to pull it when it is not cached.

    \b
    Example:
        cd "$(kagman path owner/dataset)"
        kagman path owner/dataset/versions/2 --file train.csv
        kagman path -c titanic --file test.csv
        kagman path "$(kagman pull -c titanic)" --file test.csv
    """
    from kagman import cached_path

    click.echo(str(cached_path(_target(ref, competition) or ref, file=file)))


def _asker(yes: bool, dry_run: bool, question: str) -> Any:
    """A confirmation callback on a terminal (unless --yes or --dry-run), else None."""
    if yes or dry_run or not sys.stdin.isatty():
        return None

    def confirm(plan: RemovalReport) -> bool:
        for line in plan.lines():
            click.echo(line, err=True)
        return bool(plan.removed) and click.confirm(question, default=False, err=True)

    return confirm


@click.command("rm")
@click.argument("ref")
@_COMPETITION
@click.option(
    "--file", "file", metavar="NAME", help="Take only this file (or folder/) out of a part pulled."
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask (asks only on a terminal).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
def rm_command(ref: str, competition: bool, file: str | None, yes: bool, dry_run: bool) -> None:
    """Remove REF from the cache: every version, one (owner/slug/versions/N), or with -c
    (or its URL) every data state of a competition.

    --file takes one file (or a folder's files) out of the entries that hold part of a
    version (pulled with --file, --include, --exclude); a version cached whole is removed
    whole. Waits for a pull of the same dataset to finish (it takes the dataset's lock),
    renames each entry aside before deleting it, never follows a link out of the cache,
    and says which `pull --link` links now dangle.

    \b
    Example:
        kagman rm owner/dataset/versions/1
        kagman rm owner/dataset --dry-run
        kagman rm owner/dataset --file train.csv --yes
        kagman rm -c titanic
    """
    from kagman import remove

    confirm = _asker(yes, dry_run, "Remove them?")
    report = remove(_target(ref, competition) or ref, file=file, dry_run=dry_run, confirm=confirm)
    for line in report.lines():
        click.echo(line)


class _Parsed(click.ParamType):  # type: ignore[type-arg]
    """A click type for text that a kagman parser reads (sizes, durations)."""

    def __init__(self, name: str, parser: str) -> None:
        self.name = name
        self._parser = parser

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from kagman.cache import sizes

        try:
            getattr(sizes, self._parser)(str(value))
        except ValueError as err:
            self.fail(str(err), param, ctx)
        return str(value)


@click.command("prune")
@click.option(
    "--keep-latest",
    type=click.IntRange(min=1),
    metavar="N",
    help="Keep only the newest N cached versions of each dataset (data states of each "
    "competition).",
)
@click.option(
    "--older-than",
    type=_Parsed("duration", "parse_duration"),
    metavar="AGE",
    help="Remove entries unused for AGE (30d, 12h, 2w).",
)
@click.option(
    "--max-size",
    type=_Parsed("size", "parse_size"),
    metavar="SIZE",
    help="Then remove least recently used entries until the cache fits (50GB, 50GiB).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would go and the bytes freed.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask (asks only on a terminal).")
def prune_command(
    keep_latest: int | None,
    older_than: str | None,
    max_size: str | None,
    dry_run: bool,
    yes: bool,
) -> None:
    """Free cache space: old versions, entries unused for a while, or to fit a size budget.

    Always removes what interrupted pulls left behind, except in a dataset a
    running pull has locked. Sizes are decimal (GB = 10^9 bytes) or binary
    (GiB = 2^30) as written.

    \b
    Example:
        kagman prune --dry-run
        kagman prune --keep-latest 1
        kagman prune --older-than 30d --max-size 50GB
    """
    from kagman import prune

    confirm = _asker(yes, dry_run, "Remove them?")
    report = prune(
        keep_latest=keep_latest,
        older_than=older_than,
        max_size=max_size,
        dry_run=dry_run,
        confirm=confirm,
    )
    for line in report.lines():
        click.echo(line)


@click.command("verify")
@click.argument("ref", required=False)
@_COMPETITION
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--progress/--no-progress", default=None, help="A progress bar on stderr [default: terminal]."
)
def verify_command(
    ref: str | None, competition: bool, as_json: bool, progress: bool | None
) -> None:
    """Check cached files against their manifests: missing, extra, resized or changed.

    Every entry is checked, whole or part, of datasets and competitions (-c).
    Contents are compared by SHA-256 (recorded while pulling, recomputed in
    parallel); entries pulled before hashes were recorded are checked by size
    only, and say so. Exits 0 when intact, 9 when not, listing each problem.

    \b
    Example:
        kagman verify
        kagman verify owner/dataset/versions/2
        kagman verify -c titanic
    """
    from kagman import verify

    report = verify(_target(ref, competition), progress=progress)
    if as_json:
        import json

        body = {
            "ok": report.ok,
            "entries": [
                {
                    **{
                        k: check.entry.to_dict()[k]
                        for k in ("kind", "ref", "version", "data_state", "file", "path")
                    },
                    "method": check.method,
                    "checked_files": check.files,
                    "problems": [vars(p) for p in check.problems],
                }
                for check in report.checks
            ],
        }
        click.echo(json.dumps(body, indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    error = report.error()
    if error is not None:
        raise error
