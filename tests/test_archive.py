"""Tests for kagman.archive: real zips, built here, some with their bytes edited by hand."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kagman.archive import (
    ExtractedFile,
    ExtractLimits,
    ExtractReport,
    extract_zip,
    is_zip,
)
from kagman.archive.failures import os_error
from kagman.archive.workers import StartMethod, start_method, thread_count
from kagman.archive.zipformat import (
    CentralRecord,
    central_records,
    file_reader,
    locate_central,
)
from kagman.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    ConfigError,
    CorruptArchiveError,
    DiskFullError,
    KagmanError,
    UnsafeArchiveError,
)

MIB = 1 << 20


# --- building archives --------------------------------------------------------


def make_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip written by zipfile, members in the given order."""
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def add_info(path: Path, info: zipfile.ZipInfo, data: bytes = b"", mode: str = "a") -> Path:
    """Append one member with a hand-made ZipInfo (odd names, modes, flags)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicate names
        with zipfile.ZipFile(path, mode) as zf:
            zf.writestr(info, data)
    return path


def raw_zip(names: list[bytes], data: bytes = b"x") -> bytes:
    """A stored zip written byte by byte, so names may hold anything (NUL included)."""
    out, central = bytearray(), bytearray()
    crc = zlib.crc32(data)
    for name in names:
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0x800, 0, 0, 0x21, crc, len(data),
                           len(data), len(name), 0) + name + data  # fmt: skip
        central += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0x800, 0, 0, 0x21,
                               crc, len(data), len(data), len(name), 0, 0, 0, 0,
                               (stat.S_IFREG | 0o644) << 16, offset) + name  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(names), len(names), len(central),
                      len(out), 0)  # fmt: skip
    return bytes(out + central + end)


def central_entries(data: bytes) -> dict[bytes, int]:
    """Raw member name -> offset of its central directory entry."""
    found, pos = {}, data.find(b"PK\x01\x02")
    while pos >= 0:
        nlen = struct.unpack_from("<H", data, pos + 28)[0]
        found[data[pos + 46 : pos + 46 + nlen]] = pos
        pos = data.find(b"PK\x01\x02", pos + 46 + nlen)
    return found


def patch(path: Path, name: str, **fields: int) -> None:
    """Overwrite fields of one member's central entry (and local header where they exist)."""
    data = bytearray(path.read_bytes())
    cd = central_entries(bytes(data))[name.encode()]
    local = struct.unpack_from("<L", data, cd + 42)[0]
    spots = {  # field: (central offset, local offset or None, format)
        "flags": (8, 6, "<H"),
        "method": (10, 8, "<H"),
        "crc": (16, 14, "<L"),
        "csize": (20, 18, "<L"),
        "usize": (24, 22, "<L"),
        "mode": (38, None, "<L"),
        "offset": (42, None, "<L"),
    }
    for key, value in fields.items():
        c, lo, fmt = spots[key]
        struct.pack_into(fmt, data, cd + c, value << 16 if key == "mode" else value)
        if lo is not None:
            struct.pack_into(fmt, data, local + lo, value)
    path.write_bytes(bytes(data))


def rename_raw(path: Path, old: bytes, new: bytes) -> None:
    """Replace a member's stored name bytes (same length) in both headers, keeping flags."""
    assert len(old) == len(new)
    data = path.read_bytes()
    assert data.count(old) == 2
    path.write_bytes(data.replace(old, new))


def clear_utf8_flag(path: Path, name: str) -> None:
    data = bytearray(path.read_bytes())
    cd = central_entries(bytes(data))[name.encode()]
    local = struct.unpack_from("<L", data, cd + 42)[0]
    for at in (cd + 8, local + 6):
        struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] & ~0x800)
    path.write_bytes(bytes(data))


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root, as posix relative path -> content."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def info(name: str, mode: int | None = None, method: int = zipfile.ZIP_STORED) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    zi.compress_type = method
    if mode is not None:
        zi.external_attr = mode << 16
    return zi


# --- a normal archive -----------------------------------------------------------


