"""``kagman prune``: which entries go, by age, by version count, or to fit a size budget.

The choice is a pure function of the listing (:func:`plan_prune`), so a dry
run shows exactly what a real run removes. Datasets and competitions are pruned
alike: a competition's data states count as its versions, the latest one first,
then the most recently pulled. Every prune also clears what interrupted pulls
left behind (partial downloads, killed extractions, entries without a manifest),
except in a dataset (or competition) whose lock a running pull holds: it is left
alone entirely.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from kagman.cache.listing import EntryInfo, entries
from kagman.cache.lock import is_locked
from kagman.cache.removal import Removal, RemovalReport, remove_entries
from kagman.cache.sizes import parse_duration, parse_size
from kagman.errors import InvalidArgumentError
from kagman.fs import counted

__all__ = ["plan_prune", "prune"]


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f} days" if seconds >= 86400 else f"{seconds / 3600:.1f} hours"


def plan_prune(
    rows: Sequence[EntryInfo],
    *,
    keep_latest: int | None = None,
    older_than: float | None = None,
    max_size: int | None = None,
    busy: frozenset[tuple[str, str]] = frozenset(),
    now: float | None = None,
) -> list[Removal]:
    """What to remove from ``rows``: leftovers, then by version count, age, and size budget.

    ``busy`` holds the ``(kind, ref)`` of items a running pull holds: nothing of
    them is chosen. Entries are removed least recently used first to fit
    ``max_size`` (bytes, counted over the whole cache, leftovers included).
    """
    now = time.time() if now is None else now
    chosen: dict[int, str] = {}  # index in rows -> reason
    for i, row in enumerate(rows):
        if (row.kind, row.ref) in busy:
            continue
        if row.state == "incomplete":
            chosen[i] = "left by an interrupted pull"  # the line names what it is (row.note)
    if keep_latest is not None:
        kept = _kept_ranks(rows, keep_latest)
        for i, row in enumerate(rows):
            key, rank = (row.kind, row.ref), _rank(row)
            if i in chosen or key in busy or rank is None or key not in kept:
                continue
            if rank not in kept[key]:
                what = "data state" if row.kind == "competition" else "version"
                newest = (
                    f"the newest cached {what}"
                    if keep_latest == 1
                    else (f"the {counted(keep_latest, f'newest cached {what}')}")
                )
                chosen[i] = f"older than {newest}"
    if older_than is not None:
        for i, row in enumerate(rows):
            if i in chosen or (row.kind, row.ref) in busy or row.last_used is None:
                continue
            idle = now - row.last_used.timestamp()
            if idle > older_than:
                chosen[i] = f"unused for {_days(idle)}"
    if max_size is not None:
        total = sum(row.size for i, row in enumerate(rows) if i not in chosen)
        free_to_go = [
            i for i, row in enumerate(rows) if i not in chosen and (row.kind, row.ref) not in busy
        ]
        oldest_first = sorted(
            free_to_go,
            key=lambda i: (_when(rows[i].last_used), _when(rows[i].pulled_at), str(rows[i].path)),
        )
        for i in oldest_first:
            if total <= max_size:
                break
            chosen[i] = f"least recently used, over the {max_size:,}-byte budget"
            total -= rows[i].size
    return [Removal(rows[i], chosen[i]) for i in sorted(chosen)]


def _kept_ranks(
    rows: Sequence[EntryInfo], keep_latest: int
) -> dict[tuple[str, str], set[tuple[float, ...]]]:
    """The ranks ``--keep-latest`` keeps of each dataset or competition: the ``keep_latest``
    newest, and the newest complete one too when those hold only parts (a subset or one file
    of a newer version never leaves a dataset with no complete copy)."""
    ranks: dict[tuple[str, str], set[tuple[float, ...]]] = {}
    complete: dict[tuple[str, str], set[tuple[float, ...]]] = {}
    for row in rows:
        rank = _rank(row)
        if row.state != "incomplete" and rank is not None:
            ranks.setdefault((row.kind, row.ref), set()).add(rank)
            if row.state == "complete":
                complete.setdefault((row.kind, row.ref), set()).add(rank)
    kept: dict[tuple[str, str], set[tuple[float, ...]]] = {}
    for key, found in ranks.items():
        newest = set(sorted(found, reverse=True)[:keep_latest])
        whole = complete.get(key, set())
        if whole and not newest & whole:
            newest.add(max(whole))
        kept[key] = newest
    return kept


def _rank(row: EntryInfo) -> tuple[float, ...] | None:
    """Newer ranks higher: a dataset's version; a competition's latest data state, then the
    most recently pulled. ``None`` for what has neither (a leftover of unknown version)."""
    if row.kind == "competition":
        return None if row.data_state is None else (float(row.latest), _when(row.pulled_at))
    return None if row.version is None else (float(row.version),)


def _when(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0


def prune(
    *,
    keep_latest: int | None = None,
    older_than: str | float | None = None,
    max_size: str | int | None = None,
    dry_run: bool = False,
    confirm: Callable[[RemovalReport], bool] | None = None,
) -> RemovalReport:
    """Free cache space: old versions, unused entries, least recently used ones (``kagman prune``).

    Always removes what interrupted pulls left (partial downloads, killed
    extractions, entries without a manifest), except in a dataset that a
    running pull has locked: such a dataset (or competition) is skipped entirely
    and named in ``kept``. Each removal un-marks and renames the entry aside first (see
    :mod:`kagman.cache.removal`).

    Parameters
    ----------
    keep_latest
        Keep only the newest N cached versions of each dataset, and the newest N data
        states of each competition (the latest first) (N >= 1). When those N hold only
        parts (a subset, one file), the newest complete one is kept as well: a prune never
        leaves a dataset with only a part when a complete copy was cached.
    older_than
        Remove entries not used for this long: seconds, or text such as
        ``"30d"``, ``"12h"``, ``"2w"``.
    max_size
        Then remove least recently used entries until the cache fits: bytes, or
        text such as ``"50GB"`` (10**9) or ``"50GiB"`` (2**30).
    dry_run
        Only report what would be removed and the bytes it would free.
    confirm
        Called with the plan before anything is removed; ``False`` cancels.

    Returns
    -------
    RemovalReport
        What was removed and why, bytes freed, links that now dangle, and what
        was kept because a pull holds it.

    Raises
    ------
    InvalidArgumentError
        A size or duration that cannot be read, or ``keep_latest`` < 1.
    CacheNotWritableError
        This user may not write the cache.
    """
    if keep_latest is not None and keep_latest < 1:
        msg = f"keep_latest must be 1 or more, not {keep_latest} (use `kagman rm` to remove all)."
        raise InvalidArgumentError(msg)
    seconds = parse_duration(older_than) if isinstance(older_than, str) else older_than
    budget = parse_size(max_size) if isinstance(max_size, str) else max_size
    rows = entries()
    items = {(row.kind, row.ref): row.item for row in rows}
    busy = frozenset(key for key, folder in items.items() if is_locked(folder))
    kept = [f"{ref}: a pull is running, so nothing of it was removed." for _, ref in sorted(busy)]
    plan = plan_prune(
        rows,
        keep_latest=keep_latest,
        older_than=seconds,
        max_size=budget,
        busy=busy,
        now=datetime.now(timezone.utc).timestamp(),
    )
    return remove_entries(plan, dry_run=dry_run, confirm=confirm, wait=0, kept=kept)
