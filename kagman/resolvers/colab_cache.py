"""The Colab resolver: datasets Colab's runtime service mounts from Colab's own cache.

kagglehub's ``DatasetColabCacheResolver`` (``colab_cache_resolver.py``) is the spec:
ask ``is_supported`` (404: not in Colab's cache, so the next resolver answers, quietly),
then ``mount``; the answer's ``slug`` names
``${COLAB_CACHE_MOUNT_FOLDER:-/kaggle/input}/<slug>``. Both requests carry the user's
Kaggle credentials, as kagglehub sends them (Basic for a key, Bearer for a token,
nothing when there are none). kagglehub asks ``is_supported`` while choosing a
resolver; kagman's :meth:`ColabCacheResolver.is_supported` stays free of network
calls and asks in :meth:`ColabCacheResolver.resolve`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kagman.platforms.detect import colab_cache_addr
from kagman.resolvers.base import PullRequest
from kagman.resolvers.mounted import answer_from_mount, fall_back, wait_for_mount
from kagman.settings import COLAB_MOUNT_ENV, mount_root

if TYPE_CHECKING:
    from kagman.platforms.services import ServiceAuth

__all__ = ["ColabCacheResolver"]

logger = logging.getLogger(__name__)


def _auth() -> ServiceAuth:
    """The user's Kaggle credentials for the runtime service, or None when there are none."""
    from kagman.credentials import resolve_credentials
    from kagman.errors import CredentialsError

    try:
        creds = resolve_credentials()
    except CredentialsError:
        return None  # kagglehub sends no auth then; public datasets may still be cached
    if creds.token is not None:
        return creds.token
    return (creds.username or "", creds.key or "")


class ColabCacheResolver:
    """Datasets in Colab's cache, mounted by the runtime service of a managed Colab runtime."""

    name = "colab-cache"

    def available(self) -> bool:
        """``TBE_RUNTIME_ADDR`` is set and ``DISABLE_COLAB_CACHE`` is not on."""
        return colab_cache_addr() is not None

    def is_supported(self, request: PullRequest) -> bool:
        """Every pull there, but ``force`` and ``mount=False`` (no network call here)."""
        return request.mount and not request.force and colab_cache_addr() is not None

    def resolve(self, request: PullRequest) -> Path | None:
        """Mount from Colab's cache; ``None`` when it is not cached there or mounting fails.

        Raises
        ------
        DatasetNotFoundError
            The dataset is mounted but ``request.file`` is neither a file nor a folder in it.
        """
        from kagman.platforms.services import ServiceError, colab_is_cached, colab_mount

        addr = colab_cache_addr()
        if addr is None:  # pragma: no cover - is_supported said otherwise a moment ago
            return None
        ref = request.ref
        body: dict[str, Any] = {"owner": ref.owner, "dataset": ref.slug}
        if ref.version is not None:
            body["version"] = ref.version  # an int for Colab (kagglehub's comment)
        auth = _auth()
        what = f"dataset {ref}"
        try:
            if not colab_is_cached(addr, body, auth):
                logger.info("%s is not in Colab's cache.", what)
                return None
            slug = colab_mount(addr, body, auth)
        except ServiceError as err:
            hint = ""
            if err.status in (401, 403) and auth is None:
                hint = (
                    " kagman found no Kaggle credentials to send: add KAGGLE_USERNAME and "
                    "KAGGLE_KEY (or KAGGLE_API_TOKEN) as Colab secrets."
                )
            fall_back(f"Colab's cache did not mount {what}: {err.reason}.{hint}", request)
            return None
        folder = mount_root(COLAB_MOUNT_ENV) / slug
        if not wait_for_mount(folder, who="Colab", did="mounted", what=what, request=request):
            return None
        logger.info("Using Colab's cache for %s.", what)
        return answer_from_mount(folder, request, what="dataset")
