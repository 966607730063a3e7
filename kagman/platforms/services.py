"""The wire protocols of the notebook platforms' local services (kagglehub's ``clients.py``).

Kaggle Notebooks' data proxy (``KaggleJwtClient``)::

    POST $KAGGLE_DATA_PROXY_URL/kaggle-jwt-handler/AttachDatasourceUsingJwtRequest
    X-Kaggle-Authorization: Bearer $KAGGLE_USER_SECRETS_TOKEN
    X-KAGGLE-PROXY-DATA: $KAGGLE_DATA_PROXY_TOKEN
    {"datasetRef": {"OwnerSlug": ..., "DatasetSlug": ..., "VersionNumber": "N"}}
    -> {"wasSuccessful": true, "result": {"mountSlug": ..., "versionNumber": N}}

Colab's runtime service (``ColabClient``; Basic or Bearer auth with the user's Kaggle
credentials, when there are any)::

    POST http://$TBE_RUNTIME_ADDR/kagglehub/datasets/is_supported  {"owner", "dataset", "version"?}
         -> 200, or 404 when Colab's cache does not hold it
    POST http://$TBE_RUNTIME_ADDR/kagglehub/datasets/mount         (same body) -> {"slug": ...}

Every failure is a :class:`ServiceError` whose ``reason`` is a short phrase for a
warning; no token ever appears in it. ``requests`` is imported only when a call is made.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kagman.settings import KAGGLE_JWT_ENV, KAGGLE_PROXY_TOKEN_ENV, KAGGLE_PROXY_URL_ENV

__all__ = [
    "ATTACH_PATH",
    "COLAB_IS_SUPPORTED_PATH",
    "COLAB_MOUNT_PATH",
    "Attached",
    "ServiceAuth",
    "ServiceError",
    "attach_datasource",
    "colab_is_cached",
    "colab_mount",
]

ATTACH_PATH = "/kaggle-jwt-handler/AttachDatasourceUsingJwtRequest"
COLAB_IS_SUPPORTED_PATH = "/kagglehub/datasets/is_supported"
COLAB_MOUNT_PATH = "/kagglehub/datasets/mount"
CONNECT_TIMEOUT = 5.0  # seconds, kagglehub's DEFAULT_CONNECT_TIMEOUT
ATTACH_READ_TIMEOUT = 30.0  # kagglehub's ATTACH_DATASOURCE_READ_TIMEOUT (b/312965617)
COLAB_READ_TIMEOUT = 15.0  # kagglehub's DEFAULT_READ_TIMEOUT

# Basic (username, key), a Bearer token, or nothing.
ServiceAuth = tuple[str, str] | str | None


class ServiceError(Exception):
    """A platform service could not be reached, refused, or answered something unusable."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Attached:
    """What the data proxy said: the folder name under the mount root, and the version."""

    mount_slug: str
    version: int | None


def _slug(value: object, field: str, service: str) -> str:
    """A folder name the service gave; refused if it could leave the mount root."""
    if not isinstance(value, str) or value in ("", ".", "..") or "/" in value or "\\" in value:
        msg = f"{service} answered without a usable {field!r} ({value!r})"
        raise ServiceError(msg)
    return value


