"""Package-level promises: cheap import, a documented CLI, one error hierarchy."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import kagman
from kagman import errors
from kagman.cli import cli

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "numpy", "kaggle", "kagglesdk", "requests", "PIL", "tqdm", "filelock")


def imported_after(code: str, tmp_path: Path) -> list[str]:
    probe = (
        f"{code}\nimport sys, json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    home = tmp_path / "probe-home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "KAGMAN_CACHE": str(tmp_path / "probe-cache")}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert list(home.iterdir()) == [], "import must not create folders"
    assert not (tmp_path / "probe-cache").exists()
    result: list[str] = json.loads(out.stdout.splitlines()[-1])
    return result


def test_import_kagman_is_cheap(tmp_path: Path) -> None:
    assert imported_after("import kagman", tmp_path) == []


def test_cli_help_imports_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom kagman.cli import cli\n"
        "try:\n    cli.main(['--help'], prog_name='kagman')\nexcept SystemExit:\n    pass"
    )
    assert imported_after(code, tmp_path) == []


def test_pinned_cache_hit_imports_nothing_heavy(tmp_path: Path) -> None:
    """A cached pinned pull needs no Kaggle client, no pandas, no requests."""
    cache = tmp_path / "probe-cache" / "datasets/owner/data/versions"
    code = (
        f"import pathlib\np = pathlib.Path({str(cache)!r})\n(p / '3').mkdir(parents=True)\n"
        '(p / \'3.manifest.json\').write_text(\'{"format":1,"kind":"dataset"}\')\n'
        "import kagman\nassert kagman.pull('owner/data/versions/3') == p / '3'\n"
        "import shutil; shutil.rmtree(p.parents[3])"
    )
    assert imported_after(code, tmp_path) == []


def test_public_names_resolve() -> None:
    for name in kagman.__all__:
        assert getattr(kagman, name) is not None, name
    assert callable(kagman.pull)
    assert callable(kagman.index)
    assert callable(kagman.init)
    with pytest.raises(AttributeError):
        _ = kagman.no_such_thing  # type: ignore[attr-defined]


def test_every_error_is_a_kagman_error_and_a_builtin() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.KagmanError)
    ]
    assert len(classes) >= 20
    for cls in classes:
        assert issubclass(cls, Exception)
        assert cls.exit_code >= 1
        if cls is not errors.KagmanError:
            builtin = [b for b in cls.__mro__ if b.__module__ == "builtins" and b is not object]
            assert builtin != [Exception, BaseException], f"{cls.__name__} needs a built-in base"


def commands() -> list[str]:
    return sorted(cli.commands)


@pytest.mark.parametrize("name", commands())
def test_each_command_has_help_with_example_and_is_in_readme(name: str) -> None:
    command = cli.commands[name]
    assert isinstance(command, click.Command)
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert (command.help or "").strip()
    assert f"kagman {name}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_version_and_short_help() -> None:
    assert (
        CliRunner().invoke(cli, ["--version"]).output.strip()
        == f"kagman, version {kagman.__version__}"
    )
    assert CliRunner().invoke(cli, ["-h"]).exit_code == 0


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kagman", "--version"], capture_output=True, text=True, check=True
    )
    assert kagman.__version__ in out.stdout


def test_readme_exit_code_table_matches_the_errors() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line
        for line in readme.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isdigit()
    }
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.KagmanError)
    ]
    for cls in classes:  # every error, in the row of its own exit code
        assert f"`{cls.__name__}`" in rows.get(str(cls.exit_code), ""), cls.__name__


def test_dir_lists_the_public_names_only() -> None:
    names = dir(kagman)
    assert names == sorted(kagman.__all__)
    for helper in ("Any", "TYPE_CHECKING", "annotations", "importlib"):
        assert helper not in names
    assert {"pull", "index", "KagmanError", "InvalidArgumentError", "__version__"} <= set(names)


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        (["download", "owner/dataset"], "`kagman pull owner/dataset` downloads a dataset"),
        (["datasets", "download", "owner/dataset"], "`kagman pull owner/dataset` (kaggle"),
        (["competitions", "download", "-c", "titanic"], "`kagman pull -c titanic` (kaggle"),
        (["login"], "`kagman init` installs your kaggle.json"),
    ],
)
def test_commands_from_other_tools_name_kagmans_own(typed: list[str], names: str) -> None:
    result = CliRunner().invoke(cli, typed)
    assert result.exit_code == 2
    assert f"Error: No such command '{typed[0]}': " in result.stderr
    assert names in result.stderr
    assert "Did you mean 'load'" not in result.stderr
