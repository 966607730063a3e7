"""The leaf of the credentials package: what credentials are, how they are validated and found.

Kaggle issues two kinds of credentials: the legacy ``kaggle.json``
(``{"username": ..., "key": ...}``) and new-style API tokens (one line, stored
in ``access_token``). Their home is one folder::

    $KAGGLE_CONFIG_DIR or ~/.kaggle/     (0700)
    ├── kaggle.json                      (0600) legacy username + key
    └── access_token                     (0600) new-style token

This module imports nothing else of the package; choosing what kagman talks to
Kaggle with (:mod:`.lookup`), Colab's secrets (:mod:`.colab`), installing
(:mod:`.installer`), discovering sources (:mod:`.sources`) and reporting
(:mod:`.report`) build on it. No function here ever puts a key
or token in a message: they go through :func:`mask`. Folder and variable names
live in :mod:`kagman.settings`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kagman.errors import CredentialsNotFoundError, InvalidCredentialsFileError
from kagman.platforms.detect import in_colab
from kagman.settings import (
    KAGGLE_JSON,
    KAGGLE_V1_TOKEN_ENV,
    KEY_ENV,
    TOKEN_ENV,
    USERNAME_ENV,
)

__all__ = [
    "MAX_CREDENTIALS_BYTES",
    "Credentials",
    "installed_credentials",
    "key_looks_valid",
    "mask",
    "parse_kaggle_json",
    "parse_token",
    "read_limited",
    "renew_advice",
    "token_from_env",
    "ways_to_provide",
]

MAX_CREDENTIALS_BYTES = 64 * 1024
SETTINGS_URL = "https://www.kaggle.com/settings"
_KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, repr=False)
class Credentials:
    """A username with a legacy key, or a new-style token, and where it came from.

    ``repr`` and ``str`` mask the secret, so a Credentials object can be
    logged or shown in a notebook safely.
    """

    username: str | None
    key: str | None = field(repr=False)
    token: str | None = field(repr=False)
    source: str

    def __repr__(self) -> str:
        key = mask(self.key) if self.key is not None else None
        token = mask(self.token) if self.token is not None else None
        return (
            f"Credentials(username={self.username!r}, key={key!r}, token={token!r}, "
            f"source={self.source!r})"
        )

    __str__ = __repr__


def mask(secret: str) -> str:
    """Show a secret as its first and last four characters, enough to tell keys apart.

    Secrets shorter than 12 characters are hidden entirely: showing eight of
    them would give most of it away.

    >>> mask("3f2a0000000000000000000000009c1d")
    '3f2a…9c1d'
    >>> mask("short")
    '****'
    >>> mask("")
    '****'
    """
    if len(secret) < 12:
        return "****"
    return f"{secret[:4]}…{secret[-4:]}"


def key_looks_valid(key: str) -> bool:
    """Whether ``key`` has the shape of a Kaggle API key: 32 lowercase hex digits.

    >>> key_looks_valid("0123456789abcdef0123456789abcdef")
    True
    >>> key_looks_valid("not-a-key")
    False
    """
    return _KEY_PATTERN.fullmatch(key) is not None


def read_limited(path: Path) -> bytes:
    """Read a credentials file, refusing anything over 64 KiB (kaggle.json is ~70 bytes).

    Raises
    ------
    CredentialsNotFoundError
        The file does not exist.
    InvalidCredentialsFileError
        It is a folder, unreadable, or too big.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CREDENTIALS_BYTES + 1)
    except FileNotFoundError as err:
        msg = f"No such file: {path}. Check the path, or run `kagman init` without one to search."
        raise CredentialsNotFoundError(msg, path=path) from err
    except IsADirectoryError as err:
        msg = f"{path} is a folder, not a kaggle.json file. Pass the file inside it."
        raise InvalidCredentialsFileError(msg, path=path) from err
    except OSError as err:
        msg = f"Could not read {path}: {err.strerror}. Check its permissions."
        raise InvalidCredentialsFileError(msg, path=path) from err
    if len(data) > MAX_CREDENTIALS_BYTES:
        msg = (
            f"{path} is larger than 64 KiB; a kaggle.json is under 100 bytes. "
            f"Download a new one from {SETTINGS_URL} (API > Create New Token)."
        )
        raise InvalidCredentialsFileError(msg, path=path)
    return data


