"""Which credentials each Kaggle client will use, given today's environment and folders.

The clients disagree on where to look, which is the root of most "it works in
the terminal but not in my notebook" reports:

- kagman: ``KAGGLE_API_TOKEN``, ``<config>/access_token``, ``KAGGLE_USERNAME``/``KAGGLE_KEY``,
  ``<config>/kaggle.json`` (``<config>`` is ``$KAGGLE_CONFIG_DIR`` or ``~/.kaggle``);
- the kaggle CLI 2.x: ``KAGGLE_API_TOKEN``, ``~/.kaggle/access_token``, then
  ``KAGGLE_USERNAME``/``KAGGLE_KEY`` over ``kaggle.json`` in its config folder, which is
  ``$KAGGLE_CONFIG_DIR``, else ``~/.kaggle``, else (Linux, when ``~/.kaggle`` is
  missing at import) ``$XDG_CONFIG_HOME/kaggle``;
- kagglehub: the token as kagglesdk, then the variables, then
  ``$KAGGLE_CONFIG_DIR/kaggle.json`` or ``~/.kaggle/kaggle.json``, then in Colab the
  ``KAGGLE_API_TOKEN`` secret (it never gets to the ``KAGGLE_USERNAME``/``KAGGLE_KEY`` ones);
- kagglesdk alone: the token, then the fixed path ``~/.kaggle/kaggle.json``.

Where they disagree, :func:`credentials_status` adds a note (``notes``): a
variable that overrides a file, a ``~/.kaggle/access_token`` that kagglesdk
prefers over a kaggle.json, a token or kaggle.json that only some clients read.
``kagman doctor`` shows all of it; nothing here ever reads out a key.
In a Kaggle notebook, kagglesdk (so all but kagman's own order) takes the token file
named by ``KAGGLE_API_V1_TOKEN`` first; kagman does too.
"""

from __future__ import annotations

import html
import os
import shlex
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kagman.credentials.colab import ORIGIN_TOKEN, read_colab_secrets
from kagman.credentials.lookup import notebook_token, resolve_credentials
from kagman.errors import CredentialsError
from kagman.fs import counted
from kagman.settings import (
    ACCESS_TOKEN_NAMES,
    CONFIG_DIR_ENV,
    KAGGLE_JSON,
    KEY_ENV,
    TOKEN_ENV,
    USERNAME_ENV,
    config_dir,
    env_credentials,
    kaggle_home,
    xdg_kaggle_dir,
)

__all__ = ["CredentialsStatus", "credentials_status"]


