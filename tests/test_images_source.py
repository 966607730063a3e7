"""`kagman.index(source)`: a local folder or a dataset ref, and warnings at the caller's line."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from kaggle_server import FakeKaggle
from test_images_helpers import encode, write

import kagman
from kagman import ImageFolderError
from kagman.cli import cli

JPEG = encode("JPEG")


def test_an_existing_folder_shaped_like_a_ref_is_a_folder(
    kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("data/train", {"x/1.jpg": JPEG})
    write(tmp_path / "data" / "train" / "cat" / "1.jpg", JPEG)
    monkeypatch.chdir(tmp_path)
    idx = kagman.index("data/train")
    assert idx.paths() == [str(tmp_path / "data" / "train" / "cat" / "1.jpg")]
    assert kaggle.count() == 0


@pytest.mark.parametrize(
    "source",
    [
        "./data/chest_xray",
        "../chest-xray",
        "/data/chest-xray",
        "~/data/chest-xray",
        "data\\chest-xray",
        "home/ada/data/chest-xray/train",
        "data/chest_xray",  # not a valid slug either
    ],
)
def test_a_missing_path_is_never_sent_to_kaggle(
    kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(ImageFolderError, match=r"^No folder .* \(from the working folder ") as err:
        kagman.index(source)
    assert f"(from the working folder {tmp_path})" in str(err.value)
    assert "Kaggle" not in str(err.value)
    assert kaggle.count() == 0


def test_a_path_object_is_never_a_ref(
    kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("owner/pets", {"cat/1.jpg": JPEG})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImageFolderError, match=r"^No folder .*owner/pets \(from the working"):
        kagman.index(Path("owner/pets"))
    assert kaggle.count() == 0


def test_a_ref_that_is_no_local_folder_is_pulled_and_the_log_says_so(
    kaggle: FakeKaggle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kaggle.add_dataset("owner/pets", {"pets/train/cat/1.jpg": JPEG, "pets/train/dog/2.jpg": JPEG})
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("kagman")
    monkeypatch.setattr(logger, "handlers", [caplog.handler])
    caplog.set_level(logging.INFO, logger="kagman")
    idx = kagman.index("owner/pets")
    assert idx.classes == ["cat", "dog"]
    assert (
        "No folder owner/pets here, so owner/pets is taken as a Kaggle dataset: indexing its "
        "cached copy (pulled if needed)."
    ) in caplog.messages


def test_a_ref_that_is_neither_names_both(
    kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImageFolderError) as err:
        kagman.index("data/chest-xray")
    message = str(err.value)
    assert message.startswith(
        f"No folder {tmp_path / 'data' / 'chest-xray'} (from the working folder {tmp_path}), "
        "and no Kaggle dataset data/chest-xray (Kaggle has no dataset data/chest-xray"
    )
    result = CliRunner().invoke(cli, ["index", "data/chest-xray"])
    assert result.exit_code == 8
    said, error = result.stderr.splitlines()
    assert said.startswith("No folder data/chest-xray here, so data/chest-xray is taken as a")
    assert error.startswith("Error: No folder ")
    assert "and no Kaggle dataset data/chest-xray" in error


# --- warnings point at the caller's line -------------------------------------------------


def build_missing_class(base: Path) -> Path:
    write(base / "train" / "cat" / "1.jpg", JPEG)
    write(base / "train" / "dog" / "2.jpg", JPEG)
    write(base / "test" / "cat" / "3.jpg", JPEG)
    return base


def test_warnings_name_the_callers_file_and_line(tmp_path: Path) -> None:
    base = build_missing_class(tmp_path / "ds")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        idx = kagman.index(base, check="none")
    assert [(w.filename, w.lineno) for w in caught] == [(__file__, line)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        idx.split(0.5, seed=0)
    assert {(w.filename, w.lineno) for w in caught} == {(__file__, line)}


def test_warnings_name_a_notebook_cell(tmp_path: Path) -> None:
    base = build_missing_class(tmp_path / "ds")
    cell = f"import kagman\n\nidx = kagman.index({str(base)!r}, check='none')\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(cell, "<ipython-input-3>", "exec"), {"__name__": "__main__"})  # noqa: S102
    assert [(w.filename, w.lineno) for w in caught] == [("<ipython-input-3>", 3)]


def test_warnings_in_a_script_name_the_script_not_sys_1(tmp_path: Path) -> None:
    base = build_missing_class(tmp_path / "ds")
    script = tmp_path / "train_model.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import kagman

            idx = kagman.index({str(base)!r}, check="none")
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=120
    )
    assert f"{script}:3: MissingClassWarning: Split 'test' has no images of 1 class:" in (
        done.stderr
    )
    assert "sys:1" not in done.stderr
