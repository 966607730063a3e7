"""Operating-system and tool clutter nobody wants in a dataset: one list, one set of reasons.

Used by extraction (junk members are not written, and are counted in the
manifest by reason) and by the image index (junk is listed in ``.problems``
with the same reason). The image index also skips every other hidden name
(``hidden``), which extraction keeps: a dataset's ``.gitattributes`` is data.

======================  =======================  ==========================================
reason                  names                    why
======================  =======================  ==========================================
``macos-junk``          ``__MACOSX/``, ``._*``,  Finder's zip adds them; AppleDouble ``._x.jpg``
                        ``.DS_Store``            looks like an image but is not one
``windows-junk``        ``Thumbs.db``,           Explorer's thumbnail caches and folder settings
                        ``ehthumbs.db``,
                        ``desktop.ini``
``notebook-checkpoint`` ``.ipynb_checkpoints/``  became a class in pytorch/vision#2831
``pycache``             ``__pycache__/``         compiled Python left by a zipped project
======================  =======================  ==========================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["JUNK_REASONS", "junk_reason", "maybe_junk", "path_junk_reason"]

_FOLDERS = {
    "__MACOSX": "macos-junk",
    "__pycache__": "pycache",
    ".ipynb_checkpoints": "notebook-checkpoint",
}
_FILES = {  # lower-cased
    ".ds_store": "macos-junk",
    "thumbs.db": "windows-junk",
    "ehthumbs.db": "windows-junk",
    "desktop.ini": "windows-junk",
}
JUNK_REASONS = frozenset({*_FOLDERS.values(), *_FILES.values()})

# A path that contains none of these cannot hold junk: lets extraction skip the
# per-part check for nearly every member.
_MAYBE = re.compile(r"__MACOSX|__pycache__|(?:^|/)\.|thumbs\.db$|desktop\.ini$", re.IGNORECASE)


def junk_reason(name: str) -> str:
    """Why one file or folder name is clutter, or ``""`` when it is not.

    >>> [junk_reason(n) for n in ("._a.jpg", "__MACOSX", ".DS_Store", "Thumbs.db", "a.jpg")]
    ['macos-junk', 'macos-junk', 'macos-junk', 'windows-junk', '']
    >>> junk_reason(".ipynb_checkpoints"), junk_reason(".gitattributes")
    ('notebook-checkpoint', '')
    """
    if name.startswith("._"):
        return "macos-junk"
    return _FOLDERS.get(name) or _FILES.get(name.lower(), "")


def path_junk_reason(parts: Sequence[str]) -> str:
    """Why a path (its parts, folders first) is clutter: any part that is, or ``""``.

    >>> path_junk_reason(("__MACOSX", "train", "cat.jpg")), path_junk_reason(("train", "1.jpg"))
    ('macos-junk', '')
    """
    for part in parts:
        reason = junk_reason(part)
        if reason:
            return reason
    return ""


def maybe_junk(posix_path: str) -> bool:
    """A cheap pre-check: ``False`` means :func:`path_junk_reason` would surely say ``""``.

    >>> maybe_junk("train/cat/1.jpg"), maybe_junk("a/__MACOSX/b"), maybe_junk("x/.DS_Store")
    (False, True, True)
    """
    return _MAYBE.search(posix_path) is not None
