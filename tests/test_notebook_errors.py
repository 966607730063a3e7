"""Errors in a notebook: kagman's message and the user's line, not 18 frames of internals.

IPython (the shell a Jupyter kernel runs) prints every exception of a ``raise ... from``
chain; :class:`kagman.KagmanError` renders itself through IPython's ``_render_traceback_``
hook instead. The library error stays on ``err.cause``; ``KAGMAN_DEBUG=1`` and ``kagman -v``
show the whole chain, with URL query strings blanked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from IPython.core.interactiveshell import InteractiveShell
from kaggle_server import FakeKaggle
from synthetic_images import shapes_files, write_files

import kagman
from kagman.cli import cli
from kagman.errors import redact_urls

CELL = 'import kagman\nkagman.pull("owner/missing")\n'
MESSAGE = "Kaggle has no dataset owner/missing"


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """IPython's own shell, in this process (what ipykernel subclasses)."""
    ip = InteractiveShell.instance(colors="nocolor")
    yield ip
    InteractiveShell.clear_instance()


def shown(ip: InteractiveShell, capfd: pytest.CaptureFixture[str], cell: str) -> str:
    result = ip.run_cell(cell)
    assert result.error_in_exec is not None
    return capfd.readouterr().out


def test_ipython_shows_the_message_and_the_users_line_only(
    kaggle: FakeKaggle, shell: InteractiveShell, capfd: pytest.CaptureFixture[str]
) -> None:
    text = shown(shell, capfd, CELL)
    assert MESSAGE in text
    assert 'kagman.pull("owner/missing")' in text  # the user's own line, with its arrow
    assert "(Caused by requests.exceptions.HTTPError: see err.cause" in text
    for internal in ("site-packages", "kagman/remote", "raise_for_status", "The above exception"):
        assert internal not in text, internal
    assert len(re.findall(r"^Cell In\[\d+\]", text, re.MULTILINE)) == 1


def test_the_cause_is_kept_on_the_error(kaggle: FakeKaggle) -> None:
    with pytest.raises(kagman.DatasetNotFoundError) as info:
        kagman.pull("owner/missing")
    err = info.value
    assert isinstance(err.cause, requests.HTTPError)
    assert err.cause is err.__cause__
    lines = err._render_traceback_()  # outside IPython: the standard library's formatting
    text = "".join(lines)
    assert text.startswith("Traceback (most recent call last):")
    assert "kagman/api.py" not in text  # cut at the first kagman frame
    assert f"DatasetNotFoundError: {MESSAGE}" in text
    assert "requests.exceptions.HTTPError" in text
    assert "site-packages" not in text


def test_kagman_debug_shows_the_whole_chain(
    kaggle: FakeKaggle,
    shell: InteractiveShell,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAGMAN_DEBUG", "1")
    text = shown(shell, capfd, CELL)
    assert "site-packages/kagglesdk" in text  # every frame, the library's too
    assert "The above exception was the direct cause of the following exception" in text
    assert MESSAGE in text


def test_an_error_without_a_cause_says_nothing_about_one(
    shell: InteractiveShell, capfd: pytest.CaptureFixture[str]
) -> None:
    text = shown(shell, capfd, 'import kagman\nkagman.pull("not a ref")\n')
    assert "InvalidRefError" in text
    assert "Caused by" not in text


def test_signed_urls_never_show() -> None:
    err = kagman.RemoteError("download failed")
    try:
        try:
            msg = "403 for url: https://storage.example/ds.zip?X-Goog-Signature=s3cr3t&x=1"
            raise requests.HTTPError(msg)
        except requests.HTTPError as cause:
            raise err from cause
    except kagman.RemoteError as raised:
        err = raised
    assert redact_urls(str(err.cause)) == "403 for url: https://storage.example/ds.zip?..."
    assert "s3cr3t" not in "".join(err._render_traceback_())


def test_cli_v_prints_the_chain_before_the_error_line(kaggle: FakeKaggle) -> None:
    result = CliRunner().invoke(cli, ["pull", "owner/missing"])
    assert result.exit_code == 4
    assert result.stderr == (
        f"Error: {MESSAGE}, or it is private and your account cannot see it. "
        "Check the spelling against https://www.kaggle.com/datasets/owner/missing.\n"
    )
    result = CliRunner().invoke(cli, ["-v", "pull", "owner/missing"])
    assert result.exit_code == 4
    assert "requests.exceptions.HTTPError" in result.stderr
    assert "The above exception was the direct cause" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith(f"Error: {MESSAGE}")


def test_a_misused_index_shows_one_message_too(
    tmp_path: Path, shell: InteractiveShell, capfd: pytest.CaptureFixture[str]
) -> None:
    root = write_files(tmp_path, shapes_files(broken=False)) / "shapes"
    setup = "import kagman, warnings\nwarnings.simplefilter('ignore')\n"
    shell.run_cell(f"{setup}idx = kagman.index({str(root)!r})\n")
    for cell, message in (
        ('idx.paths("nope")\n', "No split 'nope' in this index; it has ['train', 'val', 'test']."),
        ("idx.pairs()\n", "This index has no masks: pairs() is for image/mask"),
        ("idx.split(0.2)\n", "This index already has a 'val' split (10 images from the dataset)"),
    ):
        text = shown(shell, capfd, cell)
        assert f"InvalidArgumentError: {message}" in text
        assert len(re.findall(r"^Cell In\[\d+\]", text, re.MULTILINE)) == 1
        for internal in ("kagman/images", "site-packages", "raise InvalidArgumentError"):
            assert internal not in text, internal


def test_an_interrupted_pull_shows_one_line_not_kagmans_frames(
    kaggle: FakeKaggle, shell: InteractiveShell, capfd: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal
    import threading
    import time

    kaggle.add_dataset("owner/big", {"big.bin": os.urandom(2_000_000)})
    kaggle.throttle_bytes_per_sec = 1_000_000
    part = Path(os.environ["KAGMAN_CACHE"]) / "datasets/owner/big/.incomplete/v1.zip"

    main = threading.get_ident()

    def press_interrupt() -> None:  # the notebook's interrupt button: SIGINT to the kernel
        deadline = time.monotonic() + 30
        while not (part.exists() and part.stat().st_size > 200_000):
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)
        # to the main thread, as the kernel's SIGINT is handled: a blocked read returns EINTR
        signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=press_interrupt, daemon=True).start()
    cell = 'import kagman\ntry:\n    kagman.pull("owner/big", progress=False)\nfinally:\n    pass\n'
    text = shown(shell, capfd, cell)
    assert re.search(r"Interrupted: the partial download is kept \(.+\); the next pull", text)
    assert len(re.findall(r"^Cell In\[\d+\]", text, re.MULTILINE)) == 1
    for internal in ("kagman/", "site-packages", "During handling", "The above exception"):
        assert internal not in text, internal
    err = shell.last_execution_result.error_in_exec
    assert isinstance(err, KeyboardInterrupt)  # what `except KeyboardInterrupt` catches
    kaggle.throttle_bytes_per_sec = None
