"""Finding, validating and installing Kaggle credentials through the Python API.

Every test checks that no key or token reaches a log record or an exception
message (the autouse ``no_secret_leaks`` fixture and ``raises_secretless``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import assert_secretless, register_secrets

import kagman
from kagman.credentials import (
    Credentials,
    credentials_status,
    install,
    mask,
    resolve_credentials,
)
from kagman.errors import (
    CredentialsConflictError,
    CredentialsError,
    CredentialsNotFoundError,
    CredentialsWarning,
    InvalidCredentialsFileError,
    KeyCopyWarning,
    PermissionsFixedWarning,
    UnsafeDestinationError,
)
from kagman.settings import config_dir

KEY = "3f2a5b6c7d8e9f0a1b2c3d4e5f609c1d"
OTHER_KEY = "aa11bb22cc33dd44ee55ff6600778899"
ODD_KEY = "not-hex-but-long-enough-secret!!"
TOKEN = "KGAT_f00dfeedcafebeef0123456789abcdef"
register_secrets(KEY, OTHER_KEY, ODD_KEY, TOKEN)
GOOD = {"username": "ada", "key": KEY}


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every kagman log record (DEBUG too); assert no secret is in them.

    Process output is checked for the whole suite by conftest's ``no_secret_leaks``.
    """
    logger = logging.getLogger("kagman")
    old_level = logger.level
    logger.addHandler(caplog.handler)  # the CLI turns propagation off, so attach directly
    logger.setLevel(logging.DEBUG)
    yield
    logger.removeHandler(caplog.handler)
    logger.setLevel(old_level)
    assert_secretless(caplog.text)


@contextmanager
def raises_secretless(exc: type[BaseException], match: str | None = None) -> Iterator[None]:
    with pytest.raises(exc, match=match) as info:
        yield
    assert_secretless(str(info.value) + repr(info.value))


def write(path: Path, data: bytes | str | dict[str, str], mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, dict):
        data = json.dumps(data)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def installed(folder: Path) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((folder / "kaggle.json").read_text())
    return loaded


# --- the secret guard itself --------------------------------------------------


def test_assert_secretless_catches_a_key() -> None:
    with pytest.raises(pytest.fail.Exception):
        assert_secretless(f"oops {KEY}")
    with pytest.raises(pytest.fail.Exception):
        assert_secretless(f"oops {mask(KEY)} and {KEY[4:-4]}")
    assert_secretless(f"fine {mask(KEY)} {mask(TOKEN)}")


def test_credentials_repr_and_str_mask_the_secrets() -> None:
    creds = Credentials("ada", KEY, None, "somewhere")
    assert repr(creds) == (
        "Credentials(username='ada', key='3f2a…9c1d', token=None, source='somewhere')"
    )
    assert str(Credentials(None, None, TOKEN, "x")).count("KGAT…cdef") == 1
    assert_secretless(repr(creds) + str(creds) + f"{creds!r} {creds}")


# --- where: config_dir ----------------------------------------------------------


def test_config_dir_reads_the_environment_at_call_time(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert config_dir() == tmp_path / "kaggle-config"
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    assert config_dir() == isolated_env / ".kaggle"
    assert not (isolated_env / ".kaggle").exists()  # never created by asking


# --- sources ------------------------------------------------------------------


# 0o000: a careless umask must not widen anything; 0o277: mkdir(mode=0o700) alone would make
# the folder 0500 (no write for its owner), so only the explicit chmod gives 0700.
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277], ids=["000", "022", "277"])
def test_init_from_a_path_creates_private_folder_and_file(
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    umask: int,
) -> None:
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    source = write(isolated_env / "Downloads" / "kaggle.json", GOOD)
    old_umask = os.umask(umask)
    try:
        # kept by default, with a reminder a notebook user sees (a warning at their line)
        with pytest.warns(KeyCopyWarning, match=f"^{re.escape(str(source))} still holds a copy"):
            path = kagman.init(source)
    finally:
        os.umask(old_umask)
    folder = isolated_env / ".kaggle"
    assert path == folder / "kaggle.json"
    assert mode_of(folder) == 0o700
    assert mode_of(path) == 0o600
    assert installed(folder) == GOOD
    assert source.exists()  # kept by default...
    assert f"{source} still holds a copy of your key" in caplog.text  # ...with a reminder
    assert f"Created {folder} (mode 0700)." in caplog.text
    assert "key 3f2a…9c1d" in caplog.text


