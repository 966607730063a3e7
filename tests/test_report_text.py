"""Every public report shows one way per medium (QA2 finding 5): ``print()`` gives the
command's text, ``repr()`` one short line, a notebook the HTML view."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from kaggle_server import FakeKaggle
from test_images_helpers import encode, write

import kagman
from kagman.cli import cli


def one_line(obj: object) -> str:
    text = repr(obj)
    assert "\n" not in text, text
    assert len(text) < 300, text
    assert text.startswith(f"<{type(obj).__name__} "), text
    return text


def cli_text(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout.rstrip("\n")


def test_cache_reports_print_the_commands_text(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", {f"f{i}.csv": b"a\n1\n" for i in range(30)})
    kaggle.add_dataset("owner/tables", {"t.csv": b"x\n1\n"})
    kagman.pull("owner/pets")
    kagman.pull("owner/tables", file="t.csv")
    info = kagman.cache_info()
    assert str(info) == cli_text("ls")
    assert "owner/tables" in str(info).splitlines()[2]  # the table, not only the summary
    assert one_line(info) == f"<CacheInfo {info.summary()}>"
    check = kagman.verify()
    assert str(check) == f"{cli_text('verify')}\n{check.summary()}"  # the lines, then a summary
    one_line(check)
    one_line(kagman.remove("owner/tables", dry_run=True))


def test_doctor_credentials_and_environment_are_one_line_reprs(kaggle: FakeKaggle) -> None:
    report = kagman.doctor()
    assert str(report) == cli_text("doctor")
    assert one_line(report).startswith("<DoctorReport ok=True")
    status = kagman.credentials_status()
    assert one_line(status).startswith("<CredentialsStatus ok=True")
    assert str(status).startswith("Config folder: ")
    env = kagman.environment()
    assert one_line(env) == f"<Environment {env.summary}>"
    assert str(env).startswith("Platform:")


def test_an_image_index_prints_what_kagman_index_prints(tmp_path: Path) -> None:
    folder = tmp_path / "pets"
    jpeg = encode("JPEG")
    for name in ("train/cat/1.jpg", "train/dog/2.jpg", "test/cat/3.jpg", "test/dog/4.jpg"):
        write(folder / name, jpeg)
    write(folder / "train" / "notes.txt", b"x")
    idx = kagman.index(folder)
    assert str(idx) == cli_text("index", str(folder))
    assert str(idx).startswith("Layout: ")
    assert "Problems: 1 file skipped" in str(idx)
    assert "\n" not in repr(idx)
    assert repr(idx).startswith("ImageIndex(")
