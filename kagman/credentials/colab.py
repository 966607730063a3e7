"""Kaggle credentials from Colab's secrets (``google.colab.userdata``), one secret at a time.

Colab recommends keeping Kaggle credentials as notebook secrets named
``KAGGLE_API_TOKEN``, or ``KAGGLE_USERNAME`` and ``KAGGLE_KEY``. ``userdata.get``
raises ``SecretNotFoundError`` for a missing secret and ``NotebookAccessError`` for
one the notebook may not read. kagglehub asks for the token first and the pair after
it inside one ``try``, so the token's ``SecretNotFoundError`` hides a good pair; kagman
asks for each name on its own, and stops at the first usable credentials (each
question may make Colab ask the user to grant access).

Read only where the Colab variables are set and ``google.colab`` is importable
(:func:`kagman.platforms.colab_secrets_available`); nothing is imported otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kagman.credentials.core import Credentials, parse_kaggle_json, parse_token
from kagman.platforms.detect import colab_secrets_available
from kagman.settings import KEY_ENV, TOKEN_ENV, USERNAME_ENV

__all__ = [
    "ORIGIN_PAIR",
    "ORIGIN_TOKEN",
    "ColabSecrets",
    "grant_instructions",
    "read_colab_secrets",
]

ORIGIN_TOKEN = f"the Colab secret {TOKEN_ENV}"
ORIGIN_PAIR = f"the Colab secrets {USERNAME_ENV}/{KEY_ENV}"


def grant_instructions(names: tuple[str, ...]) -> str:
    """How to let the notebook read the secrets ``names`` (for error messages)."""
    listed = " and ".join(names)
    return (
        f"Colab has the secret{'s' if len(names) > 1 else ''} {listed}, but this notebook may "
        "not read it: open the key icon (Secrets) in Colab's left sidebar, switch on "
        f"'Notebook access' for {listed}, then run this again (restart the session if Colab "
        "does not ask again)."
    )


@dataclass(frozen=True, repr=False)
class ColabSecrets:
    """What Colab's secrets hold for Kaggle. ``repr`` shows which exist, never a value."""

    token: str | None = None
    username: str | None = None
    key: str | None = None
    denied: tuple[str, ...] = ()  # exist, but the notebook has no access
    problem: str | None = None  # Colab could not be asked at all (the reason)

    def __repr__(self) -> str:
        have = [n for n, v in ((TOKEN_ENV, self.token), (USERNAME_ENV, self.username),
                               (KEY_ENV, self.key)) if v]  # fmt: skip
        return f"ColabSecrets(found={have}, denied={list(self.denied)}, problem={self.problem!r})"

    def credentials(self) -> Credentials | None:
        """The token if there is one, else the username and key; None when incomplete.

        Raises
        ------
        InvalidCredentialsFileError
            A secret's value is not a valid token or key (the message names the secret).
        """
        if self.token:
            token = parse_token(self.token, where=f"The Colab secret {TOKEN_ENV}")
            return Credentials(None, None, token, ORIGIN_TOKEN)
        if self.username and self.key:
            pair = {"username": self.username, "key": self.key}
            data = parse_kaggle_json(pair, where=f"The Colab secrets {USERNAME_ENV}/{KEY_ENV}")
            return Credentials(data["username"], data["key"], None, ORIGIN_PAIR)
        return None

    def notes(self) -> list[str]:
        """Why the secrets gave nothing usable, with what to do (empty when they did)."""
        if self.credentials() is not None:
            return []
        notes = []
        if self.problem:
            notes.append(
                f"Colab's secrets could not be read ({self.problem}). A `!kagman ...` shell "
                "command cannot reach them: run `kagman.init()` in a Python cell once, which "
                "installs them in ~/.kaggle for every later command."
            )
        if self.denied:
            notes.append(grant_instructions(self.denied))
        half = [n for n, v in ((USERNAME_ENV, self.username), (KEY_ENV, self.key)) if v]
        if len(half) == 1 and not self.denied:
            other = KEY_ENV if half[0] == USERNAME_ENV else USERNAME_ENV
            notes.append(f"Colab has the secret {half[0]} but no {other}: add it (key icon).")
        return notes


def _clean(value: Any) -> str:
    """kagglehub's ``_normalize_whitespace``: drop line breaks, strip."""
    return str(value or "").replace("\r", "").replace("\n", "").strip()


def read_colab_secrets() -> ColabSecrets | None:
    """Ask Colab for ``KAGGLE_API_TOKEN``, then ``KAGGLE_USERNAME`` and ``KAGGLE_KEY``.

    Returns
    -------
    ColabSecrets or None
        None outside Colab (nothing is imported then). Values are whitespace-normalised
        but not yet validated (:meth:`ColabSecrets.credentials` does that).
    """
    if not colab_secrets_available():
        return None
    from importlib import import_module

    try:
        userdata = import_module("google.colab.userdata")
    except Exception as err:  # the module exists but cannot be imported here
        return ColabSecrets(problem=f"importing google.colab.userdata failed: {type(err).__name__}")
    not_found = getattr(userdata, "SecretNotFoundError", ())
    no_access = getattr(userdata, "NotebookAccessError", ())
    found: dict[str, str] = {}
    denied: list[str] = []
    for names in ((TOKEN_ENV,), (USERNAME_ENV, KEY_ENV)):
        for name in names:
            try:
                found[name] = _clean(userdata.get(name))
            except not_found:
                continue
            except no_access:
                denied.append(name)
            except Exception as err:  # e.g. no notebook frontend to ask (a child process)
                problem = f"asking for {name} failed: {type(err).__name__}"
                return ColabSecrets(denied=tuple(denied), problem=problem)
        if found.get(TOKEN_ENV) or (found.get(USERNAME_ENV) and found.get(KEY_ENV)):
            break
    return ColabSecrets(
        token=found.get(TOKEN_ENV) or None,
        username=found.get(USERNAME_ENV) or None,
        key=found.get(KEY_ENV) or None,
        denied=tuple(denied),
    )
