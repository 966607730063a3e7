"""`kagman pull` from the command line: stdout is only the path; errors are one line."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import kagman_executable
from kaggle_server import FakeKaggle
from PIL import Image

import kagman
from kagman.cli import cli


def image_dataset(n: int) -> dict[str, bytes]:
    """n small real JPEGs in class folders (a few distinct images, reused)."""
    samples = []
    for shade in range(8):
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), (shade * 30, 100, 200 - shade * 20)).save(buf, "JPEG")
        samples.append(buf.getvalue())
    classes = ("cat", "dog", "bird")
    return {f"train/{classes[i % 3]}/img_{i:05}.jpg": samples[i % len(samples)] for i in range(n)}


def test_stdout_is_only_the_path(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", {"a.txt": b"a"})
    result = CliRunner().invoke(cli, ["pull", "owner/pets"])
    assert result.exit_code == 0, result.output
    expected = Path(os.environ["KAGMAN_CACHE"]) / "datasets/owner/pets/versions/1"
    assert result.stdout == f"{expected}\n"


def test_version_file_and_offline_flags(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", {"a.txt": b"a"})
    kaggle.add_dataset("owner/pets", {"a.txt": b"b"})
    runner = CliRunner()
    one = runner.invoke(cli, ["pull", "owner/pets", "--version", "1", "--file", "a.txt"])
    assert one.exit_code == 0, one.output
    assert Path(one.stdout.strip()).read_bytes() == b"a"
    runner.invoke(cli, ["pull", "owner/pets"])
    before = kaggle.count()
    off = runner.invoke(cli, ["pull", "owner/pets", "--offline"])
    assert off.exit_code == 0
    assert off.stdout.strip().endswith("versions/2")
    assert kaggle.count() == before


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (["pull", "nope"], 2, "Error: Invalid dataset reference 'nope'"),
        (["pull", "owner/missing"], 4, "Error: Kaggle has no dataset owner/missing"),
        (["pull", "owner/missing", "--offline"], 6, "Error: owner/missing is not in the cache"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    kaggle: FakeKaggle, args: list[str], code: int, line: str
) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr.startswith(line)
    assert "Traceback" not in result.stderr


def test_force_with_offline_is_a_usage_error(kaggle: FakeKaggle) -> None:
    result = CliRunner().invoke(cli, ["pull", "owner/pets", "--force", "--offline"])
    assert result.exit_code == 2
    assert "cannot be used together" in result.stderr


def test_no_credentials_exit_code(fake_kaggle: FakeKaggle) -> None:
    result = CliRunner().invoke(cli, ["pull", "owner/pets"])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ")
    assert "kagman init" in result.stderr


@pytest.mark.slow
def test_three_thousand_images_from_the_installed_cli_and_python(kaggle: FakeKaggle) -> None:
    files = image_dataset(3000)
    kaggle.add_dataset("owner/images", files)
    proc = subprocess.run(
        [kagman_executable(), "pull", "owner/images"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.strip())  # what $(kagman pull owner/images) gives a shell
    assert proc.stdout == f"{path}\n"
    got = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.jpg"))
    assert got == sorted(files)
    assert proc.stderr == ""  # no TTY: no progress bar, no noise
    # the Python API returns the same path, from the cache, with one version lookup
    before = kaggle.count()
    assert kagman.pull("owner/images") == path
    assert kaggle.count() - before == 1


def test_shell_substitution_in_a_real_shell(kaggle: FakeKaggle, tmp_path: Path) -> None:
    kaggle.add_dataset("owner/pets", {"hello.txt": b"hi"})
    script = f'cd "$({kagman_executable()} pull owner/pets)" && cat hello.txt && pwd'
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=dict(os.environ), check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("hi")
    assert proc.stdout.strip().endswith("datasets/owner/pets/versions/1")


def test_conflicts_name_the_flags_on_the_command_line(kaggle: FakeKaggle) -> None:
    """QA2 finding 7: the CLI says --version/--file, Python version=/file=."""
    result = CliRunner().invoke(cli, ["pull", "owner/pets/versions/1", "--version", "2"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: Conflicting versions for 'owner/pets/versions/1': the reference says 1, "
        "--version says 2. Give only one.\n"
    )
    url = "https://www.kaggle.com/datasets/owner/pets?select=train.csv"
    result = CliRunner().invoke(cli, ["pull", url, "--file", "test.csv"])
    assert result.exit_code == 2
    assert "the URL selects 'train.csv', --file says 'test.csv'. Give only one." in result.stderr
    with pytest.raises(kagman.InvalidRefError, match=r"the reference says 1, version= says 2\."):
        kagman.pull("owner/pets/versions/1", version=2)
