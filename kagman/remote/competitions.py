"""Kaggle's competition calls: ``competitions.CompetitionApiService`` through kagglesdk.

``GetCompetition``, the paged ``ListDataFiles``, and the two download calls,
``DownloadDataFiles`` (every data file, one archive) and ``DownloadDataFile`` (one file;
Kaggle serves large ones as ``<name>.zip``). Both download calls answer with a redirect to
a signed storage URL; :func:`data_redirect` returns it without following it, because its
path (without the signature) names the state of the data: competition data has no
version numbers and hosts fix files mid-competition (see
:mod:`kagman.resolvers.competition`). kagglehub's ``CompetitionHttpResolver`` makes the
same calls.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kagman.credentials import Credentials, resolve_credentials
from kagman.errors import NotFoundError
from kagman.remote.client import (
    RemoteFile,
    call_api,
    kaggle_client,
    list_pages,
    open_blob,
    redirect_url,
)
from kagman.remote.refs import CompetitionRef

if TYPE_CHECKING:
    import requests

__all__ = [
    "CompetitionInfo",
    "competition_exists",
    "data_redirect",
    "get_competition",
    "list_data_files",
    "open_data",
]


@dataclass(frozen=True)
class CompetitionInfo:
    """What ``GetCompetition`` says about a competition."""

    ref: CompetitionRef
    title: str
    url: str
    deadline: datetime | None
    entered: bool  # the user may download (has accepted the rules)


def get_competition(ref: CompetitionRef, credentials: Credentials | None = None) -> CompetitionInfo:
    """Look a competition up (one ``GetCompetition`` call).

    Raises
    ------
    CompetitionNotFoundError, CredentialsError, RateLimitedError, ServerError, NetworkError
    """
    from kagglesdk.competitions.types.competition_api_service import ApiGetCompetitionRequest

    creds = credentials if credentials is not None else resolve_credentials()
    request = ApiGetCompetitionRequest()
    request.competition_name = ref.slug

    def ask() -> Any:
        with kaggle_client(creds) as client:
            return client.competitions.competition_api_client.get_competition(request)

    found = call_api(ask, ref, creds)
    return CompetitionInfo(
        ref=ref,
        title=str(found.title or ref.slug),
        url=str(found.url or ref.url),
        deadline=found.deadline,
        entered=bool(found.user_has_entered),
    )


def competition_exists(slug: str, credentials: Credentials) -> bool:
    """Whether Kaggle shows a competition named ``slug`` (for "did you mean" hints only).

    Any failure other than a clear 404 counts as "cannot tell": ``False``.
    """
    from kagman.errors import KagmanError
    from kagman.remote.refs import parse_competition

    try:
        get_competition(parse_competition(slug), credentials)
    except KagmanError:
        return False
    return True


def list_data_files(
    ref: CompetitionRef, credentials: Credentials | None = None
) -> list[RemoteFile]:
    """Every data file of a competition: ``ListDataFiles``, following every page.

    Raises
    ------
    CompetitionNotFoundError, CredentialsError, RateLimitedError, ServerError, NetworkError
    """
    from kagglesdk.competitions.types.competition_api_service import ApiListDataFilesRequest

    creds = credentials if credentials is not None else resolve_credentials()

    def new_request() -> Any:
        request = ApiListDataFilesRequest()
        request.competition_name = ref.slug
        return request

    return list_pages(
        ref,
        creds,
        new_request,
        lambda client, request: client.competitions.competition_api_client.list_data_files(request),
        lambda page: page.files,
    )


def data_redirect(
    ref: CompetitionRef, credentials: Credentials | None = None, *, file: str | None = None
) -> str:
    """The signed storage URL of the whole data (``DownloadDataFiles``) or of one file
    (``DownloadDataFile``), from one request whose redirect is not followed.

    Raises
    ------
    RulesNotAcceptedError
        403: the user has not accepted the competition's rules (the message says how).
    AccessDeniedError
        Another 403: a private competition, or one closed to late downloads.
    CompetitionNotFoundError
        404: no such competition (or file).
    """
    from kagglesdk.competitions.types.competition_api_service import (
        ApiDownloadDataFileRequest,
        ApiDownloadDataFilesRequest,
    )

    creds = credentials if credentials is not None else resolve_credentials()
    if file is None:
        whole = ApiDownloadDataFilesRequest()
        whole.competition_name = ref.slug
        return redirect_url(
            lambda c: c.competitions.competition_api_client.download_data_files(whole), ref, creds
        )
    one = ApiDownloadDataFileRequest()
    one.competition_name = ref.slug
    one.file_name = file
    try:
        return redirect_url(
            lambda c: c.competitions.competition_api_client.download_data_file(one), ref, creds
        )
    except NotFoundError as err:
        msg = (
            f"Kaggle has no file {file!r} in the competition {ref.slug}. List its files with "
            f"`kagman files -c {ref.slug}` (names are case-sensitive and may include folders)."
        )
        raise type(err)(msg, ref=ref.slug, status=404) from err


@contextlib.contextmanager
def open_data(
    ref: CompetitionRef,
    *,
    file: str | None = None,
    credentials: Credentials | None = None,
    url: str | None = None,
) -> Iterator[requests.Response]:
    """Yield the streamed storage response for the whole data or one file.

    ``url``: a storage URL already obtained from :func:`data_redirect` (saves the call).
    """
    creds = credentials if credentials is not None else resolve_credentials()
    target = url if url is not None else data_redirect(ref, creds, file=file)
    with open_blob(target, ref, creds) as response:
        yield response
