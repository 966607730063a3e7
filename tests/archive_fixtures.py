"""Every archive of ``tests/test_archive.py`` and ``tests/archive_faults.py``, as bytes.

``fixtures(tmp_path)`` builds them with those modules' own helpers, each under the name of
the test it comes from, so a test can pull each one through every path a pull can take
(one connection then extraction; parts and extraction while downloading) and compare.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from archive_faults import corrupt_extra_field, deep, many_files, renamed_local_header
from test_archive import (
    MIB,
    add_info,
    central_entries,
    clear_utf8_flag,
    info,
    make_zip,
    patch,
    raw_zip,
    rename_raw,
)

Builder = Callable[[Path], bytes]


def _normal(tmp: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train/", b"")
        zf.writestr("train/cat/1.jpg", os.urandom(5000))
        zf.writestr("train/dog/2.jpg", b"woof" * 300, compress_type=zipfile.ZIP_STORED)
        zf.writestr("labels.csv", b"id,label\n1,cat\n2,dog\n")
        zf.writestr("empty.txt", b"")
        zf.writestr("empty-folder/", b"")
        zf.writestr("__MACOSX/train/._1.jpg", b"mac")
        zf.writestr("train/._2.jpg", b"mac")
        zf.writestr("train/.DS_Store", b"ds")
        zf.writestr("train/Thumbs.db", b"thumbs")
    return buf.getvalue()


def _modes(tmp: Path) -> bytes:
    archive = add_info(tmp / "a.zip", info("run.sh", stat.S_IFREG | 0o6777), b"#!", "w")
    return add_info(archive, info("sub/x", stat.S_IFREG | 0o4755), b"x").read_bytes()


def _unicode(tmp: Path) -> bytes:
    archive = make_zip(tmp / "u.zip", {"données/été.txt": b"1", "caf_.txt": b"2", "XX.txt": b"3"})
    rename_raw(archive, b"caf_.txt", b"caf\x82.txt")
    rename_raw(archive, b"XX.txt", "ß.txt".encode())
    return archive.read_bytes()


def _unicode_path_field(tmp: Path) -> bytes:
    real = "Привет.txt"
    oem = real.encode("cp866")
    unicode_path = b"\x01" + struct.pack("<L", zlib.crc32(oem)) + real.encode()
    placeholder = info("P" * len(oem))
    placeholder.extra = struct.pack("<HH", 0x7075, len(unicode_path)) + unicode_path
    archive = add_info(tmp / "a.zip", placeholder, b"hello", "w")
    rename_raw(archive, b"P" * len(oem), oem)
    return archive.read_bytes()


def _utf8_flag_cleared(tmp: Path) -> bytes:
    archive = make_zip(tmp / "f.zip", {"été.txt": b"e"})
    clear_utf8_flag(archive, "été.txt")
    return archive.read_bytes()


def _big_members(tmp: Path) -> bytes:
    big = os.urandom(64 * 1024) * 40
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/deflated.bin", big)
        zf.writestr("a/small.txt", b"hi")
        zf.writestr("b/stored.bin", big, compress_type=zipfile.ZIP_STORED)
        zf.writestr("b/zeros.bin", bytes(3 * MIB) + big)
    return buf.getvalue()


def _zip64(tmp: Path) -> bytes:
    buf = io.BytesIO()
    limits = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT = zipfile.ZIP_FILECOUNT_LIMIT = 1  # ZIP64 records on a small archive
    try:
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in {"a.txt": b"alpha" * 100, "b/c.bin": os.urandom(3000)}.items():
                with zf.open(name, "w", force_zip64=True) as fh:
                    fh.write(data)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limits
    raw = buf.getvalue()
    assert b"PK\x06\x06" in raw
    return raw


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it writes data descriptors after each member."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def _data_descriptors(tmp: Path) -> bytes:
    out = _Unseekable()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n in range(300):
            with zf.open(f"d/{n:03}.bin", "w") as fh:
                fh.write(os.urandom(n * 7))
    raw = bytes(out.data)
    assert struct.unpack_from("<H", raw, 6)[0] & 0x08  # the first local header says so
    return raw


def _prepended(tmp: Path) -> bytes:
    inner = make_zip(tmp / "inner.zip", {"x/y.txt": b"payload", "z.txt": b"zz"})
    return b"#!/bin/sh\nexit 0\n" * 50 + inner.read_bytes()


def _zip64_field_missing(tmp: Path) -> bytes:
    data = bytearray(make_zip(tmp / "a.zip", {"a.txt": b"a" * 50}).read_bytes())
    struct.pack_into("<L", data, central_entries(bytes(data))[b"a.txt"] + 24, 0xFFFFFFFF)
    return bytes(data)


def _zip(name: str, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Builder:
    """A builder of a plain zip of ``members`` (made under the test's folder as ``name``)."""
    return lambda tmp: make_zip(tmp / name, members, method).read_bytes()


def _method(method: int) -> Builder:
    return _zip("c.zip", {"a.txt": b"hello " * 1000, "b/c.txt": b"x"}, method)


def _unsafe(name: str) -> Builder:
    return lambda tmp: make_zip(
        tmp / "a.zip", {"first.txt": b"ok", name: b"evil", "z.txt": b"ok"}
    ).read_bytes()


def _nul(tmp: Path) -> bytes:
    archive = make_zip(tmp / "a.zip", {"ok.txt": b"1", "evil.txt_sh": b"2"})
    rename_raw(archive, b"evil.txt_sh", b"evil.txt\x00sh")
    return archive.read_bytes()


def _special(mode: int) -> Builder:
    def build(tmp: Path) -> bytes:
        archive = make_zip(tmp / "a.zip", {"ok.txt": b"1"})
        return add_info(archive, info("link", mode), b"/etc/passwd").read_bytes()

    return build


def _clash(first: str, second: str) -> Builder:
    def build(tmp: Path) -> bytes:
        archive = add_info(tmp / "a.zip", info(first), b"1", "w")
        return add_info(archive, info(second), b"2").read_bytes()

    return build


def _patched(
    members: dict[str, bytes], name: str, compression: int = zipfile.ZIP_DEFLATED, **fields: int
) -> Builder:
    def build(tmp: Path) -> bytes:
        archive = make_zip(tmp / "p.zip", members, compression)
        patch(archive, name, **fields)
        return archive.read_bytes()

    return build


def _liar(size: int) -> Builder:
    data = os.urandom(size // 2) + bytes(size - size // 2)
    return _patched({"ok.txt": b"fine", "liar.bin": data}, "liar.bin", usize=size // 4)


def _truncated(cut: Callable[[bytes], bytes]) -> Builder:
    return lambda tmp: cut(
        make_zip(tmp / "t.zip", {"a.bin": os.urandom(10000), "b.bin": b"b"}).read_bytes()
    )


def _flipped(method: int, size: int) -> Builder:
    def build(tmp: Path) -> bytes:
        raw = bytearray(make_zip(tmp / "a.zip", {"a.bin": os.urandom(size)}, method).read_bytes())
        raw[30 + len("a.bin") + size // 2] ^= 0x01
        return bytes(raw)

    return build


def _bad_local_header(tmp: Path) -> bytes:
    raw = bytearray(make_zip(tmp / "a.zip", {"a.txt": b"a" * 50, "b.txt": b"b"}).read_bytes())
    raw[0:4] = b"XXXX"
    return bytes(raw)


def _truncated_deflate(tmp: Path) -> bytes:
    archive = make_zip(tmp / "a.zip", {"a.bin": os.urandom(4000)})
    csize = zipfile.ZipFile(archive).infolist()[0].compress_size
    patch(archive, "a.bin", csize=csize - 100)
    return archive.read_bytes()


def _corrupt_bzip2(tmp: Path) -> bytes:
    raw = bytearray(
        make_zip(tmp / "a.zip", {"a.txt": os.urandom(5000)}, zipfile.ZIP_BZIP2).read_bytes()
    )
    raw[30 + 5 + 100] ^= 0xFF
    return bytes(raw)


def _many(tmp: Path) -> bytes:  # several batches, and workers
    return make_zip(tmp / "m.zip", many_files(3000, size=300)).read_bytes()


FIXTURES: dict[str, Builder] = {
    "normal archive with junk and folders": _normal,
    "setuid modes": _modes,
    "unicode names, cp437 and unflagged UTF-8": _unicode,
    "unicode path extra field": _unicode_path_field,
    "UTF-8 flag cleared": _utf8_flag_cleared,
    "backslash separators": _zip("w.zip", {"train\\cat\\1.jpg": b"img"}),
    "big members, streamed": _big_members,
    "many members": _many,
    "zip64 records": _zip64,
    "data descriptors": _data_descriptors,
    "data prepended": _prepended,
    "zip64 field missing": _zip64_field_missing,
    "bzip2 members": _method(zipfile.ZIP_BZIP2),
    "lzma members": _method(zipfile.ZIP_LZMA),
    "absolute path": _unsafe("/etc/passwd"),
    "drive letter": _unsafe("C:\\x"),
    "dot-dot": _unsafe("a/../../x"),
    "NUL in a name": _nul,
    "symbolic link": _special(stat.S_IFLNK | 0o777),
    "fifo": _special(stat.S_IFIFO | 0o644),
    "a name twice": _clash("a/b.txt", "a\\b.txt"),
    "a file and a folder": _clash("a", "a/b.txt"),
    "names in two cases": _zip("c.zip", {"A.jpg": b"upper", "a.jpg": b"lower"}),
    "overlapping members": _patched({"a.txt": b"A" * 100, "b.txt": b"B" * 100}, "b.txt", offset=0),
    "a zip bomb by its ratio": _zip("z.zip", {"zeros.bin": bytes(20 * MIB)}),
    "a header that lies about its size": _liar(5000),
    "a big member that lies about its size": _liar(3 * MIB),
    "a stored member that lies": _patched(
        {"s.bin": os.urandom(2 * MIB)}, "s.bin", zipfile.ZIP_STORED, usize=MIB
    ),
    "not a zip": lambda _: os.urandom(5000),
    "cut in half": _truncated(lambda data: data[: len(data) // 2]),
    "end record cut short": _truncated(lambda data: data[:-10]),
    "central directory cut short": _truncated(lambda data: data[:-30] + data[-22:]),
    "a flipped byte, stored": _flipped(zipfile.ZIP_STORED, 3000),
    "a flipped byte, deflated and big": _flipped(zipfile.ZIP_DEFLATED, 3 * MIB),
    "encrypted": _patched({"a.txt": b"a" * 50}, "a.txt", flags=0x1),
    "deflate64": _patched({"b.txt": b"b" * 50}, "b.txt", method=9),
    "bad local header": _bad_local_header,
    "truncated deflate stream": _truncated_deflate,
    "corrupt bzip2": _corrupt_bzip2,
    "PK and zeros": lambda _: b"PK" + bytes(100),
    "a name too long for the filesystem": _zip(
        "l.zip", {"ok.txt": b"1", f"d/{'n' * 300}.txt": b"2"}
    ),
    "an empty archive": _zip("e.zip", {}),
    "folders only": _zip("f.zip", {"a/": b"", "a/b/": b""}),
    "raw names": lambda _: raw_zip([b"ok.txt", b"sub/x.txt"], b"payload"),
    "bzip2 local header renamed": lambda _: renamed_local_header(zipfile.ZIP_BZIP2),
    "lzma local header renamed": lambda _: renamed_local_header(zipfile.ZIP_LZMA),
    "lzma corrupt extra field": lambda _: corrupt_extra_field(zipfile.ZIP_LZMA),
    "a path too deep for the filesystem": lambda _: deep(2100)[1],
}
