"""Kaggle's dataset calls: ``GetDataset``, the paged ``ListDatasetFiles``, ``DownloadDataset``.

Each builds its kagglesdk request, runs it through :func:`kagman.remote.client.call_api`
(retries, errors translated) and returns kagman's own records.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kagman.credentials import Credentials, resolve_credentials
from kagman.errors import DatasetNotFoundError, KagmanError, ServerError
from kagman.remote.client import (
    RemoteFile,
    call_api,
    kaggle_client,
    list_pages,
    open_blob,
    redirect_url,
)
from kagman.remote.refs import DatasetRef

if TYPE_CHECKING:
    import requests

__all__ = ["DatasetInfo", "get_dataset", "list_files", "open_download"]


@dataclass(frozen=True)
class DatasetInfo:
    """What ``GetDataset`` says about a dataset."""

    ref: DatasetRef
    current_version: int
    total_bytes: int
    title: str
    url: str


def get_dataset(ref: DatasetRef, credentials: Credentials | None = None) -> DatasetInfo:
    """Look up a dataset's current version (one ``GetDataset`` call).

    Raises
    ------
    DatasetNotFoundError
        404; when a competition has the dataset's slug as its name, the message says how
        to pull it (one ``GetCompetition`` call, made only then).
    CredentialsError, RateLimitedError, ServerError, NetworkError
    """
    from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetRequest

    creds = credentials if credentials is not None else resolve_credentials()
    request = ApiGetDatasetRequest()
    request.owner_slug = ref.owner
    request.dataset_slug = ref.slug

    def call() -> Any:
        with kaggle_client(creds) as client:
            return client.datasets.dataset_api_client.get_dataset(request)

    try:
        dataset = call_api(call, ref, creds)
    except DatasetNotFoundError as err:
        from kagman.remote.competitions import competition_exists

        if not competition_exists(ref.slug, creds):
            raise
        head = f"{err} There is a competition named {ref.slug!r}: pull it with "
        other = DatasetNotFoundError(
            f"{head}kagman.pull_competition({ref.slug!r}).", ref=ref.name, status=404
        )
        other.cli_message = f"{head}`kagman pull -c {ref.slug}`."
        raise other from err
    version = int(dataset.current_version_number or 0)
    if version < 1:
        msg = f"Kaggle reported no ready version of {ref.name}. Try again later."
        raise ServerError(msg, ref=ref.name)
    return DatasetInfo(
        ref=ref.with_version(version),
        current_version=version,
        total_bytes=int(dataset.total_bytes or 0),
        title=str(dataset.title or ""),
        url=str(dataset.url or ref.url),
    )


def list_files(ref: DatasetRef, credentials: Credentials | None = None) -> list[RemoteFile]:
    """All files of ``ref``'s version: ``ListDatasetFiles``, following every page.

    ``ref.version`` None lists the current version. Names carry their folders.

    Raises
    ------
    CredentialsError, DatasetNotFoundError, RateLimitedError, ServerError, NetworkError
    """
    from kagglesdk.datasets.types.dataset_api_service import ApiListDatasetFilesRequest

    creds = credentials if credentials is not None else resolve_credentials()

    def new_request() -> Any:
        request = ApiListDatasetFilesRequest()
        request.owner_slug = ref.owner
        request.dataset_slug = ref.slug
        if ref.version is not None:
            request.dataset_version_number = ref.version
        return request

    try:
        return list_pages(
            ref,
            creds,
            new_request,
            lambda client, request: client.datasets.dataset_api_client.list_dataset_files(request),
            lambda page: page.dataset_files,
        )
    except DatasetNotFoundError as err:
        raise _missing_version(err, ref, creds) from err


@contextlib.contextmanager
def open_download(
    ref: DatasetRef, *, file: str | None = None, credentials: Credentials | None = None
) -> Iterator[requests.Response]:
    """Ask Kaggle for the archive (or one file) of a version; yield the streamed blob response.

    ``DownloadDataset`` answers with a redirect to a signed storage URL, which
    :func:`open_redirect` fetches itself: the response is the blob, its headers read and its
    body not yet. ``response.url`` is the blob URL, which :mod:`kagman.remote.transfer`
    uses for Range requests when resuming.
    """
    from kagglesdk.datasets.types.dataset_api_service import ApiDownloadDatasetRequest

    creds = credentials if credentials is not None else resolve_credentials()
    request = ApiDownloadDatasetRequest()
    request.owner_slug = ref.owner
    request.dataset_slug = ref.slug
    if ref.version is not None:
        request.dataset_version_number = ref.version
    if file is not None:
        request.file_name = file
    try:
        url = redirect_url(
            lambda c: c.datasets.dataset_api_client.download_dataset(request), ref, creds
        )
    except DatasetNotFoundError as err:
        if file is None:  # a file's 404 is also how a folder is found: no extra call then
            raise _missing_version(err, ref, creds) from err
        msg = (
            f"Kaggle has no file {file!r} in {ref}. List the dataset's files with "
            f"`kagman files {ref}` and check the name (it is case-sensitive and may include "
            "folders)."
        )
        raise DatasetNotFoundError(msg, ref=ref.name, status=404) from err
    with open_blob(url, ref, creds) as response:
        yield response


def _missing_version(
    err: DatasetNotFoundError, ref: DatasetRef, creds: Credentials
) -> DatasetNotFoundError:
    """For a 404 on a pinned version of a dataset that exists: an error naming its current
    version (one ``GetDataset`` call, made only then); else ``err`` itself."""
    if ref.version is None:
        return err
    try:
        current = get_dataset(ref, creds).current_version
    except KagmanError:
        return err  # no such dataset (or Kaggle unreachable): the first answer stands
    if current == ref.version:
        return err
    msg = (
        f"Kaggle has no version {ref.version} of {ref.name}: its current version is {current}. "
        f"Pull {ref.with_version(current)}, or leave the version out for the latest."
    )
    return DatasetNotFoundError(msg, ref=ref.name, status=404)