def test_init_accepts_a_dict_json_text_and_pathlike(tmp_path: Path) -> None:
    folder = tmp_path / "kaggle-config"
    assert kagman.init(GOOD) == folder / "kaggle.json"
    assert installed(folder) == GOOD
    report = install(json.dumps({"username": "bob", "key": OTHER_KEY}), force=True)
    assert report.source == "JSON text"
    assert installed(folder)["username"] == "bob"
    source = write(tmp_path / "elsewhere.json", GOOD)
    report = install(source, force=True)  # a Path, not a str
    assert report.source == str(source)
    assert report.action == "replaced"


def test_init_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'\xef\xbb\xbf{"username": "ada",\r\n "key": "' + KEY.encode() + b'"}\r\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    report = install("-")
    assert report.source == "stdin"
    assert report.kept_source is None
    assert installed(tmp_path / "kaggle-config") == GOOD


def test_env_variables_are_used_when_no_source_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(Path.cwd() / "kaggle.json", {"username": "local", "key": OTHER_KEY})
    monkeypatch.setenv("KAGGLE_USERNAME", "ada")
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    report = install()
    assert report.source == "KAGGLE_USERNAME/KAGGLE_KEY"
    assert installed(tmp_path / "kaggle-config") == GOOD


def test_from_env_needs_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "ada")
    with raises_secretless(CredentialsNotFoundError, "KAGGLE_KEY is not set"):
        install(from_env=True)


def test_current_folder_kaggle_json_comes_before_downloads(
    isolated_env: Path, tmp_path: Path
) -> None:
    write(isolated_env / "Downloads" / "kaggle.json", {"username": "dl", "key": OTHER_KEY})
    local = write(Path.cwd() / "kaggle.json", GOOD)
    report = install()
    assert report.source == str(local)
    assert report.notes == (f"Using {local} from the current folder.",)
    assert installed(tmp_path / "kaggle-config") == GOOD


def test_downloads_takes_the_newest_duplicate_and_says_which(
    isolated_env: Path, tmp_path: Path
) -> None:
    downloads = isolated_env / "Downloads"
    now = time.time()
    for age, name, key in [
        (300, "kaggle.json", OTHER_KEY),
        (100, "kaggle (2).json", KEY),
        (200, "kaggle(1).json", OTHER_KEY),
    ]:
        path = write(downloads / name, {"username": name, "key": key})
        os.utime(path, (now - age, now - age))
    write(downloads / "kaggle-notes.txt", "not credentials")
    report = install()
    assert report.source == str(downloads / "kaggle (2).json")
    assert report.notes[0].startswith(
        f"Found 3 kaggle.json downloads in {downloads}; using the newest, kaggle (2).json"
    )
    assert report.notes[0].endswith("Older: kaggle(1).json, kaggle.json.")
    assert installed(tmp_path / "kaggle-config")["username"] == "kaggle (2).json"


def test_downloads_folder_follows_xdg_user_dirs(isolated_env: Path, tmp_path: Path) -> None:
    # platformdirs reads $XDG_CONFIG_HOME/user-dirs.dirs, as the desktop's file manager does.
    config = isolated_env / ".config"
    write(config / "user-dirs.dirs", 'XDG_DOWNLOAD_DIR="$HOME/Telechargements"\n')
    source = write(isolated_env / "Telechargements" / "kaggle.json", GOOD)
    assert install().source == str(source)


def test_downloads_folder_follows_xdg_download_dir_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "dl" / "kaggle (1).json", GOOD)
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path / "dl"))
    report = install(move=True)
    assert report.removed_source == source
    assert not source.exists()


def test_nothing_to_install_lists_the_ways(tmp_path: Path) -> None:
    with pytest.raises(CredentialsNotFoundError) as info:
        kagman.init()
    text = str(info.value)
    assert text.startswith("No Kaggle credentials found to install.")
    for way in ("kagman init PATH/kaggle.json", "kagman init -", "--from-env", "--token"):
        assert way in text
    assert not (tmp_path / "kaggle-config" / "kaggle.json").exists()


