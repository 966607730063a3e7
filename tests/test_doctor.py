"""`kagman doctor`: which credentials each client uses, packages, cache, proxies; never a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import assert_secretless, register_secrets
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle

import kagman
from kagman.cli import cli

KEY, OTHER_KEY = register_secrets(
    "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
)
(TOKEN,) = register_secrets("KGAT_11112222333344445555666677778888")
(PROXY_PASSWORD,) = register_secrets("pr0xy-pa55word-never-shown")


@pytest.fixture
def home(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with the default config folder (~/.kaggle), as most people have."""
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    return isolated_env


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    path.write_text(text)
    path.chmod(mode)
    return path


def kaggle_json(home: Path, key: str = KEY, mode: int = 0o600) -> Path:
    return write(home / ".kaggle/kaggle.json", json.dumps({"username": "ada", "key": key}), mode)


def token_file(home: Path) -> Path:
    return write(home / ".kaggle/access_token", TOKEN + "\n")


def run_doctor(*args: str) -> tuple[str, dict[str, object]]:
    """The text report and the parsed --json report, both checked for secrets."""
    runner = CliRunner()
    text = runner.invoke(cli, ["doctor", *args])
    assert text.exit_code == 0, text.output
    as_json = runner.invoke(cli, ["doctor", "--json", *args])
    assert as_json.exit_code == 0, as_json.output
    assert_secretless(text.output + as_json.output)
    return text.stdout, json.loads(as_json.stdout)


