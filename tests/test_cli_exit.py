"""How the ``kagman`` command ends: atexit functions run, the interpreter's teardown is skipped."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading, time

    class Teardown:
        def __del__(self):
            print("teardown", flush=True)

    kept = Teardown()  # freed only by the interpreter's teardown of __main__
    atexit.register(lambda: print("atexit", flush=True))
    if sys.argv[1] == "thread":  # a thread still running when the command is done
        threading.Thread(target=time.sleep, args=(0.3,)).start()
    from kagman.cli import main

    sys.argv = ["kagman", *sys.argv[2:]]
    main()
    """
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["path", "not a ref"], 2)])
def test_the_command_runs_atexit_and_skips_the_teardown(args: list[str], code: int) -> None:
    done = run("plain", *args)
    assert done.returncode == code, done.stderr
    assert done.stdout.splitlines()[-1] == "atexit"
    assert "teardown" not in done.stdout
    if code == 0:
        assert done.stdout.startswith("kagman, version ")  # the output itself is flushed


def test_a_running_thread_gets_the_interpreters_own_exit() -> None:
    done = run("thread", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == ["atexit", "teardown"]