def test_extracts_normal_archive_with_exact_report(tmp_path: Path, dest: Path) -> None:
    archive = tmp_path / "ds.zip"
    blob = os.urandom(5000)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train/", b"")
        zf.writestr("train/cat/1.jpg", blob)
        zf.writestr("train/dog/2.jpg", b"woof" * 300, compress_type=zipfile.ZIP_STORED)
        zf.writestr("labels.csv", b"id,label\n1,cat\n2,dog\n")
        zf.writestr("empty.txt", b"")
        zf.writestr("empty-folder/", b"")
        zf.writestr("__MACOSX/train/._1.jpg", b"mac")
        zf.writestr("train/._2.jpg", b"mac")
        zf.writestr("train/.DS_Store", b"ds")
        zf.writestr("train/Thumbs.db", b"thumbs")
    seen: list[int] = []
    report = extract_zip(archive, dest, limits=ExtractLimits(), progress=seen.append)
    files = (
        ("empty.txt", 0),
        ("labels.csv", 21),
        ("train/cat/1.jpg", 5000),
        ("train/dog/2.jpg", 1200),
    )
    # the same reason names as the image index's .problems (kagman.archive.junk)
    skipped = {"directory entry": 2, "macos-junk": 3, "windows-junk": 1}
    written = {
        "empty.txt": b"",
        "labels.csv": b"id,label\n1,cat\n2,dog\n",
        "train/cat/1.jpg": blob,
        "train/dog/2.jpg": b"woof" * 300,
    }
    sha256 = {name: hashlib.sha256(data).hexdigest() for name, data in written.items()}
    rows = tuple(ExtractedFile(name, size, sha256[name]) for name, size in files)
    assert report == ExtractReport(files=rows, total_bytes=6221, skipped=skipped)
    assert report.sha256 == sha256
    assert tuple(report.files) == rows == report.files[:]
    assert report.files[-1] == rows[-1]
    assert report.skipped_count == 6
    assert sum(seen) == 6221
    assert tree(dest) == written
    assert (dest / "empty-folder").is_dir()
    assert not (dest / "__MACOSX").exists()


def test_files_get_umask_modes_and_never_setuid(tmp_path: Path, dest: Path) -> None:
    archive = add_info(tmp_path / "a.zip", info("run.sh", stat.S_IFREG | 0o6777), b"#!", "w")
    add_info(archive, info("sub/x", stat.S_IFREG | 0o4755), b"x")
    old = os.umask(0o022)
    try:
        extract_zip(archive, dest)
    finally:
        os.umask(old)
    assert stat.S_IMODE((dest / "run.sh").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "sub" / "x").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "sub").stat().st_mode) == 0o755