def test_a_missing_source_path_is_reported(tmp_path: Path) -> None:
    with raises_secretless(CredentialsNotFoundError, "No such file: .*nope.json"):
        kagman.init(tmp_path / "nope.json")


# --- validation -------------------------------------------------------------------


K = KEY.encode()
MALFORMED = [
    pytest.param(b"", "is empty", id="empty"),
    pytest.param(b"   \r\n", "is empty", id="blank"),
    pytest.param(b"[1, 2]", "contains a JSON array, not an object", id="array"),
    pytest.param(b'"ada"', "contains a JSON string, not an object", id="string"),
    pytest.param(b"42", "contains a JSON number, not an object", id="number"),
    pytest.param(b"null", "contains a JSON null, not an object", id="null"),
    pytest.param(b'{"key": "' + K + b'"}', 'no "username" field', id="no-username"),
    pytest.param(b'{"username": "ada"}', 'no "key" field', id="no-key"),
    pytest.param(
        b'{"username": "ada", "key": 12345}',
        '"key" field .* must be a string, not a number',
        id="key-int",
    ),
    pytest.param(
        b'{"username": null, "key": "' + K + b'"}',
        '"username" field .* must be a string, not null',
        id="username-null",
    ),
    pytest.param(b'{"username": ["a"], "key": "' + K + b'"}', "not an array", id="username-list"),
    pytest.param(b'{"username": "ada", "key": "  "}', '"key" field .* is empty', id="key-empty"),
    pytest.param(b'{"username": "a", "key": "' + K + b'"', r"not valid JSON \(Expecting", id="cut"),
    pytest.param(b"\xff\xfe{\x00", "is not UTF-8 text", id="utf16"),
    pytest.param(TOKEN.encode(), "looks like an API token", id="token-in-json-file"),
    pytest.param(
        b'{"username": "ada", "key": "' + K + b'", "pad": "' + b"x" * 70000 + b'"}',
        "larger than 64 KiB",
        id="huge",
    ),
]


@pytest.mark.parametrize(("content", "message"), MALFORMED)
def test_malformed_files_are_refused_with_a_reason(
    tmp_path: Path, content: bytes, message: str
) -> None:
    source = write(tmp_path / "kaggle.json", content)
    with raises_secretless(InvalidCredentialsFileError, message):
        kagman.init(source)
    assert not (tmp_path / "kaggle-config" / "kaggle.json").exists()


@pytest.mark.parametrize(("content", "message"), MALFORMED[2:13])
def test_malformed_text_and_stdin_are_refused_too(
    monkeypatch: pytest.MonkeyPatch, content: bytes, message: str
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content)))
    with raises_secretless(InvalidCredentialsFileError, message):
        install("-")


def test_a_folder_as_source_is_refused(tmp_path: Path) -> None:
    with raises_secretless(InvalidCredentialsFileError, "is a folder"):
        kagman.init(tmp_path)


def test_bom_crlf_and_extra_fields_are_accepted(tmp_path: Path) -> None:
    content = (
        b'\xef\xbb\xbf{\r\n  "username": "ada",\r\n  "key": "'
        + KEY.encode()
        + b'",\r\n  "proxy": "http://p:3128"\r\n}\r\n'
    )
    with pytest.warns(KeyCopyWarning):
        kagman.init(write(tmp_path / "kaggle.json", content))
    assert installed(tmp_path / "kaggle-config") == {**GOOD, "proxy": "http://p:3128"}


def test_a_key_that_is_not_32_hex_digits_is_a_warning() -> None:
    report = install({"username": "ada", "key": ODD_KEY})
    assert report.action == "created"
    assert report.warnings[0].startswith(
        "The key not-…et!! does not look like a Kaggle API key (32 hex digits); installed anyway."
    )
    # unchanged, but still warned, at the caller's line (this file), not in kagman
    with pytest.warns(CredentialsWarning, match="does not look like a Kaggle API key") as caught:
        kagman.init({"username": "ada", "key": ODD_KEY})
    assert [Path(w.filename).name for w in caught] == ["test_credentials.py"]


