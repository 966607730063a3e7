"""References to Kaggle data: ``DatasetRef``, ``CompetitionRef``, and every URL a user pastes.

Every part is validated here, before any network call, with Kaggle's own slug
rules (the ``kaggle`` client's ``_validate_slug_syntax``): lowercase letters
and digits, single hyphens between them; owners may also use underscores.
Kaggle URLs are case-insensitive, so input is lower-cased (file names are not).

Accepted (see :func:`parse_target`; the README's table lists every form):

- ``owner/slug``, ``owner/slug/versions/N``;
- a dataset URL, with any trailing tab (``/data``, ``/code``, ``/discussion``,
  ``/suggestions``, ``/settings``), ``/versions/N`` before or after the tab,
  ``?resource=download``, and ``?select=FILE`` (one file or folder: ``--file FILE``);
- a competition URL, ``kaggle.com/competitions/<slug>`` or ``kaggle.com/c/<slug>``, with
  any tab; a bare competition name only where the caller says it is one (``-c``).

Examples
--------
>>> parse_ref("Owner/My-Data")
DatasetRef(owner='owner', slug='my-data', version=None)
>>> str(parse_ref("owner/my-data/versions/3"))
'owner/my-data/versions/3'
>>> parse_ref("https://www.kaggle.com/datasets/owner/my-data/versions/2/data").version
2
>>> parse_target("https://www.kaggle.com/c/titanic/data?select=train.csv")
Target(ref=CompetitionRef(slug='titanic'), file='train.csv')
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import NamedTuple
from urllib.parse import parse_qs

from kagman.errors import InvalidRefError
from kagman.remote.names import check_file_name, check_patterns

__all__ = [
    "CompetitionRef",
    "DatasetRef",
    "Ref",
    "Target",
    "check_file_name",
    "check_patterns",
    "competition_hint",
    "looks_like_ref",
    "parse_competition",
    "parse_ref",
    "parse_target",
]

_OWNER_RE = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_URL_RE = re.compile(r"^(?:https?://)?(?:www\.)?kaggle\.com(?=/|$)", re.IGNORECASE)
_MAX_SLUG = 50
_MAX_OWNER = 50
_MAX_COMPETITION = 100
_FORM = (
    "owner/dataset-slug or owner/dataset-slug/versions/N "
    "(as in kaggle.com/datasets/owner/dataset-slug)"
)
_DATASET_TABS = frozenset({"data", "code", "discussion", "suggestions", "settings"})
_COMPETITION_TABS = frozenset(
    {
        "overview",
        "data",
        "code",
        "models",
        "discussion",
        "leaderboard",
        "rules",
        "team",
        "submissions",
        "submit",
    }
)
_VERSION_TYPOS = frozenset({"version", "v", "ver", "vers"})
# kaggle.com/<section>/... pages that are neither datasets nor competitions
_OTHER_PAGES = {
    "code": "a notebook",
    "models": "a model",
    "discussions": "a discussion",
    "learn": "a course",
    "benchmarks": "a benchmark",
    "organizations": "an organization",
}


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


@dataclass(frozen=True)
class CompetitionRef:
    """A validated Kaggle competition reference (its URL slug, e.g. ``titanic``).

    Competition data has no version numbers: the data state is named by Kaggle's download
    redirect (see :mod:`kagman.resolvers.competition`).

    >>> CompetitionRef("titanic").rules_url
    'https://www.kaggle.com/competitions/titanic/rules'
    """

    slug: str

    def __str__(self) -> str:
        return self.slug

    @property
    def name(self) -> str:
        """The slug."""
        return self.slug

    @property
    def url(self) -> str:
        """The competition's page on kaggle.com."""
        return f"https://www.kaggle.com/competitions/{self.slug}"

    @property
    def rules_url(self) -> str:
        """Where the competition's rules are accepted (the API cannot accept them)."""
        return f"{self.url}/rules"


Ref = DatasetRef | CompetitionRef


class Target(NamedTuple):
    """What a pasted reference points at: a dataset or competition, maybe one file or folder."""

    ref: Ref
    file: str | None


