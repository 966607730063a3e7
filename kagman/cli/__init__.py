"""The ``kagman`` command: a thin click layer over the Python API.

One module per command group (``pull``, ``files``, ``load``, ``credentials``, ``index``,
``show``, ``cache``, ``doctor``); each command parses its flags, calls one API function, and
formats the result. This
module holds the group: every :class:`~kagman.errors.KagmanError` becomes
``Error: <message>`` on stderr (its ``cli_message`` when it has one: options named as
flags) with the error's exit code and no traceback (``-v`` or
``KAGMAN_DEBUG=1`` print the traceback, with the library error behind it, first); every
:class:`~kagman.errors.KagmanWarning` a line ``Warning: <message>``; Ctrl-C one line
saying what was kept, and exit code 130.
Heavy modules are imported inside the commands so ``kagman --help`` stays fast.
May import: the public API (:mod:`kagman`, :mod:`kagman.api`, the
:mod:`kagman.credentials` facade, :mod:`kagman.remote.client` for ``whoami``),
:mod:`kagman.errors`, :mod:`kagman.settings`, :mod:`kagman.ui` (what people see), and two
pure helpers for flags and output (:mod:`kagman.cache.sizes` to check
``--max-size``/``--older-than``, :func:`kagman.fs.human_size`); never the packages behind
them.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import traceback
import warnings
from typing import Any, NoReturn

import click

from kagman import __version__
from kagman.cli.cache import ls_command, path_command, prune_command, rm_command, verify_command
from kagman.cli.credentials import init_command, whoami_command
from kagman.cli.doctor import doctor_command
from kagman.cli.files import files_command
from kagman.cli.index import index_command
from kagman.cli.load import load_command
from kagman.cli.pull import pull
from kagman.cli.show import show_command
from kagman.errors import KagmanError, KagmanWarning, redact_urls
from kagman.settings import env_debug
from kagman.ui.interrupt import is_interrupt_record
from kagman.ui.progress import watching
from kagman.ui.summary import SUMMARY_FLAG

__all__ = ["cli", "main"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, what shells report for a Ctrl-C
BROKEN_PIPE_EXIT_CODE = 141  # 128 + SIGPIPE, what shells report for `yes | head -1`'s yes


def _broken_pipe() -> None:
    """The reader of our output went away (``kagman files ... | head -1``): stop quietly.

    As the Python docs' "Note on SIGPIPE" says: point stdout (and stderr, which may be the
    same pipe) at devnull, so the interpreter's final flush cannot fail again, and exit
    without a message. Not SIG_DFL for SIGPIPE: that would also kill kagman when one of its
    own connections drops.
    """
    _silence(sys.stdout, sys.stderr)


def _silence(*streams: Any) -> None:
    """Point ``streams`` at devnull, so that no later write or flush of them can fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in streams:
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner)
            continue
    os.close(devnull)


def _os_error_line(err: OSError) -> str:
    """The one line an OSError kagman did not expect gets (no traceback)."""
    where = f": {err.filename}" if err.filename is not None else ""
    return f"Error: {err.strerror or err}{where}. Check it and retry."


# Commands people type from other tools (the kaggle CLI, kagglehub, package managers), and
# kagman's command for what they mean: click alone would suggest `load` for `download`.
_OTHER_NAMES = {
    "download": "`kagman pull owner/dataset` downloads a dataset (`-c titanic`: a competition) "
    "and prints where it is",
    "get": "`kagman pull owner/dataset` downloads a dataset and prints where it is",
    "fetch": "`kagman pull owner/dataset` downloads a dataset and prints where it is",
    "datasets": "kagman's commands name the action: `kagman pull owner/dataset` (kaggle "
    "datasets download), `kagman files owner/dataset` (kaggle datasets files)",
    "competitions": "kagman's commands name the action: `kagman pull -c titanic` (kaggle "
    "competitions download), `kagman files -c titanic` (kaggle competitions files)",
    "list": "`kagman files owner/dataset` lists a dataset's files; `kagman ls`, the cache",
    "remove": "`kagman rm owner/dataset` removes it from the cache",
    "delete": "`kagman rm owner/dataset` removes it from the cache",
    "login": "`kagman init` installs your kaggle.json (or token); `kagman whoami` checks it",
    "auth": "`kagman init` installs your kaggle.json (or token); `kagman whoami` checks it",
}


def _show_warning(message: Warning | str, *_: Any, **__: Any) -> None:
    from kagman.ui.warn import cli_text

    click.echo(f"Warning: {cli_text(message)}", err=True)


