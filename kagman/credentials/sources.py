"""Where ``kagman init`` takes credentials from, and in what order.

An explicit source (a path, ``-`` for stdin, a dict, JSON text) wins. With none,
:func:`discover` tries, first match wins:

1. in Colab, the notebook's secrets (a Colab user has no downloads folder):
   ``KAGGLE_API_TOKEN``, else ``KAGGLE_USERNAME`` + ``KAGGLE_KEY``;
2. ``KAGGLE_USERNAME`` + ``KAGGLE_KEY`` in the environment;
3. the working folder, then the downloads folder
   (``platformdirs.user_downloads_dir()``), each taking the newest of
   ``kaggle.json``, ``kaggle (1).json``, ``kaggle(2).json``, ``kaggle-3.json`` ...
   (browsers number repeated downloads, and Colab numbers repeated uploads);
4. ``$XDG_CONFIG_HOME/kaggle/kaggle.json``, where kaggle 2.x keeps it when
   ``~/.kaggle`` did not exist.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kagman.credentials.colab import read_colab_secrets
from kagman.credentials.core import (
    MAX_CREDENTIALS_BYTES,
    parse_kaggle_json,
    read_limited,
    token_from_env,
    ways_to_provide,
)
from kagman.errors import CredentialsNotFoundError, InvalidCredentialsFileError
from kagman.settings import KAGGLE_JSON, KEY_ENV, USERNAME_ENV, env_credentials, xdg_kaggle_dir

__all__ = [
    "Found",
    "TokenFound",
    "colab_notes",
    "discover",
    "downloads_candidates",
    "from_colab",
    "from_env",
    "load_source",
    "load_token_source",
]

# kaggle.json, "kaggle (1).json" (Chrome), "kaggle(1).json" (Firefox), "kaggle-1.json"
_DUPLICATE = re.compile(r"kaggle(?: ?\(\d+\)|[ _-]\d+)?\.json", re.IGNORECASE)


@dataclass(frozen=True, repr=False)
class Found:
    """Validated kaggle.json content (or a token) and where it came from."""

    data: dict[str, Any]  # {"username", "key", ...}; empty when ``token`` is set
    origin: str  # for messages: a path, "stdin", "KAGGLE_USERNAME/KAGGLE_KEY", ...
    path: Path | None  # the file, when it came from one (for --move and reminders)
    notes: tuple[str, ...] = ()
    token: str | None = None  # a validated API token (Colab's KAGGLE_API_TOKEN secret)

    def __repr__(self) -> str:  # never the key or the token
        return f"Found(origin={self.origin!r}, path={self.path!r})"


@dataclass(frozen=True)
class TokenFound:
    """A token as typed or read (not yet validated) and where it came from."""

    token: str
    origin: str
    path: Path | None  # the file, when it came from one (for --move)


def load_token_source(
    source: str | os.PathLike[str] | None, prompt: Callable[[], str] | None = None
) -> TokenFound:
    """Find a new-style token: a file, ``-`` (stdin), ``KAGGLE_API_TOKEN``, then ``prompt``.

    Raises
    ------
    CredentialsNotFoundError
        Nothing given, the variable unset and no ``prompt`` (no terminal).
    InvalidCredentialsFileError
        The file cannot be read or is over 64 KiB.
    """
    if source is not None and os.fspath(source) == "-":
        return TokenFound(_read_stdin().decode("utf-8", "replace"), "stdin", None)
    if source is not None:
        path = Path(os.fspath(source)).expanduser().absolute()
        return TokenFound(read_limited(path).decode("utf-8", "replace"), str(path), path)
    env = token_from_env()
    if env is not None and env.token is not None:
        return TokenFound(env.token, env.source, None)
    if prompt is not None:
        return TokenFound(prompt(), "the prompt", None)
    msg = (
        "No token given and no terminal to ask on: pass a file, '-' for stdin, or set "
        f"KAGGLE_API_TOKEN.\n{ways_to_provide()}"
    )
    raise CredentialsNotFoundError(msg)


def _from_file(path: Path, notes: tuple[str, ...] = ()) -> Found:
    data = parse_kaggle_json(read_limited(path), where=str(path), path=path)
    return Found(data, str(path), path, notes)


def _read_stdin() -> bytes:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is not None:
        data: bytes = stream.read(MAX_CREDENTIALS_BYTES + 1)
        return data
    return sys.stdin.read(MAX_CREDENTIALS_BYTES + 1).encode("utf-8")


def load_source(source: str | os.PathLike[str] | Mapping[str, str]) -> Found:
    """Validate an explicit source: a dict, JSON text, ``-`` (stdin) or a path.

    Raises
    ------
    CredentialsNotFoundError
        The path does not exist.
    InvalidCredentialsFileError
        The content is not a valid kaggle.json (the message says why).
    """
    if isinstance(source, Mapping):
        return Found(parse_kaggle_json(source, where="The dict given"), "a dict", None)
    if isinstance(source, str):
        if source == "-":
            data = parse_kaggle_json(_read_stdin(), where="The kaggle.json on stdin")
            return Found(data, "stdin", None)
        if source.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
            return Found(parse_kaggle_json(source, where="The JSON text given"), "JSON text", None)
    path = Path(os.fspath(source)).expanduser()
    return _from_file(path.absolute())


def from_env(*, required: bool) -> Found | None:
    """Credentials from ``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, or None (an error if ``required``)."""
    username, key = env_credentials()
    if not (username and key):
        if not required:
            return None
        missing = " and ".join(n for n, v in ((USERNAME_ENV, username), (KEY_ENV, key)) if not v)
        msg = (
            f"--from-env needs both {USERNAME_ENV} and {KEY_ENV}, but {missing} "
            f"{'is' if ' and ' not in missing else 'are'} not set. Set them, or run "
            "`kagman init PATH/kaggle.json` instead."
        )
        raise CredentialsNotFoundError(msg)
    data = parse_kaggle_json({"username": username, "key": key}, where=f"{USERNAME_ENV}/{KEY_ENV}")
    return Found(data, f"{USERNAME_ENV}/{KEY_ENV}", None)


def downloads_folder() -> Path:
    """The user's downloads folder, as the desktop defines it (XDG user-dirs on Linux)."""
    import platformdirs

    return Path(platformdirs.user_downloads_dir())


