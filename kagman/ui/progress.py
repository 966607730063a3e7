"""Progress bars that appear only where a person is watching.

Bars go to stderr, and only when stderr is a terminal or the code runs in a
Jupyter kernel (where ``tqdm.auto`` draws a widget). ``progress=True/False``
forces them on or off. stdout is never touched, so ``$(kagman pull ...)`` sees
only the path.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from kagman.platforms.detect import in_jupyter

__all__ = ["ByteProgress", "WaitProgress", "progress_enabled"]


def progress_enabled(progress: bool | None) -> bool:
    """Resolve the ``progress`` argument: ``None`` means "if someone can see it"."""
    if progress is not None:
        return progress
    if in_jupyter():
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _bar_class() -> Any:
    if in_jupyter():
        from tqdm.auto import tqdm as base
    else:
        from tqdm import tqdm as base  # type: ignore[assignment]

    class bar_class(base):  # type: ignore[type-arg]  # noqa: N801
        # No TMonitor thread: a process with one thread can fork extraction workers
        # (kagman.archive.workers), and the monitor only helps bars that update rarely.
        monitor_interval = 0

    return bar_class


class ByteProgress:
    """A byte-count bar created on first update, when the total is known.

    Use as a context manager; call it as ``bar(n_new, total, already_have)``.
    """

    def __init__(self, description: str, *, enabled: bool) -> None:
        self.description = description
        self.enabled = enabled
        self._bar: Any = None

    def __call__(self, n: int, total: int | None = None, initial: int = 0) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = self._make(total, initial)
        self._bar.update(n)

    def set_total(self, total: int) -> None:
        """Declare the total up front (the bar then shows a percentage from the start)."""
        if self.enabled and self._bar is None:
            self._bar = self._make(total, 0)

    def _make(self, total: int | None, initial: int) -> Any:
        return _bar_class()(
            total=total,
            initial=initial,
            desc=self.description,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            leave=False,
        )

    def __enter__(self) -> ByteProgress:
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


class WaitProgress:
    """Seconds spent waiting for something (a notebook platform's mount), out of a timeout.

    Use as a context manager; call it with the seconds waited so far. The bar
    appears on the first call, so a wait that ends at once shows nothing.
    """

    def __init__(self, description: str, *, timeout: float, enabled: bool) -> None:
        self.description = description
        self.timeout = timeout
        self.enabled = enabled
        self._bar: Any = None

    def __call__(self, waited: float) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = _bar_class()(
                total=round(self.timeout),
                desc=self.description,
                unit="s",
                bar_format="{desc}: {n:.0f}/{total:.0f} s",
                file=sys.stderr,
                leave=False,
            )
        self._bar.n = min(round(waited), self._bar.total)
        self._bar.refresh()

    def __enter__(self) -> WaitProgress:
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
