"""Keep an already-imported ``kaggle`` module in step with freshly installed credentials.

The ``kaggle`` package decides its config folder once, at import time, so a
notebook that ran ``import kaggle`` before ``kagman.init`` would keep looking
in the old place. This module never imports ``kaggle`` itself.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from pathlib import Path

from kagman.settings import KAGGLE_JSON

__all__ = ["refresh_kaggle_module"]

logger = logging.getLogger(__name__)


def refresh_kaggle_module(folder: Path) -> bool:
    """Point an already-imported ``kaggle`` at ``folder`` and authenticate it again.

    ``kaggle`` computes ``KaggleApi.config_dir``/``config`` as class attributes
    at import time (falling back to ``~/.config/kaggle`` when ``~/.kaggle`` did
    not exist yet), so a notebook that imported it before ``kagman.init`` would
    keep looking in the old place. Never imports ``kaggle`` itself.
    """
    if "kaggle" not in sys.modules:
        return False
    extended = sys.modules.get("kaggle.api.kaggle_api_extended")
    api_class = getattr(extended, "KaggleApi", None)
    if api_class is None:
        return False
    api_class.config_dir = str(folder)
    api_class.config = str(folder / getattr(api_class, "config_file", KAGGLE_JSON))
    api = getattr(sys.modules["kaggle"], "api", None)
    if api is not None:
        for name in ("config_dir", "config"):
            if name in vars(api):
                setattr(api, name, getattr(api_class, name))
        try:
            # authenticate() prints help and calls exit(1) when it finds nothing.
            with contextlib.redirect_stdout(io.StringIO()):
                api.authenticate()
        except (Exception, SystemExit) as err:
            logger.warning(
                "The imported kaggle module could not authenticate: %s", type(err).__name__
            )
    return True