class _KagmanGroup(click.Group):
    """A group that turns kagman's errors into one clean line and an exit code."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:  # --help and --version write here, before invoke()
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            _broken_pipe()
            raise click.exceptions.Exit(BROKEN_PIPE_EXIT_CODE) from None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name in _OTHER_NAMES and self.get_command(ctx, name) is None:
            ctx.fail(f"No such command {name!r}: {_OTHER_NAMES[name]}.")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke(ctx)
        except BrokenPipeError:  # also from printing an error: a reader that left is no error
            _broken_pipe()
            ctx.exit(BROKEN_PIPE_EXIT_CODE)

    def _invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("always", KagmanWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except BrokenPipeError:
                raise
            except KagmanError as err:
                if ctx.params.get("verbose") or env_debug():
                    chain = "".join(traceback.format_exception(err)).rstrip()
                    click.echo(redact_urls(chain), err=True)
                click.echo(f"Error: {err.cli_message or err}", err=True)
                ctx.exit(err.exit_code)
            except OSError as err:  # one the API did not expect (e.g. writing --csv): no traceback
                click.echo(_os_error_line(err), err=True)
                ctx.exit(1)
            except KeyboardInterrupt:
                # The pull logged what it kept (printed by _StderrHandler); else say so here.
                if not any(getattr(h, "interrupt_shown", False) for h in _handlers()):
                    click.echo("Interrupted.", err=True)
                ctx.exit(INTERRUPTED_EXIT_CODE)


class _StderrHandler(logging.Handler):
    """Show kagman's log records to the person at the terminal, on stderr.

    The summary after a download is for a person watching: on a terminal, or with -v.
    """

    def __init__(self, verbose: bool = False) -> None:
        super().__init__()
        self.verbose = verbose

    interrupt_shown = False

    def emit(self, record: logging.LogRecord) -> None:
        if is_interrupt_record(record):
            self.interrupt_shown = True
            click.echo(record.getMessage(), err=True)
            return
        if getattr(record, SUMMARY_FLAG, False) and not (self.verbose or watching()):
            return
        prefix = "" if record.levelno < logging.WARNING else f"{record.levelname.capitalize()}: "
        click.echo(f"{prefix}{record.getMessage()}", err=True)


def _handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger("kagman").handlers if isinstance(h, _StderrHandler)]


def _setup_logging(verbose: bool, quiet: bool) -> None:
    logger = logging.getLogger("kagman")
    for handler in list(logger.handlers):
        if isinstance(handler, _StderrHandler):
            logger.removeHandler(handler)
    logger.addHandler(_StderrHandler(verbose))
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


@click.group(cls=_KagmanGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="kagman")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what is happening.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def cli(verbose: bool, quiet: bool) -> None:
    """kagman: Kaggle credentials, a dataset cache and image indexes, without the chores.

    \b
    Example:
        kagman init ~/Downloads/kaggle.json
        cd "$(kagman pull owner/dataset)"
        kagman index owner/dataset
        kagman ls
        kagman doctor
        kagman show owner/dataset --out sheet.png
    """
    if verbose and quiet:
        msg = "--verbose and --quiet cannot be used together."
        raise click.UsageError(msg)
    _setup_logging(verbose, quiet)


for _command in (
    pull,
    files_command,
    load_command,
    init_command,
    whoami_command,
    index_command,
    show_command,
    ls_command,
    path_command,
    rm_command,
    prune_command,
    verify_command,
    doctor_command,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    try:
        try:
            cli.main(prog_name="kagman")
        finally:
            # Flush here, not at interpreter exit: a reader that has gone away
            # (`| head -1`) is then a BrokenPipeError we can handle, not "Exception ignored".
            sys.stdout.flush()
    except BrokenPipeError:
        _broken_pipe()
        sys.exit(BROKEN_PIPE_EXIT_CODE)
    except OSError as err:  # --help or --version, written before any command runs (> /dev/full)
        _silence(sys.stdout)  # the interpreter's last flush would fail again
        click.echo(_os_error_line(err), err=True)
        _leave(1)
    except SystemExit as done:  # click.main ends this way, with the exit code
        if done.code is None or isinstance(done.code, int):
            _leave(done.code or 0)
        raise
    sys.exit(0)  # pragma: no cover - click.main exits itself


def _leave(code: int) -> NoReturn:
    """End the process without the interpreter's teardown of every module.

    After a pull of 20,000 files that teardown (freeing the member table, the manifest and
    kagglesdk's thousands of classes one object at a time) took 0.09-0.11 s of a 2.5 s pull;
    after small commands it is a few milliseconds.
    What an exit must do still happens: the ``atexit`` functions run (logging's
    flush, ``weakref.finalize`` clean-ups, multiprocessing's), then stdout and stderr are
    flushed. kagman closes every file it writes itself (atomic writes), so nothing waits
    for the teardown. When a thread still runs, the interpreter's own exit joins it.
    """
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        _broken_pipe()
        code = BROKEN_PIPE_EXIT_CODE
    os._exit(code)
