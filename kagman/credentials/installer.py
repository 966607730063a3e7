"""Installing credentials: pick the source, check the destination, write 0600, report.

:func:`install` does the work and returns an :class:`InstallReport` saying
exactly what happened; :func:`kagman.init` logs it, the CLI prints it. The
decision of *where the credentials come from* lives in
:mod:`kagman.credentials.sources`; this module owns *where they go* and how
they land: into ``config_dir()`` (created 0700), written atomically with mode
0600 from the first byte, never through a symlink or into someone else's
folder, never into a shared one (sticky, world-writable, or holding other users'
files), and never changing the permissions of a folder that holds anything else.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from kagman.credentials.core import (
    key_looks_valid,
    mask,
    parse_kaggle_json,
    parse_token,
    read_limited,
    ways_to_provide,
)
from kagman.credentials.destination import check_file, fix_file_mode, prepare_folder
from kagman.credentials.kaggle_module import refresh_kaggle_module
from kagman.credentials.sources import Found, colab_notes, discover, from_env, load_source
from kagman.errors import (
    CredentialsConflictError,
    CredentialsNotFoundError,
    InvalidArgumentError,
    InvalidCredentialsFileError,
)
from kagman.fs import atomic_write_bytes
from kagman.settings import (
    ACCESS_TOKEN_NAMES,
    KAGGLE_JSON,
    KEY_ENV,
    TOKEN_ENV,
    USERNAME_ENV,
    config_dir,
    env_credentials,
    kaggle_home,
)

__all__ = ["InstallReport", "install"]


Action = Literal["created", "replaced", "unchanged"]


@dataclass(frozen=True)
class InstallReport:
    """What :func:`install` did, for people: every line of it is safe to print."""

    path: Path
    source: str
    username: str | None
    masked_secret: str
    action: Action
    created_folder: Path | None = None
    fixed: tuple[str, ...] = ()
    backup: Path | None = None
    removed_source: Path | None = None
    kept_source: Path | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def messages(self) -> list[str]:
        """The informational lines, in the order things happened."""
        lines = list(self.notes)
        if self.created_folder is not None:
            lines.append(f"Created {self.created_folder} (mode 0700).")
        what = (
            f"the credentials for {self.username} (key {self.masked_secret})"
            if self.username
            else f"the API token {self.masked_secret}"
        )
        if self.action == "unchanged":
            lines.append(f"Already set up: {self.path} holds {what}.")
        elif self.action == "replaced":
            lines.append(f"Replaced {self.path} with {what} from {self.source} (mode 0600).")
            if self.backup is not None:
                lines.append(f"The old file is kept as {self.backup} (mode 0600).")
        else:
            lines.append(f"Installed {what} from {self.source} to {self.path} (mode 0600).")
        lines.extend(f"Fixed permissions: {fix}." for fix in self.fixed)
        if self.removed_source is not None:
            lines.append(f"Deleted {self.removed_source} (--move).")
        if self.kept_source is not None:
            lines.append(
                f"{self.kept_source} still holds a copy of your key: delete it, or run "
                f"`kagman init {shlex.quote(str(self.kept_source))} --move`, which deletes the "
                "copy now that the key is installed."
            )
        return lines


# --- installing -------------------------------------------------------------


def _same_file(a: Path | None, b: Path) -> bool:
    try:
        return a is not None and a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _env_warnings(folder: Path, token: bool) -> list[str]:
    """Warn when something the environment sets will win over the installed file."""
    warnings = []
    if os.environ.get(TOKEN_ENV):
        warnings.append(
            f"{TOKEN_ENV} is set: kagman, kaggle and kagglehub use it before any file. "
            f"Unset it to use the installed credentials."
        )
    if not token and all(env_credentials()):
        warnings.append(
            f"{USERNAME_ENV} and {KEY_ENV} are set: the kaggle CLI and kagglehub use them "
            f"instead of {folder / KAGGLE_JSON}."
        )
    tokens = [folder / name for name in ACCESS_TOKEN_NAMES if (folder / name).is_file()]
    if not token and tokens:
        warnings.append(
            f"{tokens[0]} also exists, and kagman, kaggle and kagglehub use a token before "
            f"kaggle.json. Delete it if it is stale."
        )
    default = kaggle_home()
    if token and folder != default:
        warnings.append(
            f"kagglesdk and the kaggle CLI read tokens only from {default / 'access_token'} or "
            f"{TOKEN_ENV}; kagman finds {folder / 'access_token'} but they will not. "
            f"For them, set {TOKEN_ENV}={folder / 'access_token'}."
        )
    return warnings


def _write(
    path: Path, data: bytes, *, same: bool, force: bool, describe_old: str, describe_new: str
) -> tuple[Action, Path | None]:
    """Write ``data`` to ``path`` (0600) unless identical; back up different content on force."""
    old = check_file(path)
    if old is None:
        atomic_write_bytes(path, data, mode=0o600)
        return "created", None
    if same:
        return "unchanged", None
    if not force:
        head = f"Different credentials are already installed at {path} ({describe_old}); the "
        head += f"new ones are {describe_new}. Rerun with "
        tail = f" to replace them; the old file is kept as {path.name}.bak."
        conflict = CredentialsConflictError(head + "force=True" + tail, path=path)
        conflict.cli_message = head + "--force" + tail
        raise conflict
    backup = path.with_name(path.name + ".bak")
    check_file(backup)
    atomic_write_bytes(backup, path.read_bytes(), mode=0o600)
    atomic_write_bytes(path, data, mode=0o600)
    return "replaced", backup


def _installed_json(path: Path) -> dict[str, Any] | None:
    """The installed kaggle.json, or None when it is missing or malformed."""
    if check_file(path) is None:
        return None
    try:
        return parse_kaggle_json(read_limited(path), where=str(path), path=path)
    except InvalidCredentialsFileError:
        return None


def _describe(obj: Mapping[str, Any] | None) -> str:
    if obj is None:
        return "not a valid kaggle.json"
    return f"user {obj['username']}, key {mask(obj['key'])}"


def _install_json(found: Found, folder: Path, force: bool) -> tuple[Action, Path | None]:
    path = folder / KAGGLE_JSON
    current = _installed_json(path)
    new = found.data
    same = current is not None and (current["username"], current["key"]) == (
        new["username"],
        new["key"],
    )
    data = (json.dumps(dict(new)) + "\n").encode("utf-8")
    return _write(
        path,
        data,
        same=same,
        force=force,
        describe_old=_describe(current),
        describe_new=_describe(new),
    )


def _install_token(token: str, folder: Path, force: bool) -> tuple[Action, Path | None]:
    path = folder / ACCESS_TOKEN_NAMES[0]
    current: str | None = None
    if check_file(path) is not None:
        with contextlib.suppress(InvalidCredentialsFileError):
            current = parse_token(read_limited(path), path=path)
    return _write(
        path,
        (token + "\n").encode("utf-8"),
        same=current == token,
        force=force,
        describe_old=f"token {mask(current)}" if current else "not a valid token",
        describe_new=f"token {mask(token)}",
    )


def _verify_installed(
    folder: Path, fixes: list[str], created: Path | None, *, move: bool
) -> InstallReport:
    """No source given and credentials are installed: check them, fix modes, point out copies
    (and with ``move``, delete a copy of the installed key)."""
    json_path = folder / KAGGLE_JSON
    for name in (KAGGLE_JSON, *ACCESS_TOKEN_NAMES, KAGGLE_JSON + ".bak"):
        fix = fix_file_mode(folder / name)
        if fix:
            fixes.append(fix)
    notes, warnings, kept, removed = [], _env_warnings(folder, token=False), None, None
    copy: Path | None = None
    if check_file(json_path) is not None:
        obj = parse_kaggle_json(read_limited(json_path), where=str(json_path), path=json_path)
        username, secret, path = obj["username"], mask(obj["key"]), json_path
        found = discover()
        if found is not None and found.path is not None:
            same = (found.data["username"], found.data["key"]) == (obj["username"], obj["key"])
            if same and not _same_file(found.path, json_path):
                copy = found.path
            elif not same:
                quoted = shlex.quote(str(found.path))
                if move:
                    head = f"{found.path} holds different credentials ({_describe(found.data)}) "
                    head += "than the installed ones, and "
                    tail = " deletes only a copy of the installed key. To install it instead, run "
                    python = f"kagman.init({str(found.path)!r}, force=True, move=True)."
                    refused = InvalidArgumentError(head + "move=True" + tail + python)
                    cli = f"`kagman init {quoted} --force --move`."
                    refused.cli_message = head + "--move" + tail + cli
                    raise refused
                warnings.append(
                    f"{found.path} holds different credentials ({_describe(found.data)}); to use "
                    f"them run `kagman init {quoted} --force` (or `kagman init --force`)."
                )
    else:
        path = next(p for p in (folder / n for n in ACCESS_TOKEN_NAMES) if p.is_file())
        token = parse_token(read_limited(path), where=str(path), path=path)
        username, secret = None, mask(token)
    if move and copy is None:
        tail = (
            " deletes the kaggle.json the credentials were installed from, and no copy of "
            "the installed key was found (in the working folder or your downloads folder); "
            f"{path} is already installed. Nothing to delete."
        )
        refused = InvalidArgumentError("move=True" + tail)
        refused.cli_message = "--move" + tail
        raise refused
    if move and copy is not None:
        copy.unlink()
        removed = copy
    else:
        kept = copy
    if refresh_kaggle_module(folder):
        notes.append(f"Pointed the already-imported kaggle module at {folder}.")
    return InstallReport(
        path=path,
        source="the installed file",
        username=username,
        masked_secret=secret,
        action="unchanged",
        created_folder=created,
        fixed=tuple(fixes),
        removed_source=removed,
        kept_source=kept,
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


def install(
    source: str | os.PathLike[str] | Mapping[str, str] | None = None,
    *,
    force: bool = False,
    move: bool = False,
    token: str | None = None,
    use_env: bool = False,
    token_origin: str = "the token given",  # noqa: S107 - a description
    token_path: Path | None = None,
    prompt: Callable[[], Mapping[str, str]] | None = None,
) -> InstallReport:
    """Install credentials and report what happened; see :func:`kagman.init`.

    ``use_env`` installs from ``KAGGLE_USERNAME``/``KAGGLE_KEY`` (``--from-env``);
    ``token_origin``/``token_path`` describe where a token came from (for the
    message and ``move``); ``prompt`` is called when nothing else is found (the
    CLI passes a hidden TTY prompt).
    """
    if token is not None and (source is not None or use_env):
        msg = "Give either credentials (source / from_env) or a token, not both."
        raise InvalidArgumentError(msg)
    folder = config_dir()
    installed = [folder / n for n in (KAGGLE_JSON, *ACCESS_TOKEN_NAMES)]
    found: Found | None = None
    token_notes: tuple[str, ...] = ()
    if token is None:
        if use_env:
            found = from_env(required=True)
        elif source is not None:
            found = load_source(source)
        else:
            found = discover()
            # --force with a discovered file installs it (the old one kept as .bak), as the
            # "holds different credentials" warning promises; without it, check what is there.
            replace_with_found = force and found is not None and found.path is not None
            if (
                any(p.is_file() or p.is_symlink() for p in installed)
                and (found is None or (folder / KAGGLE_JSON).is_file())
                and not replace_with_found
            ):
                created, fixes, notices = prepare_folder(folder)
                report = _verify_installed(folder, fixes, folder if created else None, move=move)
                return replace(report, warnings=(*notices, *report.warnings))
            if found is None and prompt is not None:
                typed = parse_kaggle_json(prompt(), where="What was typed")
                found = Found(typed, "the prompt", None, ())
        if found is None:
            why = "".join(f"\n{note}" for note in colab_notes())
            msg = f"No Kaggle credentials found to install.{why}\n{ways_to_provide()}"
            raise CredentialsNotFoundError(msg, path=folder / KAGGLE_JSON)
        source_path = found.path
        if found.token is not None:  # Colab's KAGGLE_API_TOKEN secret: install it as a token
            token, token_origin, token_notes, found = found.token, found.origin, found.notes, None
    else:
        token = parse_token(token, where=f"The token from {token_origin}")
        source_path = token_path
    if move and source_path is None:
        tail = (
            " needs a source file to delete; the credentials came from "
            f"{found.origin if found is not None else token_origin}, not from a file."
        )
        refused = InvalidArgumentError("move=True" + tail)
        refused.cli_message = "--move" + tail
        raise refused

    created, fixes, warnings = prepare_folder(folder)
    warnings += _env_warnings(folder, token=token is not None)
    if found is not None:
        path = folder / KAGGLE_JSON
        action, backup = _install_json(found, folder, force)
        username, secret, origin = found.data["username"], mask(found.data["key"]), found.origin
        if not key_looks_valid(found.data["key"]):
            warnings.append(
                f"The key {secret} does not look like a Kaggle API key (32 hex digits); "
                "installed anyway. `kagman whoami` tells whether Kaggle accepts it."
            )
        notes = list(found.notes)
    else:
        assert token is not None  # noqa: S101 - narrowed above for mypy
        path = folder / ACCESS_TOKEN_NAMES[0]
        action, backup = _install_token(token, folder, force)
        username, secret, origin, notes = None, mask(token), token_origin, list(token_notes)
    fix = fix_file_mode(path)
    if fix:
        fixes.append(fix)
    removed = kept = None
    if source_path is not None and not _same_file(source_path, path):
        if move:
            source_path.unlink()
            removed = source_path
        else:
            kept = source_path
    if refresh_kaggle_module(folder):
        notes.append(f"Pointed the already-imported kaggle module at {folder}.")
    return InstallReport(
        path=path,
        source=origin,
        username=username,
        masked_secret=secret,
        action=action,
        created_folder=folder if created else None,
        fixed=tuple(fixes),
        backup=backup,
        removed_source=removed,
        kept_source=kept,
        notes=tuple(notes),
        warnings=tuple(warnings),
    )
