"""Dataset references are validated locally, before any network call."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kagman import InvalidRefError
from kagman.remote.refs import DatasetRef, looks_like_ref, parse_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("owner/data", DatasetRef("owner", "data")),
        ("Owner/My-Data", DatasetRef("owner", "my-data")),
        ("user_name/data-set-2", DatasetRef("user_name", "data-set-2")),
        ("owner/data/versions/7", DatasetRef("owner", "data", 7)),
        ("  owner/data/  ", DatasetRef("owner", "data")),
        ("https://www.kaggle.com/datasets/owner/data", DatasetRef("owner", "data")),
        ("kaggle.com/datasets/owner/data/versions/2?select=x.csv", DatasetRef("owner", "data", 2)),
    ],
)
def test_valid_refs(text: str, expected: DatasetRef) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("owner", "expected owner/dataset-slug"),
        ("owner/", "expected owner/dataset-slug"),
        ("owner//versions/2", "dataset slug is empty"),
        ("/data", "owner is empty"),
        ("owner/data/extra", "expected owner/dataset-slug"),
        ("owner/data/versions/x", "version 'x'"),
        ("owner/data/versions/0", "version '0'"),
        ("owner/da--ta", "breaks Kaggle's rules"),
        ("owner/-data", "breaks Kaggle's rules"),
        ("owner/data_set", "breaks Kaggle's rules"),
        ("own er/data", "breaks Kaggle's rules"),
        ("../etc", "breaks Kaggle's rules"),
        ("owner/" + "a" * 51, "at most 50"),
        ("owner/dätä", "breaks Kaggle's rules"),
    ],
)
def test_invalid_refs_name_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(InvalidRefError, match=re.escape(fragment)) as info:
        parse_ref(text)
    assert isinstance(info.value, ValueError)
    assert info.value.ref == text


def test_version_option_pins_and_must_agree() -> None:
    assert parse_ref("owner/data", version=3) == DatasetRef("owner", "data", 3)
    assert parse_ref("owner/data/versions/3", version=3).version == 3
    with pytest.raises(InvalidRefError, match="Conflicting versions"):
        parse_ref("owner/data/versions/3", version=4)


def test_str_and_url_round_trip() -> None:
    ref = parse_ref("owner/data/versions/5")
    assert str(ref) == "owner/data/versions/5"
    assert ref.name == "owner/data"
    assert ref.url == "https://www.kaggle.com/datasets/owner/data"
    assert parse_ref(str(ref)) == ref
    assert str(ref.with_version(None)) == "owner/data"


def test_looks_like_ref_tells_refs_from_paths() -> None:
    assert looks_like_ref("owner/data")
    assert not looks_like_ref("./data")
    assert not looks_like_ref("/abs/path")
    assert not looks_like_ref("data")


@given(st.text(max_size=80))
def test_any_text_parses_to_safe_parts_or_raises(text: str) -> None:
    """Whatever the input, a parsed ref's parts are safe as path components."""
    try:
        ref = parse_ref(text)
    except InvalidRefError as err:
        message = str(err)
    else:
        message = ""
    if message:
        assert "Invalid" in message or "Conflicting" in message or "must be a string" in message
        return
    for part in (ref.owner, ref.slug):
        assert re.fullmatch(r"[a-z0-9_-]{1,50}", part)
        assert part not in (".", "..")
    assert ref.version is None or ref.version >= 1
    assert parse_ref(str(ref)) == ref


@given(
    st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True),
    st.integers(min_value=1, max_value=10**6),
)
def test_well_formed_refs_always_parse(owner: str, slug: str, version: int) -> None:
    assert parse_ref(f"{owner}/{slug}/versions/{version}") == DatasetRef(owner, slug, version)
