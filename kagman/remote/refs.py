"""Dataset references: ``owner/slug`` and ``owner/slug/versions/N``.

Every part is validated here, before any network call, with Kaggle's own slug
rules (the ``kaggle`` client's ``_validate_slug_syntax``): lowercase letters
and digits, single hyphens between them; owners may also use underscores.
Kaggle URLs are case-insensitive, so input is lower-cased. A dataset URL
copied from the browser is accepted too.

Examples
--------
>>> parse_ref("Owner/My-Data")
DatasetRef(owner='owner', slug='my-data', version=None)
>>> str(parse_ref("owner/my-data/versions/3"))
'owner/my-data/versions/3'
>>> parse_ref("https://www.kaggle.com/datasets/owner/my-data/versions/2").version
2
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from kagman.errors import InvalidRefError

__all__ = ["DatasetRef", "check_file_name", "looks_like_ref", "parse_ref"]

_OWNER_RE = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_URL_PREFIX_RE = re.compile(r"^(?:https?://)?(?:www\.)?kaggle\.com/(?:datasets/)?", re.IGNORECASE)
_MAX_SLUG = 50
_MAX_OWNER = 50
_FORM = (
    "owner/dataset-slug or owner/dataset-slug/versions/N "
    "(as in kaggle.com/datasets/owner/dataset-slug)"
)


@dataclass(frozen=True)
class DatasetRef:
    """A validated Kaggle dataset reference; ``version=None`` means "latest"."""

    owner: str
    slug: str
    version: int | None = None

    def __str__(self) -> str:
        base = f"{self.owner}/{self.slug}"
        return base if self.version is None else f"{base}/versions/{self.version}"

    @property
    def name(self) -> str:
        """``owner/slug`` without the version."""
        return f"{self.owner}/{self.slug}"

    @property
    def url(self) -> str:
        """The dataset's page on kaggle.com (where its rules are accepted)."""
        return f"https://www.kaggle.com/datasets/{self.owner}/{self.slug}"

    def with_version(self, version: int | None) -> DatasetRef:
        """Return the same dataset pinned to ``version``."""
        return replace(self, version=version)


def parse_ref(text: str, *, version: int | None = None) -> DatasetRef:
    """Parse and validate a dataset reference.

    Parameters
    ----------
    text
        ``owner/slug``, ``owner/slug/versions/N``, or a kaggle.com dataset URL.
    version
        Pin a version (like ``--version N``); must agree with a version in ``text``.

    Raises
    ------
    InvalidRefError
        When any part breaks Kaggle's rules; the message names the part.
    """
    if not isinstance(text, str):
        msg = f"A dataset reference must be a string like {_FORM}, not {type(text).__name__}."
        raise InvalidRefError(msg)
    raw = text
    cleaned = _URL_PREFIX_RE.sub("", text.strip()).split("?", 1)[0].split("#", 1)[0].rstrip("/")
    parts = cleaned.split("/")
    if len(parts) not in (2, 4) or (len(parts) == 4 and parts[2].lower() != "versions"):
        msg = f"Invalid dataset reference {raw!r}: expected {_FORM}."
        raise InvalidRefError(msg, ref=raw)
    owner, slug = parts[0].lower(), parts[1].lower()
    _check_part(
        raw, "owner", owner, _OWNER_RE, _MAX_OWNER, "may contain single hyphens or underscores"
    )
    _check_part(raw, "dataset slug", slug, _SLUG_RE, _MAX_SLUG, "may contain single hyphens")
    text_version = _parse_version(raw, parts[3]) if len(parts) == 4 else None
    if version is not None:
        version = _parse_version(raw, str(version))
        if text_version is not None and text_version != version:
            msg = (
                f"Conflicting versions for {raw!r}: the reference says {text_version}, "
                f"the version option says {version}. Give only one."
            )
            raise InvalidRefError(msg, ref=raw)
    return DatasetRef(owner, slug, version if version is not None else text_version)


def looks_like_ref(text: str) -> bool:
    """Whether ``text`` parses as a dataset reference (used to tell refs from paths).

    >>> looks_like_ref("owner/slug"), looks_like_ref("./data"), looks_like_ref("a/b/c")
    (True, False, False)
    """
    try:
        parse_ref(text)
    except InvalidRefError:
        return False
    return True


def _check_part(  # noqa: PLR0917 - private helper, called twice with all six
    raw: str, label: str, value: str, pattern: re.Pattern[str], limit: int, rule: str
) -> None:
    if not value:
        msg = f"Invalid dataset reference {raw!r}: the {label} is empty. Expected {_FORM}."
        raise InvalidRefError(msg, ref=raw)
    if len(value) > limit or not pattern.fullmatch(value):
        msg = (
            f"Invalid dataset reference {raw!r}: the {label} {value!r} breaks Kaggle's rules "
            f"(at most {limit} lowercase letters and digits; {rule}, not at the start or end). "
            f"Copy the reference from the dataset's URL: {_FORM}."
        )
        raise InvalidRefError(msg, ref=raw)


def _parse_version(raw: str, value: str) -> int:
    if not value.isdigit() or not value.isascii() or int(value) < 1 or len(value) > 9:
        msg = (
            f"Invalid dataset version {value!r} in {raw!r}: a version is a whole number from 1 up."
        )
        raise InvalidRefError(msg, ref=raw)
    return int(value)


def check_file_name(name: str) -> str:
    """Validate a ``--file`` name: a relative path inside the dataset, returned unchanged.

    >>> check_file_name("train/labels.csv")
    'train/labels.csv'

    Raises
    ------
    InvalidRefError
        Empty, absolute, with ``..``, ``.``, empty parts, backslashes or NUL.
    """
    posix = PurePosixPath(name)
    if (
        not name
        or "\x00" in name
        or "\\" in name
        or posix.is_absolute()
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        msg = (
            f"Invalid file name {name!r}: give the file's path inside the dataset, "
            "like 'train.csv' or 'images/cat.jpg'."
        )
        raise InvalidRefError(msg, ref=name)
    return name