def none(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pass


def json_only(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kaggle_json(home)


def token_only(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file(home)


def both(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kaggle_json(home)
    token_file(home)


def loose(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kaggle_json(home, mode=0o644)


def malformed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(home / ".kaggle/kaggle.json", '{"username": "ada", "key": "' + KEY + '"')


def env_over_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kaggle_json(home)
    monkeypatch.setenv("KAGGLE_USERNAME", "bob")
    monkeypatch.setenv("KAGGLE_KEY", OTHER_KEY)


def token_env_over_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kaggle_json(home)
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)


def cli_only_json(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(home / ".config/kaggle/kaggle.json", json.dumps({"username": "ada", "key": KEY}))


def config_dir_token(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / "elsewhere"))
    write(home / "elsewhere/access_token", TOKEN)


def config_dir_json(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / "elsewhere"))
    write(home / "elsewhere/kaggle.json", json.dumps({"username": "ada", "key": KEY}))


JSON = "~/.kaggle/kaggle.json"
TOKEN_PATH = "~/.kaggle/access_token"
SITUATIONS: list[tuple[Callable[[Path, pytest.MonkeyPatch], None], dict[str, str], str]] = [
    # situation, what each client uses, a sentence the report must contain
    (none, dict.fromkeys(("kagman", "kagglehub", "kagglesdk"), "nothing"),
     "No Kaggle credentials found"),
    (json_only, dict.fromkeys(("kagman", "kaggle CLI", "kagglehub", "kagglesdk"), JSON),
     "No problems found."),
    (token_only, dict.fromkeys(("kagman", "kaggle CLI", "kagglehub", "kagglesdk"), TOKEN_PATH),
     "No problems found."),
    (both, dict.fromkeys(("kagman", "kaggle CLI", "kagglehub", "kagglesdk"), TOKEN_PATH),
     "use the token in ~/.kaggle/access_token before any kaggle.json"),
    (loose, {"kagman": JSON}, "is readable by others: run `kagman init` to make it 0600"),
    (malformed, {"kagman": "nothing"}, "is not valid JSON"),
    (env_over_file, {"kagman": "KAGGLE_USERNAME/KAGGLE_KEY", "kagglesdk": JSON},
     "KAGGLE_USERNAME/KAGGLE_KEY are set: they override ~/.kaggle/kaggle.json"),
    (token_env_over_file, dict.fromkeys(("kagman", "kagglesdk"), "KAGGLE_API_TOKEN"),
     ("KAGGLE_API_TOKEN is set: it overrides ~/.kaggle/kaggle.json for every client. Unset "
      "it to use that file.")),
    (cli_only_json, {"kagman": "nothing", "kaggle CLI": "~/.config/kaggle/kaggle.json"},
     "is read only by the kaggle CLI"),
    (config_dir_token, {"kagman": "~/elsewhere/access_token", "kagglesdk": "nothing"},
     "is read by kagman only: kagglesdk and the kaggle CLI read tokens from"),
    (config_dir_json,
     {**dict.fromkeys(("kagman", "kaggle CLI", "kagglehub"), "~/elsewhere/kaggle.json"),
      "kagglesdk": "nothing"},
     "kagglesdk shows nothing: used on its own it reads only ~/.kaggle/kaggle.json"),
]  # fmt: skip


WORKING = (json_only, token_only, both, token_env_over_file, config_dir_token, config_dir_json)


@pytest.mark.parametrize(
    ("situation", "clients", "says"), SITUATIONS, ids=lambda v: getattr(v, "__name__", "")
)
def test_doctor_says_which_credentials_each_client_uses(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    situation: Callable[[Path, pytest.MonkeyPatch], None],
    clients: dict[str, str],
    says: str,
) -> None:
    situation(home, monkeypatch)
    before = sorted(home.rglob("*"))
    text, report = run_doctor()
    shown = text.replace(str(home), "~")
    assert " ".join(says.split()) in " ".join(shown.split())
    credentials = report["credentials"]
    assert isinstance(credentials, dict)
    used = {name: src.replace(str(home), "~") for name, src in credentials["clients"].items()}
    assert {name: used[name] for name in clients} == clients
    # conflicts are notes; missing, unsafe, malformed or disagreeing credentials are problems
    assert report["ok"] is (situation in WORKING)
    assert sorted(home.rglob("*")) == before  # nothing written
    assert not Path(os.environ["KAGMAN_CACHE"]).exists()  # nor the cache


def test_packages_are_found_never_imported(home: Path, tmp_path: Path) -> None:
    code = (
        "import json, sys, kagman\n"
        "r = kagman.doctor()\n"
        "print(json.dumps({'kaggle_loaded': 'kaggle' in sys.modules,"
        " 'packages': r.to_dict()['packages']}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found["kaggle_loaded"] is False
    from importlib.metadata import version

    packages = found["packages"]
    assert packages["kaggle"]["version"] == version("kaggle")
    assert packages["kagglesdk"]["version"] == version("kagglesdk")
    assert packages["kagglehub"]["version"] == version("kagglehub")
    assert packages["kaggle"]["module"].endswith("kaggle/__init__.py")
    assert list(home.iterdir()) == []  # `import kaggle` would have made ~/.kaggle


def test_cache_section_counts_leftovers_and_sharing(kaggle: FakeKaggle, home: Path) -> None:
    kaggle.add_dataset("owner/pets", {"a.txt": b"a" * 3000})
    kagman.pull("owner/pets")
    root = Path(os.environ["KAGMAN_CACHE"])
    partial = root / "datasets/owner/big/.incomplete/v1.zip"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(os.urandom(20_000))
    text, report = run_doctor()
    cache = report["cache"]
    assert isinstance(cache, dict)
    assert (cache["root"], cache["entries"], cache["datasets"], cache["incomplete"]) == (
        str(root), 1, 1, 1
    )  # fmt: skip
    assert cache["size"] == kagman.cache_info().size
    assert cache["free"] > 0
    assert cache["shared"] is False
    assert cache["writable"] is True
    assert "1 leftover of an interrupted pull (" in text
    assert "`kagman prune` removes it" in text
    root.chmod(0o2775)
    assert run_doctor()[1]["cache"]["shared"] is True  # type: ignore[index]
    assert "shared with group" in run_doctor()[0]


def test_proxy_variables_are_shown_with_passwords_masked(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://ada:{PROXY_PASSWORD}@proxy.example:3128")
    monkeypatch.setenv("no_proxy", "localhost,.internal")
    text, report = run_doctor()
    assert "HTTPS_PROXY=http://ada:****@proxy.example:3128" in text
    assert report["network"]["no_proxy"] == "localhost,.internal"  # type: ignore[index]


def test_online_check_asks_kaggle(kaggle: FakeKaggle, home: Path) -> None:
    text, report = run_doctor("--online")
    assert f"accepts them: you are {TEST_USERNAME}." in text
    online = report["online"]
    assert isinstance(online, dict)
    assert online["ok"] is True
    assert online["username"] == TEST_USERNAME
    assert kaggle.count() >= 2  # one check per run
    assert TEST_KEY not in text


def test_online_check_reports_a_rejected_key(
    kaggle: FakeKaggle, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_KEY", OTHER_KEY)
    text, report = run_doctor("--online")
    assert "Online check: FAILED: " in text
    assert report["ok"] is False
    assert any(str(p).startswith("Kaggle check: ") for p in report["problems"])  # type: ignore[union-attr]


def test_doctor_in_python_shows_in_a_notebook(home: Path) -> None:
    kaggle_json(home)
    report = kagman.doctor()
    assert isinstance(report, kagman.DoctorReport)
    assert report.ok
    assert report.credentials.clients["kagman"] == str(home / ".kaggle/kaggle.json")
    assert report._repr_html_().startswith("<pre>")
    assert_secretless(str(report) + repr(report) + report._repr_html_())
