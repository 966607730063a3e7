"""The only module that imports Kaggle's client library (``kagglesdk``).

It builds the client, makes the few calls kagman needs, retries transient
failures, and turns the client's exceptions and HTTP statuses into kagman
errors whose messages say what to do.

Why ``kagglesdk.KaggleClient(env=None)`` and not ``kaggle.KaggleApi``:
``import kaggle`` authenticates, prints and creates folders at import time (and
kaggle 2.2.5 needs the undeclared ``six``), and
``KaggleApi.build_kaggle_client()`` only honours
``KAGGLE_API_ENVIRONMENT=LOCALHOST``. ``KaggleClient(env=None)`` resolves the
endpoint with ``kagglesdk.kaggle_env.get_env()``, so every value of
``KAGGLE_API_ENVIRONMENT`` (PROD, TEST, LOCALHOST, ...) means here exactly what
it means to kagglesdk and kagglehub. Credentials are passed explicitly
(kagglesdk alone would only look at the fixed path ``~/.kaggle/kaggle.json``
and ignore ``$KAGGLE_CONFIG_DIR``).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from kagman.credentials import Credentials, mask, resolve_credentials
from kagman.errors import (
    CredentialsRejectedError,
    DatasetNotFoundError,
    KagmanError,
    NetworkError,
    RateLimitedError,
    RemoteError,
    ServerError,
    TermsNotAcceptedError,
)
from kagman.remote.hosts import host_of, why
from kagman.remote.refs import DatasetRef
from kagman.remote.retry import RETRYABLE_STATUSES, Retry, parse_retry_after, with_retries

if TYPE_CHECKING:
    import requests

__all__ = [
    "DatasetInfo",
    "RemoteFile",
    "endpoint",
    "get_dataset",
    "list_files",
    "open_download",
    "translate_errors",
    "unreachable_message",
    "whoami",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DatasetInfo:
    """What ``GetDataset`` says about a dataset."""

    ref: DatasetRef
    current_version: int
    total_bytes: int
    title: str
    url: str


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset version, as ``ListDatasetFiles`` lists it."""

    name: str
    size: int


def endpoint() -> str:
    """The API endpoint kagglesdk will talk to, from ``KAGGLE_API_ENVIRONMENT``."""
    from kagglesdk.kaggle_env import get_endpoint, get_env

    try:
        return str(get_endpoint(get_env()))
    except Exception as err:  # kagglesdk raises a bare Exception for unknown values
        msg = f"{err}. Unset KAGGLE_API_ENVIRONMENT or set it to PROD, TEST or LOCALHOST."
        raise KagmanError(msg) from err


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kagman")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _client(credentials: Credentials | None, processor: Callable[[Any], None] | None = None) -> Any:
    from kagglesdk import KaggleClient

    endpoint()  # validate KAGGLE_API_ENVIRONMENT with a readable message
    creds = credentials if credentials is not None else resolve_credentials()
    return KaggleClient(
        env=None,
        username=creds.username if creds.token is None else None,
        password=creds.key if creds.token is None else None,
        api_token=creds.token,
        user_agent=f"kagman/{_version()}",
        response_processor=processor,
    )


@contextlib.contextmanager
def translate_errors(
    ref: DatasetRef | None = None, credentials: Credentials | None = None
) -> Iterator[None]:
    """Turn ``requests``/kagglesdk exceptions into kagman errors with next steps."""
    import requests

    try:
        yield
    except requests.HTTPError as err:
        raise _http_error(err, ref, credentials) from err
    except (requests.ConnectionError, requests.Timeout) as err:
        raise NetworkError(unreachable_message(err)) from err
    except requests.RequestException as err:
        msg = f"Talking to Kaggle failed: {why(err)}. Try again in a moment."
        raise ServerError(msg) from err


def unreachable_message(err: BaseException) -> str:
    """Say which host could not be reached (Kaggle's API, or the storage a download
    redirected to) and why, without the library's internals, and what to do."""
    api = endpoint()
    request = getattr(err, "request", None)
    url = str(getattr(request, "url", "") or "")
    host = host_of(url) if url else host_of(api)
    if host == host_of(api):
        where = f"Could not reach Kaggle's API at {host}"
    else:
        where = f"Could not reach Kaggle's download storage at {host}"
    return (
        f"{where} ({why(err)}). Check your internet connection or proxy and try again; "
        "datasets already cached work with --offline."
    )


