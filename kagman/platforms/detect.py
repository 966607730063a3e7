"""Which notebook platform the code runs on, from a few environment lookups.

=================  =========================================================================
platform           detected by
=================  =========================================================================
Kaggle Notebooks   ``KAGGLE_KERNEL_RUN_TYPE`` with ``KAGGLE_DATA_PROXY_URL`` (kagglesdk's
                   ``is_in_kaggle_notebook``); ``DISABLE_KAGGLE_CACHE`` turns attaching off
Google Colab       ``COLAB_RELEASE_TAG`` or ``COLAB_BACKEND_VERSION`` (every runtime sets
                   them), or ``TBE_RUNTIME_ADDR`` (the runtime service of a managed runtime,
                   which mounts datasets from Colab's cache; ``DISABLE_COLAB_CACHE`` turns it
                   off). Secrets need an importable ``google.colab`` too.
Jupyter            an IPython ``ZMQInteractiveShell`` already running (``sys.modules`` only)
=================  =========================================================================

kagglehub asks IPython whether it runs in Colab, which cannot work from a command
line (``!kagman pull ...`` in a cell runs a child process with no IPython); the
variables are inherited by child processes, so kagman reads those.
"""

from __future__ import annotations

import html
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from kagman.settings import (
    COLAB_MARKER_ENVS,
    COLAB_MOUNT_ENV,
    COLAB_MOUNT_OFF_ENV,
    COLAB_RUNTIME_ENV,
    KAGGLE_MOUNT_ENV,
    KAGGLE_MOUNT_OFF_ENV,
    KAGGLE_PROXY_URL_ENV,
    KAGGLE_RUN_TYPE_ENV,
    env_switch,
    mount_root,
)

__all__ = [
    "Environment",
    "Platform",
    "colab_cache_addr",
    "colab_secrets_available",
    "detect",
    "in_colab",
    "in_jupyter",
    "in_kaggle_notebook",
    "kaggle_mount_enabled",
]

Platform = Literal["local", "kaggle", "colab", "jupyter"]

_LABELS: dict[str, str] = {
    "local": "local Python (no notebook platform)",
    "kaggle": "Kaggle notebook",
    "colab": "Google Colab",
    "jupyter": "Jupyter (no notebook platform)",
}


def in_kaggle_notebook() -> bool:
    """Whether this is a Kaggle notebook whose data proxy can attach data sources.

    kagglesdk's ``kaggle_env.is_in_kaggle_notebook()``: ``KAGGLE_KERNEL_RUN_TYPE``
    set and ``KAGGLE_DATA_PROXY_URL`` set (kagman also wants the URL non-empty).
    It also decides whether ``KAGGLE_API_V1_TOKEN`` is read (see
    :func:`kagman.credentials.resolve_credentials`).
    """
    return KAGGLE_RUN_TYPE_ENV in os.environ and bool(os.environ.get(KAGGLE_PROXY_URL_ENV))


def kaggle_mount_enabled() -> bool:
    """In a Kaggle notebook, and ``DISABLE_KAGGLE_CACHE`` is not on."""
    return in_kaggle_notebook() and not env_switch(KAGGLE_MOUNT_OFF_ENV)


def colab_cache_addr() -> str | None:
    """``host:port`` of Colab's runtime service when its dataset cache may be used, else None.

    ``TBE_RUNTIME_ADDR`` (managed runtimes only), unless ``DISABLE_COLAB_CACHE`` is on.
    """
    addr = os.environ.get(COLAB_RUNTIME_ENV, "").strip()
    if not addr or env_switch(COLAB_MOUNT_OFF_ENV):
        return None
    return addr


def in_colab() -> bool:
    """Whether the variables of a Colab runtime are set (no import)."""
    return any(os.environ.get(name) for name in (*COLAB_MARKER_ENVS, COLAB_RUNTIME_ENV))


def colab_secrets_available() -> bool:
    """In Colab (its variables), with ``google.colab`` importable: secrets can be asked for.

    Looks for the module without importing it (``find_spec`` imports only the
    ``google`` namespace package), and only when the Colab variables are set.
    """
    if not any(os.environ.get(name) for name in COLAB_MARKER_ENVS):
        return False
    from importlib.util import find_spec

    try:
        return find_spec("google.colab") is not None
    except (ImportError, ValueError):  # no "google" package, or a broken stand-in
        return False


