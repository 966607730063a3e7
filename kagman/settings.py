"""Every environment variable and fixed location kagman reads, in one place.

Values are read when a function here is called, never at import time (as
kagglehub's ``config.py`` does), so a notebook can change a variable between
two calls and tests can set them per test. Names follow the clients they come
from: ``KAGGLE_*`` mean what they mean to kagglesdk and the ``kaggle`` CLI,
``KAGMAN_*`` are kagman's own.

Kaggle's credentials folder::

    $KAGGLE_CONFIG_DIR, else ~/.kaggle     (kagman, kagglehub; kaggle 2.x too)
    ~/.kaggle                              (kagglesdk: fixed, whatever the variable says)
    $XDG_CONFIG_HOME/kaggle                (kaggle 2.x on Linux when ~/.kaggle is missing)

Where notebook platforms mount datasets (as kagglehub computes it)::

    ${KAGGLE_CACHE_MOUNT_FOLDER:-/kaggle/input}/<mountSlug>   Kaggle Notebooks' data proxy
    ${COLAB_CACHE_MOUNT_FOLDER:-/kaggle/input}/<slug>         Colab's runtime service
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple

from kagman.errors import ConfigError

__all__ = [
    "ACCESS_TOKEN_NAMES",
    "CACHE_ENV",
    "COLAB_MARKER_ENVS",
    "COLAB_MOUNT_ENV",
    "COLAB_MOUNT_OFF_ENV",
    "COLAB_RUNTIME_ENV",
    "COLAB_SECRET_NAMES",
    "CONFIG_DIR_ENV",
    "CONNECTIONS_ENV",
    "DEBUG_ENV",
    "DEFAULT_MOUNT_FOLDER",
    "KAGGLE_JSON",
    "KAGGLE_JWT_ENV",
    "KAGGLE_MOUNT_ENV",
    "KAGGLE_MOUNT_OFF_ENV",
    "KAGGLE_PROXY_TOKEN_ENV",
    "KAGGLE_PROXY_URL_ENV",
    "KAGGLE_RUN_TYPE_ENV",
    "KAGGLE_V1_TOKEN_ENV",
    "KEY_ENV",
    "LIMITS",
    "LOCK_TIMEOUT_ENV",
    "MAX_EXTRACT_BYTES_ENV",
    "MAX_RATIO_ENV",
    "MOUNT_TIMEOUT_ENV",
    "OFFLINE_ENV",
    "PARALLEL_MIN_BYTES_ENV",
    "PROGRESS_ENV",
    "PROXY_ENVS",
    "RETRIES_ENV",
    "RETRY_BACKOFF_ENV",
    "RULES_POLL_ENV",
    "TOKEN_ENV",
    "USERNAME_ENV",
    "Limit",
    "check_environment",
    "config_dir",
    "env_credentials",
    "env_debug",
    "env_flag",
    "env_number",
    "env_progress",
    "env_switch",
    "kaggle_home",
    "mount_root",
    "xdg_kaggle_dir",
]

# --- Kaggle's own variables (read as kagglesdk and the kaggle CLI read them) ----------------
CONFIG_DIR_ENV = "KAGGLE_CONFIG_DIR"
TOKEN_ENV = "KAGGLE_API_TOKEN"  # noqa: S105 - a variable name, not a secret
USERNAME_ENV = "KAGGLE_USERNAME"
KEY_ENV = "KAGGLE_KEY"

# --- kagman's own ----------------------------------------------------------------------------
CACHE_ENV = "KAGMAN_CACHE"
OFFLINE_ENV = "KAGMAN_OFFLINE"
RETRIES_ENV = "KAGMAN_RETRIES"
RETRY_BACKOFF_ENV = "KAGMAN_RETRY_BACKOFF"
LOCK_TIMEOUT_ENV = "KAGMAN_LOCK_TIMEOUT"
MAX_EXTRACT_BYTES_ENV = "KAGMAN_MAX_EXTRACT_BYTES"
MAX_RATIO_ENV = "KAGMAN_MAX_RATIO"
MOUNT_TIMEOUT_ENV = "KAGMAN_MOUNT_TIMEOUT"  # seconds to wait for a notebook mount (120)
PROGRESS_ENV = "KAGMAN_PROGRESS"  # 0: no progress bars; 1: bars even without a terminal
DEBUG_ENV = "KAGMAN_DEBUG"  # 1: errors show their whole chain of causes in notebooks
CONNECTIONS_ENV = "KAGMAN_CONNECTIONS"  # parallel Range requests per download (8)
PARALLEL_MIN_BYTES_ENV = "KAGMAN_PARALLEL_MIN_BYTES"  # smaller objects: one request (8 MiB)

# --- Kaggle Notebooks (as kagglesdk's kaggle_env and kagglehub's kaggle_cache_resolver) -------
KAGGLE_RUN_TYPE_ENV = "KAGGLE_KERNEL_RUN_TYPE"  # set in every Kaggle notebook
KAGGLE_PROXY_URL_ENV = "KAGGLE_DATA_PROXY_URL"  # the data proxy that attaches data sources
KAGGLE_JWT_ENV = "KAGGLE_USER_SECRETS_TOKEN"
KAGGLE_PROXY_TOKEN_ENV = "KAGGLE_DATA_PROXY_TOKEN"  # noqa: S105 - a variable name
KAGGLE_MOUNT_ENV = "KAGGLE_CACHE_MOUNT_FOLDER"
KAGGLE_MOUNT_OFF_ENV = "DISABLE_KAGGLE_CACHE"
KAGGLE_V1_TOKEN_ENV = "KAGGLE_API_V1_TOKEN"  # noqa: S105 - names a token *file* (kagglesdk)

# --- Google Colab (as kagglehub's config and colab_cache_resolver) ---------------------------
COLAB_RUNTIME_ENV = "TBE_RUNTIME_ADDR"  # host:port of the runtime service, no scheme
COLAB_MOUNT_ENV = "COLAB_CACHE_MOUNT_FOLDER"
COLAB_MOUNT_OFF_ENV = "DISABLE_COLAB_CACHE"
COLAB_MARKER_ENVS = ("COLAB_RELEASE_TAG", "COLAB_BACKEND_VERSION")  # set in every runtime
# Colab secrets kagman reads, in kagglehub's order of preference.
COLAB_SECRET_NAMES = (TOKEN_ENV, USERNAME_ENV, KEY_ENV)

DEFAULT_MOUNT_FOLDER = Path("/kaggle/input")

RULES_POLL_ENV = "KAGMAN_RULES_POLL"  # seconds between checks with --wait-for-rules (10)

# --- the network settings requests (and so kagglesdk) reads -----------------------------------
PROXY_ENVS = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)

# --- file names in the credentials folder ----------------------------------------------------
KAGGLE_JSON = "kaggle.json"
# kagglesdk also accepts ".txt", for Windows users whose editor adds it.
ACCESS_TOKEN_NAMES = ("access_token", "access_token.txt")

_TRUTHY = frozenset({"1", "true", "yes", "on"})
_FALSY = frozenset({"0", "false", "no", "off"})
# kagglehub's _is_env_var_truthy accepts "1", "true", "t" for the DISABLE_* variables.
_SWITCH_ON = _TRUTHY | {"t"}


class Limit(NamedTuple):
    """The values a numeric ``KAGMAN_*`` variable may take: ``low`` to ``high`` inclusive,
    whole numbers only when ``whole``; ``unit`` names what it counts (for messages)."""

    low: float
    high: float
    whole: bool
    unit: str


#: Every numeric ``KAGMAN_*`` variable and its range (the README's Configuration table).
#: A value outside it is refused (:class:`~kagman.errors.ConfigError`), never clamped:
#: ``KAGMAN_CONNECTIONS=1e9`` is a typo, not a wish for a billion connections.
LIMITS: dict[str, Limit] = {
    RETRIES_ENV: Limit(0, 100, whole=True, unit="retries"),
    RETRY_BACKOFF_ENV: Limit(0, 600, whole=False, unit="seconds"),
    LOCK_TIMEOUT_ENV: Limit(0, 7 * 86400, whole=False, unit="seconds"),
    MAX_EXTRACT_BYTES_ENV: Limit(1, 1 << 50, whole=True, unit="bytes"),
    MAX_RATIO_ENV: Limit(1, 1_000_000, whole=False, unit="times"),
    MOUNT_TIMEOUT_ENV: Limit(0, 86400, whole=False, unit="seconds"),
    CONNECTIONS_ENV: Limit(1, 64, whole=True, unit="connections"),
    PARALLEL_MIN_BYTES_ENV: Limit(1, 1 << 50, whole=True, unit="bytes"),
    RULES_POLL_ENV: Limit(0.05, 3600, whole=False, unit="seconds"),
}


def _bad(name: str, raw: str, wants: str) -> ConfigError:
    msg = f"{name}={raw!r} is not {wants}. Fix or unset it."
    return ConfigError(msg)


def env_flag(name: str) -> bool:
    """Whether the variable ``name`` is on: ``1``, ``true``, ``yes``, ``on`` (any case); off
    when unset, empty, ``0``, ``false``, ``no`` or ``off``.

    >>> env_flag("KAGMAN_SURELY_UNSET_VARIABLE")
    False

    Raises
    ------
    ConfigError
        Any other value (``KAGMAN_OFFLINE=maybe`` is a typo, not "off").
    """
    raw = os.environ.get(name, "").strip()
    if raw.lower() in _TRUTHY:
        return True
    if not raw or raw.lower() in _FALSY:
        return False
    raise _bad(name, raw, "1 or 0 (true/false, yes/no, on/off)")


def env_debug() -> bool:
    """``KAGMAN_DEBUG`` is on (:func:`env_flag`'s on values). Read while an error is shown,
    so any other value is off, never an error (:mod:`kagman.errors` reads it the same way).
    """
    return os.environ.get(DEBUG_ENV, "").strip().lower() in _TRUTHY


def env_progress() -> bool | None:
    """``KAGMAN_PROGRESS``: ``True`` (bars even without a terminal), ``False`` (no bars), or
    ``None`` when unset (bars where someone watches).

    Raises
    ------
    ConfigError
        A value that is neither :func:`env_flag`'s on nor its off.
    """
    if not os.environ.get(PROGRESS_ENV, "").strip():
        return None
    return env_flag(PROGRESS_ENV)


def env_switch(name: str) -> bool:
    """Whether a ``DISABLE_*`` variable is on: :func:`env_flag`'s values plus kagglehub's ``t``
    (anything else is off, as kagglehub reads these variables).

    >>> env_switch("KAGMAN_SURELY_UNSET_VARIABLE")
    False
    """
    return os.environ.get(name, "").strip().lower() in _SWITCH_ON


def env_number(name: str, default: float) -> float:
    """The numeric variable ``name`` (a key of :data:`LIMITS`), or ``default`` when unset
    or empty.

    >>> env_number("KAGMAN_CONNECTIONS", 8)
    8

    Raises
    ------
    ConfigError
        It is set to something that is not a number, not a whole number where one is
        needed, or outside its :data:`LIMITS` range (the message gives the range).
    """
    limit = LIMITS[name]
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    high = f"{limit.high:g}" if limit.high < 1e6 else f"{int(limit.high):,}"
    wants = f"{'a whole number' if limit.whole else 'a number'} from {limit.low:g} to {high}"
    try:
        value = float(raw)
    except ValueError:
        raise _bad(name, raw, f"{wants} ({limit.unit})") from None
    if not math.isfinite(value) or not limit.low <= value <= limit.high:
        raise _bad(name, raw, f"{wants} ({limit.unit})")
    if limit.whole and not value.is_integer():
        raise _bad(name, raw, f"{wants} ({limit.unit})")
    return int(value) if limit.whole else value


def check_environment() -> None:
    """Read every numeric and yes/no ``KAGMAN_*`` variable now, so a bad value stops a pull
    before it downloads anything (each is read again where it is used).

    Raises
    ------
    ConfigError
        The first variable set to a value it cannot take.
    """
    for name in LIMITS:
        env_number(name, 0)
    env_flag(OFFLINE_ENV)
    env_progress()


def kaggle_home() -> Path:
    """``~/.kaggle``: where kagglesdk always looks, whatever ``KAGGLE_CONFIG_DIR`` says."""
    return Path.home() / ".kaggle"


def config_dir() -> Path:
    """Kaggle's credentials folder: ``$KAGGLE_CONFIG_DIR`` if set, else ``~/.kaggle``.

    Never created here (``kagman init`` creates it).
    """
    value = os.environ.get(CONFIG_DIR_ENV)
    if value:
        return Path(value).expanduser()
    return kaggle_home()


def xdg_kaggle_dir() -> Path:
    """``$XDG_CONFIG_HOME/kaggle``: kaggle 2.x's folder on Linux when ``~/.kaggle`` is missing."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"


def env_credentials() -> tuple[str, str]:
    """``(KAGGLE_USERNAME, KAGGLE_KEY)`` as set now; ``""`` for a missing one."""
    return os.environ.get(USERNAME_ENV, ""), os.environ.get(KEY_ENV, "")


def mount_root(variable: str) -> Path:
    """Where a notebook platform mounts datasets: ``$variable``, else ``/kaggle/input``.

    ``variable`` is :data:`KAGGLE_MOUNT_ENV` or :data:`COLAB_MOUNT_ENV` (both default to
    ``/kaggle/input`` in kagglehub).
    """
    return Path(os.environ.get(variable) or DEFAULT_MOUNT_FOLDER)
