"""What folder and file names mean: split folders, generic containers, masks.

A name is cut into words at separators (``_ - . +`` and spaces), at lower-to-upper
case changes and between letters and digits, so ``seg_train``, ``train-jpg``,
``TrainImages`` and ``val2017`` all hold one split word, while ``contest``,
``device`` and ``train_station`` hold none (whole words only, and a second
meaningful word makes a class name, not a split).
"""

from __future__ import annotations

import re

__all__ = [
    "CONTAINERS",
    "IMAGE_FOLDER_WORDS",
    "SPLIT_ORDER",
    "mask_folder_prefix",
    "mask_stem_base",
    "name_words",
    "split_name",
]

SPLIT_ORDER = ("train", "val", "test")

_SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "trainset": "train",
    "test": "test",
    "testing": "test",
    "testset": "test",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "valset": "val",
    "dev": "val",
    "devset": "val",
}
#: Words that may surround a split word without making the name a class name.
_FILLER = frozenset(
    {
        *("images", "image", "imgs", "img", "pics", "set", "sets", "data", "dataset"),
        *("datasets", "seg", "split", "files", "folder", "dir", "resized", "v"),
        *("jpg", "jpeg", "png", "tif", "tiff", "bmp", "gif", "webp"),
    }
)
#: A lone folder of one of these names holds images; it is never a class.
CONTAINERS = frozenset(
    {"images", "image", "imgs", "img", "pictures", "photos", "data", "files", "all"}
)
#: Names of the image side of an image/mask layout (``images/`` beside ``masks/``).
IMAGE_FOLDER_WORDS = frozenset(
    {
        *("images", "image", "imgs", "img", "pictures", "photos", "frames"),
        *("input", "inputs", "original", "originals", "raw", "jpegimages", "x"),
    }
)
_MASK_WORDS = frozenset({"mask", "masks", "label", "labels", "annotation", "annotations"})

# Word boundaries inside a chunk: camelCase, ACRONYMWord, letters next to digits.
_BOUNDARY = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])"
)
_SEPARATORS = re.compile(r"[\s_.\-+]+")
_VERSION = re.compile(r"v?\d+")
# A mask file beside its image: <stem>_mask.png, <stem>-mask.png, <stem>_mask_1.png, ...
_MASK_SUFFIX = re.compile(r"[ _-]masks?(?:[ _-]?\d+)?$", re.IGNORECASE)


def name_words(name: str) -> list[str]:
    """The lower-case words of a folder name.

    >>> name_words("TrainImages_v2"), name_words("seg-train"), name_words("JPEGImages2012")
    (['train', 'images', 'v', '2'], ['seg', 'train'], ['jpeg', 'images', '2012'])
    """
    spaced = _BOUNDARY.sub(" ", name)
    return [w.lower() for w in _SEPARATORS.split(spaced) if w]


def split_name(folder_name: str) -> str | None:
    """Return the canonical split a folder name stands for, or ``None``.

    >>> names = ("TRAIN", "Validation", "seg_test", "train_images", "train-jpg", "val2017")
    >>> [split_name(n) for n in names]
    ['train', 'val', 'test', 'train', 'train', 'val']
    >>> [split_name(n) for n in ("Training", "testing", "TestSet", "dev", "cats")]
    ['train', 'test', 'test', 'val', None]
    >>> [split_name(n) for n in ("train_station", "contest", "device", "test tube")]
    [None, None, None, None]
    """
    words = [w for w in name_words(folder_name) if w not in _FILLER and not _VERSION.fullmatch(w)]
    return _SPLIT_WORDS.get(words[0]) if len(words) == 1 else None


def mask_folder_prefix(folder_name: str) -> str | None:
    """If a folder name says it holds masks, the name of what they belong to (maybe ``""``).

    ``masks``, ``labels``, ``annotations`` return ``""``; ``train_masks`` returns
    ``"train"``; names that do not end in a mask word return ``None``.

    >>> [mask_folder_prefix(n) for n in ("masks", "train_masks", "Train Labels", "images")]
    ['', 'train', 'train', None]
    >>> mask_folder_prefix("mask_rcnn") is None
    True
    """
    words = name_words(folder_name)
    if not words or words[-1] not in _MASK_WORDS:
        return None
    return " ".join(words[:-1])


def mask_stem_base(stem: str) -> str | None:
    """The image stem a ``_mask``-style file stem belongs to, or ``None``.

    >>> mask_stem_base("img_10_mask"), mask_stem_base("benign (1)_mask_1"), mask_stem_base("a")
    ('img_10', 'benign (1)', None)
    """
    match = _MASK_SUFFIX.search(stem)
    if match is None or match.start() == 0:
        return None
    return stem[: match.start()]
