"""Where the code runs, and how a pull will be answered there."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kagman.platforms import Environment

__all__ = ["environment"]


def environment() -> Environment:
    """Where this code runs, and how :func:`pull` will answer there.

    Reads a few environment variables; no network, nothing imported unless they
    say a platform is there. ``kagman doctor`` shows its :attr:`~Environment.summary`.

    Returns
    -------
    Environment
        ``platform`` (``"local"``, ``"kaggle"``, ``"colab"``, ``"jupyter"``), where
        Kaggle or Colab mount datasets, whether Colab's secrets can be read, the
        resolvers a pull tries in order, and notes on what is switched off and why.
        Shows as a short table in a notebook; ``str()`` for a terminal.

    Examples
    --------
    In a Kaggle notebook (shown, not doctested)::

        kagman.environment().summary
        # 'Kaggle notebook (Jupyter kernel); pulls try: kaggle-notebook, cache, download,
        #  stale-cache'
    """
    from dataclasses import replace

    from kagman.platforms import detect
    from kagman.resolvers import active_resolvers

    return replace(detect(), resolvers=active_resolvers())
