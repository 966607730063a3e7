"""The one place that builds Kaggle's client (``kagglesdk``) and translates its errors.

It builds the client (:func:`kaggle_client`), runs calls with retries (:func:`call_api`),
gets a download call's signed storage URL without following it (:func:`redirect_url`), and
turns the client's exceptions and HTTP statuses into kagman errors whose messages say what
to do (:func:`translate_errors`). The calls themselves live by resource:
:mod:`kagman.remote.datasets`, :mod:`kagman.remote.competitions`; ``whoami`` lives here.

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
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin

from kagman.credentials import Credentials, mask, renew_advice, resolve_credentials
from kagman.errors import (
    AccessDeniedError,
    CompetitionNotFoundError,
    CredentialsRejectedError,
    DatasetNotFoundError,
    InvalidArgumentError,
    KagmanError,
    NetworkError,
    RateLimitedError,
    RemoteError,
    RulesNotAcceptedError,
    ServerError,
    TermsNotAcceptedError,
    redact_urls,
)
from kagman.remote.hosts import host_of, why
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref
from kagman.remote.retry import RETRYABLE_STATUSES, Retry, parse_retry_after, with_retries

if TYPE_CHECKING:
    import requests

__all__ = [
    "PAGE_SIZE",
    "RULES_WAIT_HINT",
    "RemoteFile",
    "call_api",
    "endpoint",
    "kaggle_client",
    "list_pages",
    "next_page",
    "open_blob",
    "redirect_url",
    "translate_errors",
    "unreachable_message",
    "who",
    "whoami",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset version (``ListDatasetFiles``) or competition (``ListDataFiles``)."""

    name: str  # the path inside the data, with folders: "train/cat/1.jpg"
    size: int  # bytes
    modified: datetime | None = None  # Kaggle's creationDate of the file


PAGE_SIZE = 200  # what kagglehub asks of Kaggle's listings; fewer round trips than the default 20


def endpoint() -> str:
    """The API endpoint kagglesdk will talk to, from ``KAGGLE_API_ENVIRONMENT``."""
    from kagglesdk.kaggle_env import get_endpoint, get_env

    try:
        return str(get_endpoint(get_env()))
    except Exception as err:  # kagglesdk raises a bare Exception for unknown values
        msg = f"{err}. Unset KAGGLE_API_ENVIRONMENT or set it to PROD, TEST or LOCALHOST."
        raise InvalidArgumentError(msg) from err


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kagman")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def kaggle_client(
    credentials: Credentials | None, processor: Callable[[Any], None] | None = None
) -> Any:
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
    ref: Ref | None = None, credentials: Credentials | None = None
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
        "data already cached works with --offline."
    )


def call_api(fn: Callable[[], T], ref: Ref | None, creds: Credentials | None) -> T:
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


def _http_error(err: requests.HTTPError, ref: Ref | None, creds: Credentials | None) -> KagmanError:
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
        fix = (
            renew_advice(creds)
            if creds is not None
            else "Create a new token at https://www.kaggle.com/settings/api and run "
            "`kagman init` with it."
        )
        msg = (
            f"Kaggle rejected your credentials{where}: the key or token is wrong, expired or "
            f"revoked. {fix}"
        )
        return CredentialsRejectedError(msg)
    if isinstance(ref, CompetitionRef) and status in (403, 404):
        return _competition_error(ref, status, _short(err), creds)
    if status == 403 and isinstance(ref, DatasetRef):
        msg = (
            f"Kaggle refused access to {name} (403): you must accept the dataset's rules "
            f"first. Open {ref.url}, accept them (signed in as the same user as your key), "
            "then pull again. If the dataset is private, ask its owner to share it with you."
        )
        return TermsNotAcceptedError(msg, ref=name, status=status)
    if status == 404 and isinstance(ref, DatasetRef):
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


#: How to wait for the rules, in the 403 message (left out once kagman is waiting).
#: How to wait for the rules: (Python, the command line).
RULES_WAIT_HINT = (
    " (pass wait_for_rules=True to wait while you do)",
    " (add --wait-for-rules to wait here while you do)",
)


def _competition_error(
    ref: CompetitionRef, status: int, kaggle_says: str, creds: Credentials | None
) -> KagmanError:
    if status == 404:
        msg = (
            f"Kaggle has no competition {ref.slug!r}, or it is private and your account has not "
            f"joined it. Check the name against {ref.url}. (A dataset is named owner/slug: "
            "drop -c to pull one.)"
        )
        return CompetitionNotFoundError(msg, ref=ref.slug, status=status)
    if "must accept" in kaggle_says.lower() and "rule" in kaggle_says.lower():
        msg = (
            f"You have not accepted the rules of the competition {ref.slug}, so Kaggle refuses "
            f"its data (403: {kaggle_says}) The API cannot accept them for you: open "
            f"{ref.rules_url} in a browser, signed in as {who(creds)}, accept the rules, then "
            "run the same command again"
        )
        refused = RulesNotAcceptedError(f"{msg}{RULES_WAIT_HINT[0]}.", ref=ref.slug, status=status)
        refused.cli_message = f"{msg}{RULES_WAIT_HINT[1]}."
        return refused
    msg = (
        f"Kaggle refuses the data of the competition {ref.slug} (403: {kaggle_says}) This is "
        "not about its rules: the competition is private, or it has ended and does not allow "
        f"late downloads. See {ref.url}; only the host can change this."
    )
    return AccessDeniedError(msg, ref=ref.slug, status=status)