@dataclass(frozen=True)
class CredentialsStatus:
    """Where Kaggle credentials are and which one each client will use. Never holds a key.

    Attributes
    ----------
    config_dir
        ``$KAGGLE_CONFIG_DIR`` or ``~/.kaggle``: where ``kagman init`` installs.
    files
        Each credentials file present in ``config_dir`` and its mode (``"0600"``).
    clients
        Client name -> the source it will use (a path or a variable name), or
        ``"nothing"``.
    permissions_ok
        No credentials file or folder is readable by other users.
    problems
        Sentences saying what is wrong and what to run.
    notes
        Conflicts that do not stop kagman but may surprise: which variable or
        file wins over which, for which client.
    """

    config_dir: Path
    files: dict[str, str] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)
    permissions_ok: bool = True
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """kagman has credentials and nothing needs fixing."""
        return not self.problems and self.clients.get("kagman", "nothing") != "nothing"

    @property
    def used(self) -> str:
        """The source kagman will use (a path or a variable name), or ``"nothing"``."""
        return self.clients.get("kagman", "nothing")

    def __repr__(self) -> str:
        found = f"; {counted(len(self.problems), 'problem')}" if self.problems else ""
        return f"<CredentialsStatus ok={self.ok}: kagman uses {self.used}{found}>"

    def __str__(self) -> str:
        """The credentials part of ``kagman doctor``, with the problems and notes."""
        lines = [f"Config folder: {self.config_dir}"]
        lines += [f"  {name}: mode {mode}" for name, mode in self.files.items()] or [
            "  (no credentials files)"
        ]
        lines.append("Each client will use:")
        width = max(len(name) for name in self.clients) if self.clients else 0
        lines += [f"  {name:<{width}}  {src}" for name, src in self.clients.items()]
        lines.append(f"Permissions: {'safe' if self.permissions_ok else 'TOO OPEN'}")
        lines += [f"Problem: {p}" for p in self.problems]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (``kagman doctor --json``); holds no secret."""
        return {
            "config_dir": str(self.config_dir),
            "files": dict(self.files),
            "clients": dict(self.clients),
            "permissions_ok": self.permissions_ok,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        """A notebook table: the folder, each file's mode (red when others can read it),
        which source each client uses, and the problems with what to run. No key."""
        return _status_html(self)


_RED = "color:#b00020"
_TD = "padding:1px 10px 1px 0;text-align:left;vertical-align:top"


def _status_html(status: CredentialsStatus) -> str:
    e = html.escape
    verdict = (
        '<span style="color:#1b7f3b">ready</span>'
        if status.ok
        else f'<span style="{_RED}">needs attention</span>'
    )
    folder = f"<code>{e(str(status.config_dir))}</code>"
    rows = [f'<tr><th style="{_TD}">config folder</th><td style="{_TD}">{folder}</td></tr>']
    for name, mode in status.files.items():
        loose = os.name != "nt" and int(mode, 8) & 0o077
        shown = f'<span style="{_RED}">{e(mode)} (others can read it)</span>' if loose else e(mode)
        rows.append(f'<tr><td style="{_TD}">{e(name)}</td><td style="{_TD}">mode {shown}</td></tr>')
    if not status.files:
        rows.append(f'<tr><td style="{_TD}" colspan="2">(no credentials files)</td></tr>')
    clients = "".join(
        f'<tr><td style="{_TD}">{e(name)}</td><td style="{_TD}'
        f'{";" + _RED if src == "nothing" else ""}">{e(src)}</td></tr>'
        for name, src in status.clients.items()
    )
    perms = "safe" if status.permissions_ok else f'<span style="{_RED}">TOO OPEN</span>'
    problems = "".join(f'<li style="{_RED}">{e(p)}</li>' for p in status.problems)
    return (
        '<div style="font-family:sans-serif;font-size:13px">'
        f"<p><b>Kaggle credentials</b>: {verdict}; permissions {perms}</p>"
        f'<table style="border-collapse:collapse">{"".join(rows)}</table>'
        f'<p style="margin:6px 0 2px">Each client will use:</p>'
        f'<table style="border-collapse:collapse">{clients}</table>'
        + (f'<ul style="margin:4px 0">{problems}</ul>' if problems else "")
        + "</div>"
    )


def _token_source() -> str | None:
    """Where kagglesdk (so kaggle 2.x and kagglehub) gets a token: fixed ``~/.kaggle``."""
    try:
        v1 = notebook_token()  # kagglesdk's first choice in a Kaggle notebook
    except CredentialsError:
        v1 = None
    if v1 is not None:
        return v1.source
    if os.environ.get(TOKEN_ENV):
        return TOKEN_ENV
    for name in ACCESS_TOKEN_NAMES:
        path = kaggle_home() / name
        if path.is_file() and path.read_bytes().strip():
            return str(path)
    return None


def _env_pair() -> str | None:
    if all(env_credentials()):
        return f"{USERNAME_ENV}/{KEY_ENV}"
    return None


def _kaggle_cli_json() -> Path:
    """The kaggle.json the kaggle package reads; its own value if it is imported."""
    extended = sys.modules.get("kaggle.api.kaggle_api_extended")
    configured = getattr(getattr(extended, "KaggleApi", None), "config", None)
    if isinstance(configured, str):
        return Path(configured)
    if os.environ.get(CONFIG_DIR_ENV):
        return config_dir() / KAGGLE_JSON
    folder = kaggle_home()
    if sys.platform.startswith("linux") and not folder.exists():
        folder = xdg_kaggle_dir()
    return folder / KAGGLE_JSON


def _first(*candidates: str | Path | None) -> str:
    for candidate in candidates:
        if isinstance(candidate, Path):
            if candidate.is_file():
                return str(candidate)
        elif candidate:
            return candidate
    return "nothing"


def credentials_status() -> CredentialsStatus:
    """Report where credentials are and which each client will use; reads only."""
    folder = config_dir()
    files: dict[str, str] = {}
    problems: list[str] = []
    permissions_ok = True
    if folder.is_dir() and os.name != "nt":
        folder_mode = stat.S_IMODE(folder.stat().st_mode)
        if folder_mode & 0o077:
            permissions_ok = False
            problems.append(
                f"{folder} is mode {folder_mode:04o}: run `kagman init` to make it 0700."
            )
    for name in (KAGGLE_JSON, *ACCESS_TOKEN_NAMES, KAGGLE_JSON + ".bak"):
        path = folder / name
        if path.is_file():
            mode = stat.S_IMODE(path.lstat().st_mode)
            files[name] = f"{mode:04o}"
            if os.name != "nt" and mode & 0o077:
                permissions_ok = False
                problems.append(f"{path} is readable by others: run `kagman init` to make it 0600.")
            if path.is_symlink():
                problems.append(f"{path} is a symbolic link; kagman will not write through it.")

    try:
        kagman_source = resolve_credentials().source
    except CredentialsError as err:
        kagman_source = "nothing"
        first, *rest = str(err).split("\n")
        problems.append(first)
        problems += [line for line in rest if line.startswith("Colab")]  # e.g. grant access
    token, pair = _token_source(), _env_pair()
    hub_json = config_dir() / KAGGLE_JSON
    secrets = read_colab_secrets()
    hub_secret = ORIGIN_TOKEN if secrets is not None and secrets.token else None
    clients = {
        "kagman": kagman_source,
        "kaggle CLI": _first(token, pair, _kaggle_cli_json()),
        "kagglehub": _first(token, pair, hub_json, hub_secret),
        "kagglesdk": _first(token, kaggle_home() / KAGGLE_JSON),
    }
    if kagman_source.startswith("the Colab secret"):
        problems.append(
            f"Only kagman{' and kagglehub' if hub_secret else ''} read {kagman_source}: run "
            "`kagman.init()` in a cell to install them where every client (and `!kagman` "
            "shell commands) find them."
        )
    used = {src.split(" file ")[0] for src in clients.values() if src != "nothing"}
    if kagman_source != "nothing" and len(used) > 1:
        problems.append(
            "The clients do not all use the same credentials; unset KAGGLE_CONFIG_DIR or run "
            "`kagman init` without it so everything reads ~/.kaggle."
        )
    notes = _conflicts(folder, token)
    return CredentialsStatus(folder, files, clients, permissions_ok, tuple(problems), notes)


def _existing(*paths: Path) -> list[str]:
    """The distinct paths among ``paths`` that are files."""
    seen: list[str] = []
    for path in paths:
        if path.is_file() and str(path) not in seen:
            seen.append(str(path))
    return seen


def _conflicts(folder: Path, token: str | None) -> tuple[str, ...]:
    """Where a variable or file silently wins over another, for some clients."""
    notes: list[str] = []
    home = kaggle_home()
    jsons = _existing(folder / KAGGLE_JSON, home / KAGGLE_JSON)
    token_files = _existing(*(d / n for d in (folder, home) for n in ACCESS_TOKEN_NAMES))
    if os.environ.get(TOKEN_ENV) and (jsons or token_files):
        notes.append(
            f"{TOKEN_ENV} is set: it overrides {', '.join(jsons + token_files)} for every "
            f"client. Unset it to use {'that file' if len(jsons + token_files) == 1 else 'them'}."
        )
    elif _env_pair() and jsons:
        notes.append(
            f"{USERNAME_ENV}/{KEY_ENV} are set: they override {', '.join(jsons)} for kagman, "
            f"the kaggle CLI and kagglehub (kagglesdk alone reads {home / KAGGLE_JSON}). Unset "
            "them to use the file."
        )
    if token is not None and token != TOKEN_ENV and jsons:
        notes.append(
            f"kagglesdk and the kaggle CLI use the token in {token} before any kaggle.json. If "
            "that token is old (revoked or expired), delete it or replace it with "
            "`kagman init --token`; `kagman doctor --online` checks what kagman uses."
        )
    sdk_blind = token is None and not (home / KAGGLE_JSON).is_file()
    if folder != home and (folder / KAGGLE_JSON).is_file() and sdk_blind:
        notes.append(
            f"kagglesdk shows nothing: used on its own it reads only {home / KAGGLE_JSON} "
            f"(or {TOKEN_ENV}), whatever {CONFIG_DIR_ENV} says; kagman, the kaggle CLI and "
            f"kagglehub read {folder / KAGGLE_JSON}. Only code that calls kagglesdk "
            f"directly needs `kagman init` run without {CONFIG_DIR_ENV}."
        )
    for name in ACCESS_TOKEN_NAMES:
        mine = folder / name
        if folder != home and mine.is_file():
            notes.append(
                f"{mine} is read by kagman only: kagglesdk and the kaggle CLI read tokens from "
                f"{home} or {TOKEN_ENV} whatever {CONFIG_DIR_ENV} says."
            )
    xdg = xdg_kaggle_dir() / KAGGLE_JSON
    if xdg.is_file() and str(xdg) not in jsons:
        notes.append(
            f"{xdg} is read only by the kaggle CLI (when ~/.kaggle is missing); kagman, "
            f"kagglehub and kagglesdk do not see it. Run `kagman init {shlex.quote(str(xdg))} "
            "--move`."
        )
    return tuple(notes)
