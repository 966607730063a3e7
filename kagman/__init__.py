"""kagman: a Kaggle dataset manager for notebooks and terminals.

``import kagman`` is cheap: it touches no network and no disk, and imports
neither pandas nor the Kaggle client. Public functions are loaded on first use
through module ``__getattr__`` (PEP 562). No submodule is named like a public
function (``kagman.pull`` lives in :mod:`kagman.api`): a submodule ``kagman.pull``
would shadow the function once imported.

The packages, from the top down (imports run one way)::

    cli          the ``kagman`` command: a thin layer over the API
    api          pull(), pull_competition(), files(), load(), index(), show(), environment():
                 user input into requests for the domain
    resolvers    the pull flow (notebook mounts, cache, download) | images | tables
                 | diagnostics: doctor()
    remote       Kaggle: refs, client, retries, transfer | cache (also cached(), cache_info(),
                 cached_path(), remove(), prune(), verify()) | archive | credentials
    ui, platforms              progress and warnings; where the code runs (Kaggle, Colab, Jupyter)
    settings, fs, errors       leaves

Examples
--------
In a notebook (these need Kaggle, so they are shown, not doctested)::

    import kagman
    path = kagman.pull("owner/dataset")
    idx = kagman.index(path)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kagman.errors import *  # noqa: F403  (the hierarchy is small and import-free)
from kagman.errors import __all__ as _error_names

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "init": "kagman.credentials",
    "credentials_status": "kagman.credentials",
    "CredentialsStatus": "kagman.credentials",
    "whoami": "kagman.remote.client",
    "DatasetRef": "kagman.remote.refs",
    "CompetitionRef": "kagman.remote.refs",
    "parse_ref": "kagman.remote.refs",
    "parse_competition": "kagman.remote.refs",
    "pull": "kagman.api",
    "pull_competition": "kagman.api",
    "files": "kagman.api",
    "load": "kagman.api",
    "cache_dir": "kagman.cache.paths",
    "cached": "kagman.cache.info",
    "cache_info": "kagman.cache.info",
    "CacheInfo": "kagman.cache.info",
    "cached_path": "kagman.cache.lookup",
    "remove": "kagman.cache.removal",
    "prune": "kagman.cache.prune",
    "verify": "kagman.cache.verify",
    "doctor": "kagman.diagnostics",
    "DoctorReport": "kagman.diagnostics",
    "index": "kagman.api",
    "show": "kagman.api",
    "progress": "kagman.ui.progress",
    "environment": "kagman.api",
    "Environment": "kagman.platforms",
    "ImageIndex": "kagman.images",
}

__all__ = [
    "CacheInfo",
    "CompetitionRef",
    "CredentialsStatus",
    "DatasetRef",
    "DoctorReport",
    "Environment",
    "ImageIndex",
    "__version__",
    "cache_dir",
    "cache_info",
    "cached",
    "cached_path",
    "credentials_status",
    "doctor",
    "environment",
    "files",
    "index",
    "init",
    "load",
    "parse_competition",
    "parse_ref",
    "progress",
    "prune",
    "pull",
    "pull_competition",
    "remove",
    "show",
    "verify",
    "whoami",
]
__all__ += _error_names  # noqa: PLE0605 - the error names, kept in one place

if TYPE_CHECKING:
    from kagman.api import environment, files, index, load, pull, pull_competition, show
    from kagman.cache.info import CacheInfo, cache_info, cached
    from kagman.cache.lookup import cached_path
    from kagman.cache.paths import cache_dir
    from kagman.cache.prune import prune
    from kagman.cache.removal import remove
    from kagman.cache.verify import verify
    from kagman.credentials import CredentialsStatus, credentials_status, init
    from kagman.diagnostics import DoctorReport, doctor
    from kagman.images import ImageIndex
    from kagman.platforms import Environment
    from kagman.remote.client import whoami
    from kagman.remote.refs import CompetitionRef, DatasetRef, parse_competition, parse_ref
    from kagman.ui.progress import progress


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module 'kagman' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # The public names only: not this module's own helpers (importlib, Any, annotations).
    return sorted(__all__)
