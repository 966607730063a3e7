"""Progress that fits the place: who decides, which bar, the summary line, the CLI on a TTY."""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import IPython
import pytest
from click.testing import CliRunner
from conftest import kagman_executable
from kaggle_server import FakeKaggle
from synthetic_images import shapes_files

import kagman
from kagman.cli import cli
from kagman.ui import progress as progress_module
from kagman.ui.progress import Bar, progress_enabled, watching
from kagman.ui.summary import summary


class ZMQInteractiveShell:
    """What IPython's get_ipython() returns in a Jupyter kernel (only its type name is read)."""


@pytest.fixture(autouse=True)
def default_switch() -> Iterator[None]:
    kagman.progress(None)
    yield
    kagman.progress(None)


@pytest.fixture
def jupyter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a Jupyter kernel, as far as kagman can tell."""
    monkeypatch.setattr(IPython, "get_ipython", ZMQInteractiveShell, raising=False)


def test_who_decides_call_then_switch_then_variable_then_watching(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not watching()  # pytest captures stderr: nobody watches
    assert progress_enabled(None) is False
    monkeypatch.setenv("KAGMAN_PROGRESS", "1")
    assert progress_enabled(None) is True
    kagman.progress(False)
    assert progress_enabled(None) is False
    assert progress_enabled(True) is True  # the call's own progress=True wins
    kagman.progress(None)
    monkeypatch.setenv("KAGMAN_PROGRESS", "0")
    assert progress_enabled(None) is False
    kagman.progress(True)
    assert progress_enabled(None) is True
    assert progress_enabled(False) is False


def test_jupyter_without_ipywidgets_gets_a_text_bar_and_no_tqdm_warning(
    jupyter: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from tqdm.std import tqdm as text_bar

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    monkeypatch.delitem(sys.modules, "tqdm.notebook", raising=False)
    monkeypatch.delitem(sys.modules, "tqdm.autonotebook", raising=False)
    assert watching()
    assert progress_enabled(None)
    bar_class = progress_module._bar_class()
    assert issubclass(bar_class, text_bar)
    assert "tqdm.notebook" not in sys.modules  # never imported, so it never warns
    # filterwarnings = error: a TqdmWarning here would fail the test
    with Bar("Downloading owner/ds", enabled=True) as bar:
        bar(512, 2048, 0)
        bar(1536)
        assert (bar._bar.n, bar._bar.total) == (2048, 2048)
    err = capfd.readouterr().err
    assert "Downloading owner/ds:   0%" in err
    assert err.endswith("\r")  # cleared: the summary line takes its place


def test_jupyter_with_ipywidgets_gets_the_widget_bar(jupyter: None) -> None:
    from tqdm.notebook import tqdm as widget_bar

    assert issubclass(progress_module._bar_class(), widget_bar)


def test_a_terminal_gets_the_text_bar() -> None:
    from tqdm.notebook import tqdm as widget_bar
    from tqdm.std import tqdm as text_bar

    bar_class = progress_module._bar_class()
    assert issubclass(bar_class, text_bar)
    assert not issubclass(bar_class, widget_bar)
    assert bar_class.monitor_interval == 0  # no monitor thread: workers may still fork


def test_one_bar_class_counts_bytes_and_seconds(capfd: pytest.CaptureFixture[str]) -> None:
    with Bar("Waiting for Kaggle", unit="s", total=120, enabled=True) as wait:
        wait.move_to(3.4)
        wait.move_to(500)  # never past the total
        assert wait._bar.n == 120
    with Bar("Extracting", enabled=True) as bar:
        bar.set_total(4096)
        bar(4096)
        assert (bar._bar.n, bar._bar.total) == (4096, 4096)
    with Bar("never drawn", enabled=False) as off:
        off(10, 100, 0)
        off.move_to(5)
    err = capfd.readouterr().err
    assert "Waiting for Kaggle: 3/120 s" in err
    assert "Waiting for Kaggle: 120/120 s" in err
    assert "Extracting:   0%|          | 0.00/4.00k" in err
    assert "never drawn" not in err


def test_summary_is_a_log_record_and_with_no_logging_a_line_on_stderr(
    jupyter: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    kagman_logger = logging.getLogger("kagman")  # as if no CLI test set up its handler before
    monkeypatch.setattr(kagman_logger, "handlers", [])
    monkeypatch.setattr(kagman_logger, "propagate", True)
    caplog.set_level(logging.INFO, logger="kagman")
    summary("owner/ds v3: 3,082 files, 1.2 GiB, downloaded in 41 s -> /x")
    assert caplog.records[-1].getMessage().startswith("owner/ds v3: 3,082 files")
    assert caplog.records[-1].kagman_summary is True
    assert capfd.readouterr().err == ""  # logging is set up (pytest's): the handler shows it
    for logger in (logging.getLogger(), logging.getLogger("kagman")):
        monkeypatch.setattr(logger, "handlers", [])
    summary("owner/ds v3: done")
    assert capfd.readouterr() == ("", "owner/ds v3: done\n")  # stderr only, never stdout


def test_summary_is_not_written_where_nobody_watches(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    for logger in (logging.getLogger(), logging.getLogger("kagman")):
        monkeypatch.setattr(logger, "handlers", [])
    summary("owner/ds v3: done")
    assert capfd.readouterr() == ("", "")


def _pull_on_a_terminal(*args: str, env: dict[str, str]) -> tuple[str, str]:
    """Run the installed ``kagman`` with stderr on a pseudo-terminal; (stdout, terminal)."""
    main, secondary = pty.openpty()
    # a terminal 120 columns wide (a new pseudo-terminal is 0 x 0, and tqdm draws nothing there)
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        proc = subprocess.run(
            [kagman_executable(), *args],
            stdout=subprocess.PIPE,
            stderr=secondary,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=60,
            check=False,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
    assert proc.returncode == 0
    return proc.stdout.decode(), b"".join(chunks).decode(errors="replace")


def test_cli_on_a_terminal_draws_bars_then_keeps_one_summary_line(
    kaggle: FakeKaggle, tmp_path: Path
) -> None:
    kaggle.add_dataset("owner/shapes", shapes_files(broken=False))
    entry = tmp_path / "kagman-cache" / "datasets" / "owner" / "shapes" / "versions" / "1"
    out, terminal = _pull_on_a_terminal("pull", "owner/shapes", env=dict(os.environ))
    assert out == f"{entry}\n"
    assert "Downloading owner/shapes/versions/1" in terminal  # the bar, then cleared
    n = len(shapes_files(broken=False))
    where = re.escape(str(entry))
    line = re.compile(rf"owner/shapes v1: {n} files, [\d.]+ KiB, downloaded in [\d.]+ s -> {where}")
    assert len(line.findall(terminal)) == 1, terminal
    # a cache hit is silent
    out, terminal = _pull_on_a_terminal("pull", "owner/shapes/versions/1", env=dict(os.environ))
    assert (out, terminal) == (f"{entry}\n", "")


def test_kagman_progress_0_turns_bars_off_but_keeps_the_summary(
    kaggle: FakeKaggle, tmp_path: Path
) -> None:
    kaggle.add_dataset("owner/shapes", shapes_files(broken=False))
    env = {**os.environ, "KAGMAN_PROGRESS": "0"}
    _, terminal = _pull_on_a_terminal("pull", "owner/shapes", env=env)
    assert "Downloading" not in terminal
    assert "Extracting" not in terminal
    assert re.fullmatch(r"owner/shapes v1: .* downloaded in .*\r?\n", terminal), terminal


def test_cli_without_a_terminal_says_nothing_but_with_v_says_the_summary_and_the_hit(
    kaggle: FakeKaggle,
) -> None:
    kaggle.add_dataset("owner/shapes", shapes_files(broken=False))
    result = CliRunner().invoke(cli, ["pull", "owner/shapes"])
    assert result.exit_code == 0
    assert result.stderr == ""
    result = CliRunner().invoke(cli, ["-v", "pull", "owner/shapes", "--force"])
    assert "owner/shapes v1: " in result.stderr
    assert "downloaded in" in result.stderr
    result = CliRunner().invoke(cli, ["-v", "pull", "owner/shapes/versions/1"])
    assert "The cache resolver answered owner/shapes/versions/1: " in result.stderr
    assert "downloaded in" not in result.stderr


def test_a_long_index_ends_with_a_summary(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    from synthetic_images import write_files

    import kagman.api

    root = write_files(tmp_path, shapes_files(broken=False)) / "shapes"
    caplog.set_level(logging.INFO, logger="kagman")
    with pytest.warns(kagman.MissingClassWarning):
        kagman.index(root)
    assert not [r for r in caplog.records if getattr(r, "kagman_summary", False)]
    monkeypatch.setattr(kagman.api.images, "LONG_INDEX_SECONDS", 0.0)  # every index is "long"
    with pytest.warns(kagman.MissingClassWarning):
        kagman.index(root)
    (record,) = [r for r in caplog.records if getattr(r, "kagman_summary", False)]
    where = re.escape(str(root))
    assert re.fullmatch(
        rf"Indexed 53 images \(3 splits, 4 classes, 0 skipped\) in [\d.]+ s -> {where}",
        record.getMessage(),
    )
