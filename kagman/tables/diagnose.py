"""When a table does not load: find the byte, the line and the fix, and say them.

Only called after a reader failed, so it may read the file again: the happy path pays
nothing for it.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

__all__ = ["first_bad_json_line", "first_undecodable", "guess_encoding", "line_of_offset"]

_CHUNK = 1 << 20
_COMMON = frozenset(
    {
        "cp949",
        "euc_kr",
        "shift_jis",
        "cp932",
        "euc_jp",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "cp1251",
        "koi8_r",
        "cp1250",
        "cp1253",
        "cp1254",
        "cp1255",
        "cp1256",
        "cp874",
        "utf_16",
        "utf_16_le",
        "utf_16_be",
        "utf_32",
    }
)  # charset_normalizer's names


def first_undecodable(path: Path, encoding: str = "utf-8") -> tuple[int, bytes] | None:
    """The byte offset of the first byte ``encoding`` cannot decode, and that byte.

    Reads the file in 1 MiB chunks with an incremental decoder (a sequence split across
    two chunks is fine). ``None`` when the whole file decodes.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                # err.start counts from the buffered bytes: the unfinished tail of the
                # previous chunk (at most a few bytes) plus this chunk.
                pending = len(err.object) - len(chunk)
                return offset + err.start - pending, err.object[err.start : err.start + 1]
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as err:
            return offset - len(err.object) + err.start, err.object[err.start : err.start + 1]
    return None


def line_of_offset(path: Path, offset: int) -> int:
    """The 1-based line that holds byte ``offset``."""
    line = 1
    done = 0
    with path.open("rb") as fh:
        while done < offset and (chunk := fh.read(min(_CHUNK, offset - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def guess_encoding(path: Path, offset: int) -> str:
    """The encoding to suggest for a file that is not UTF-8, from the bytes around ``offset``.

    ``charset_normalizer`` (the detector ``requests`` uses) guesses; when Latin-1 or
    cp1252 read the sample the same way as its guess, they are named instead (Western
    single-byte encodings agree on the letters Kaggle's CSVs use, and these two are the
    ones people know).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(suffix=".csv") as f:
    ...     _ = f.write("a,b\\nRené,1\\n".encode("latin-1")); f.flush()
    ...     guess_encoding(Path(f.name), 7)
    'latin-1'
    """
    from charset_normalizer import from_bytes

    with path.open("rb") as fh:
        fh.seek(max(0, offset - 32_768))
        sample = fh.read(65_536)
    best = from_bytes(sample).best()
    guess = best.encoding if best is not None else "latin-1"
    text = sample.decode(guess, errors="replace")
    for plain in ("latin-1", "cp1252"):
        if sample.decode(plain, errors="replace") == text:
            return plain
    # On a few bytes detectors guess exotic code pages (cp1006 for "René"): trust only the
    # encodings data is commonly written in, else say Latin-1, which decodes any byte.
    return guess if guess in _COMMON else "latin-1"


def first_bad_json_line(path: Path, *, lines: bool, encoding: str | None) -> int | None:
    """The 1-based line where the JSON (or JSON Lines) first fails to parse, if found."""
    try:
        text = path.read_text(encoding=encoding or "utf-8")
    except (OSError, UnicodeDecodeError, LookupError):
        return None
    if not lines:
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            return err.lineno
        return None
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                json.loads(line)
            except json.JSONDecodeError:
                return number
    return None
