"""When the network fails on a pull of "latest" and a complete version is cached, that
version is used, with a warning saying which and that it may be stale; never after a
401, 403 or 404. Errors name the host that failed (API or storage), never urllib3's text."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from kaggle_server import TEST_KEY, FakeKaggle
from PIL import Image

import kagman
from kagman import (
    CredentialsRejectedError,
    DatasetNotFoundError,
    NetworkError,
    ServerError,
    StaleCacheWarning,
    TermsNotAcceptedError,
)
from kagman.cli import cli

FILES = {"a.txt": b"alpha", "t.csv": b"x\n1\n"}
WRONG_KEY = "00000000000000000000000000000bad"


def cache_entry(version: int) -> Path:
    return Path(os.environ["KAGMAN_CACHE"]) / f"datasets/owner/ds/versions/{version}"


def network_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request goes through a proxy on a closed port: the network is down."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")


@pytest.mark.parametrize("fault", ["api-unreachable", "api-5xx", "storage-unreachable"])
def test_network_failure_on_latest_uses_the_newest_cached_version(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    kaggle.add_dataset("owner/ds", FILES)
    kaggle.add_dataset("owner/ds", {"b.txt": b"2"})
    kagman.pull("owner/ds/versions/1")
    v2 = kagman.pull("owner/ds/versions/2")
    if fault == "storage-unreachable":  # v3 is current; its download cannot connect
        kaggle.add_dataset("owner/ds", {"c.txt": b"3"})
        kaggle.storage_unreachable(times=10)
        reason = r"Kaggle's download storage at http://127\.0\.0\.1:\d+ \(connection refused"
    elif fault == "api-5xx":
        kaggle.fail_next(503, times=10, endpoint="GetDataset")
        reason = r"Kaggle's API at http://localhost:7777 failed \(503\)"
    else:
        network_down(monkeypatch)
        reason = r"Could not reach Kaggle's API at http://localhost:7777 \(the proxy"
    with pytest.warns(StaleCacheWarning, match=reason) as caught:
        assert kagman.pull("owner/ds") == v2
    message = str(caught[0].message)
    assert "version 2 of owner/ds from the cache" in message
    assert "may be stale" in message
    assert "HTTPConnectionPool" not in message
    assert caught[0].filename == __file__  # points at the caller's line


def test_a_cached_single_file_stands_in_too(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("owner/ds", FILES)
    single = kagman.pull("owner/ds", file="t.csv")
    network_down(monkeypatch)
    with pytest.warns(StaleCacheWarning, match="'t.csv' of version 1"):
        assert kagman.pull("owner/ds", file="t.csv") == single


def test_index_of_a_ref_falls_back_the_same_way(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buf, "PNG")
    kaggle.add_dataset("owner/ds", {"cat/1.png": buf.getvalue(), "dog/2.png": buf.getvalue()})
    kagman.pull("owner/ds")
    network_down(monkeypatch)
    with pytest.warns(StaleCacheWarning, match="version 1 of owner/ds"):
        idx = kagman.index("owner/ds")
    assert idx.classes == ["cat", "dog"]


def test_the_cli_prints_the_path_and_one_warning_line(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("owner/ds", FILES)
    v1 = kagman.pull("owner/ds")
    network_down(monkeypatch)
    result = CliRunner().invoke(cli, ["pull", "owner/ds"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{v1}\n"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1
    assert "version 1 of owner/ds from the cache" in warnings[0]
    quiet = CliRunner().invoke(cli, ["-q", "pull", "owner/ds"])  # -q keeps warnings
    assert quiet.stderr.count("Warning: ") == 1


@pytest.mark.parametrize("answer", [401, 403, 404])
def test_never_after_kaggle_answered(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, answer: int
) -> None:
    kaggle.add_dataset("owner/ds", FILES)
    kagman.pull("owner/ds")
    expected: type[Exception]
    if answer == 401:
        monkeypatch.setenv("KAGGLE_KEY", WRONG_KEY)
        expected = CredentialsRejectedError
    elif answer == 403:
        kaggle.add_dataset("owner/ds", {"v2.txt": b"2"}, terms=True)  # v2 needs its rules
        expected = TermsNotAcceptedError
    else:
        kaggle.add_dataset("owner/ds", {"v2.txt": b"2"}, private=True)  # now hidden: 404
        expected = DatasetNotFoundError
    with pytest.raises(expected):
        kagman.pull("owner/ds")  # filterwarnings=error: a fallback warning would fail here


def test_never_for_a_pinned_version_or_force(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    kaggle.add_dataset("owner/ds", FILES)
    kaggle.add_dataset("owner/ds", {"b.txt": b"2"})
    v1 = kagman.pull("owner/ds/versions/1")
    network_down(monkeypatch)
    with pytest.raises(NetworkError, match="Kaggle's API at http://localhost:7777"):
        kagman.pull("owner/ds/versions/2")
    with pytest.raises(NetworkError):
        kagman.pull("owner/ds", force=True)
    assert kagman.pull("owner/ds/versions/1") == v1  # still there, still complete


def test_nothing_cached_raises_the_network_error(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGMAN_RETRIES", "1")
    kaggle.fail_next(502, times=10, endpoint="GetDataset")
    with pytest.raises(ServerError, match=r"Kaggle's API at http://localhost:7777 failed \(502\)"):
        kagman.pull("owner/ds")


def test_an_unreachable_storage_host_is_named_not_the_api(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGMAN_RETRIES", "1")
    kaggle.add_dataset("owner/ds", FILES)
    kaggle.storage_unreachable(times=10)
    with pytest.raises(NetworkError) as info:
        kagman.pull("owner/ds")
    message = str(info.value)
    dead = kaggle.dead_url()
    assert f"Could not reach Kaggle's download storage at {dead} (connection refused)" in message
    assert "localhost:7777" not in message
    assert "HTTPConnectionPool" not in message
    assert "Signature" not in message
    assert TEST_KEY not in message


def test_a_separate_storage_host_that_drops_is_named(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGMAN_RETRIES", "1")
    storage = kaggle.separate_storage()
    kaggle.add_dataset("owner/ds", {"big.bin": os.urandom(300_000)})
    kaggle.drop_connection_after(1000, times=10)
    with pytest.raises(NetworkError, match="resumes where it stopped") as info:
        kagman.pull("owner/ds")
    assert f"from {storage} (the connection dropped)" in str(info.value)
    assert {r.server for r in kaggle.requests if r.endpoint == "blob"} == {"storage"}