# --- existing credentials, permissions ------------------------------------------


def test_identical_credentials_are_already_set_up_and_loose_modes_fixed(tmp_path: Path) -> None:
    folder = tmp_path / "kaggle-config"
    kagman.init(GOOD)
    folder.chmod(0o755)
    (folder / "kaggle.json").chmod(0o644)
    report = install({"username": "ada", "key": KEY})
    assert report.action == "unchanged"
    assert report.fixed == (
        f"{folder} was 0755, now 0700",
        f"{folder / 'kaggle.json'} was 0644, now 0600",
    )
    assert mode_of(folder) == 0o700
    assert mode_of(folder / "kaggle.json") == 0o600
    assert f"Already set up: {folder / 'kaggle.json'}" in report.messages()[0]


def test_no_source_with_an_installed_loose_file_fixes_it_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "kaggle-config"
    write(folder / "kaggle.json", GOOD, mode=0o664)
    with pytest.warns(PermissionsFixedWarning) as caught:
        path = kagman.init()
    fixed = f"Fixed permissions: {path} was 0664, now 0600."
    assert fixed in [str(w.message) for w in caught]
    assert path == folder / "kaggle.json"
    assert mode_of(path) == 0o600
    assert fixed in caplog.text
    assert "Already set up" in caplog.text


def test_no_source_with_an_installed_file_points_out_a_different_download(
    isolated_env: Path, tmp_path: Path
) -> None:
    kagman.init(GOOD)
    other = write(isolated_env / "Downloads" / "kaggle.json", {"username": "bob", "key": OTHER_KEY})
    report = install()
    assert report.action == "unchanged"
    assert report.warnings == (
        (
            f"{other} holds different credentials (user bob, key aa11…8899); to use them run "
            f"`kagman init {other} --force` (or `kagman init --force`)."
        ),
    )
    assert installed(tmp_path / "kaggle-config") == GOOD


def test_different_credentials_need_force_which_keeps_a_backup(tmp_path: Path) -> None:
    folder = tmp_path / "kaggle-config"
    kagman.init(GOOD)
    old_bytes = (folder / "kaggle.json").read_bytes()
    new = {"username": "bob", "key": OTHER_KEY}
    with raises_secretless(CredentialsConflictError, "Rerun with force=True"):
        kagman.init(new)
    assert installed(folder) == GOOD
    report = install(new, force=True)
    assert report.action == "replaced"
    assert report.backup == folder / "kaggle.json.bak"
    assert (folder / "kaggle.json.bak").read_bytes() == old_bytes
    assert mode_of(folder / "kaggle.json.bak") == 0o600
    assert installed(folder) == new
    assert mode_of(folder / "kaggle.json") == 0o600


def test_a_malformed_installed_file_is_a_conflict_too(tmp_path: Path) -> None:
    folder = tmp_path / "kaggle-config"
    write(folder / "kaggle.json", b"{broken", mode=0o600)
    with raises_secretless(CredentialsConflictError, r"not a valid kaggle\.json"):
        kagman.init(GOOD)
    kagman.init(GOOD, force=True)
    assert (folder / "kaggle.json.bak").read_bytes() == b"{broken"


def test_move_deletes_the_source_only_after_installing(tmp_path: Path) -> None:
    source = write(tmp_path / "kaggle.json", GOOD)
    report = install(source, move=True)
    assert not source.exists()
    assert report.removed_source == source
    assert "Deleted" in report.messages()[-1]
    # A failed install leaves the source alone.
    other = write(tmp_path / "other.json", {"username": "bob", "key": OTHER_KEY})
    with raises_secretless(CredentialsConflictError):
        kagman.init(other, move=True)
    assert other.exists()


def test_move_of_the_installed_file_itself_keeps_it(tmp_path: Path) -> None:
    path = kagman.init(GOOD)
    report = install(path, move=True)
    assert report.action == "unchanged"
    assert report.removed_source is None
    assert path.exists()


def test_move_needs_a_file_source() -> None:
    with pytest.raises(ValueError, match=r"^move=True needs a source file") as refused:
        kagman.init(GOOD, move=True)
    assert isinstance(refused.value, kagman.KagmanError)
    assert refused.value.cli_message is not None
    assert refused.value.cli_message.startswith("--move needs a source file")


