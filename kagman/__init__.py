"""kagman: a Kaggle dataset manager for notebooks and terminals.

``import kagman`` is cheap: it touches no network and no disk, and imports
neither pandas nor the Kaggle client. Public functions are loaded on first use
through module ``__getattr__`` (PEP 562). The modules behind ``pull`` and
``index`` are named ``datasets`` and ``images`` on purpose: a submodule named
``kagman.pull`` would shadow the function ``kagman.pull`` once imported.

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
    "whoami": "kagman.kaggle_api",
    "DatasetRef": "kagman.handle",
    "parse_ref": "kagman.handle",
    "pull": "kagman.datasets",
    "cache_dir": "kagman.cache",
    "index": "kagman.images",
    "ImageIndex": "kagman.images",
}

__all__ = [
    "CredentialsStatus",
    "DatasetRef",
    "ImageIndex",
    "__version__",
    "cache_dir",
    "credentials_status",
    "index",
    "init",
    "parse_ref",
    "pull",
    "whoami",
]
__all__ += _error_names  # noqa: PLE0605 - the error names, kept in one place

if TYPE_CHECKING:
    from kagman.cache import cache_dir
    from kagman.credentials import CredentialsStatus, credentials_status, init
    from kagman.datasets import pull
    from kagman.handle import DatasetRef, parse_ref
    from kagman.images import ImageIndex, index
    from kagman.kaggle_api import whoami


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module 'kagman' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
