"""Which credentials kagman talks to Kaggle with: kagglesdk's order, then Colab's secrets.

1. in a Kaggle notebook, the token file ``KAGGLE_API_V1_TOKEN`` names (kagglesdk's
   ``get_access_token_from_env`` reads it first there);
2. ``KAGGLE_API_TOKEN`` (the token, or a path to a file holding it);
3. ``<config>/access_token`` (or ``access_token.txt``);
4. ``KAGGLE_USERNAME`` and ``KAGGLE_KEY``;
5. ``<config>/kaggle.json`` (``<config>`` is ``$KAGGLE_CONFIG_DIR`` or ``~/.kaggle``);
6. in Colab, the notebook's secrets (kagglehub's ``get_kaggle_credentials`` asks them
   last too), each looked up on its own (:mod:`kagman.credentials.colab`).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from kagman.credentials.colab import read_colab_secrets
from kagman.credentials.core import (
    Credentials,
    parse_kaggle_json,
    parse_token,
    read_limited,
    token_from_env,
    ways_to_provide,
)
from kagman.errors import CredentialsNotFoundError
from kagman.platforms.detect import in_kaggle_notebook
from kagman.settings import (
    ACCESS_TOKEN_NAMES,
    KAGGLE_JSON,
    KAGGLE_V1_TOKEN_ENV,
    KEY_ENV,
    TOKEN_ENV,
    USERNAME_ENV,
    config_dir,
    env_credentials,
    xdg_kaggle_dir,
)

__all__ = ["notebook_token", "resolve_credentials", "token_from_folder"]


def notebook_token() -> Credentials | None:
    """In a Kaggle notebook, the token in the file ``KAGGLE_API_V1_TOKEN`` names, else None.

    As kagglesdk's ``_get_access_token_from_file``: a missing or empty file is skipped.
    """
    value = os.environ.get(KAGGLE_V1_TOKEN_ENV, "")
    if not value or not in_kaggle_notebook():
        return None
    path = Path(value).expanduser()
    if not path.exists():
        return None
    data = read_limited(path)
    if not data.strip():
        return None
    where = f"The token file {path} (from {KAGGLE_V1_TOKEN_ENV})"
    token = parse_token(data, where=where, path=path)
    return Credentials(None, None, token, f"{KAGGLE_V1_TOKEN_ENV} file {path}")


def token_from_folder(folder: Path) -> Credentials | None:
    """``folder/access_token`` (or ``access_token.txt``); an empty file is skipped, as kagglesdk."""
    for name in ACCESS_TOKEN_NAMES:
        path = folder / name
        if path.is_file():
            data = read_limited(path)
            if data.strip():
                token = parse_token(data, where=str(path), path=path)
                return Credentials(None, None, token, str(path))
    return None


def resolve_credentials() -> Credentials:
    """The credentials kagman uses to talk to Kaggle (the order is in the module docstring).

    Raises
    ------
    CredentialsNotFoundError
        None of them exist; the message lists how to provide them, and in Colab how
        to grant the notebook access to a secret it may not read.
    InvalidCredentialsFileError
        The file or secret found is malformed.
    """
    folder = config_dir()
    found = notebook_token() or token_from_env() or token_from_folder(folder)
    if found is not None:
        return found
    username, key = env_credentials()
    if username and key:
        return Credentials(username, key, None, f"{USERNAME_ENV}/{KEY_ENV}")
    path = folder / KAGGLE_JSON
    if path.is_file():
        obj = parse_kaggle_json(read_limited(path), where=str(path), path=path)
        return Credentials(obj["username"], obj["key"], None, str(path))
    secrets = read_colab_secrets()
    if secrets is not None and (colab := secrets.credentials()) is not None:
        return colab
    notes = [] if secrets is None else secrets.notes()
    if bool(username) != bool(key):
        have, missing = (USERNAME_ENV, KEY_ENV) if username else (KEY_ENV, USERNAME_ENV)
        notes.append(f"{have} is set but {missing} is not.")
    xdg = xdg_kaggle_dir() / KAGGLE_JSON
    if xdg.is_file() and xdg != path:
        quoted = shlex.quote(str(xdg))
        notes.append(f"Found {xdg} (the kaggle CLI's fallback folder): `kagman init {quoted}`.")
    extra = "".join(f"\n{note}" for note in notes)
    looked = [
        TOKEN_ENV,
        str(folder / ACCESS_TOKEN_NAMES[0]),
        f"{USERNAME_ENV}/{KEY_ENV}",
        str(path),
    ]
    if secrets is not None:
        looked.append("Colab's secrets")
    msg = (
        f"No Kaggle credentials found (looked at {', '.join(looked[:-1])} and {looked[-1]}). "
        f"Run `kagman init` to set them up.{extra}\n{ways_to_provide()}"
    )
    raise CredentialsNotFoundError(msg, path=path)