def parse_target(
    text: str,
    *,
    version: int | None = None,
    file: str | os.PathLike[str] | None = None,
    competition: bool = False,
) -> Target:
    """Parse any reference or URL a user may paste; validate every part.

    Parameters
    ----------
    text
        ``owner/slug[/versions/N]``, a dataset or competition URL from kaggle.com, or (with
        ``competition=True``) a bare competition name such as ``titanic``.
    version
        Pin a dataset version (``--version N``); must agree with a version in ``text``.
    file
        ``--file``: must agree with a ``?select=`` in the URL.
    competition
        ``text`` names a competition (``-c``): a bare name is its slug, and a dataset is refused.

    Returns
    -------
    Target
        The ref and the file (or folder, ending in ``/`` when written so) to pull, if any.

    Raises
    ------
    InvalidRefError
        Anything that breaks Kaggle's rules, a URL of another kind of page, conflicting
        options; the message names the part and, where one exists, the fix.
    """
    if not isinstance(text, str):
        msg = f"A dataset reference must be a string like {_FORM}, not {type(text).__name__}."
        raise InvalidRefError(msg)
    raw = text
    body, _, query = text.strip().split("#", 1)[0].partition("?")
    selected = _selected(raw, query)
    url = _URL_RE.match(body)
    if url:
        ref = _parse_url(raw, body[url.end() :])
    elif competition and "/" not in body.strip().rstrip("/"):
        ref = _competition(raw, body.strip().rstrip("/").lower())
    else:
        ref = _parse_dataset(raw, body.rstrip("/").split("/"), url=False)
    if competition and isinstance(ref, DatasetRef):
        msg = (
            f"Invalid competition reference {raw!r}: it names the dataset {ref.name}. "
            f"Drop -c/--competition to pull the dataset, or give a competition name like "
            "'titanic' or its URL https://www.kaggle.com/competitions/<name>."
        )
        raise InvalidRefError(msg, ref=raw)
    if isinstance(ref, DatasetRef):
        ref = _agree_version(raw, ref, version)
    elif version is not None:
        head = f"Invalid option for {raw!r}: competitions have no versions; drop "
        refused = InvalidRefError(head + "version=.", ref=raw)
        refused.cli_message = head + "--version."
        raise refused
    name = None
    if file is not None:
        name = check_file_name(file)
        if selected is not None and selected != name:
            head = f"Conflicting files for {raw!r}: the URL selects {selected!r}, "
            tail = f" says {name!r}. Give only one."
            refused = InvalidRefError(head + "file=" + tail, ref=raw)
            refused.cli_message = head + "--file" + tail
            raise refused
    return Target(ref, name if name is not None else selected)


def parse_ref(text: str, *, version: int | None = None) -> DatasetRef:
    """Parse and validate a dataset reference (``?select=`` in a URL is ignored here).

    Parameters
    ----------
    text
        ``owner/slug``, ``owner/slug/versions/N``, or a kaggle.com dataset URL.
    version
        Pin a version (like ``--version N``); must agree with a version in ``text``.

    Raises
    ------
    InvalidRefError
        When any part breaks Kaggle's rules, or ``text`` is a competition; the message
        names the part.
    """
    ref = parse_target(text, version=version).ref
    if isinstance(ref, CompetitionRef):
        msg = (
            f"Invalid dataset reference {text!r}: it is the competition {ref.slug}. Pull it "
            f"with kagman.pull_competition({ref.slug!r}) or `kagman pull -c {ref.slug}`."
        )
        raise InvalidRefError(msg, ref=text)
    return ref


def parse_competition(text: str | CompetitionRef) -> CompetitionRef:
    """Parse a competition name (``titanic``) or URL (``kaggle.com/competitions/titanic``).

    >>> parse_competition("https://www.kaggle.com/competitions/Titanic/overview")
    CompetitionRef(slug='titanic')

    Raises
    ------
    InvalidRefError
        Not a valid competition slug, or a dataset reference.
    """
    if isinstance(text, CompetitionRef):
        return text
    ref = parse_target(text, competition=True).ref
    assert isinstance(ref, CompetitionRef)  # noqa: S101 - parse_target refuses datasets here
    return ref


def looks_like_ref(text: str) -> bool:
    """Whether ``text`` parses as a dataset ref or a kaggle.com URL (to tell refs from paths).

    >>> looks_like_ref("owner/slug"), looks_like_ref("./data"), looks_like_ref("a/b/c")
    (True, False, False)
    """
    try:
        parse_target(text)
    except InvalidRefError:
        return False
    return True


def _selected(raw: str, query: str) -> str | None:
    """The URL-decoded ``?select=`` (Kaggle's file browser), checked like ``--file``."""
    values = parse_qs(query, keep_blank_values=True).get("select")
    if not values:
        return None
    if len(set(values)) > 1:
        msg = f"Invalid URL {raw!r}: it selects several files ({', '.join(values)}); give one."
        raise InvalidRefError(msg, ref=raw)
    return check_file_name(values[0])


def _parse_url(raw: str, path: str) -> Ref:
    parts = [p for p in path.split("/") if p]
    section = parts[0].lower() if parts else ""
    if section == "datasets":
        return _parse_dataset(raw, parts[1:], url=True)
    if section in ("competitions", "c"):
        return _parse_competition_url(raw, parts[1:])
    if section in _OTHER_PAGES:
        msg = (
            f"Invalid reference {raw!r}: that is {_OTHER_PAGES[section]} page, and kagman "
            "pulls datasets (kaggle.com/datasets/owner/slug) and competitions "
            "(kaggle.com/competitions/name)."
        )
        raise InvalidRefError(msg, ref=raw)
    return _parse_dataset(raw, parts, url=True)  # the old form kaggle.com/owner/slug