def who(creds: Credentials | None) -> str:
    """The Kaggle user credentials belong to, for messages: name, masked key, where from."""
    if creds is None:
        return "the Kaggle user whose credentials kagman uses"
    if creds.token is not None:
        return f"the user of the API token {mask(creds.token)} (from {creds.source})"
    return f"{creds.username} (the user of the key {mask(creds.key or '')}, from {creds.source})"


def _short(err: BaseException) -> str:
    """The first line of an error, without URL query strings (a signed URL's is a secret)."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    text = redact_urls(text)
    return text if len(text) < 200 else text[:197] + "..."


def list_pages(
    ref: Ref,
    creds: Credentials,
    new_request: Callable[[], Any],
    send: Callable[[Any, Any], Any],
    files_of: Callable[[Any], Any],
) -> list[RemoteFile]:
    """Every file of a paged listing (``ListDatasetFiles``, ``ListDataFiles``).

    ``new_request()`` makes one request of the call (its own fields set), ``send(client,
    request)`` makes the call, ``files_of(page)`` the page's files. Pages of
    :data:`PAGE_SIZE`, followed by their tokens until the last (a repeated token is an
    error: :func:`next_page`).
    """
    files: list[RemoteFile] = []
    token = ""
    while True:
        request = new_request()
        request.page_size = PAGE_SIZE
        if token:
            request.page_token = token

        def ask(request: Any = request) -> Any:
            with kaggle_client(creds) as client:
                return send(client, request)

        page = call_api(ask, ref, creds)
        files += [
            RemoteFile(str(f.name), int(f.total_bytes or 0), f.creation_date)
            for f in files_of(page) or []
        ]
        token = next_page(page.next_page_token, token, ref)
        if not token:
            return files


def next_page(token: str | None, previous: str, ref: object) -> str:
    """The next page token, refusing one Kaggle already gave (a listing that never ends)."""
    following = str(token or "")
    if following and following == previous:
        msg = f"Kaggle repeated a page token while listing the files of {ref}. Try again later."
        raise ServerError(msg)
    return following


def redirect_url(call: Callable[[Any], Any], ref: Ref, creds: Credentials) -> str:
    """Make one download call (``DownloadDataset``, ``DownloadDataFiles``...) and return the
    signed storage URL it redirects to, without following it (one request).

    kagglesdk follows redirects inside ``Session.send`` and then parses a JSON blob's body
    itself (a ``.json`` data file arrives consumed); refusing the redirect keeps the
    storage request ours: streamed, resumable, and sent without Kaggle's credentials.
    """

    def ask() -> str:
        with kaggle_client(creds) as client:
            session = client.http_client()._session  # created by KaggleClient.__enter__
            session.send = functools.partial(session.send, allow_redirects=False)
            response = call(client)
            with response:
                location = response.headers.get("Location")
                if not response.is_redirect or not location:
                    msg = (
                        f"Kaggle's download call for {ref} answered {response.status_code} "
                        "without a download link. Try again later."
                    )
                    raise ServerError(msg, ref=ref.name, status=response.status_code)
                return str(urljoin(response.url, location))

    return call_api(ask, ref, creds)


@contextlib.contextmanager
def open_blob(url: str, ref: Ref, creds: Credentials | None) -> Iterator[requests.Response]:
    """GET a signed storage URL (streamed, retried, errors translated); yield the response."""
    import requests

    from kagman.remote.answers import TIMEOUT

    def get() -> requests.Response:
        response = requests.get(url, stream=True, timeout=TIMEOUT)
        try:
            response.raise_for_status()
        except requests.HTTPError:
            response.close()
            raise
        return response

    with call_api(get, ref, creds) as response:
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
        with kaggle_client(creds, keep_json) as client:
            # kagglesdk has no binding for the DiagnosticsService; kagglehub calls it the same way.
            client.http_client().call(
                "api.v1.DiagnosticsService", "Hello", ApiGetDatasetRequest(), None
            )

    call_api(call, None, creds)
    username = seen.get("userName")
    if not username:
        msg = f"Kaggle did not recognise the credentials from {creds.source}. {renew_advice(creds)}"
        raise CredentialsRejectedError(msg)
    return str(username)


def _introspect(creds: Credentials) -> str:
    from kagglesdk.security.types.oauth_service import IntrospectTokenRequest

    request = IntrospectTokenRequest()
    request.token = creds.token or ""

    def call() -> Any:
        with kaggle_client(creds) as client:
            return client.security.oauth_client.introspect_token(request)

    response = call_api(call, None, creds)
    if not response.active or not response.username:
        msg = (
            f"Kaggle says the access token {mask(creds.token or '')} from {creds.source} "
            f"is not active (expired or revoked). {renew_advice(creds)}"
        )
        raise CredentialsRejectedError(msg)
    return str(response.username)
