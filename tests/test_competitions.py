"""Competitions: `kagman pull -c`, the data state from the redirect, rules, the same cache."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import requests
from click.testing import CliRunner
from conftest import kagman_executable
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle
from kaggle_server_competitions import LATE_MESSAGE, RULES_MESSAGE
from PIL import Image

import kagman
from kagman import (
    AccessDeniedError,
    CompetitionNotFoundError,
    DatasetNotFoundError,
    NetworkError,
    NotCachedError,
    RulesNotAcceptedError,
    TermsNotAcceptedError,
)
from kagman.cache.entries import state_of
from kagman.cache.manifest import read_manifest
from kagman.cli import cli

FILES = {
    "train.csv": b"PassengerId,Survived\n1,0\n2,1\n",
    "test.csv": b"PassengerId\n3\n",
    "extra/notes.txt": b"hello",
}


def comp_root(slug: str = "titanic") -> Path:
    return Path(os.environ["KAGMAN_CACHE"]) / "competitions" / slug


def log(kaggle: FakeKaggle) -> list[tuple[str, int]]:
    return [(r.endpoint, r.status) for r in kaggle.requests]


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_cold_pull_then_a_current_hit_costs_one_request(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES)
    path = kagman.pull_competition("titanic")
    assert path.parent == comp_root() / "data"
    assert tree(path) == FILES
    assert log(kaggle) == [("DownloadDataFiles", 302), ("blob", 200)]
    manifest = read_manifest(path)
    assert (manifest["kind"], manifest["competition"], manifest["state"]) == (
        "competition",
        "titanic",
        path.name,
    )
    assert manifest["source"].endswith("/blobs/competitions/titanic/1/titanic.zip")
    assert "?" not in manifest["source"]
    assert manifest["validator"].startswith('"')  # the archive's ETag
    assert (comp_root() / "latest").read_text() == path.name
    assert state_of(path) == "complete"
    kaggle.requests.clear()
    assert kagman.pull_competition("https://www.kaggle.com/competitions/titanic/data") == path
    assert log(kaggle) == [("DownloadDataFiles", 302)]  # compared, not followed
    assert [r.query for r in kaggle.requests] == [""]
    before = kaggle.count()
    assert kagman.pull_competition("titanic", offline=True, link=Path("data")) == path
    assert kaggle.count() == before
    assert Path("data/titanic").resolve() == path.resolve()  # named by the slug, not the state


def test_changed_data_is_a_new_state(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES)
    old = kagman.pull_competition("titanic")
    fixed = {**FILES, "train.csv": b"PassengerId,Survived\n1,1\n2,1\n"}
    kaggle.update_competition_data("titanic", fixed)
    kaggle.requests.clear()
    new = kagman.pull_competition("titanic")
    assert new != old
    assert tree(new) == fixed
    assert tree(old) == FILES  # the old state stays until pruned
    assert log(kaggle) == [("DownloadDataFiles", 302), ("blob", 200)]
    assert (comp_root() / "latest").read_text() == new.name
    assert kagman.pull_competition("titanic", offline=True) == new
    rows = {r.data_state: (r.kind, r.ref, r.state, r.latest) for r in kagman.cached().itertuples()}
    assert rows == {
        old.name: ("competition", "titanic", "complete", False),
        new.name: ("competition", "titanic", "complete", True),  # `latest` names it
    }


def test_files_folders_and_globs_reuse_the_subset_pull(kaggle: FakeKaggle) -> None:
    big = b"id,v\n" + b"1,2\n" * 4000
    kaggle.add_competition("titanic", {**FILES, "big.csv": big}, zipped_files=["big.csv"])
    one = kagman.pull_competition("titanic", file="big.csv")
    assert one.read_bytes() == big  # served as big.csv.zip, unwrapped
    assert log(kaggle) == [("DownloadDataFiles", 302), ("DownloadDataFile", 302), ("blob", 200)]
    entry = one.parent
    assert state_of(entry) == "subset"
    kaggle.requests.clear()
    assert kagman.pull_competition("titanic", file="big.csv") == one
    assert log(kaggle) == [("DownloadDataFiles", 302)]  # held, and the state is current
    kaggle.requests.clear()
    kaggle.page_size = 2
    root = kagman.pull_competition("titanic", include=["*.csv"], exclude=["big.csv"])
    assert root == entry
    assert sorted(r.path.rsplit("/", 1)[1] for r in kaggle.requests if r.endpoint == "blob") == [
        "test.csv",
        "train.csv",
    ]
    assert kaggle.count("ListDataFiles") == 2
    folder = kagman.pull_competition("titanic", file="extra")
    assert folder == entry / "extra"
    assert (folder / "notes.txt").read_bytes() == b"hello"
    whole = kagman.pull_competition("titanic")
    assert whole == entry
    assert state_of(entry) == "complete"


def test_rules_not_accepted_says_what_to_do(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES, rules_accepted=False)
    with pytest.raises(RulesNotAcceptedError) as info:
        kagman.pull_competition("titanic")
    assert str(info.value) == (
        "You have not accepted the rules of the competition titanic, so Kaggle refuses its "
        f"data (403: {RULES_MESSAGE}) The API cannot accept them for you: open "
        "https://www.kaggle.com/competitions/titanic/rules in a browser, signed in as kagtester "
        "(the user of the key 5f3a…a3e1, from KAGGLE_USERNAME/KAGGLE_KEY), accept the rules, "
        "then run the same command again (pass wait_for_rules=True to wait while you do)."
    )
    assert str(info.value.cli_message).endswith(  # QA2 finding 7: each says its own words
        "then run the same command again (add --wait-for-rules to wait here while you do)."
    )
    assert isinstance(info.value, TermsNotAcceptedError)
    assert (info.value.exit_code, info.value.status) == (4, 403)
    assert TEST_KEY not in str(info.value)
    result = CliRunner().invoke(cli, ["pull", "-c", "titanic"])
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: You have not accepted the rules of the competition")


def test_wait_for_rules_polls_until_they_are_accepted(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES, rules_accepted=False)
    env = {**os.environ, "KAGMAN_RULES_POLL": "0.2"}
    proc = subprocess.Popen(
        [kagman_executable(), "pull", "-c", "titanic", "--wait-for-rules", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while kaggle.count("DownloadDataFiles") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    with requests.post(
        f"{kaggle.base_url}/admin/competitions/titanic/accept-rules",
        json={},
        timeout=10,
        auth=(TEST_USERNAME, TEST_KEY),
    ) as r:
        assert r.status_code == 200
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert Path(out.strip()).parent == comp_root() / "data"
    assert err.count("You have not accepted the rules") == 1  # said once, then polled
    assert "Waiting up to 1 minute, asking Kaggle every 0.2 s" in err
    assert "add --wait-for-rules" not in err  # it is waiting already
    statuses = [s for e, s in log(kaggle) if e == "DownloadDataFiles"]
    assert statuses[0] == 403
    assert statuses[-1] == 302
    assert len(statuses) >= 3


def test_wait_for_rules_gives_up_in_time(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_competition("titanic", FILES, rules_accepted=False)
    monkeypatch.setenv("KAGMAN_RULES_POLL", "0.05")
    started = time.monotonic()
    with pytest.raises(RulesNotAcceptedError):
        kagman.pull_competition("titanic", wait_for_rules=0.005)  # 0.3 s
    assert time.monotonic() - started < 5
    assert kaggle.count("DownloadDataFiles") >= 2


def test_other_403s_and_404s_are_distinct(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("ended", FILES, late_download_forbidden=True)
    kaggle.add_competition("secret", FILES, private=True)
    with pytest.raises(AccessDeniedError) as info:
        kagman.pull_competition("ended")
    assert str(info.value) == (
        f"Kaggle refuses the data of the competition ended (403: {LATE_MESSAGE}) This is not "
        "about its rules: the competition is private, or it has ended and does not allow late "
        "downloads. See https://www.kaggle.com/competitions/ended; only the host can change this."
    )
    assert not isinstance(info.value, TermsNotAcceptedError)
    with pytest.raises(CompetitionNotFoundError) as missing:
        kagman.pull_competition("secret")
    assert str(missing.value) == (
        "Kaggle has no competition 'secret', or it is private and your account has not joined "
        "it. Check the name against https://www.kaggle.com/competitions/secret. (A dataset is "
        "named owner/slug: drop -c to pull one.)"
    )
    assert missing.value.exit_code == 4
    kaggle.add_competition("titanic", FILES)
    with pytest.raises(
        CompetitionNotFoundError,
        match=r"no file 'nope\.csv' in the competition titanic.*folders extra/",
    ):
        kagman.pull_competition("titanic", file="nope.csv")
    # a dataset 404 points at a competition of that name
    with pytest.raises(DatasetNotFoundError) as hint:
        kagman.pull("someone/titanic")
    assert str(hint.value).endswith(
        "There is a competition named 'titanic': pull it with kagman.pull_competition('titanic')."
    )
    assert str(hint.value.cli_message).endswith(  # QA2 finding 7
        "There is a competition named 'titanic': pull it with `kagman pull -c titanic`."
    )


def test_offline_and_the_network_fallback(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(NotCachedError, match="titanic is not in the cache"):
        kagman.pull_competition("titanic", offline=True)
    kaggle.add_competition("titanic", FILES)
    path = kagman.pull_competition("titanic")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the network goes down
    monkeypatch.setenv("NO_PROXY", "")
    assert kagman.pull_competition("titanic") == path
    assert "Kaggle could not be reached" in caplog.text
    assert "may be stale" in caplog.text
    with pytest.raises(NetworkError):
        kagman.pull_competition("titanic", file="nothing-cached.csv")


def test_files_load_and_index_take_a_competition(kaggle: FakeKaggle) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "PNG")
    images = {f"train/{c}/{i}.png": buf.getvalue() for c in ("cat", "dog") for i in range(2)}
    kaggle.add_competition("titanic", {**FILES, **images})
    kaggle.page_size = 2
    df = kagman.files(kagman.CompetitionRef("titanic"))
    assert df["name"].tolist() == sorted({**FILES, **images})
    assert df.attrs == {"ref": "titanic", "source": "kaggle"}
    listed = CliRunner().invoke(cli, ["files", "-c", "titanic", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["total_files"] == 7
    url = "https://www.kaggle.com/competitions/titanic/data?select=train.csv"
    expected = pd.DataFrame({"PassengerId": [1, 2], "Survived": [0, 1]})
    pd.testing.assert_frame_equal(kagman.load(url), expected)
    assert [e for e, _ in log(kaggle)][-3:] == ["DownloadDataFiles", "DownloadDataFile", "blob"]
    folder = kagman.pull_competition("titanic")
    pd.testing.assert_frame_equal(kagman.load(folder, "train.csv"), expected)
    idx = kagman.index("https://www.kaggle.com/c/titanic")
    assert idx.classes == ["cat", "dog"]
    assert len(idx.paths()) == 4
    with pytest.raises(kagman.TableError, match="No table file"):
        kagman.load("titanic", "train.csv")  # a bare name is a local path, never a competition


def test_bad_competition_input_exits_2(kaggle: FakeKaggle) -> None:
    for args, line in (
        (
            ["pull", "-c", "owner/data"],
            "Error: Invalid competition reference 'owner/data': it names the dataset owner/data.",
        ),
        (["pull", "-c", "Bad_Name"], "Error: Invalid competition reference 'Bad_Name'"),
        (["pull", "owner/data", "--wait-for-rules"], "Error: --wait-for-rules is for competitions"),
        (["files", "-c", "titanic", "--version", "2"], "Error: --version is for datasets"),
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert line in result.stderr, result.stderr
    assert kaggle.count() == 0


# --- competitions from every command (QA finding 7) --------------------------------------


def test_load_index_and_show_take_c(kaggle: FakeKaggle, tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "PNG")
    images = {f"train/{c}/{i}.png": buf.getvalue() for c in ("cat", "dog") for i in range(2)}
    kaggle.add_competition("titanic", {**FILES, **images})
    loaded = CliRunner().invoke(cli, ["load", "-c", "titanic", "train.csv"])
    assert loaded.exit_code == 0, loaded.output
    assert loaded.stdout.endswith("[2 rows x 2 columns]\n")
    indexed = CliRunner().invoke(cli, ["index", "-c", "titanic"])
    assert indexed.exit_code == 0, indexed.output
    assert "Images: 4 in 1 split, 2 classes" in indexed.stdout
    sheet = tmp_path / "sheet.png"
    shown = CliRunner().invoke(cli, ["show", "-c", "titanic", "--out", str(sheet)])
    assert shown.exit_code == 0, shown.output
    assert sheet.is_file()
    assert kagman.index(kagman.CompetitionRef("titanic")).classes == ["cat", "dog"]
    wrong = CliRunner().invoke(cli, ["load", "-c", "titanic", "train.csv", "--version", "2"])
    assert (wrong.exit_code, wrong.stderr.splitlines()[-1]) == (
        2,
        "Error: --version is for datasets: competitions have no versions.",
    )


def test_a_bare_name_says_how_to_name_a_competition(kaggle: FakeKaggle) -> None:
    kaggle.add_competition("titanic", FILES)
    url = "https://www.kaggle.com/competitions/titanic"
    for args, hint in (
        (["pull", "titanic"], f"(`kagman pull -c titanic`) or by its URL {url}"),
        (["files", "titanic"], f"(`kagman pull -c titanic`) or by its URL {url}"),
        (["load", "titanic", "train.csv"], "(`kagman load -c titanic train.csv`) or by its URL"),
        (["index", "titanic"], "(`kagman index -c titanic`) or by its URL"),
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code in (2, 8), result.output
        assert f"If 'titanic' is a competition, name it with -c {hint}" in result.stderr, args
        assert "kagman.CompetitionRef" not in result.stderr  # QA2 finding 8: no Python here
        assert "pull_competition" not in result.stderr
    with pytest.raises(kagman.TableError) as info:
        kagman.load("titanic", "train.csv")
    assert str(info.value).endswith(
        "If 'titanic' is a competition, name it as "
        f"kagman.load(kagman.CompetitionRef('titanic'), 'train.csv') or by its URL {url}."
    )
    assert "-c" not in str(info.value)
    with pytest.raises(kagman.InvalidRefError, match=r"kagman.pull_competition\('titanic'\)"):
        kagman.pull("titanic")
    assert kaggle.count() == 0  # a bare name is never sent to Kaggle


@pytest.mark.parametrize(
    "args",
    [
        ["pull", "-c", "--wait-for-rules", "titanic"],
        ["pull", "--wait-for-rules", "-c", "titanic"],
        ["pull", "-c", "titanic", "--wait-for-rules"],
        ["pull", "-c", "--wait-for-rules", "0.01", "titanic"],
        ["pull", "-c", "--wait-for-rules=0.01", "titanic"],
    ],
    ids=" ".join,
)
def test_wait_for_rules_never_eats_the_ref(kaggle: FakeKaggle, args: list[str]) -> None:
    kaggle.add_competition("titanic", FILES)  # rules accepted: the pull just works
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()).parent == comp_root() / "data"


def test_a_wait_that_runs_out_says_how_long_it_waited(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_competition("titanic", FILES, rules_accepted=False)
    monkeypatch.setenv("KAGMAN_RULES_POLL", "0.05")
    with pytest.raises(RulesNotAcceptedError) as info:
        kagman.pull_competition("titanic", wait_for_rules=0.005)
    assert str(info.value) == (
        "The rules of the competition titanic were still not accepted after waiting 0.005 "
        "minutes (asking Kaggle every 0.05 s). Open "
        "https://www.kaggle.com/competitions/titanic/rules in a browser, signed in as kagtester "
        "(the user of the key 5f3a…a3e1, from KAGGLE_USERNAME/KAGGLE_KEY), accept the rules, "
        "then run the same command again (wait_for_rules=MINUTES waits longer)."
    )
    assert str(info.value.cli_message).endswith("(--wait-for-rules MINUTES waits longer).")
    assert "wait_for_rules=True" not in str(info.value)
    assert (info.value.exit_code, info.value.status) == (4, 403)
