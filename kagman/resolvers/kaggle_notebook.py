"""The Kaggle-notebook resolver: ask the notebook's data proxy to attach the data, use the mount.

kagglehub's ``DatasetKaggleCacheResolver`` and ``CompetitionKaggleCacheResolver``
(``kaggle_cache_resolver.py``) are the spec, for datasets and competitions alike:

1. POST the data source to the data proxy (:func:`kagman.platforms.services.attach_datasource`);
2. the answer's ``mountSlug`` names ``${KAGGLE_CACHE_MOUNT_FOLDER:-/kaggle/input}/<mountSlug>``;
3. wait for that folder (:func:`~kagman.resolvers.mounted.wait_for_mount`), return it (or the
   file asked for inside it). No request goes to Kaggle's API and nothing is downloaded.

A refused attach or a mount that does not appear in time is not an error: kagman
warns and the next resolvers (the cache, the download) answer instead. The one
place that knows what a data source looks like on the wire is :func:`datasource`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kagman.platforms.detect import kaggle_mount_enabled
from kagman.remote.refs import CompetitionRef, DatasetRef, Ref
from kagman.resolvers.base import Request
from kagman.resolvers.mounted import answer_from_mount, fall_back, wait_for_mount
from kagman.settings import KAGGLE_MOUNT_ENV, mount_root

__all__ = ["KaggleNotebookResolver", "datasource"]


def datasource(ref: Ref) -> dict[str, Any]:
    """The attach request's body for ``ref``, as kagglehub sends it.

    A dataset's version goes as a string, and only when pinned (the proxy attaches the
    latest otherwise); a competition is ``{"competitionRef": {"CompetitionSlug": slug}}``.

    >>> datasource(DatasetRef("alice", "cats", 3))
    {'datasetRef': {'OwnerSlug': 'alice', 'DatasetSlug': 'cats', 'VersionNumber': '3'}}
    >>> datasource(CompetitionRef("titanic"))
    {'competitionRef': {'CompetitionSlug': 'titanic'}}
    """
    if isinstance(ref, CompetitionRef):
        return {"competitionRef": {"CompetitionSlug": ref.slug}}
    dataset = {"OwnerSlug": ref.owner, "DatasetSlug": ref.slug}
    if ref.version is not None:
        dataset["VersionNumber"] = str(ref.version)
    return {"datasetRef": dataset}


def _kind(ref: Ref) -> str:
    return "dataset" if isinstance(ref, DatasetRef) else "competition"


class KaggleNotebookResolver:
    """Datasets and competitions attached to a Kaggle notebook by its data proxy (kagglehub's
    Kaggle cache)."""

    name = "kaggle-notebook"

    def available(self) -> bool:
        """In a Kaggle notebook with a data proxy, unless ``DISABLE_KAGGLE_CACHE`` is on."""
        return kaggle_mount_enabled()

    def is_supported(self, request: Request) -> bool:
        """Every pull there, but ``force`` (download again) and ``mount=False`` (--no-mount)."""
        return request.mount and not request.force and kaggle_mount_enabled()

    def resolve(self, request: Request) -> Path | None:
        """Attach, wait for the mount, return its path; ``None`` (with a warning) if it fails.

        Raises
        ------
        DatasetNotFoundError, CompetitionNotFoundError
            The data is mounted but ``request.file`` is neither a file nor a folder in it.
        """
        from kagman.platforms.services import ServiceError, attach_datasource

        what = f"{_kind(request.ref)} {request.ref}"
        try:
            attached = attach_datasource(datasource(request.ref))
        except ServiceError as err:
            fall_back(
                f"The Kaggle notebook's data proxy did not attach {what}: {err.reason}.", request
            )
            return None
        folder = mount_root(KAGGLE_MOUNT_ENV) / attached.mount_slug
        if not wait_for_mount(folder, who="Kaggle", did="attached", what=what, request=request):
            return None
        return answer_from_mount(folder, request, what=_kind(request.ref))