def _detail(response: Any) -> str:
    """The service's own error words, short (never a header)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    words = body.get("errors") or body.get("error")
    if isinstance(words, list):
        words = "; ".join(str(w) for w in words)
    return f": {str(words)[:200]}" if words else ""


def _post(
    url: str, body: Mapping[str, Any], headers: dict[str, str], read: float, auth: Any
) -> Any:
    import requests

    try:
        return requests.post(
            url,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-type": "application/json", **headers},
            auth=auth,
            timeout=(CONNECT_TIMEOUT, read),
        )
    except requests.RequestException as err:
        msg = f"could not reach {url.split('/', 3)[2]} ({type(err).__name__})"
        raise ServiceError(msg) from None


def attach_datasource(datasource: Mapping[str, Any]) -> Attached:
    """Ask Kaggle's data proxy to attach a data source to this notebook.

    Parameters
    ----------
    datasource
        The request body: ``{"datasetRef": {...}}`` (``{"competitionRef":
        {"CompetitionSlug": ...}}`` for a competition).

    Returns
    -------
    Attached
        The mount folder's name (under ``$KAGGLE_CACHE_MOUNT_FOLDER``) and the version.

    Raises
    ------
    ServiceError
        A token variable is missing, the proxy cannot be reached, answers an HTTP
        error, ``wasSuccessful: false``, or no ``mountSlug``.
    """
    tokens = {}
    for name in (KAGGLE_JWT_ENV, KAGGLE_PROXY_TOKEN_ENV):
        tokens[name] = os.environ.get(name, "")
        if not tokens[name]:
            msg = f"{name} is not set, so the data proxy cannot be asked"
            raise ServiceError(msg)
    endpoint = os.environ.get(KAGGLE_PROXY_URL_ENV, "").rstrip("/")
    headers = {
        "X-Kaggle-Authorization": f"Bearer {tokens[KAGGLE_JWT_ENV]}",
        "X-KAGGLE-PROXY-DATA": tokens[KAGGLE_PROXY_TOKEN_ENV],
    }
    with _post(endpoint + ATTACH_PATH, datasource, headers, ATTACH_READ_TIMEOUT, None) as reply:
        if reply.status_code >= 400:
            msg = f"the data proxy answered HTTP {reply.status_code}{_detail(reply)}"
            raise ServiceError(msg, status=reply.status_code)
        try:
            answer = reply.json()
        except ValueError:
            answer = None
    if not isinstance(answer, dict) or answer.get("wasSuccessful") is not True:
        errors = answer.get("errors") if isinstance(answer, dict) else None
        words = "; ".join(map(str, errors))[:200] if isinstance(errors, list) else "no reason given"
        msg = f"the data proxy refused the attach ({words})"
        raise ServiceError(msg)
    result = answer.get("result")
    if not isinstance(result, dict):
        msg = "the data proxy answered without a 'result'"
        raise ServiceError(msg)
    version = result.get("versionNumber")
    return Attached(
        _slug(result.get("mountSlug"), "mountSlug", "the data proxy"),
        version if isinstance(version, int) and not isinstance(version, bool) else None,
    )


def _colab_auth(auth: ServiceAuth) -> Any:
    if auth is None:
        return None
    if isinstance(auth, tuple):
        from requests.auth import HTTPBasicAuth

        return HTTPBasicAuth(*auth)

    def bearer(request: Any) -> Any:  # kagglesdk's KaggleHttpClient.BearerAuth
        request.headers["Authorization"] = f"Bearer {auth}"
        return request

    return bearer


def colab_is_cached(addr: str, body: Mapping[str, Any], auth: ServiceAuth) -> bool:
    """Whether Colab's cache holds the dataset ``body`` names (404 means no).

    Raises
    ------
    ServiceError
        Unreachable, or any answer other than 2xx and 404.
    """
    url = f"http://{addr}{COLAB_IS_SUPPORTED_PATH}"
    with _post(url, body, {}, COLAB_READ_TIMEOUT, _colab_auth(auth)) as reply:
        if reply.status_code == 404:
            return False
        if reply.status_code >= 400:
            msg = f"Colab's runtime service answered HTTP {reply.status_code}{_detail(reply)}"
            raise ServiceError(msg, status=reply.status_code)
    return True


def colab_mount(addr: str, body: Mapping[str, Any], auth: ServiceAuth) -> str:
    """Ask Colab's runtime service to mount a cached dataset; return the folder's name.

    Raises
    ------
    ServiceError
        Unreachable, an HTTP error, or an answer without ``slug``.
    """
    url = f"http://{addr}{COLAB_MOUNT_PATH}"
    with _post(url, body, {}, COLAB_READ_TIMEOUT, _colab_auth(auth)) as reply:
        if reply.status_code >= 400:
            msg = f"Colab's runtime service answered HTTP {reply.status_code}{_detail(reply)}"
            raise ServiceError(msg, status=reply.status_code)
        try:
            answer = reply.json() if reply.text else None
        except ValueError:
            answer = None
    slug = answer.get("slug") if isinstance(answer, dict) else None
    return _slug(slug, "slug", "Colab's runtime service")