def test_symlinked_destination_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "kaggle-config"
    folder.mkdir(mode=0o700)
    target = write(tmp_path / "target.json", "{}")
    (folder / "kaggle.json").symlink_to(target)
    with raises_secretless(UnsafeDestinationError, "is a symbolic link"):
        kagman.init(GOOD)
    assert target.read_text() == "{}"


def test_symlinked_destination_folder_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "kaggle-config").symlink_to(real)
    with raises_secretless(UnsafeDestinationError, "is a symbolic link"):
        kagman.init(GOOD)
    assert list(real.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_folder_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "kaggle-config"
    folder.mkdir(mode=0o700)
    os.chown(folder, 12345, 12345)
    with raises_secretless(UnsafeDestinationError, "belongs to another user \\(uid 12345\\)"):
        kagman.init(GOOD)
    assert list(folder.iterdir()) == []


def test_kaggle_config_dir_is_created_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "deep" / "er" / "kaggle"
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(folder))
    assert kagman.init(GOOD) == folder / "kaggle.json"
    assert mode_of(folder) == 0o700


# --- tokens ----------------------------------------------------------------------


def test_token_is_written_to_access_token(tmp_path: Path) -> None:
    folder = tmp_path / "kaggle-config"
    with pytest.warns(CredentialsWarning, match="read tokens only from"):  # not ~/.kaggle
        path = kagman.init(token=f"  {TOKEN}\n")
    assert path == folder / "access_token"
    assert path.read_text() == TOKEN + "\n"
    assert mode_of(path) == 0o600
    creds = resolve_credentials()
    assert (creds.token, creds.username, creds.source) == (TOKEN, None, str(path))
    assert install(token=TOKEN).action == "unchanged"
    with raises_secretless(CredentialsConflictError, "token KGAT…cdef"):
        kagman.init(token="KGAT_another_token_value_0000")
    assert install(token="KGAT_another_token_value_0000", force=True).backup == (
        folder / "access_token.bak"
    )


def test_token_outside_home_kaggle_warns_other_clients_will_not_see_it() -> None:
    report = install(token=TOKEN)
    assert any("kagglesdk and the kaggle CLI read tokens only from" in w for w in report.warnings)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "is empty"),
        ("two words", "single word"),
        (json.dumps(GOOD), "looks like a kaggle.json"),
        ("x" * 70000, "larger than 64 KiB"),
    ],
)
def test_bad_tokens_are_refused(token: str, message: str) -> None:
    with raises_secretless(InvalidCredentialsFileError, message):
        kagman.init(token=token)


# --- resolve_credentials ------------------------------------------------------


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "kaggle-config"
    with raises_secretless(CredentialsNotFoundError, "Run `kagman init`"):
        resolve_credentials()
    kagman.init(GOOD)
    assert resolve_credentials() == Credentials("ada", KEY, None, str(folder / "kaggle.json"))
    monkeypatch.setenv("KAGGLE_USERNAME", "bob")
    monkeypatch.setenv("KAGGLE_KEY", OTHER_KEY)
    assert resolve_credentials().source == "KAGGLE_USERNAME/KAGGLE_KEY"
    write(folder / "access_token.txt", "KGAT_from_txt_file_1234\n", mode=0o600)
    assert resolve_credentials().token == "KGAT_from_txt_file_1234"
    write(folder / "access_token", "\n", mode=0o600)  # empty: skipped, as kagglesdk does
    assert resolve_credentials().source == str(folder / "access_token.txt")
    token_file = write(tmp_path / "tok", TOKEN + "\n")
    monkeypatch.setenv("KAGGLE_API_TOKEN", str(token_file))
    assert resolve_credentials().source == f"KAGGLE_API_TOKEN file {token_file}"
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    assert resolve_credentials() == Credentials(None, None, TOKEN, "KAGGLE_API_TOKEN")


def test_resolution_reports_half_set_variables_and_malformed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    with raises_secretless(
        CredentialsNotFoundError, "KAGGLE_KEY is set but KAGGLE_USERNAME is not"
    ):
        resolve_credentials()
    write(tmp_path / "kaggle-config" / "kaggle.json", b'{"username": 1}')
    with raises_secretless(InvalidCredentialsFileError, "must be a string"):
        resolve_credentials()


