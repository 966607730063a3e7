"""``kagman init`` and ``kagman whoami`` as a user runs them.

CliRunner for the flag combinations, the installed ``kagman`` executable in a
subprocess (with a temporary HOME, and a real pseudo-terminal for the hidden
prompt), the fake Kaggle server for ``--check``, and Kaggle's own client to read
what was installed. No key or token may appear in any output.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shlex
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import assert_secretless, kagman_executable, register_secrets
from kaggle_server import TEST_KEY, TEST_TOKEN, TEST_USERNAME, FakeKaggle

import kagman
from kagman.cli import cli

KEY = "3f2a5b6c7d8e9f0a1b2c3d4e5f609c1d"
OTHER_KEY = "aa11bb22cc33dd44ee55ff6600778899"
WRONG_KEY = "00000000000000000000000000000bad"
REVOKED_TOKEN = "KGAT_" + "5eed" * 8  # no user has it: IntrospectToken says inactive
register_secrets(KEY, OTHER_KEY, WRONG_KEY, REVOKED_TOKEN)
GOOD = {"username": "ada", "key": KEY}


def run(args: Sequence[str], input: str | bytes | None = None) -> Result:  # noqa: A002
    """Invoke the CLI in-process; check no secret is in its output or exception."""
    result = CliRunner().invoke(cli, list(args), input=input)
    assert_secretless(result.stdout + result.stderr + repr(result.exception))
    return result


def write(path: Path, data: dict[str, str] | str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if isinstance(data, dict) else data)
    path.chmod(mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "kaggle-config"


# --- sources -------------------------------------------------------------------------


def test_init_path_prints_what_it_did(tmp_path: Path, folder: Path) -> None:
    source = write(tmp_path / "kaggle.json", GOOD)
    result = run(["init", str(source)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Created {folder} (mode 0700).",
        (
            f"Installed the credentials for ada (key 3f2a…9c1d) from {source} to "
            f"{folder / 'kaggle.json'} (mode 0600)."
        ),
        (
            f"{source} still holds a copy of your key: delete it, or run `kagman init "
            f"{source} --move`, which deletes the copy now that the key is installed."
        ),
    ]
    assert result.stderr == ""
    assert mode_of(folder / "kaggle.json") == 0o600
    advice = result.stdout.splitlines()[-1].split("`")[1]  # the command it names works
    again = run(shlex.split(advice)[1:])
    assert again.exit_code == 0, again.stderr
    assert f"Deleted {source} (--move)." in again.stdout
    assert not source.exists()
    assert json.loads((folder / "kaggle.json").read_text()) == GOOD


def test_init_stdin(folder: Path) -> None:
    result = run(["init", "-"], input=json.dumps(GOOD) + "\n")
    assert result.exit_code == 0, result.stderr
    assert "from stdin" in result.stdout
    assert json.loads((folder / "kaggle.json").read_text()) == GOOD


def test_init_stdin_malformed(folder: Path) -> None:
    result = run(["init", "-"], input='{"username": "ada"}')
    assert result.exit_code == 3
    assert result.stderr == (
        'Error: The kaggle.json on stdin has no "key" field. A kaggle.json has both "username" '
        'and "key".\n'
    )


def test_init_from_env(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "ada")
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    result = run(["init", "--from-env"])
    assert result.exit_code == 0, result.stderr
    assert "from KAGGLE_USERNAME/KAGGLE_KEY" in result.stdout
    assert result.stderr.startswith("Warning: KAGGLE_USERNAME and KAGGLE_KEY are set")
    monkeypatch.delenv("KAGGLE_KEY")
    result = run(["init", "--from-env"])
    assert result.exit_code == 3
    assert result.stderr.startswith(
        "Error: --from-env needs both KAGGLE_USERNAME and KAGGLE_KEY, but KAGGLE_KEY is not set."
    )


def test_no_source_and_no_terminal_lists_the_ways(folder: Path) -> None:
    result = run(["init"])
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: No Kaggle credentials found to install."
    assert any("kagman init PATH/kaggle.json" in line for line in lines)
    assert any("kagman init --token" in line for line in lines)
    assert not folder.exists()


def test_conflict_force_and_move(tmp_path: Path, folder: Path) -> None:
    assert run(["init", str(write(tmp_path / "a.json", GOOD))]).exit_code == 0
    other = write(tmp_path / "b.json", {"username": "bob", "key": OTHER_KEY})
    result = run(["init", str(other), "--move"])
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: Different credentials are already installed at {folder / 'kaggle.json'} "
        "(user ada, key 3f2a…9c1d); the new ones are user bob, key aa11…8899. Rerun with "
        "--force to replace them; the old file is kept as kaggle.json.bak.\n"
    )
    with pytest.raises(kagman.CredentialsConflictError, match="Rerun with force=True to replace"):
        kagman.init(other)  # Python names the argument (QA2 finding 7)
    assert other.exists()
    result = run(["init", str(other), "--force", "--move"])
    assert result.exit_code == 0, result.stderr
    assert f"The old file is kept as {folder / 'kaggle.json.bak'} (mode 0600)." in result.stdout
    assert f"Deleted {other} (--move)." in result.stdout
    assert not other.exists()
    assert json.loads((folder / "kaggle.json.bak").read_text()) == GOOD
    assert mode_of(folder / "kaggle.json.bak") == 0o600


def test_flag_mistakes_are_usage_errors() -> None:
    result = run(["init", "-", "--move"])
    assert result.exit_code == 2
    assert "--move deletes the source file, and '-' reads stdin" in result.stderr
    result = run(["init", "x.json", "--from-env"])
    assert result.exit_code == 2
    assert "--from-env cannot be combined" in result.stderr


def test_init_without_source_fixes_loose_permissions(folder: Path) -> None:
    write(folder / "kaggle.json", GOOD, mode=0o644)
    folder.chmod(0o775)
    result = run(["init"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Already set up: {folder / 'kaggle.json'} holds the credentials for ada (key 3f2a…9c1d).",
        f"Fixed permissions: {folder} was 0775, now 0700.",
        f"Fixed permissions: {folder / 'kaggle.json'} was 0644, now 0600.",
    ]
    assert mode_of(folder) == 0o700
    assert mode_of(folder / "kaggle.json") == 0o600


def test_symlink_refusal_message(tmp_path: Path, folder: Path) -> None:
    folder.mkdir()
    (folder / "kaggle.json").symlink_to(tmp_path / "elsewhere.json")
    result = run(["init", "-"], input=json.dumps(GOOD))
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: {folder / 'kaggle.json'} is a symbolic link (to ")
    assert not (tmp_path / "elsewhere.json").exists()


# --- tokens --------------------------------------------------------------------------


def test_token_from_stdin_file_and_env(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(["init", "--token", "-"], input=TEST_TOKEN + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        f"Installed the API token KGAT…4e5f from stdin to {folder / 'access_token'} (mode 0600)."
    )
    assert (folder / "access_token").read_text() == TEST_TOKEN + "\n"
    assert mode_of(folder / "access_token") == 0o600
    token_file = write(tmp_path / "token.txt", TEST_TOKEN)
    result = run(["init", "--token", str(token_file), "--move"])
    assert result.exit_code == 0, result.stderr
    assert "Already set up" in result.stdout
    assert not token_file.exists()
    monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_from_the_environment_1")
    result = run(["init", "--token", "--force"])
    assert result.exit_code == 0, result.stderr
    assert "from KAGGLE_API_TOKEN" in result.stdout
    assert (folder / "access_token.bak").read_text() == TEST_TOKEN + "\n"


def test_token_without_any_way_to_read_it() -> None:
    result = run(["init", "--token"])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: No token given and no terminal to ask on")


# --- --check and whoami against the fake Kaggle ---------------------------------------


def test_check_with_legacy_key(fake_kaggle: FakeKaggle, tmp_path: Path, folder: Path) -> None:
    source = write(tmp_path / "kaggle.json", {"username": TEST_USERNAME, "key": TEST_KEY})
    result = run(["init", str(source), "--check"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        f"Kaggle accepts the credentials in {folder / 'kaggle.json'}: you are {TEST_USERNAME}."
    )
    assert fake_kaggle.count("Hello") == 1
    result = run(["init", "--check"])  # alone: only checks, installs nothing
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"Kaggle accepts the credentials in {folder / 'kaggle.json'}: you are {TEST_USERNAME}.\n"
    )
    assert fake_kaggle.count("Hello") == 2
    result = run(["whoami"])
    assert (result.exit_code, result.stdout) == (0, f"{TEST_USERNAME}\n")
    assert result.stderr == f"Using the credentials from {folder / 'kaggle.json'}.\n"


def test_check_with_token(fake_kaggle: FakeKaggle) -> None:
    result = run(["init", "--token", "-", "--check"], input=TEST_TOKEN)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith(f"you are {TEST_USERNAME}.")
    assert fake_kaggle.count("IntrospectToken") == 1
    assert fake_kaggle.count("Hello") == 0


def test_rejected_key_is_told_apart_from_network_trouble(
    fake_kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        run(["init", "-"], input=json.dumps({"username": "ada", "key": WRONG_KEY})).exit_code == 0
    )
    result = run(["whoami"])
    assert result.exit_code == 3
    last = result.stderr.splitlines()[-1]
    assert last.startswith("Error: Kaggle rejected")
    assert "kagman init" in last
    # Unreachable: every request goes to a proxy on a port nobody listens on.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("KAGMAN_RETRIES", "0")
    result = run(["init", "--check"])
    assert result.exit_code == 5
    assert result.stderr.startswith("Error: Could not reach Kaggle")


def test_whoami_without_credentials() -> None:
    result = run(["whoami"])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: No Kaggle credentials found")
    assert "Run `kagman init`" in result.stderr


def test_help_texts_end_with_examples() -> None:
    for command in ("init", "whoami"):
        result = run([command, "--help"])
        assert result.exit_code == 0
        description = result.stdout.split("Options:")[0].rstrip()
        example = description.split("Example:")[1].strip().splitlines()
        assert example
        assert all(line.strip().startswith("kagman ") for line in example)


# --- the installed executable, as a user runs it ------------------------------------


def _user_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAGGLE_", "XDG_", "KAGMAN_"))}
    env["HOME"] = str(home)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def test_installed_executable_then_kaggles_own_reader(tmp_path: Path) -> None:
    home = tmp_path / "userhome"
    source = write(home / "Downloads" / "kaggle.json", GOOD)
    env = _user_env(home)
    proc = subprocess.run(
        [kagman_executable(), "init", str(source)],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert_secretless(proc.stdout + proc.stderr)
    installed = home / ".kaggle" / "kaggle.json"
    assert f"to {installed} (mode 0600)" in proc.stdout
    assert mode_of(home / ".kaggle") == 0o700
    assert mode_of(installed) == 0o600
    # Kaggle's own client reads it, with no "readable by other users" warning.
    reader = (
        "import json; from kaggle.api.kaggle_api_extended import KaggleApi; "
        "api = KaggleApi(); print(api.config); print(json.dumps(api.read_config_file()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", reader],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "readable by other users" not in proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-2] == str(installed)
    assert json.loads(lines[-1]) == GOOD


def test_installed_executable_without_source_and_terminal(tmp_path: Path) -> None:
    home = tmp_path / "userhome"
    home.mkdir()
    proc = subprocess.run(
        [kagman_executable(), "init"],
        env=_user_env(home),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.startswith("Error: No Kaggle credentials found to install.")
    assert "Traceback" not in proc.stderr


def _talk(fd: int, until: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while until not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"waited for {until!r}, saw {seen!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_hidden_prompt_on_a_real_terminal(tmp_path: Path) -> None:
    home = tmp_path / "userhome"
    home.mkdir()
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [kagman_executable(), "init"],
        env=_user_env(home),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=tmp_path,
    )
    os.close(slave)
    try:
        transcript = _talk(master, b"Kaggle username: ")
        os.write(master, b"ada\n")
        transcript += _talk(master, b"Kaggle API key: ")
        os.write(master, KEY.encode() + b"\n")
        transcript += _talk(master, b"(mode 0600).")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = transcript.decode("utf-8", "replace")
    assert_secretless(text)  # the key was typed but never echoed
    assert "ada" in text
    installed = home / ".kaggle" / "kaggle.json"
    assert json.loads(installed.read_text()) == GOOD
    assert mode_of(installed) == 0o600


# --- advice that works as given (QA finding 5) -----------------------------------------


def test_advice_with_a_numbered_download_is_quoted_and_runs(
    isolated_env: Path, folder: Path
) -> None:
    assert run(["init", "-"], input=json.dumps(GOOD)).exit_code == 0
    other = write(
        isolated_env / "Downloads" / "kaggle (1).json", {"username": "bob", "key": OTHER_KEY}
    )
    result = run(["init"])
    assert result.exit_code == 0
    quoted = shlex.quote(str(other))
    assert quoted.startswith("'")  # the space needs quoting in a shell
    assert result.stderr == (
        f"Warning: {other} holds different credentials (user bob, key aa11…8899); to use them "
        f"run `kagman init {quoted} --force` (or `kagman init --force`).\n"
    )
    advice = result.stderr.split("`")[1]
    done = subprocess.run(
        ["bash", "-c", advice.replace("kagman", kagman_executable(), 1)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((folder / "kaggle.json").read_text())["username"] == "bob"


def test_init_force_without_a_source_installs_the_newer_download(
    isolated_env: Path, folder: Path
) -> None:
    assert run(["init", "-"], input=json.dumps(GOOD)).exit_code == 0
    other = write(isolated_env / "Downloads" / "kaggle.json", {"username": "bob", "key": OTHER_KEY})
    result = run(["init", "--force"])
    assert result.exit_code == 0, result.stderr
    assert f"Replaced {folder / 'kaggle.json'} with the credentials for bob" in result.stdout
    assert f"The old file is kept as {folder / 'kaggle.json.bak'} (mode 0600)." in result.stdout
    assert json.loads((folder / "kaggle.json").read_text())["username"] == "bob"
    assert json.loads((folder / "kaggle.json.bak").read_text()) == GOOD
    assert other.exists()  # kept, with the reminder
    assert "Already set up" not in result.stdout


def test_init_move_without_a_source_deletes_the_found_copy(
    isolated_env: Path, folder: Path
) -> None:
    download = write(isolated_env / "Downloads" / "kaggle.json", GOOD)
    result = run(["init", "--move"])  # installs the download, then deletes it
    assert result.exit_code == 0, result.stderr
    assert f"Deleted {download} (--move)." in result.stdout
    assert not download.exists()
    copy = write(isolated_env / "Downloads" / "kaggle.json", GOOD)  # downloaded again
    result = run(["init"])
    assert f"{copy} still holds a copy of your key" in result.stdout
    result = run(["init", "--move"])  # already installed: deletes the copy
    assert result.exit_code == 0, result.stderr
    assert f"Already set up: {folder / 'kaggle.json'}" in result.stdout
    assert f"Deleted {copy} (--move)." in result.stdout
    assert not copy.exists()
    result = run(["init", "--move"])  # nothing left to delete: says so
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --move deletes the kaggle.json the credentials were")
    assert "no copy of the installed key was found" in result.stderr
    with pytest.raises(kagman.InvalidArgumentError, match=r"^move=True deletes the kaggle\.json"):
        kagman.init(move=True)
    other = write(isolated_env / "Downloads" / "kaggle.json", {"username": "bob", "key": OTHER_KEY})
    result = run(["init", "--move"])  # never deletes different credentials
    assert result.exit_code == 2
    assert "and --move deletes only a copy of the installed key" in result.stderr
    assert "(move=True)" not in result.stderr
    with pytest.raises(kagman.InvalidArgumentError, match="and move=True deletes only a copy"):
        kagman.init(move=True)
    assert other.exists()


@pytest.mark.parametrize(
    ("env", "advice"),
    [
        (
            {"KAGGLE_API_TOKEN": REVOKED_TOKEN},
            (
                "KAGGLE_API_TOKEN is set and wins over every credentials file: set it to a "
                "new token (from https://www.kaggle.com/settings/api), or unset it to use the "
                "installed credentials (`unset KAGGLE_API_TOKEN`; in Python, "
                "del os.environ['KAGGLE_API_TOKEN'])."
            ),
        ),
        (
            {"KAGGLE_USERNAME": "ada", "KAGGLE_KEY": WRONG_KEY},
            (
                "KAGGLE_USERNAME and KAGGLE_KEY are set and win over kaggle.json: set "
                "KAGGLE_KEY to a new key (from https://www.kaggle.com/settings/api), or unset "
                "both to use the installed credentials."
            ),
        ),
    ],
)
def test_rejected_credentials_from_a_variable_say_to_fix_the_variable(
    fake_kaggle: FakeKaggle,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    advice: str,
) -> None:
    assert run(["init", "-"], input=json.dumps(GOOD)).exit_code == 0
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run(["whoami"])
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1].endswith(advice)
    assert "kagman init" not in result.stderr.splitlines()[-1]  # that would not help
