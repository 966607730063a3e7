"""Progress bars that fit the place: a widget in Jupyter, a text bar on a terminal, nothing else.

Where a bar goes:

==========================================  ==============================================
where the code runs                         bar
==========================================  ==============================================
a Jupyter kernel with ``ipywidgets``        a widget (``tqdm.notebook``)
a Jupyter kernel without ``ipywidgets``     a text bar on stderr (never tqdm's
                                            ``TqdmWarning: IProgress not found``)
stderr is a terminal                        a text bar on stderr
anywhere else (a pipe, a log file, CI)      nothing
==========================================  ==============================================

stdout is never touched, so ``$(kagman pull ...)`` sees only the path. Who decides,
first match wins: the call's own ``progress=True/False``, then :func:`progress`
(``kagman.progress(False)``), then ``KAGMAN_PROGRESS=0`` (or ``1``), then "where
someone watches" as above. Like huggingface_hub's ``disable_progress_bars()`` and
``HF_HUB_DISABLE_PROGRESS_BARS``.
"""

from __future__ import annotations

import importlib
import sys
from types import TracebackType
from typing import Any

from kagman.platforms.detect import in_jupyter
from kagman.settings import env_progress

__all__ = ["Bar", "progress", "progress_enabled", "watching"]

_switch: bool | None = None  # kagman.progress(...); None: not set


def progress(enabled: bool | None) -> None:
    """Switch kagman's progress bars on or off for this process (``kagman.progress(False)``).

    Parameters
    ----------
    enabled
        ``False``: no bars anywhere (a pull's ``progress=True`` still shows one).
        ``True``: bars even where nobody seems to watch (stderr not a terminal).
        ``None``: back to the default, ``KAGMAN_PROGRESS`` or "where someone watches".

    The one-line summary after a download is not a bar: it stays (see :func:`summary`).

    Examples
    --------
    >>> progress(False); progress_enabled(None)
    False
    >>> progress(None)
    """
    global _switch  # noqa: PLW0603 - one process-wide switch, like huggingface_hub's
    _switch = enabled


def watching() -> bool:
    """Whether a person can see stderr: a Jupyter kernel, or stderr is a terminal."""
    if in_jupyter():
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress_enabled(requested: bool | None) -> bool:
    """Whether to draw bars: the call's ``requested``, else :func:`progress`, else
    ``KAGMAN_PROGRESS`` (``0``/``false``/``no``/``off`` or ``1``/...), else :func:`watching`.

    >>> progress_enabled(False), progress_enabled(True)
    (False, True)
    """
    if requested is not None:
        return requested
    if _switch is not None:
        return _switch
    chosen = env_progress()
    return watching() if chosen is None else chosen


def widgets_available() -> bool:
    """Whether ``ipywidgets`` imports (tqdm's notebook bar needs it)."""
    try:
        importlib.import_module("ipywidgets")
    except ImportError:
        return False
    return True


def _bar_class() -> Any:
    """tqdm's widget bar in a Jupyter kernel with ipywidgets, else its text bar.

    ``tqdm.auto`` would pick the same, but warns (``TqdmWarning: IProgress not found``)
    when ipywidgets is missing; choosing here never imports the notebook bar then.
    """
    base: Any
    if in_jupyter() and widgets_available():
        from tqdm.notebook import tqdm as base
    else:
        from tqdm.std import tqdm as base

    class bar_class(base):  # type: ignore[misc]  # noqa: N801
        # No TMonitor thread: a process with one thread can fork extraction workers
        # (kagman.archive.workers), and the monitor only helps bars that update rarely.
        monitor_interval = 0

    return bar_class


class Bar:
    """One progress bar, drawn on first use, closed (and cleared) by ``with``.

    ``unit="B"`` counts bytes (``1.2 GiB``, a rate); ``unit="s"`` shows seconds
    waited out of ``total``. Nothing is drawn when ``enabled`` is false, or until the
    first update: a download answered at once, or a wait that ends at once, shows
    nothing. Call it as ``bar(n_new, total, already_have)`` (the signature
    :func:`kagman.remote.transfer.download_to` reports progress with), or
    ``bar.move_to(value)`` for a quantity that is read rather than counted.
    """

    def __init__(
        self, description: str, *, enabled: bool, unit: str = "B", total: float | None = None
    ) -> None:
        self.description = description
        self.enabled = enabled
        self.unit = unit
        self.total = total
        self._bar: Any = None

    def _draw(self, total: float | None, initial: float) -> Any:
        if self._bar is None:
            options: dict[str, Any] = {"unit": self.unit}
            if self.unit == "B":
                options.update(unit_scale=True, unit_divisor=1024)
            else:
                options["bar_format"] = "{desc}: {n:.0f}/{total:.0f} " + self.unit
            self._bar = _bar_class()(
                total=total,
                initial=initial,
                desc=self.description,
                file=sys.stderr,
                leave=False,  # the summary line takes its place (kagman.ui.summary)
                **options,
            )
        return self._bar

    def __call__(self, n: int, total: int | None = None, initial: int = 0) -> None:
        """Count ``n`` more units; the first call draws the bar with ``total`` and ``initial``."""
        if self.enabled:
            self._draw(self.total if total is None else total, initial).update(n)

    def set_total(self, total: int) -> None:
        """Declare the total up front (the bar then shows a percentage from the start)."""
        self.total = total
        if self.enabled:
            self._draw(total, 0)

    def move_to(self, value: float) -> None:
        """Show ``value`` (at most the total), e.g. the seconds waited so far."""
        if self.enabled:
            bar = self._draw(self.total, 0)
            bar.n = min(value, bar.total) if bar.total else value
            bar.refresh()

    def __enter__(self) -> Bar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
