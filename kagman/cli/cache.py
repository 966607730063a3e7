"""``kagman ls``, ``path``, ``rm``, ``prune``, ``verify``: see, find, free and check the cache."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from datetime import datetime

    from kagman.cache.listing import EntryInfo
    from kagman.cache.removal import RemovalReport

__all__ = ["ls_command", "path_command", "prune_command", "rm_command", "verify_command"]


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "-"


def _version(row: EntryInfo) -> str:
    text = "-" if row.version is None else str(row.version)
    return f"{text}: {row.file}" if row.file else text


def _state(row: EntryInfo) -> str:
    text: str = row.state
    if row.note:
        text += f" ({row.note})"
    if row.newer_version is not None:
        text += f", version {row.newer_version} known"
    return text


@click.command("ls")
@click.argument("ref", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def ls_command(ref: str | None, as_json: bool) -> None:
    """List what the cache holds: versions, files, sizes, when pulled and last used.

    REF (owner/slug or owner/slug/versions/N) limits the list to one dataset or
    version. Entries holding part of a version (one file) are 'subset'; what an
    interrupted pull left is 'incomplete' (`kagman prune` removes it). Reads
    only; no network.

    \b
    Example:
        kagman ls
        kagman ls owner/dataset
        kagman ls --json | jq '.entries[].size'
    """
    from kagman import cache_info
    from kagman.fs import human_size

    info = cache_info(ref)
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
    header = ("REF", "VERSION", "FILES", "SIZE", "PULLED", "LAST USED", "STATE")
    rows = [
        (
            row.ref,
            _version(row),
            str(row.files),
            human_size(row.size),
            _when(row.pulled_at),
            _when(row.last_used),
            _state(row),
        )
        for row in info.entries
    ]
    if rows:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        right = {2, 3}
        for r in [header, *rows]:
            cells = [
                cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                for i, cell in enumerate(r)
            ]
            click.echo("  ".join(cells).rstrip())
        click.echo("")
    click.echo(info.summary())


@click.command("path")
@click.argument("ref")
@click.option("--file", "file", metavar="NAME", help="A file of the dataset.")
def path_command(ref: str, file: str | None) -> None:
    """Print where REF (or one of its files) is cached; no network, nothing downloaded.

    REF is owner/slug (the newest cached version) or owner/slug/versions/N.
    Exits with 6 and says how to pull it when it is not cached.

    \b
    Example:
        cd "$(kagman path owner/dataset)"
        kagman path owner/dataset/versions/2 --file train.csv
    """
    from kagman import cached_path

    click.echo(str(cached_path(ref, file=file)))


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
@click.option("--file", "file", metavar="NAME", help="Remove only this file's entry (--file).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask (asks only on a terminal).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
def rm_command(ref: str, file: str | None, yes: bool, dry_run: bool) -> None:
    """Remove REF from the cache: every version, or one (owner/slug/versions/N).

    Waits for a pull of the same dataset to finish (it takes the dataset's lock),
    renames each entry aside before deleting it, never follows a link out of the
    cache, and says which `pull --link` links now dangle.

    \b
    Example:
        kagman rm owner/dataset/versions/1
        kagman rm owner/dataset --dry-run
        kagman rm owner/dataset --file train.csv --yes
    """
    from kagman import remove

    confirm = _asker(yes, dry_run, "Remove them?")
    report = remove(ref, file=file, dry_run=dry_run, confirm=confirm)
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
    help="Keep only the newest N cached versions of each dataset.",
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--progress/--no-progress", default=None, help="A progress bar on stderr [default: terminal]."
)
def verify_command(ref: str | None, as_json: bool, progress: bool | None) -> None:
    """Check cached files against their manifests: missing, extra, resized or changed.

    Contents are compared by SHA-256 (recorded while extracting, recomputed in
    parallel); entries pulled before hashes were recorded are checked by size
    only, and say so. Exits 0 when intact, 9 when not, listing each problem.

    \b
    Example:
        kagman verify
        kagman verify owner/dataset/versions/2
    """
    from kagman import verify

    report = verify(ref, progress=progress)
    if as_json:
        import json

        body = {
            "ok": report.ok,
            "entries": [
                {
                    **{k: check.entry.to_dict()[k] for k in ("ref", "version", "file", "path")},
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
