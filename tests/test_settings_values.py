"""A bad or out-of-range ``KAGMAN_*`` value: one ``Error:`` line and exit 2 (a ConfigError),
before anything is downloaded; never a traceback, a hang or a silent clamp."""

from __future__ import annotations

import os
import subprocess

import pytest
from click.testing import CliRunner
from conftest import kagman_executable
from hypothesis import given
from hypothesis import strategies as st
from kaggle_server import FakeKaggle

import kagman
from kagman import errors
from kagman.cli import cli
from kagman.settings import DEBUG_ENV, LIMITS, env_debug, env_number

WANTS = {
    "KAGMAN_CONNECTIONS": "a whole number from 1 to 64 (connections)",
    "KAGMAN_RETRIES": "a whole number from 0 to 100 (retries)",
    "KAGMAN_PARALLEL_MIN_BYTES": "a whole number from 1 to 1,125,899,906,842,624 (bytes)",
    "KAGMAN_LOCK_TIMEOUT": "a number from 0 to 604800 (seconds)",
    "KAGMAN_RETRY_BACKOFF": "a number from 0 to 600 (seconds)",
    "KAGMAN_MAX_RATIO": "a number from 1 to 1,000,000 (times)",
    "KAGMAN_MAX_EXTRACT_BYTES": "a whole number from 1 to 1,125,899,906,842,624 (bytes)",
    "KAGMAN_MOUNT_TIMEOUT": "a number from 0 to 86400 (seconds)",
    "KAGMAN_RULES_POLL": "a number from 0.05 to 3600 (seconds)",
}
SWITCH = "1 or 0 (true/false, yes/no, on/off)"
BAD = [
    ("KAGMAN_CONNECTIONS", "abc", WANTS["KAGMAN_CONNECTIONS"]),
    ("KAGMAN_CONNECTIONS", "nan", WANTS["KAGMAN_CONNECTIONS"]),
    ("KAGMAN_CONNECTIONS", "inf", WANTS["KAGMAN_CONNECTIONS"]),
    ("KAGMAN_CONNECTIONS", "0", WANTS["KAGMAN_CONNECTIONS"]),
    ("KAGMAN_CONNECTIONS", "65", WANTS["KAGMAN_CONNECTIONS"]),
    ("KAGMAN_CONNECTIONS", "1e9", WANTS["KAGMAN_CONNECTIONS"]),
    ("KAGMAN_CONNECTIONS", "2.5", WANTS["KAGMAN_CONNECTIONS"]),
    ("KAGMAN_RETRIES", "abc", WANTS["KAGMAN_RETRIES"]),
    ("KAGMAN_RETRIES", "-1", WANTS["KAGMAN_RETRIES"]),
    ("KAGMAN_PARALLEL_MIN_BYTES", "abc", WANTS["KAGMAN_PARALLEL_MIN_BYTES"]),
    ("KAGMAN_PARALLEL_MIN_BYTES", "-5", WANTS["KAGMAN_PARALLEL_MIN_BYTES"]),
    ("KAGMAN_LOCK_TIMEOUT", "x", WANTS["KAGMAN_LOCK_TIMEOUT"]),
    ("KAGMAN_LOCK_TIMEOUT", "-1", WANTS["KAGMAN_LOCK_TIMEOUT"]),
    ("KAGMAN_RETRY_BACKOFF", "1e400", WANTS["KAGMAN_RETRY_BACKOFF"]),
    ("KAGMAN_MAX_RATIO", "0", WANTS["KAGMAN_MAX_RATIO"]),
    ("KAGMAN_MAX_EXTRACT_BYTES", "lots", WANTS["KAGMAN_MAX_EXTRACT_BYTES"]),
    ("KAGMAN_MOUNT_TIMEOUT", "-3", WANTS["KAGMAN_MOUNT_TIMEOUT"]),
    ("KAGMAN_RULES_POLL", "0", WANTS["KAGMAN_RULES_POLL"]),
    ("KAGMAN_OFFLINE", "maybe", SWITCH),
    ("KAGMAN_PROGRESS", "2", SWITCH),
]


def test_every_numeric_variable_has_a_stated_range() -> None:
    assert set(LIMITS) == set(WANTS)


@pytest.mark.parametrize(("name", "value", "wants"), BAD)
def test_a_bad_value_is_one_error_line_and_exit_2(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, name: str, value: str, wants: str
) -> None:
    kaggle.add_dataset("owner/data", {"a.csv": b"x\n1\n"})
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["pull", "owner/data", "--no-progress"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: {name}={value!r} is not {wants}. Fix or unset it.\n"
    with pytest.raises(kagman.ConfigError) as caught:  # from Python: a KagmanError, ValueError
        kagman.pull("owner/data")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == f"{name}={value!r} is not {wants}. Fix or unset it."
    assert kaggle.requests == []  # refused before asking Kaggle anything


def test_the_installed_command_refuses_a_billion_connections(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/data", {"a.csv": b"x\n1\n"})
    env = {**os.environ, "KAGMAN_CONNECTIONS": "1e9"}
    done = subprocess.run(
        [kagman_executable(), "pull", "owner/data", "--force"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "Error: KAGMAN_CONNECTIONS='1e9' is not a whole number from 1 to 64 (connections). "
        "Fix or unset it.\n"
    )


@pytest.mark.parametrize("value", ["1", "TRUE", " yes ", "0", "maybe", ""])
def test_kagman_debug_reads_alike_in_settings_and_errors(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # errors, the leaf settings imports, reads KAGMAN_DEBUG by name: the same name and values
    monkeypatch.setenv(DEBUG_ENV, value)
    assert errors._DEBUG_ENV == DEBUG_ENV
    on = os.environ[errors._DEBUG_ENV].strip().lower() in ("1", "true", "yes", "on")
    assert env_debug() is on


def test_the_ends_of_a_range_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in (("1", 1), ("64", 64), (" 8 ", 8), ("", 8)):
        monkeypatch.setenv("KAGMAN_CONNECTIONS", value)
        assert env_number("KAGMAN_CONNECTIONS", 8) == expected
    monkeypatch.setenv("KAGMAN_RULES_POLL", "0.05")
    assert env_number("KAGMAN_RULES_POLL", 10.0) == 0.05


@given(st.sampled_from(sorted(LIMITS)), st.text(max_size=12))
def test_any_text_is_a_value_in_range_or_a_config_error(name: str, raw: str) -> None:
    limit = LIMITS[name]
    before = os.environ.get(name)
    try:
        os.environ[name] = raw.replace("\0", "")
        try:
            value = env_number(name, -1.0)
        except kagman.ConfigError:
            return
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
    assert value == -1.0 or limit.low <= value <= limit.high
    assert not limit.whole or value == -1.0 or isinstance(value, int)