# --- credentials_status ----------------------------------------------------------


def test_status_says_what_each_client_uses(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    status = credentials_status()
    assert status.clients["kagman"] == "nothing"
    assert not status.ok
    path = kagman.init(GOOD)
    status = kagman.credentials_status()
    assert isinstance(status, kagman.CredentialsStatus)
    assert status.ok
    assert status.permissions_ok
    assert status.files == {"kaggle.json": "0600"}
    assert set(status.clients.values()) == {str(path)}
    path.chmod(0o644)
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    status = credentials_status()
    assert not status.permissions_ok
    assert status.clients["kagglehub"] == "KAGGLE_API_TOKEN"
    text = str(status) + status._repr_html_()
    assert "TOO OPEN" in text
    assert "kagman init" in text
    assert_secretless(text + repr(status))


def test_status_sees_kaggle_clis_xdg_fallback(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    xdg = write(isolated_env / ".config" / "kaggle" / "kaggle.json", GOOD, mode=0o600)
    status = credentials_status()
    assert status.clients["kaggle CLI"] == str(xdg)
    assert status.clients["kagman"] == "nothing"
    assert "`kagman init" in " ".join(status.problems)
    # and `kagman init` with no source picks it up, so every client agrees afterwards
    report = install()
    assert report.source == str(xdg)
    assert report.path == isolated_env / ".kaggle" / "kaggle.json"


def test_errors_are_credentials_errors_and_builtin_ones() -> None:
    assert issubclass(InvalidCredentialsFileError, (CredentialsError, ValueError))
    assert issubclass(CredentialsConflictError, FileExistsError)


# --- a notebook that imported kaggle first ------------------------------------------


NOTEBOOK = textwrap.dedent(
    """
    import json, os, sys
    import kaggle                      # computes KaggleApi.config_dir now: ~/.config/kaggle
    from kaggle.api.kaggle_api_extended import KaggleApi
    before = KaggleApi.config_dir
    import kagman
    path = kagman.init(sys.argv[1])
    api = kaggle.api
    print(json.dumps({
        "before": before,
        "config_dir": KaggleApi.config_dir,
        "config": api.config,
        "read": api.read_config_file(),
        "values_user": api.config_values.get("username"),
        "path": str(path),
    }))
    """
)


def test_notebook_that_imported_kaggle_first_works_without_restart(
    isolated_env: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "dl" / "kaggle.json", GOOD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    env["PYTHONWARNINGS"] = "ignore"
    assert not (isolated_env / ".kaggle").exists()
    proc = subprocess.run(
        [sys.executable, "-c", NOTEBOOK, str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert_secretless(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    home_kaggle = str(isolated_env / ".kaggle")
    assert result["before"] == str(isolated_env / ".config" / "kaggle")
    assert result["config_dir"] == home_kaggle
    assert result["config"] == str(isolated_env / ".kaggle" / "kaggle.json")
    assert result["path"] == str(isolated_env / ".kaggle" / "kaggle.json")
    assert result["read"] == GOOD
    assert result["values_user"] == "ada"  # re-authenticated with the new file
    assert "readable by other users" not in proc.stdout


def test_installing_kaggle_json_next_to_a_token_warns_the_token_wins(tmp_path: Path) -> None:
    with pytest.warns(CredentialsWarning, match="read tokens only from"):
        kagman.init(token=TOKEN)
    report = install(GOOD)
    assert report.warnings == (
        (
            f"{tmp_path / 'kaggle-config' / 'access_token'} also exists, and kagman, kaggle and "
            "kagglehub use a token before kaggle.json. Delete it if it is stale."
        ),
    )


def test_messages_name_the_file_exactly(tmp_path: Path) -> None:
    source = write(tmp_path / "My Files" / "Kaggle.JSON", b'{"username": "ada", "key": 7}')
    with pytest.raises(InvalidCredentialsFileError) as info:
        kagman.init(source)
    assert str(info.value) == f'The "key" field of {source} must be a string, not a number.'
    assert info.value.path == source