def test_unicode_names_utf8_flag_cp437_and_unflagged_utf8(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(
        tmp_path / "u.zip", {"données/été.txt": b"1", "caf_.txt": b"2", "XX.txt": b"3"}
    )
    rename_raw(archive, b"caf_.txt", b"caf\x82.txt")  # cp437 0x82 is 'é', no UTF-8 flag
    rename_raw(archive, b"XX.txt", "ß.txt".encode())  # UTF-8 bytes without the flag
    report = extract_zip(archive, dest)
    assert [f.path for f in report.files] == ["café.txt", "données/été.txt", "ß.txt"]
    assert tree(dest) == {"café.txt": b"2", "données/été.txt": b"1", "ß.txt": b"3"}


def test_unicode_path_extra_field_wins_over_an_oem_name(tmp_path: Path, dest: Path) -> None:
    # Windows zippers store the name in the OEM code page (here cp866, not UTF-8) and add
    # Info-ZIP's Unicode Path field (0x7075) holding the UTF-8 name and the CRC of the raw one.
    real = "Привет.txt"
    oem = real.encode("cp866")
    unicode_path = b"\x01" + struct.pack("<L", zlib.crc32(oem)) + real.encode()
    placeholder = info("P" * len(oem))
    placeholder.extra = struct.pack("<HH", 0x7075, len(unicode_path)) + unicode_path
    archive = add_info(tmp_path / "a.zip", placeholder, b"hello", "w")
    rename_raw(archive, b"P" * len(oem), oem)
    assert paths_sizes(extract_zip(archive, dest)) == [(real, 5)]
    assert (dest / real).read_bytes() == b"hello"
    # A stale field (its CRC does not match the raw name) is ignored, as Info-ZIP does.
    rename_raw(archive, oem, b"\x8f" * len(oem))  # cp437 0x8f is 'Å'
    other = tmp_path / "other"
    other.mkdir()
    assert paths_sizes(extract_zip(archive, other)) == [("Å" * len(oem), 5)]


def test_backslash_separators_become_folders(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "w.zip", {"train\\cat\\1.jpg": b"img"})
    assert paths_sizes(extract_zip(archive, dest)) == [("train/cat/1.jpg", 3)]
    assert (dest / "train" / "cat" / "1.jpg").read_bytes() == b"img"


def test_big_members_stream_and_report_progress(tmp_path: Path, dest: Path) -> None:
    big = os.urandom(64 * 1024) * 40  # 2.5 MiB: more than one read/inflate chunk
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/deflated.bin", big)
        zf.writestr("a/small.txt", b"hi")
        zf.writestr("b/stored.bin", big, compress_type=zipfile.ZIP_STORED)
        zf.writestr("b/zeros.bin", bytes(3 * MIB) + big)
    seen: list[int] = []
    report = extract_zip(archive, dest, progress=seen.append)
    assert sum(seen) == report.total_bytes == 3 * len(big) + 2 + 3 * MIB
    assert len(seen) > 4
    assert (dest / "a/deflated.bin").read_bytes() == big
    assert (dest / "b/stored.bin").read_bytes() == big
    assert (dest / "b/zeros.bin").read_bytes() == bytes(3 * MIB) + big
    assert report.sha256 == sha256_of(tree(dest))  # streamed members hashed chunk by chunk


START_METHODS = ["fork", "forkserver", "spawn"]


@pytest.mark.parametrize(
    ("workers", "method"),
    [(1, None), (2, None), (3, None), (None, None), *[(2, m) for m in START_METHODS]],
)
def test_many_members_on_several_workers_match_zipfile(
    tmp_path: Path, workers: int | None, method: StartMethod | None
) -> None:
    members = {f"d{n % 7}/f{n:04d}.bin": os.urandom(n % 300) * 3 for n in range(1500)}
    members["big.bin"] = os.urandom(3 * MIB)  # streamed, in whichever process gets it
    archive = make_zip(tmp_path / "many.zip", members)
    out = tmp_path / f"out-{workers}"
    out.mkdir()
    seen: list[int] = []
    report = extract_zip(archive, out, workers=workers, start_method=method, progress=seen.append)
    assert tree(out) == members
    assert paths_sizes(report) == sorted((k, len(v)) for k, v in members.items())
    assert sum(seen) == report.total_bytes == sum(map(len, members.values()))
    # every member hashed by the process that wrote it, and carried back here
    assert report.sha256 == sha256_of(members)


@pytest.mark.parametrize("workers", [1, 2])
def test_hashing_can_be_turned_off(tmp_path: Path, dest: Path, workers: int) -> None:
    members = {f"f{n:04d}.bin": os.urandom(50) for n in range(600)}
    archive = make_zip(tmp_path / "many.zip", members)
    report = extract_zip(archive, dest, workers=workers, start_method="fork", hashes=False)
    assert report.sha256 == {}
    assert {f.sha256 for f in report.files} == {""}
    assert tree(dest) == members


def paths_sizes(report: ExtractReport) -> list[tuple[str, int]]:
    return [(f.path, f.size) for f in report.files]


def sha256_of(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def test_zip64_records_and_extra_fields(
    tmp_path: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "z64.zip"
    members = {"a.txt": b"alpha" * 100, "b/c.bin": os.urandom(3000), "d.txt": b"delta"}
    with monkeypatch.context() as m:
        # zipfile writes ZIP64 only past 4 GiB / 65535 members; lower its limits instead.
        m.setattr(zipfile, "ZIP64_LIMIT", 1)
        m.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                with zf.open(name, "w", force_zip64=True) as fh:
                    fh.write(data)
    raw = archive.read_bytes()
    assert b"PK\x06\x06" in raw
    assert b"\xff\xff\xff\xff" in raw[raw.find(b"PK\x01\x02") :]
    report = extract_zip(archive, dest)
    assert tree(dest) == members
    assert sum(e.usize for e in central(archive)) == report.total_bytes == 3505


def central(archive: Path) -> list[CentralRecord]:
    """The central directory as kagman reads it."""
    fd = os.open(archive, os.O_RDONLY)
    try:
        read = file_reader(fd)
        where = locate_central(archive, read, os.fstat(fd).st_size, 1 << 30)
        return list(central_records(archive, read(where.start, where.size), where.shift))
    finally:
        os.close(fd)


def test_data_prepended_to_the_zip(tmp_path: Path, dest: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"x/y.txt": b"payload", "z.txt": b"zz"})
    archive = tmp_path / "sfx.zip"
    archive.write_bytes(b"#!/bin/sh\nexit 0\n" * 50 + inner.read_bytes())
    extract_zip(archive, dest)
    assert tree(dest) == {"x/y.txt": b"payload", "z.txt": b"zz"}


def test_zip64_sizes_missing_from_the_extra_field(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a" * 50})
    data = bytearray(archive.read_bytes())
    struct.pack_into("<L", data, central_entries(bytes(data))[b"a.txt"] + 24, 0xFFFFFFFF)
    archive.write_bytes(bytes(data))
    assert_damaged(archive, dest, "ZIP64 extra field")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_bzip2_and_lzma_members(tmp_path: Path, dest: Path, method: int) -> None:
    members = {"a.txt": b"hello " * 1000, "b/c.txt": b"x"}
    archive = make_zip(tmp_path / "c.zip", members, method)
    seen: list[int] = []
    report = extract_zip(archive, dest, progress=seen.append)
    assert tree(dest) == members
    assert sum(seen) == report.total_bytes == 6001
    assert report.sha256 == sha256_of(members)  # hashed through zipfile too


def test_is_zip_and_total_size(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a": b"1" * 10, "b/": b"", "c": b"22"})
    text = tmp_path / "notes.txt"
    text.write_text("not a zip")
    assert is_zip(archive)
    assert not is_zip(text)
    assert not is_zip(tmp_path / "missing.zip")
    assert not is_zip(tmp_path)
    assert sum(e.usize for e in central(archive)) == 12
    with pytest.raises(CorruptArchiveError, match="damaged"):
        central(text)


def test_refuses_a_non_empty_destination(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a": b"1"})
    (dest / "old").write_text("x")
    with pytest.raises(ValueError, match="empty"):
        extract_zip(archive, dest)


# --- unsafe members ---------------------------------------------------------------


UNSAFE_NAMES = [
    ("/etc/passwd", "absolute"),
    ("\\windows\\system32\\x", "absolute"),
    ("C:foo", "drive letter"),
    ("C:\\x", "drive letter"),
    ("d/C:/x", "drive letter"),
    ("../x", r"'\.\.'"),
    ("..\\x", r"'\.\.'"),
    ("a/../../x", r"'\.\.'"),
    ("a\\..\\..\\x", r"'\.\.'"),
    ("a/..", r"'\.\.'"),
    ("...", r"'\.\.'"),
    (".. /x", r"'\.\.'"),
    ("__MACOSX/../../x", r"'\.\.'"),
]


@pytest.mark.parametrize(("name", "why"), UNSAFE_NAMES)
def test_refuses_escaping_names_before_writing_anything(
    tmp_path: Path, dest: Path, name: str, why: str
) -> None:
    archive = make_zip(tmp_path / "a.zip", {"first.txt": b"ok", name: b"evil", "z.txt": b"ok"})
    with pytest.raises(UnsafeArchiveError, match=why) as caught:
        extract_zip(archive, dest)
    assert caught.value.member == name
    assert repr(name) in str(caught.value)
    assert "was not extracted" in str(caught.value)
    assert list(dest.iterdir()) == []


def test_refuses_nul_bytes_in_names(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"ok.txt": b"1", "evil.txt_sh": b"2"})
    rename_raw(archive, b"evil.txt_sh", b"evil.txt\x00sh")
    with pytest.raises(UnsafeArchiveError, match="NUL"):
        extract_zip(archive, dest)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        (stat.S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFIFO | 0o644, "special file"),
        (stat.S_IFCHR | 0o644, "special file"),
        (stat.S_IFBLK | 0o644, "special file"),
        (stat.S_IFSOCK | 0o644, "special file"),
    ],
)
def test_refuses_links_and_special_files(tmp_path: Path, dest: Path, mode: int, why: str) -> None:
    archive = make_zip(tmp_path / "a.zip", {"ok.txt": b"1"})
    add_info(archive, info("link", mode), b"/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match=why):
        extract_zip(archive, dest)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        ("a.txt", "a.txt", "appears twice"),
        ("a/b.txt", "a/./b.txt", "appears twice"),
        ("a/b.txt", "a\\b.txt", "appears twice"),
        ("a", "a/b.txt", "both a file and a folder"),
        ("a/b.txt", "a", "both a file and a folder"),
        ("a/", "a", "both a file and a folder"),
    ],
)
def test_refuses_clashing_members(
    tmp_path: Path, dest: Path, first: str, second: str, why: str
) -> None:
    archive = add_info(tmp_path / "a.zip", info(first), b"1", "w")
    add_info(archive, info(second), b"2")
    with pytest.raises(UnsafeArchiveError, match=why):
        extract_zip(archive, dest)
    assert list(dest.iterdir()) == []


def test_same_name_in_different_case_is_allowed(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"A.jpg": b"upper", "a.jpg": b"lower"})
    extract_zip(archive, dest)
    assert tree(dest) == {"A.jpg": b"upper", "a.jpg": b"lower"}