def _parse_dataset(raw: str, parts: list[str], *, url: bool) -> DatasetRef:
    if len(parts) < 2:
        python, cli = ("", "") if url or len(parts) != 1 else competition_hint(parts[0])
        head = f"Invalid dataset reference {raw!r}: expected {_FORM}."
        refused = InvalidRefError(head + python, ref=raw)
        refused.cli_message = head + cli
        raise refused
    owner, slug, rest = parts[0].lower(), parts[1].lower(), [p.lower() for p in parts[2:]]
    _check_part(
        raw, "owner", owner, _OWNER_RE, _MAX_OWNER, "may contain single hyphens or underscores"
    )
    _check_part(raw, "dataset slug", slug, _SLUG_RE, _MAX_SLUG, "may contain single hyphens")
    if url and rest and rest[-1] in _DATASET_TABS:
        rest = rest[:-1]  # .../data, .../versions/3/data
    if url and rest and rest[0] in _DATASET_TABS:
        rest = rest[1:]  # .../data/versions/3
    if len(rest) == 2 and rest[0] in _VERSION_TYPOS:
        msg = (
            f"Invalid dataset reference {raw!r}: did you mean {owner}/{slug}/versions/{rest[1]}? "
            "(Kaggle writes versions, plural.)"
        )
        raise InvalidRefError(msg, ref=raw)
    if rest and (len(rest) != 2 or rest[0] != "versions"):
        msg = f"Invalid dataset reference {raw!r}: expected {_FORM}."
        raise InvalidRefError(msg, ref=raw)
    return DatasetRef(owner, slug, _parse_version(raw, rest[1]) if rest else None)


def _parse_competition_url(raw: str, parts: list[str]) -> CompetitionRef:
    if not parts:
        msg = f"Invalid competition URL {raw!r}: expected kaggle.com/competitions/<name>."
        raise InvalidRefError(msg, ref=raw)
    if len(parts) > 1 and parts[1].lower() not in _COMPETITION_TABS:
        tabs = ", ".join(sorted(_COMPETITION_TABS))
        msg = (
            f"Invalid competition URL {raw!r}: {parts[1]!r} is not a page of a competition "
            f"({tabs}). Copy the URL of the competition's page."
        )
        raise InvalidRefError(msg, ref=raw)
    return _competition(raw, parts[0].lower())


def competition_hint(
    name: str, *, command: str = "pull", file: str | None = None
) -> tuple[str, str]:
    """A sentence for a bare name that may be a competition (``titanic``), in Python's words
    and in those of ``kagman <command>``; ``("", "")`` when it cannot be one.

    A bare name is never taken for a competition (it could be a folder); this says how
    to name one.

    >>> competition_hint("owner/slug"), competition_hint("./data")
    (('', ''), ('', ''))
    >>> competition_hint("titanic", command="index")[1].split(" or ")[0]
    " If 'titanic' is a competition, name it with -c (`kagman index -c titanic`)"
    """
    slug = name.strip().rstrip("/").lower()
    if len(slug) > _MAX_COMPETITION or not _SLUG_RE.fullmatch(slug):
        return "", ""
    cli = f"kagman {command} -c {slug}" + (f" {file}" if file else "")
    ref = f"kagman.CompetitionRef({slug!r})"
    python = {
        "pull": f"kagman.pull_competition({slug!r})",
        "load": f"kagman.load({ref}, {file!r})" if file else f"kagman.load({ref})",
    }.get(command, f"kagman.{command}({ref})")
    head, url = f" If {slug!r} is a competition, name it", CompetitionRef(slug).url
    return (
        f"{head} as {python} or by its URL {url}.",
        f"{head} with -c (`{cli}`) or by its URL {url}.",
    )


def _competition(raw: str, slug: str) -> CompetitionRef:
    if not slug:
        msg = f"Invalid competition reference {raw!r}: the name is empty (e.g. 'titanic')."
        raise InvalidRefError(msg, ref=raw)
    if len(slug) > _MAX_COMPETITION or not _SLUG_RE.fullmatch(slug):
        msg = (
            f"Invalid competition reference {raw!r}: {slug!r} breaks Kaggle's rules (lowercase "
            "letters and digits, single hyphens between them). Copy the name from the "
            "competition's URL: kaggle.com/competitions/<name>."
        )
        raise InvalidRefError(msg, ref=raw)
    return CompetitionRef(slug)


def _agree_version(raw: str, ref: DatasetRef, version: int | None) -> DatasetRef:
    if version is None:
        return ref
    version = _parse_version(raw, str(version))
    if ref.version is not None and ref.version != version:
        head = f"Conflicting versions for {raw!r}: the reference says {ref.version}, "
        tail = f" says {version}. Give only one."
        refused = InvalidRefError(head + "version=" + tail, ref=raw)
        refused.cli_message = head + "--version" + tail
        raise refused
    return ref.with_version(version)


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