def in_jupyter() -> bool:
    """Whether we run inside a Jupyter (ZMQ) kernel; looks at ``sys.modules`` only."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if get_ipython is not None else None
    return type(ip).__name__ == "ZMQInteractiveShell"


@dataclass(frozen=True)
class Environment:
    """Where kagman runs, and how a pull will be answered there. Never holds a secret.

    Attributes
    ----------
    platform
        ``"kaggle"``, ``"colab"``, ``"jupyter"`` (a Jupyter kernel elsewhere) or ``"local"``.
    jupyter
        Inside a Jupyter kernel (also true in Kaggle and Colab notebooks).
    kaggle_mount
        Where Kaggle's data proxy mounts attached datasets, when attaching is on.
    colab_cache
        Where Colab's runtime service mounts datasets from Colab's cache, when on.
    colab_secrets
        Colab's secrets (``google.colab.userdata``) can be asked for credentials.
    resolvers
        The resolvers a pull tries, in order (filled by :func:`kagman.environment`).
    notes
        Sentences about what is off and why (a ``DISABLE_*`` variable, a missing proxy).
    """

    platform: Platform
    jupyter: bool = False
    kaggle_mount: Path | None = None
    colab_cache: Path | None = None
    colab_secrets: bool = False
    resolvers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The platform for people: ``"Kaggle notebook"``, ``"Google Colab"``, ..."""
        return _LABELS[self.platform]

    @property
    def summary(self) -> str:
        """One line, for ``kagman doctor``: the platform and the resolvers in order."""
        kernel = (
            " (Jupyter kernel)" if self.jupyter and self.platform in ("kaggle", "colab") else ""
        )
        tries = ", ".join(self.resolvers) or "(not computed)"
        return f"{self.label}{kernel}; pulls try: {tries}"

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (paths as strings), for ``--json`` output."""
        data = asdict(self)
        for name in ("kaggle_mount", "colab_cache"):
            data[name] = None if data[name] is None else str(data[name])
        data["resolvers"], data["notes"] = list(self.resolvers), list(self.notes)
        data["label"] = self.label
        return data

    def __str__(self) -> str:
        kernel = " (Jupyter kernel)" if self.jupyter and self.platform != "jupyter" else ""
        lines = [f"Platform:       {self.label}{kernel}"]
        if self.kaggle_mount is not None:
            lines.append(f"Kaggle mounts:  {self.kaggle_mount} (attached through the data proxy)")
        if self.colab_cache is not None:
            lines.append(f"Colab cache:    {self.colab_cache} (mounted by the runtime service)")
        if self.platform == "colab":
            lines.append(f"Colab secrets:  {'read' if self.colab_secrets else 'not available'}")
        lines.append(f"Pulls try:      {', '.join(self.resolvers) or '(not computed)'}")
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Environment {self.summary}>"

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def _notes() -> list[str]:
    notes = []
    if KAGGLE_RUN_TYPE_ENV in os.environ and not in_kaggle_notebook():
        notes.append(
            f"{KAGGLE_RUN_TYPE_ENV} is set but {KAGGLE_PROXY_URL_ENV} is not: datasets cannot "
            "be attached to this notebook, so kagman downloads them."
        )
    if in_kaggle_notebook() and env_switch(KAGGLE_MOUNT_OFF_ENV):
        notes.append(f"{KAGGLE_MOUNT_OFF_ENV} is on: datasets are downloaded, not attached.")
    if os.environ.get(COLAB_RUNTIME_ENV) and env_switch(COLAB_MOUNT_OFF_ENV):
        notes.append(f"{COLAB_MOUNT_OFF_ENV} is on: Colab's dataset cache is not used.")
    if in_colab() and not os.environ.get(COLAB_RUNTIME_ENV):
        notes.append(
            f"No {COLAB_RUNTIME_ENV} (not a managed runtime): Colab's dataset cache is unavailable."
        )
    markers = any(os.environ.get(name) for name in COLAB_MARKER_ENVS)
    if markers and not colab_secrets_available():
        notes.append("google.colab cannot be imported here: Colab's secrets are not read.")
    return notes


def detect() -> Environment:
    """The platform and what it offers, from the environment variables (no network, no import).

    Returns
    -------
    Environment
        With ``resolvers`` empty: :func:`kagman.environment` fills them in.
    """
    jupyter = in_jupyter()
    platform: Platform
    if KAGGLE_RUN_TYPE_ENV in os.environ:
        platform = "kaggle"
    elif in_colab():
        platform = "colab"
    else:
        platform = "jupyter" if jupyter else "local"
    return Environment(
        platform=platform,
        jupyter=jupyter,
        kaggle_mount=mount_root(KAGGLE_MOUNT_ENV) if kaggle_mount_enabled() else None,
        colab_cache=mount_root(COLAB_MOUNT_ENV) if colab_cache_addr() else None,
        colab_secrets=colab_secrets_available(),
        notes=tuple(_notes()),
    )