def _call(fn: Callable[[], T], ref: DatasetRef | None, creds: Credentials | None) -> T:
    """Run one API call, retrying 429/5xx and dropped connections with backoff."""
    import requests

    def attempt() -> T:
        with translate_errors(ref, creds):
            return fn()

    def classify(err: Exception) -> Retry | None:
        if not isinstance(err, (RateLimitedError, ServerError, NetworkError)):
            return None
        cause = err.__cause__
        if isinstance(cause, (requests.ConnectionError, requests.Timeout)):
            # A dead network should fail in seconds, not minutes: fewer retries for it.
            return Retry(f"Kaggle call failed ({why(cause)})", max_retries=2)
        response = getattr(cause, "response", None)
        status = getattr(response, "status_code", None)
        if status not in RETRYABLE_STATUSES:
            return None
        headers = getattr(response, "headers", None) or {}
        return Retry(f"Kaggle answered {status}", parse_retry_after(headers.get("Retry-After")))

    return with_retries(attempt, classify)


def _http_error(
    err: requests.HTTPError, ref: DatasetRef | None, creds: Credentials | None
) -> KagmanError:
    response = err.response
    status = response.status_code if response is not None else None
    name = str(ref.name) if ref else None
    where = f" (from {creds.source})" if creds else ""
    url = str(getattr(response, "url", "") or "")
    if url and host_of(url) != host_of(endpoint()):
        # The storage a download redirected to, not Kaggle's API: its 403/404 mean an
        # expired or refused link, never a missing dataset or unaccepted rules.
        msg = (
            f"Kaggle's download storage at {host_of(url)} answered {status}. Run the same "
            "pull again: it asks Kaggle for a fresh download link and resumes."
        )
        cls = ServerError if status is not None and status >= 500 else RemoteError
        return cls(msg, ref=name, status=status)
    if status == 401:
        msg = (
            f"Kaggle rejected your credentials{where}: the key or token is wrong, expired or "
            "revoked. Create a new token at https://www.kaggle.com/settings/api and run "
            "`kagman init` with it."
        )
        return CredentialsRejectedError(msg)
    if status == 403 and ref is not None:
        msg = (
            f"Kaggle refused access to {name} (403): you must accept the dataset's rules "
            f"first. Open {ref.url}, accept them (signed in as the same user as your key), "
            "then pull again. If the dataset is private, ask its owner to share it with you."
        )
        return TermsNotAcceptedError(msg, ref=name, status=status)
    if status == 404 and ref is not None:
        what = f"{ref}" if ref.version is None else f"version {ref.version} of {ref.name}"
        msg = (
            f"Kaggle has no dataset {what}, or it is private and your account cannot see it. "
            f"Check the spelling against {ref.url}."
        )
        return DatasetNotFoundError(msg, ref=name, status=status)
    if status == 429:
        msg = (
            "Kaggle is rate-limiting requests (429) and kept doing so after retries. "
            "Wait a few minutes and try again."
        )
        return RateLimitedError(msg, ref=name, status=status)
    if status is not None and status >= 500:
        msg = (
            f"Kaggle's API at {host_of(endpoint())} failed ({status}) even after retries. "
            "Try again later."
        )
        return ServerError(msg, ref=name, status=status)
    msg = f"Kaggle answered {status}: {_short(err)}."
    return RemoteError(msg, ref=name, status=status)


