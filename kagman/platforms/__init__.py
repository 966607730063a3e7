"""Where the code runs, and the local services a notebook platform offers there.

::

    detect    the platform from a few environment lookups (local, Kaggle Notebooks,
              Colab, plain Jupyter); the Environment report behind kagman.environment()
    services  the wire protocols of Kaggle's data proxy (attach a data source) and of
              Colab's runtime service (is a dataset cached? mount it)

Detection costs a few ``os.environ`` lookups: nothing is imported (IPython, google.colab,
requests) unless the variables say the platform is there and a caller needs it.
kagglesdk's ``kaggle_env``, kagglehub's ``env``/``config``/``clients`` and its
``*_cache_resolver`` modules are the spec.
May import: :mod:`kagman.settings`, :mod:`kagman.errors`. The resolvers and the
credentials package build on it; it knows nothing of Kaggle's API or of the cache.
"""

from __future__ import annotations

from kagman.platforms.detect import (
    Environment,
    colab_cache_addr,
    colab_secrets_available,
    detect,
    in_colab,
    in_jupyter,
    in_kaggle_notebook,
    kaggle_mount_enabled,
)

__all__ = [
    "Environment",
    "colab_cache_addr",
    "colab_secrets_available",
    "detect",
    "in_colab",
    "in_jupyter",
    "in_kaggle_notebook",
    "kaggle_mount_enabled",
]