def test_refuses_overlapping_members(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"A" * 100, "b.txt": b"B" * 100})
    patch(archive, "b.txt", offset=0)  # both entries now point at the same local header
    with pytest.raises(UnsafeArchiveError, match="overlaps"):
        extract_zip(archive, dest)


PIECES = st.sampled_from(["/", "\\", ".", "..", ":", "C:", "a", "é", "\x00", " ", "_", "ß"])
NAMES = st.one_of(st.lists(PIECES, min_size=1, max_size=8).map("".join), st.text(min_size=1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(NAMES, min_size=1, max_size=4))
def test_property_nothing_lands_outside_dest(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp)
        sentinel = box / "sentinel.txt"
        sentinel.write_bytes(b"untouched")
        out = box / "dest"
        out.mkdir()
        archive = box / "a.zip"
        archive.write_bytes(raw_zip([n.encode() for n in names], b"payload"))
        try:
            report = extract_zip(archive, out)
        except (UnsafeArchiveError, ArchiveError):
            report = None
        assert sorted(p.name for p in box.iterdir()) == ["a.zip", "dest", "sentinel.txt"]
        assert sentinel.read_bytes() == b"untouched"
        real_out = out.resolve()
        for path in out.rglob("*"):
            assert not path.is_symlink()
            assert path.resolve().is_relative_to(real_out)
        if report is not None:
            written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
            assert written == {f.path for f in report.files}
            assert len(report.files) + report.skipped_count == len(names)


# --- zip bombs ----------------------------------------------------------------------


def test_declared_total_over_the_limit(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a": os.urandom(3000), "b": os.urandom(3000)})
    with pytest.raises(ArchiveTooLargeError, match="6,000 bytes") as caught:
        extract_zip(archive, dest, limits=ExtractLimits(max_total_bytes=5000))
    assert "KAGMAN_MAX_EXTRACT_BYTES" in str(caught.value)
    assert list(dest.iterdir()) == []
    extract_zip(archive, dest, limits=ExtractLimits(max_total_bytes=6000))


def test_too_many_members(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {f"{n}.txt": b"" for n in range(20)})
    with pytest.raises(ArchiveTooLargeError, match="20 members"):
        extract_zip(archive, dest, limits=ExtractLimits(max_members=19))


def test_compression_ratio_of_the_archive_and_of_a_member(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "zeros.zip", {"zeros.bin": bytes(20 * MIB)})
    with pytest.raises(ArchiveTooLargeError, match="times its size"):
        extract_zip(archive, dest, limits=ExtractLimits(max_ratio=100))
    # A member over 1 MiB with a bomb-like ratio is refused even if the archive's is fine.
    mixed = make_zip(tmp_path / "mixed.zip", {"noise": os.urandom(4 * MIB), "z": bytes(2 * MIB)})
    with pytest.raises(ArchiveTooLargeError, match="'z' would unpack") as caught:
        extract_zip(mixed, dest, limits=ExtractLimits(max_ratio=100))
    assert caught.value.member == "z"
    assert list(dest.iterdir()) == []
    assert extract_zip(archive, dest, limits=ExtractLimits(max_ratio=1100)).total_bytes == 20 * MIB


def test_limits_from_environment_are_read_at_call_time(
    tmp_path: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = make_zip(tmp_path / "zeros.zip", {"zeros.bin": bytes(2 * MIB)})
    monkeypatch.setenv("KAGMAN_MAX_EXTRACT_BYTES", str(MIB))
    with pytest.raises(ArchiveTooLargeError, match="limit 1,048,576"):
        extract_zip(archive, dest)
    monkeypatch.delenv("KAGMAN_MAX_EXTRACT_BYTES")
    monkeypatch.setenv("KAGMAN_MAX_RATIO", "10")
    assert ExtractLimits.from_env() == ExtractLimits(max_ratio=10.0)
    with pytest.raises(ArchiveTooLargeError, match="limit 10"):
        extract_zip(archive, dest)
    monkeypatch.setenv("KAGMAN_MAX_RATIO", "lots")
    with pytest.raises(ConfigError, match="KAGMAN_MAX_RATIO='lots'"):
        ExtractLimits.from_env()
    monkeypatch.delenv("KAGMAN_MAX_RATIO")
    assert ExtractLimits.from_env() == ExtractLimits()


@pytest.mark.parametrize("size", [5000, 3 * MIB])
def test_headers_that_lie_about_size_are_caught_while_inflating(
    tmp_path: Path, dest: Path, size: int
) -> None:
    data = os.urandom(size // 2) + bytes(size - size // 2)
    archive = make_zip(tmp_path / "liar.zip", {"ok.txt": b"fine", "liar.bin": data})
    declared = size // 4
    patch(archive, "liar.bin", usize=declared)
    with pytest.raises(ArchiveTooLargeError, match="inflates past") as caught:
        extract_zip(archive, dest, workers=1)
    assert caught.value.member == "liar.bin"
    written = dest / "liar.bin"
    assert not written.exists() or written.stat().st_size <= declared


def test_stored_member_with_lying_size(tmp_path: Path, dest: Path) -> None:
    big = os.urandom(2 * MIB)
    archive = make_zip(tmp_path / "s.zip", {"s.bin": big}, zipfile.ZIP_STORED)
    patch(archive, "s.bin", usize=MIB)
    with pytest.raises(ArchiveTooLargeError, match="inflates past"):
        extract_zip(archive, dest)
    assert (dest / "s.bin").stat().st_size <= MIB


# --- damaged archives -----------------------------------------------------------------


def assert_damaged(archive: Path, dest: Path, match: str, workers: int | None = None) -> None:
    with pytest.raises(CorruptArchiveError, match=match) as caught:
        extract_zip(archive, dest, workers=workers)
    assert "damaged" in str(caught.value)
    assert "Run the pull again to download it afresh." in str(caught.value)  # no --force needed


def test_not_a_zip(tmp_path: Path, dest: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(os.urandom(5000))
    assert_damaged(junk, dest, "not a zip")
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    assert_damaged(empty, dest, "not a zip")


def test_truncated_archive(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.bin": os.urandom(10000), "b.bin": b"b"})
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    assert_damaged(archive, dest, "not a zip")
    archive.write_bytes(data[:-10])  # end record cut short
    assert_damaged(archive, dest, "not a zip")
    archive.write_bytes(data[:-30] + data[-22:])  # central directory cut short
    assert_damaged(archive, dest, "central directory")


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("size", [3000, 3 * MIB])
def test_flipped_byte_fails_crc(tmp_path: Path, dest: Path, method: int, size: int) -> None:
    data = os.urandom(size)
    archive = make_zip(tmp_path / "a.zip", {"a.bin": data}, method)
    raw = bytearray(archive.read_bytes())
    raw[30 + len("a.bin") + size // 2] ^= 0x01
    archive.write_bytes(bytes(raw))
    assert_damaged(archive, dest, "CRC|inflate")


def child_pids() -> set[str]:
    me = os.getpid()
    return set(Path(f"/proc/{me}/task/{me}/children").read_text().split())


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    ("member", "damage", "error"),
    [
        ("f1100.txt", {"crc": 12345}, "'f1100.txt' fails its CRC"),  # in this process's share
        ("f0300.txt", {"crc": 12345}, "'f0300.txt' fails its CRC"),  # in the child's share
        ("f0300.txt", {"usize": 3}, "'f0300.txt' inflates past"),
    ],
)
def test_errors_in_worker_processes_reach_the_caller(
    tmp_path: Path, dest: Path, member: str, damage: dict[str, int], error: str
) -> None:
    # 1200 members: 5 batches of <= 256; with 2 workers this process writes batches 0, 2, 4
    # and a forked child writes 1 and 3.
    members = {f"f{n:04d}.txt": f"{n}".encode() * 20 for n in range(1200)}
    archive = make_zip(tmp_path / "a.zip", members)
    patch(archive, member, **damage)
    before = child_pids()
    with pytest.raises(ArchiveError, match=error) as caught:
        extract_zip(archive, dest, workers=2, start_method="fork")
    assert caught.value.member == member
    assert "was not extracted" in str(caught.value)
    assert child_pids() == before  # every worker was reaped before the error surfaced
    count = len(list(dest.iterdir()))
    assert 0 < count < 1200
    assert len(list(dest.iterdir())) == count  # and nothing writes there any more


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
@pytest.mark.parametrize("member", ["f0100.txt", "f2900.txt"])  # the pool's end, this process's
def test_errors_in_pool_workers_reach_the_caller(
    tmp_path: Path, dest: Path, method: StartMethod, member: str
) -> None:
    members = {f"f{n:04d}.txt": f"{n}".encode() * 20 for n in range(3000)}
    archive = make_zip(tmp_path / "a.zip", members)
    patch(archive, member, crc=12345)
    with pytest.raises(CorruptArchiveError, match=f"'{member}' fails its CRC") as caught:
        extract_zip(archive, dest, workers=2, start_method=method)
    # the error crossed a process boundary with its attributes and exit code intact
    assert (caught.value.member, caught.value.path, caught.value.exit_code) == (member, archive, 7)
    count = len(list(dest.iterdir()))
    time.sleep(0.2)
    assert len(list(dest.iterdir())) == count  # nothing writes there after the error


def test_a_process_with_threads_never_forks(tmp_path: Path, dest: Path) -> None:
    members = {f"f{n:04d}.txt": b"x" * n for n in range(1500)}
    archive = make_zip(tmp_path / "a.zip", members)
    # a fresh single-threaded process forks (pytest's own may have server threads by now)
    alone = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kagman.archive.workers import start_method; print(start_method())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert alone.stdout.strip() == "fork"
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert thread_count() >= 2
        assert start_method() == "forkserver"
        forks = child_pids()
        extract_zip(archive, dest, workers=2)
    finally:
        stop.set()
        thread.join()
    assert tree(dest) == members
    # no forked copy of this process: the only new children are multiprocessing's own
    # helpers (the forkserver, its resource tracker); the pool's workers are the server's
    helpers = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in child_pids() - forks]
    assert all(b"forkserver" in c or b"resource_tracker" in c for c in helpers), helpers


def test_encrypted_and_unsupported_members(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a" * 50})
    patch(archive, "a.txt", flags=0x1)
    assert_damaged(archive, dest, "encrypted")
    archive = make_zip(tmp_path / "b.zip", {"b.txt": b"b" * 50})
    patch(archive, "b.txt", method=9)  # deflate64
    assert_damaged(archive, dest, "compression method 9")


def test_bad_local_header(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a" * 50, "b.txt": b"b"})
    raw = bytearray(archive.read_bytes())
    raw[0:4] = b"XXXX"
    archive.write_bytes(bytes(raw))
    assert_damaged(archive, dest, "local header of member 'a.txt'")
    archive = make_zip(tmp_path / "b.zip", {"a.txt": b"a" * 50})
    raw = bytearray(archive.read_bytes())
    raw[30] = ord("b")  # the local header names another file
    archive.write_bytes(bytes(raw))
    assert_damaged(archive, dest, "local header")


def test_truncated_deflate_stream(tmp_path: Path, dest: Path) -> None:
    archive = tmp_path / "a.zip"
    data = os.urandom(4000)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", data)
    info_ = zipfile.ZipFile(archive).infolist()[0]
    patch(archive, "a.bin", csize=info_.compress_size - 100)  # stream ends early
    assert_damaged(archive, dest, "truncated|inflate")


def test_corrupt_bzip2_member(tmp_path: Path, dest: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": os.urandom(5000)}, zipfile.ZIP_BZIP2)
    raw = bytearray(archive.read_bytes())
    raw[30 + 5 + 100] ^= 0xFF
    archive.write_bytes(bytes(raw))
    with pytest.raises(CorruptArchiveError, match="damaged"):
        extract_zip(archive, dest)


def test_errors_are_kagman_errors_with_the_archive_path(tmp_path: Path, dest: Path) -> None:
    archive = tmp_path / "bad.zip"
    archive.write_bytes(b"PK" + bytes(100))
    with pytest.raises(KagmanError) as caught:
        extract_zip(archive, dest)
    assert isinstance(caught.value, ValueError)
    assert caught.value.path == archive  # type: ignore[attr-defined]
    assert caught.value.exit_code == 7


def test_reads_the_same_central_directory_as_zipfile(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n in range(50):
            zf.writestr(f"dir{n % 3}/file{n}.txt", os.urandom(n * 37))
    archive = tmp_path / "a.zip"
    archive.write_bytes(buf.getvalue())
    expected = [
        (i.filename.encode(), i.CRC, i.compress_size, i.file_size, i.header_offset)
        for i in zipfile.ZipFile(archive).infolist()
    ]
    got = [(e.raw_name, e.crc, e.csize, e.usize, e.offset) for e in central(archive)]
    assert got == expected


def test_names_the_filesystem_cannot_hold(tmp_path: Path, dest: Path) -> None:
    long_name = "d/" + "n" * 300 + ".txt"  # one part longer than NAME_MAX (255 bytes)
    archive = make_zip(tmp_path / "a.zip", {"ok.txt": b"1", long_name: b"2"})
    with pytest.raises(ArchiveError, match="a name of 304 bytes, over the 255") as caught:
        extract_zip(archive, dest)
    assert caught.value.member == long_name
    assert list(dest.iterdir()) == []  # refused while planning: not even ok.txt was written


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (errno.ENOSPC, DiskFullError),
        (errno.EEXIST, UnsafeArchiveError),
        (errno.EILSEQ, ArchiveError),
        (errno.EACCES, PermissionError),
    ],
)
def test_write_errors_become_errors_that_say_what_to_do(number: int, expected: type) -> None:
    err = OSError(number, os.strerror(number))
    converted = os_error(Path("ds.zip"), "a/b.jpg", err)
    assert isinstance(converted, expected)
    assert "a/b.jpg" in str(converted) or converted is err


def test_empty_archive_and_folders_only(tmp_path: Path, dest: Path) -> None:
    empty = make_zip(tmp_path / "empty.zip", {})
    assert extract_zip(empty, dest, workers=2) == ExtractReport(files=(), total_bytes=0)
    folders = make_zip(tmp_path / "folders.zip", {"a/": b"", "a/b/": b""})
    report = extract_zip(folders, dest)
    assert report.skipped == {"directory entry": 2}
    assert (dest / "a" / "b").is_dir()


def test_on_total_reports_the_declared_size_before_writing(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", b"a" * 1000)
        zf.writestr("b/c.txt", b"c" * 24)
    events: list[tuple[str, int]] = []
    dest = tmp_path / "out"
    dest.mkdir()
    extract_zip(
        archive,
        dest,
        progress=lambda n: events.append(("bytes", n)),
        on_total=lambda n: events.append(("total", n)),
    )
    assert events[0] == ("total", 1024)
    assert sum(n for kind, n in events if kind == "bytes") == 1024