def downloads_candidates(folder: Path) -> list[Path]:
    """kaggle.json and its numbered duplicates in ``folder``, newest first.

    >>> downloads_candidates(Path("/no/such/folder"))
    []
    """
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    files = [p for p in entries if _DUPLICATE.fullmatch(p.name) and p.is_file()]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)


def _newest_in(folder: Path, where: str, kind: str) -> Found | None:
    """The newest kaggle.json (or numbered copy) in ``folder``, saying which when several."""
    candidates = downloads_candidates(folder)
    if not candidates:
        return None
    newest = candidates[0]
    notes = [f"Using {newest} from {where}."]
    if len(candidates) > 1:
        when = datetime.fromtimestamp(newest.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        others = ", ".join(p.name for p in candidates[1:])
        notes = [
            (
                f"Found {len(candidates)} kaggle.json {kind} in {folder}; using the newest, "
                f"{newest.name} (modified {when}). Older: {others}."
            )
        ]
    return _from_file(newest, tuple(notes))


def from_colab() -> Found | None:
    """Colab's secrets as a source, or None (outside Colab, or no usable secrets there).

    Raises
    ------
    InvalidCredentialsFileError
        A secret's value is not a valid token or key.
    """
    secrets = read_colab_secrets()
    creds = None if secrets is None else secrets.credentials()
    if creds is None:
        return None
    note = f"Using {creds.source} (the notebook's secrets)."
    if creds.token is not None:
        return Found({}, creds.source, None, (note,), token=creds.token)
    data = {"username": creds.username, "key": creds.key}
    return Found(data, creds.source, None, (note,))


def colab_notes() -> list[str]:
    """Why Colab's secrets gave nothing (e.g. how to grant access); empty outside Colab."""
    secrets = read_colab_secrets()
    return [] if secrets is None else secrets.notes()


def discover() -> Found | None:
    """The first credentials found without being told where (see the module docstring).

    Raises
    ------
    InvalidCredentialsFileError
        The first file (or secret) found is malformed: better to say so than silently skip it.
    """
    found = from_colab() or from_env(required=False)
    if found is not None:
        return found
    found = _newest_in(Path.cwd(), "the current folder", "files") or _newest_in(
        downloads_folder(), "your downloads folder", "downloads"
    )
    if found is not None:
        return found
    xdg = xdg_kaggle_dir()
    if (xdg / KAGGLE_JSON).is_file():
        note = (
            f"Using {xdg / KAGGLE_JSON}, where the kaggle CLI keeps it when ~/.kaggle is missing."
        )
        try:
            return _from_file(xdg / KAGGLE_JSON, (note,))
        except InvalidCredentialsFileError:
            return None
    return None