def _short(err: BaseException) -> str:
    """The first line of an error, without URL query strings (a signed URL's is a secret)."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    text = re.sub(r"(https?://[^\s?#]+)[?#]\S*", r"\1", text)
    return text if len(text) < 200 else text[:197] + "..."


def get_dataset(ref: DatasetRef, credentials: Credentials | None = None) -> DatasetInfo:
    """Look up a dataset's current version (one API call)."""
    from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetRequest

    creds = credentials if credentials is not None else resolve_credentials()
    request = ApiGetDatasetRequest()
    request.owner_slug = ref.owner
    request.dataset_slug = ref.slug

    def call() -> Any:
        with _client(creds) as client:
            return client.datasets.dataset_api_client.get_dataset(request)

    dataset = _call(call, ref, creds)
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
    """All files of ``ref``'s version (following pages)."""
    from kagglesdk.datasets.types.dataset_api_service import ApiListDatasetFilesRequest

    creds = credentials if credentials is not None else resolve_credentials()
    files: list[RemoteFile] = []
    token = ""
    while True:
        request = ApiListDatasetFilesRequest()
        request.owner_slug = ref.owner
        request.dataset_slug = ref.slug
        if ref.version is not None:
            request.dataset_version_number = ref.version
        if token:
            request.page_token = token

        def call(request: Any = request) -> Any:
            with _client(creds) as client:
                return client.datasets.dataset_api_client.list_dataset_files(request)

        page = _call(call, ref, creds)
        files += [
            RemoteFile(str(f.name), int(f.total_bytes or 0)) for f in page.dataset_files or []
        ]
        token = str(page.next_page_token or "")
        if not token:
            return files


@contextlib.contextmanager
def open_download(
    ref: DatasetRef, *, file: str | None = None, credentials: Credentials | None = None
) -> Iterator[requests.Response]:
    """Ask Kaggle for the archive (or one file) of a version; yield the streamed blob response.

    ``DownloadDataset`` answers with a redirect to a blob URL; ``requests``
    follows it, so the response is the blob itself with its headers read and
    its body not yet. ``response.url`` is the blob URL, which
    :mod:`kagman.remote.transfer` uses for Range requests when resuming. The client's
    connections are closed when the ``with`` block ends.
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

    with _client(creds) as client:

        def call() -> requests.Response:
            response: requests.Response = client.datasets.dataset_api_client.download_dataset(
                request
            )
            return response

        try:
            response = _call(call, ref, creds)
        except DatasetNotFoundError as err:
            if file is None:
                raise
            msg = (
                f"Kaggle has no file {file!r} in {ref}. List the dataset's files on "
                f"{ref.url} and check the name (it is case-sensitive and may include folders)."
            )
            raise DatasetNotFoundError(msg, ref=ref.name, status=404) from err
        with response:
            yield response


def whoami(credentials: Credentials | None = None) -> str:
    """Ask Kaggle who the credentials belong to; return the username.

    A legacy key is checked with ``DiagnosticsService/Hello`` and an access
    token with ``OAuthService/IntrospectToken``, as kagglehub and the kaggle CLI do.

    Raises
    ------
    CredentialsNotFoundError
        No credentials are installed.
    CredentialsRejectedError
        Kaggle answered 401 (or reports the token inactive).
    NetworkError
        Kaggle could not be reached: the key may well be fine.
    """
    creds = credentials if credentials is not None else resolve_credentials()
    if creds.token is not None:
        return _introspect(creds)
    from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetRequest

    seen: dict[str, Any] = {}

    def keep_json(response: Any) -> None:
        with contextlib.suppress(ValueError):
            seen.update(response.json())

    def call() -> None:
        with _client(creds, keep_json) as client:
            # kagglesdk has no binding for the DiagnosticsService; kagglehub calls it the same way.
            client.http_client().call(
                "api.v1.DiagnosticsService", "Hello", ApiGetDatasetRequest(), None
            )

    _call(call, None, creds)
    username = seen.get("userName")
    if not username:
        msg = (
            f"Kaggle did not recognise the credentials from {creds.source}. "
            "Run `kagman init` again."
        )
        raise CredentialsRejectedError(msg)
    return str(username)


def _introspect(creds: Credentials) -> str:
    from kagglesdk.security.types.oauth_service import IntrospectTokenRequest

    request = IntrospectTokenRequest()
    request.token = creds.token or ""

    def call() -> Any:
        with _client(creds) as client:
            return client.security.oauth_client.introspect_token(request)

    response = _call(call, None, creds)
    if not response.active or not response.username:
        msg = (
            f"Kaggle says the access token {mask(creds.token or '')} from {creds.source} "
            "is not active (expired or revoked). Create a new one at "
            "https://www.kaggle.com/settings/api and run `kagman init --token`."
        )
        raise CredentialsRejectedError(msg)
    return str(response.username)
