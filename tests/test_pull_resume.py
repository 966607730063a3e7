"""Resuming a download never splices two objects, never writes bytes it did not ask for,
and never keeps the storage signature: each test fails if its guard is removed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from kaggle_server import FakeKaggle, make_zip

import kagman
from kagman import NetworkError


def big_files(n: int = 40, size: int = 50_000) -> dict[str, bytes]:
    return {f"part-{i:03}.bin": os.urandom(size) for i in range(n)}  # incompressible


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def leave_a_partial(kaggle: FakeKaggle, ref: str, nbytes: int) -> Path:
    """A first pull that drops after ``nbytes`` and gives up: the partial file stays."""
    kaggle.drop_connection_after(nbytes)
    os.environ["KAGMAN_RETRIES"] = "0"
    try:
        with pytest.raises(NetworkError, match="resumes"):
            kagman.pull(ref)
    finally:
        del os.environ["KAGMAN_RETRIES"]
    owner, slug = ref.split("/")[:2]
    part = Path(os.environ["KAGMAN_CACHE"]) / f"datasets/{owner}/{slug}/.incomplete/v1.zip"
    assert part.stat().st_size == nbytes
    return part


def test_object_swapped_between_check_and_resume_is_not_spliced(kaggle: FakeKaggle) -> None:
    old = big_files()
    kaggle.add_dataset("owner/big", old)
    leave_a_partial(kaggle, "owner/big/versions/1", 200_000)
    new = big_files()
    # The resume's first answer still shows the old object (its ETag matches the partial),
    # then the object changes before the ranged request: only If-Range can notice.
    kaggle.swap_blob_after_headers("owner/big", 1, make_zip(new))
    path = kagman.pull("owner/big/versions/1")
    assert read_tree(path) == new
    ranged = [r for r in kaggle.requests if r.endpoint == "blob" and r.range]
    assert [r.range for r in ranged] == ["bytes=200000-"]
    assert ranged[0].status == 200  # the server saw If-Range fail and sent everything


def test_a_206_for_other_bytes_is_never_written(kaggle: FakeKaggle) -> None:
    files = big_files()
    kaggle.add_dataset("owner/big", files)
    leave_a_partial(kaggle, "owner/big/versions/1", 300_000)
    kaggle.wrong_content_range(times=1)
    path = kagman.pull("owner/big/versions/1")
    assert read_tree(path) == files
    ranged = [r for r in kaggle.requests if r.endpoint == "blob" and r.range]
    # the wrong answer was refused and asked for again, from the same offset
    assert [(r.range, r.status) for r in ranged] == [("bytes=300000-", 206)] * 2


def test_the_storage_signature_is_never_stored(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/pets", {"a.txt": b"a", "b/c.txt": b"c"})
    path = kagman.pull("owner/pets")
    kaggle.add_dataset("owner/pets", {"a.txt": b"a2"}, zipped_files=["a.txt"])
    single = kagman.pull("owner/pets", file="a.txt")
    blobs = [r for r in kaggle.requests if r.endpoint == "blob"]
    assert len(blobs) == 2
    # the guard is exercised: the storage URLs did carry a signature
    assert all("X-Goog-Signature=" in r.query for r in blobs)
    assert single == path.parent / "2" / "a.txt"  # a single file lands in its version's entry
    for entry in (path, single.parent):
        manifest = entry.with_name(entry.name + ".manifest.json")
        text = manifest.read_text()
        assert "Signature" not in text
        body = json.loads(text)
        source = body["source"] if entry == path else body["sources"]["a.txt"][0]
        assert "?" not in source
        assert source.endswith(blobs[0].path if entry == path else ".zip")
