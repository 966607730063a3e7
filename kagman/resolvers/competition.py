"""Competitions: one request tells whether the cache is current, then the same pull flow.

Competition data has no version numbers, and hosts fix files mid-competition. The
redirect of ``DownloadDataFiles`` names the data's state: the storage path without its
signed query. Its hash names the entry (``competitions/<slug>/data/<state>/``), the manifest
keeps the path and the archive's ETag, and ``latest`` names the newest complete state.

- a pull asks ``DownloadDataFiles`` once and does not follow the redirect; an entry of that
  state that answers the request is returned: one request for a current cache hit;
- otherwise the state is fetched: whole (the archive, through
  :func:`kagman.resolvers.fetch.fetch_archive`, starting from the URL already in hand) or
  part of it (:func:`kagman.resolvers.subset.pull_subset`, ``DownloadDataFile`` per file);
- ``offline``: no request; the latest cached state that holds what was asked for;
- Kaggle unreachable: the same, with a warning that it may be stale;
- rules not accepted (403) with ``wait_for_rules``: say so once, ask again every
  ``KAGMAN_RULES_POLL`` seconds (10) until Kaggle allows the download or the time is up.
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from kagman.cache.entries import answer, set_latest_state, touch_hit
from kagman.cache.lock import dataset_lock
from kagman.cache.manifest import strip_query
from kagman.cache.paths import competition_entry_path, incomplete_dir
from kagman.errors import InvalidRefError, NetworkError, RulesNotAcceptedError
from kagman.fs import counted
from kagman.remote.refs import CompetitionRef
from kagman.resolvers.base import CompetitionRequest
from kagman.resolvers.cached import offline_hit
from kagman.settings import OFFLINE_ENV, RULES_POLL_ENV, env_flag, env_number
from kagman.ui.progress import progress_enabled

if TYPE_CHECKING:
    import requests

    from kagman.credentials import Credentials

__all__ = [
    "CompetitionCacheResolver",
    "CompetitionDownloadResolver",
    "rules_wait",
    "state_name",
]

logger = logging.getLogger(__name__)


def rules_wait(value: bool | float) -> float | None:
    """``wait_for_rules`` as minutes: ``True`` is 30, ``False`` is no waiting.

    >>> rules_wait(True), rules_wait(False), rules_wait(5)
    (30.0, None, 5.0)
    """
    if value is True:
        return 30.0
    if value is False:
        return None
    if not isinstance(value, (int, float)) or value <= 0:
        msg = f"wait_for_rules takes True or a number of minutes above 0, not {value!r}."
        raise InvalidRefError(msg)
    return float(value)


def state_name(url: str) -> str:
    """The entry name of the data state a download redirect names (its path, hashed).

    >>> state_name("https://storage.example/c/titanic/7/titanic.zip?X-Goog-Signature=s")
    '746ac060d0f192ab'
    """
    return hashlib.sha256(strip_query(url).encode()).hexdigest()[:16]


class CompetitionCacheResolver:
    """Offline pulls: the latest cached state that holds what was asked for."""

    name = "competition-cache"

    def available(self) -> bool:
        """Always: the cache needs nothing from the environment."""
        return True

    def is_supported(self, request: CompetitionRequest) -> bool:
        """Offline pulls only: online, one request decides whether the cache is current."""
        return request.offline and not request.force

    def resolve(self, request: CompetitionRequest) -> Path:
        """The cached path, with no request.

        Raises
        ------
        NotCachedError
            No cached state holds it.
        """
        return offline_hit(request.ref, request.selection)


class CompetitionDownloadResolver:
    """Asks Kaggle which state the data is in; answers from the cache or downloads it."""

    name = "competition-download"

    def available(self) -> bool:
        """Unless ``KAGMAN_OFFLINE`` is on."""
        return not env_flag(OFFLINE_ENV)

    def is_supported(self, request: CompetitionRequest) -> bool:
        """Any pull that may use the network."""
        return not request.offline

    def resolve(self, request: CompetitionRequest) -> Path:
        """The path of the data (or the file or folder asked for) in its current state.

        Raises
        ------
        RulesNotAcceptedError, AccessDeniedError, CompetitionNotFoundError, CredentialsError,
        RateLimitedError, ServerError, NetworkError, LockTimeoutError, DiskFullError,
        ArchiveError, EmptySelectionError
        """
        from kagman.credentials import resolve_credentials
        from kagman.remote import competitions
        from kagman.resolvers.commit import restore_replaced
        from kagman.resolvers.fetch import Archive, fetch_archive
        from kagman.resolvers.subset import Source, pull_subset

        ref, selection = request.ref, request.selection
        creds = resolve_credentials()
        try:
            url = _redirect(ref, creds, request.wait_for_rules)
        except NetworkError as err:
            return _fallback(request, err)
        state = state_name(url)
        entry = competition_entry_path(ref, state)
        with dataset_lock(ref):
            restore_replaced(ref, entry, state)
            hit = None if request.force else answer(entry, selection)
            if hit is not None:
                set_latest_state(ref, state)
                return touch_hit(entry, hit)  # "last used", as a dataset's cache hit does
            show = progress_enabled(request.progress)
            if selection.whole:
                first = [url]  # the first attempt uses the URL in hand; a retry asks again

                def open_response() -> AbstractContextManager[requests.Response]:
                    known = first.pop() if first else None
                    return competitions.open_data(ref, credentials=creds, url=known)

                archive = Archive(ref, entry, state, open_response, "competition", state)
                path = fetch_archive(archive, show=show, force=request.force)
                set_latest_state(ref, state)
                return path
            source = Source(
                ref=ref,
                label=f"the competition {ref.slug}",
                entry=entry,
                work=incomplete_dir(ref),
                prefix=state,
                list_files=lambda: competitions.list_data_files(ref, creds),
                open_file=lambda name: competitions.open_data(ref, file=name, credentials=creds),
                files_command=f"kagman files -c {ref.slug}",
                state=state,
            )
            return pull_subset(source, selection, force=request.force, show=show)


def _redirect(ref: CompetitionRef, creds: Credentials, wait: float | None) -> str:
    """``DownloadDataFiles``' redirect; with ``wait`` (minutes), wait out a rules 403."""
    from kagman.remote import competitions

    deadline = None if wait is None else time.monotonic() + wait * 60
    told = False
    while True:
        poll = max(0.05, env_number(RULES_POLL_ENV, 10.0))
        try:
            return competitions.data_redirect(ref, creds)
        except RulesNotAcceptedError as err:
            if deadline is None:
                raise
            if time.monotonic() >= deadline:
                from kagman.remote.client import who

                msg = (
                    f"The rules of the competition {ref.slug} were still not accepted after "
                    f"waiting {counted(wait or 0, 'minute')} (asking Kaggle every {poll:g} s). "
                    "Open "
                    f"{ref.rules_url} in a browser, signed in as {who(creds)}, accept the "
                    "rules, then run the same command again ({} waits longer)."
                )
                late = RulesNotAcceptedError(
                    msg.replace("{}", "wait_for_rules=MINUTES"), ref=ref.slug, status=err.status
                )
                late.cli_message = msg.replace("{}", "--wait-for-rules MINUTES")
                raise late from err
            if not told:
                from kagman.remote.client import RULES_WAIT_HINT

                said = str(err).replace(RULES_WAIT_HINT[0], "")  # it is waiting already
                logger.warning(
                    "%s Waiting up to %s, asking Kaggle every %g s ...",
                    said,
                    counted(wait or 0, "minute"),
                    poll,
                )
                told = True
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def _fallback(request: CompetitionRequest, err: NetworkError) -> Path:
    """Kaggle unreachable: the latest cached state that answers, with a warning, else ``err``."""
    try:
        path = offline_hit(request.ref, request.selection)
    except Exception:  # nothing cached answers: the network error is the news
        raise err from None
    logger.warning(
        "Kaggle could not be reached (%s); using the cached copy %s, which may be stale.",
        err,
        path,
    )
    return path
