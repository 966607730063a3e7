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
    # A path with none of these marks cannot hold junk: lets extraction and the index skip
    # the per-part check for nearly every name. Plain string tests: 5x faster than a regex.
    if "__" in posix_path or posix_path[:1] == "." or "/." in posix_path:
        return True  # __MACOSX, __pycache__; ._*, .DS_Store, .ipynb_checkpoints
    tail = posix_path[-11:].lower()
    return tail.endswith(("thumbs.db", "desktop.ini"))  # ehthumbs.db too
