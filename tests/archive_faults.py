"""Hostile and broken archives for the reliability tests, built in memory with zipfile.

Each builder returns the bytes of a real zip with one fault, as a hostile or broken
server might send: a bzip2 member whose local header names another file than the
central directory, an lzma member with a corrupt extra field, members thousands of
folders deep, and a dataset big enough that extraction takes a moment.
"""

from __future__ import annotations

import io
import os
import zipfile

_DATE = (2024, 1, 1, 0, 0, 0)


def _zip(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info, data in members:
            zf.writestr(info, data)
    return buf.getvalue()


def _info(name: str, method: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = method
    info.external_attr = 0o644 << 16
    return info


def renamed_local_header(method: int = zipfile.ZIP_BZIP2) -> bytes:
    """A ``method`` member whose local header says ``b.txt`` while the directory says ``a.txt``.

    The fast writer never sees it (bzip2 and lzma go to zipfile), and zipfile raises
    ``BadZipFile: File name in directory 'a.txt' and header b'b.txt' differ``.
    """
    data = bytearray(_zip([(_info("ok.txt"), b"fine"), (_info("a.txt", method), b"x" * 5000)]))
    name_at = data.index(b"PK\x03\x04", 1) + 30  # the second local header's name
    assert data[name_at : name_at + 5] == b"a.txt"
    data[name_at : name_at + 5] = b"b.txt"
    return bytes(data)


def corrupt_extra_field(method: int = zipfile.ZIP_LZMA) -> bytes:
    """A ``method`` member whose extra field declares 16 bytes and holds 2.

    kagman's own reader skips extra fields it does not need; zipfile's constructor raises
    ``BadZipFile: Corrupt extra field``.
    """
    info = _info("a.txt", method)
    info.extra = b"\x99\x99\x10\x00ab"
    return _zip([(_info("ok.txt"), b"fine"), (info, b"y" * 5000)])


def deep(levels: int, name: str = "f.txt") -> tuple[str, bytes]:
    """One member ``levels`` folders deep (``a/a/.../f.txt``): its name and the archive."""
    member = "a/" * levels + name
    return member, _zip([(_info("top.txt"), b"top"), (_info(member), b"deep")])


def many_files(n: int, size: int = 64) -> dict[str, bytes]:
    """``n`` small random files in 50 folders: extraction takes a moment, not a second."""
    return {f"d{i % 50:02}/f{i:06}.bin": os.urandom(size) for i in range(n)}
