"""Every reference or URL a user can paste: what it means, or the exact error (exit code 2)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kagman import EmptySelectionError, InvalidRefError
from kagman.cli import cli
from kagman.remote.refs import (
    CompetitionRef,
    DatasetRef,
    check_file_name,
    parse_competition,
    parse_target,
)

D = "https://www.kaggle.com/datasets/owner/data"
C = "https://www.kaggle.com/competitions/titanic"


@pytest.mark.parametrize(
    ("text", "ref", "file"),
    [
        # bare refs
        ("owner/data", DatasetRef("owner", "data"), None),
        ("owner/data/versions/3", DatasetRef("owner", "data", 3), None),
        ("Owner/Data/", DatasetRef("owner", "data"), None),
        # the dataset URL and every tab, with and without a trailing slash
        (D, DatasetRef("owner", "data"), None),
        (D + "/", DatasetRef("owner", "data"), None),
        (D + "/data", DatasetRef("owner", "data"), None),
        (D + "/code", DatasetRef("owner", "data"), None),
        (D + "/discussion", DatasetRef("owner", "data"), None),
        (D + "/suggestions", DatasetRef("owner", "data"), None),
        (D + "/settings/", DatasetRef("owner", "data"), None),
        # versions before or after the tab
        (D + "/versions/1", DatasetRef("owner", "data", 1), None),
        (D + "/versions/1/data", DatasetRef("owner", "data", 1), None),
        (D + "/data/versions/4", DatasetRef("owner", "data", 4), None),
        # queries: download button, file browser (URL-decoded), both, and a fragment
        (D + "?resource=download", DatasetRef("owner", "data"), None),
        (D + "/data?select=train.csv", DatasetRef("owner", "data"), "train.csv"),
        (
            D + "/versions/2/data?select=images%2Fcat%201.jpg",
            DatasetRef("owner", "data", 2),
            "images/cat 1.jpg",
        ),
        (D + "?resource=download&select=a+b.csv#top", DatasetRef("owner", "data"), "a b.csv"),
        (
            D + "/data?select=chest_xray%2Ftrain%2F",
            DatasetRef("owner", "data"),
            "chest_xray/train/",
        ),
        # scheme, www and case are optional; the old form without /datasets/
        ("kaggle.com/datasets/owner/data/versions/2", DatasetRef("owner", "data", 2), None),
        ("http://KAGGLE.com/datasets/Owner/Data", DatasetRef("owner", "data"), None),
        ("www.kaggle.com/owner/data", DatasetRef("owner", "data"), None),
        # competitions, long and short URLs, any tab, ?select=
        (C, CompetitionRef("titanic"), None),
        (C + "/", CompetitionRef("titanic"), None),
        (C + "/data", CompetitionRef("titanic"), None),
        (C + "/overview/evaluation", CompetitionRef("titanic"), None),
        (C + "/rules", CompetitionRef("titanic"), None),
        (C + "/leaderboard", CompetitionRef("titanic"), None),
        (C + "/data?select=train.csv", CompetitionRef("titanic"), "train.csv"),
        (
            "https://www.kaggle.com/c/house-prices-advanced-regression-techniques",
            CompetitionRef("house-prices-advanced-regression-techniques"),
            None,
        ),
        ("kaggle.com/c/Titanic/data", CompetitionRef("titanic"), None),
    ],
)
def test_what_a_pasted_reference_means(text: str, ref: object, file: str | None) -> None:
    assert parse_target(text) == (ref, file)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "owner/data/version/1",
            "Invalid dataset reference 'owner/data/version/1': did you mean owner/data/versions/1? (Kaggle writes versions, plural.)",
        ),
        (
            "owner/data/v/1",
            "Invalid dataset reference 'owner/data/v/1': did you mean owner/data/versions/1? (Kaggle writes versions, plural.)",
        ),
        (
            D + "/version/2/data",
            f"Invalid dataset reference '{D}/version/2/data': did you mean owner/data/versions/2? (Kaggle writes versions, plural.)",
        ),
        (
            D + "/versions/0",
            f"Invalid dataset version '0' in '{D}/versions/0': a version is a whole number from 1 up.",
        ),
        (
            D + "/data/extra",
            f"Invalid dataset reference '{D}/data/extra': expected owner/dataset-slug or owner/dataset-slug/versions/N (as in kaggle.com/datasets/owner/dataset-slug).",
        ),
        (
            "owner/data/data",
            "Invalid dataset reference 'owner/data/data': expected owner/dataset-slug or owner/dataset-slug/versions/N (as in kaggle.com/datasets/owner/dataset-slug).",
        ),
        (
            "https://www.kaggle.com/datasets/owner",
            "Invalid dataset reference 'https://www.kaggle.com/datasets/owner': expected owner/dataset-slug or owner/dataset-slug/versions/N (as in kaggle.com/datasets/owner/dataset-slug).",
        ),
        (
            D + "?select=../etc/passwd",
            "Invalid file name '../etc/passwd': give the file's (or folder's) path inside the dataset, like 'train.csv', 'images/cat.jpg' or 'images/'.",
        ),
        (
            D + "?select=a.csv&select=b.csv",
            f"Invalid URL '{D}?select=a.csv&select=b.csv': it selects several files (a.csv, b.csv); give one.",
        ),
        (
            "https://www.kaggle.com/code/owner/notebook",
            "Invalid reference 'https://www.kaggle.com/code/owner/notebook': that is a notebook page, and kagman pulls datasets (kaggle.com/datasets/owner/slug) and competitions (kaggle.com/competitions/name).",
        ),
        (
            "https://www.kaggle.com/models/google/gemma",
            "Invalid reference 'https://www.kaggle.com/models/google/gemma': that is a model page, and kagman pulls datasets (kaggle.com/datasets/owner/slug) and competitions (kaggle.com/competitions/name).",
        ),
        (
            "https://www.kaggle.com/competitions",
            "Invalid competition URL 'https://www.kaggle.com/competitions': expected kaggle.com/competitions/<name>.",
        ),
        (
            C + "/bogus",
            f"Invalid competition URL '{C}/bogus': 'bogus' is not a page of a competition (code, data, discussion, leaderboard, models, overview, rules, submissions, submit, team). Copy the URL of the competition's page.",
        ),
        (
            "https://www.kaggle.com/c/Bad_Name",
            "Invalid competition reference 'https://www.kaggle.com/c/Bad_Name': 'bad_name' breaks Kaggle's rules (lowercase letters and digits, single hyphens between them). Copy the name from the competition's URL: kaggle.com/competitions/<name>.",
        ),
        (
            "titanic",
            "Invalid dataset reference 'titanic': expected owner/dataset-slug or owner/dataset-slug/versions/N (as in kaggle.com/datasets/owner/dataset-slug). If 'titanic' is a competition, name it as kagman.pull_competition('titanic') or by its URL https://www.kaggle.com/competitions/titanic.",
        ),
    ],
)
def test_what_is_refused_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(InvalidRefError) as info:
        parse_target(text)
    assert str(info.value) == message
    assert info.value.exit_code == 2


def test_options_must_agree_with_the_url() -> None:
    assert parse_target(D + "?select=a.csv", file="a.csv") == (DatasetRef("owner", "data"), "a.csv")
    assert parse_target(D + "/versions/2", version=2).ref == DatasetRef("owner", "data", 2)
    with pytest.raises(
        InvalidRefError, match=r"the URL selects 'a.csv', file= says 'b.csv'"
    ) as conflict:
        parse_target(D + "?select=a.csv", file="b.csv")
    assert conflict.value.cli_message is not None
    assert "the URL selects 'a.csv', --file says 'b.csv'" in conflict.value.cli_message
    with pytest.raises(InvalidRefError, match="Conflicting versions"):
        parse_target(D + "/versions/2/data", version=3)
    with pytest.raises(InvalidRefError, match="competitions have no versions"):
        parse_target(C, version=1)


def test_a_competition_name_only_where_one_is_expected() -> None:
    assert parse_target("titanic", competition=True) == (CompetitionRef("titanic"), None)
    assert parse_competition(C + "/data") == CompetitionRef("titanic")
    assert parse_competition(CompetitionRef("titanic")) == CompetitionRef("titanic")
    with pytest.raises(InvalidRefError, match=r"it names the dataset owner/data\. Drop -c"):
        parse_competition("owner/data")
    with pytest.raises(InvalidRefError, match="it names the dataset owner/data"):
        parse_competition(D)
    ref = CompetitionRef("titanic")
    assert (str(ref), ref.url, ref.rules_url) == (
        "titanic",
        "https://www.kaggle.com/competitions/titanic",
        "https://www.kaggle.com/competitions/titanic/rules",
    )


def test_folder_names_keep_their_slash() -> None:
    assert check_file_name("train/") == "train/"
    for bad in ("/", "a//b", "a/../b", "./a", "a\\b"):
        with pytest.raises(InvalidRefError, match="Invalid file name"):
            check_file_name(bad)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["pull", "owner/data/version/1"],
            "Error: Invalid dataset reference 'owner/data/version/1': did you mean owner/data/versions/1?",
        ),
        (
            ["pull", "owner/data", "--file", "train/"],
            None,
        ),  # a folder is fine (no network yet: offline below)
        (["pull", "owner/data", "--file", "a/../b"], "Error: Invalid file name 'a/../b'"),
        (["pull", D + "?select=a.csv", "--file", "b.csv"], "Error: Conflicting files for"),
        (
            ["files", "owner/data/v/2"],
            "Error: Invalid dataset reference 'owner/data/v/2': did you mean owner/data/versions/2?",
        ),
        (["load", "https://www.kaggle.com/code/o/n"], "Error: Invalid reference"),
    ],
)
def test_bad_input_exits_2_from_the_cli(args: list[str], line: str | None) -> None:
    if line is None:
        args = [*args, "--offline"]
    result = CliRunner().invoke(cli, args)
    if line is None:
        assert result.exit_code == 6, result.output  # valid input, just not cached
        return
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(line)
    assert "Traceback" not in result.stderr


def test_empty_selection_is_bad_input() -> None:
    assert issubclass(EmptySelectionError, InvalidRefError)
    assert issubclass(EmptySelectionError, LookupError)
    assert EmptySelectionError.exit_code == 2


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./%?=&#+ ", max_size=20)


@given(
    st.lists(segment, max_size=6),
    st.sampled_from(["", "https://www.kaggle.com/", "kaggle.com/c/", "kaggle.com/datasets/"]),
)
def test_any_url_parses_to_safe_parts_or_raises_invalid_ref(parts: list[str], prefix: str) -> None:
    text = prefix + "/".join(parts)
    try:
        ref, file = parse_target(text)
    except InvalidRefError:
        return  # exit code 2, checked above
    for part in (ref.owner, ref.slug) if isinstance(ref, DatasetRef) else (ref.slug,):
        assert part not in ("", ".", "..")
        assert "/" not in part
    if file is not None:
        assert check_file_name(file) == file
        assert ".." not in file.split("/")