def _decode(data: bytes, where: str, path: Path | None) -> str:
    try:
        # utf-8-sig drops the BOM Windows editors add; CRLF is JSON whitespace.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        msg = f"{where} is not UTF-8 text. Download a fresh kaggle.json from {SETTINGS_URL}."
        raise InvalidCredentialsFileError(msg, path=path) from err


def _lower(where: str) -> str:
    """'The JSON given' -> 'the JSON given'; a path stays as it is."""
    return "t" + where[1:] if where.startswith("The ") else where


def _type_name(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def parse_kaggle_json(
    data: bytes | str | Mapping[str, Any],
    *,
    where: str = "The kaggle.json content",
    path: Path | None = None,
) -> dict[str, Any]:
    """Validate kaggle.json content and return it as a dict with string ``username`` and ``key``.

    A UTF-8 BOM and CRLF line ends are tolerated; extra fields are kept (the
    kaggle CLI stores settings such as ``proxy`` in the same file).

    Raises
    ------
    InvalidCredentialsFileError
        Over 64 KiB, not UTF-8, not JSON, not an object, or ``username``/``key``
        missing, empty or not strings. The message names the problem and never
        contains the key.

    Examples
    --------
    >>> parse_kaggle_json(b'\\xef\\xbb\\xbf{"username": "ada",\\r\\n "key": "k"}')
    {'username': 'ada', 'key': 'k'}
    >>> parse_kaggle_json('[1, 2]')
    Traceback (most recent call last):
    ...
    kagman.errors.InvalidCredentialsFileError: The kaggle.json content contains a JSON array, ...
    """
    if isinstance(data, Mapping):
        obj: object = dict(data)
    else:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if len(raw) > MAX_CREDENTIALS_BYTES:
            msg = f"{where} is larger than 64 KiB; a kaggle.json is under 100 bytes."
            raise InvalidCredentialsFileError(msg, path=path)
        text = _decode(raw, where, path) if isinstance(data, bytes) else data.lstrip("\ufeff")
        if not text.strip():
            msg = f"{where} is empty. Download kaggle.json from {SETTINGS_URL} (API > New Token)."
            raise InvalidCredentialsFileError(msg, path=path)
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            # err.doc holds the text (and so the key): report only the position.
            hint = ""
            stripped = text.strip()
            if "\n" not in stripped and " " not in stripped and not stripped.startswith("{"):
                hint = " It looks like an API token: run `kagman init --token` instead."
            msg = (
                f"{where} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})."
                f'{hint} A kaggle.json looks like {{"username": "...", "key": "..."}}.'
            )
            raise InvalidCredentialsFileError(msg, path=path) from None
    if not isinstance(obj, dict):
        msg = (
            f"{where} contains a JSON {_type_name(obj).split()[-1]}, not an object. A kaggle.json "
            'looks like {"username": "...", "key": "..."}.'
        )
        raise InvalidCredentialsFileError(msg, path=path)
    for name in ("username", "key"):
        if name not in obj:
            msg = f'{where} has no "{name}" field. A kaggle.json has both "username" and "key".'
            raise InvalidCredentialsFileError(msg, path=path)
        value = obj[name]
        if not isinstance(value, str):
            msg = (
                f'The "{name}" field of {_lower(where)} must be a string, not {_type_name(value)}.'
            )
            raise InvalidCredentialsFileError(msg, path=path)
        if not value.strip():
            msg = f'The "{name}" field of {_lower(where)} is empty.'
            raise InvalidCredentialsFileError(msg, path=path)
    return obj


def parse_token(data: bytes | str, *, where: str = "The token", path: Path | None = None) -> str:
    """Validate a new-style API token (one line, no spaces) and return it stripped.

    >>> parse_token("  KGAT_abc123\\r\\n")
    'KGAT_abc123'
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_CREDENTIALS_BYTES:
        msg = f"{where} is larger than 64 KiB; an API token is under 1 KiB."
        raise InvalidCredentialsFileError(msg, path=path)
    text = _decode(raw, where, path).strip()
    if not text:
        msg = f"{where} is empty. Generate one at {SETTINGS_URL} (API > Generate New Token)."
        raise InvalidCredentialsFileError(msg, path=path)
    if text.startswith("{"):
        msg = f"{where} looks like a kaggle.json, not a token: run `kagman init` without --token."
        raise InvalidCredentialsFileError(msg, path=path)
    if any(ch.isspace() for ch in text):
        msg = f"{where} must be a single word with no spaces or line breaks."
        raise InvalidCredentialsFileError(msg, path=path)
    return text


def ways_to_provide() -> str:
    """The ways to give kagman credentials, for error messages (with Colab's secrets in Colab)."""
    lines = [
        f"Get them at {SETTINGS_URL} (API > Create New Token), then run one of:",
        "  kagman init PATH/kaggle.json   install a downloaded kaggle.json",
        "  kagman init -                  read the kaggle.json text from stdin",
        "  kagman init --from-env         use KAGGLE_USERNAME and KAGGLE_KEY",
        "  kagman init --token            install a new-style API token (or set KAGGLE_API_TOKEN)",
        "  kagman init                    search ./kaggle.json and your downloads folder",
    ]
    if in_colab():
        lines.append(
            "In Colab: add KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN) as secrets (the "
            "key icon in the left sidebar) with 'Notebook access' on; kagman reads them."
        )
    return "\n".join(lines)


def token_from_env() -> Credentials | None:
    """A token from ``KAGGLE_API_TOKEN`` (the value, or a file it names), or None."""
    value = os.environ.get(TOKEN_ENV, "")
    if not value:
        return None
    # Like kagglesdk: the variable holds either the token or a path to a file with it.
    candidate = Path(value).expanduser()
    if len(value) < 4096 and candidate.is_file():
        text = read_limited(candidate)
        if not text.strip():
            return None
        token = parse_token(text, where=f"The token file {candidate} (from {TOKEN_ENV})")
        return Credentials(None, None, token, f"{TOKEN_ENV} file {candidate}")
    return Credentials(None, None, parse_token(value, where=TOKEN_ENV), TOKEN_ENV)


def installed_credentials(path: Path) -> Credentials:
    """Read one installed file: a kaggle.json, or a token file (``access_token``).

    Raises
    ------
    CredentialsNotFoundError, InvalidCredentialsFileError
        Missing or malformed.
    """
    data = read_limited(path)
    if path.name == KAGGLE_JSON:
        obj = parse_kaggle_json(data, where=str(path), path=path)
        return Credentials(obj["username"], obj["key"], None, str(path))
    return Credentials(None, None, parse_token(data, where=str(path), path=path), str(path))


def renew_advice(creds: Credentials) -> str:
    """What to do about credentials Kaggle rejected, given where they came from.

    A variable wins over every file, so installing new credentials does not help while it
    is set: the advice names the variable to replace or unset.

    >>> renew_advice(Credentials(None, None, "t", TOKEN_ENV)).split(":")[0]
    'KAGGLE_API_TOKEN is set and wins over every credentials file'
    """
    where = f"{SETTINGS_URL}/api"
    new = f"Create a new token at {where}"
    if creds.source.startswith(TOKEN_ENV):
        return (
            f"{TOKEN_ENV} is set and wins over every credentials file: set it to a new token "
            f"(from {where}), or unset it to use the installed credentials "
            f"(`unset {TOKEN_ENV}`; in Python, del os.environ[{TOKEN_ENV!r}])."
        )
    if creds.source == f"{USERNAME_ENV}/{KEY_ENV}":
        return (
            f"{USERNAME_ENV} and {KEY_ENV} are set and win over kaggle.json: set {KEY_ENV} to a "
            f"new key (from {where}), or unset both to use the installed credentials."
        )
    if creds.source.startswith(KAGGLE_V1_TOKEN_ENV):
        return "This is the Kaggle notebook's own token: restart the notebook's session."
    if creds.source.startswith("the Colab secret"):
        return f"{new}, and put it in {creds.source} (the key icon in Colab's left sidebar)."
    command = "kagman init --token" if creds.token is not None else "kagman init"
    return f"{new} and run `{command}` with it."
