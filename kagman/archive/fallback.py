"""bzip2 and lzma members, which the fast writer does not inflate, through :mod:`zipfile`.

Rare in datasets; :mod:`zipfile` inflates them and checks the CRC, still capped
at the declared size.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from kagman.archive.failures import corrupt, os_error, too_large
from kagman.archive.members import Members
from kagman.archive.writer import CHUNK, DIGEST_SIZE, OPEN_FLAGS, Progress, write_all

__all__ = ["extract_fallback"]


def extract_fallback(  # noqa: PLR0917 - private to extract_zip
    archive: Path,
    root: str,
    members: Members,
    indices: list[int],
    progress: Progress,
    digests: bytearray,
) -> None:
    """Extract members ``indices`` (bzip2/lzma) through zipfile (which checks the CRC), capped.

    Puts each one's SHA-256 digest into ``digests`` (by member index, as the writer
    does), unless ``digests`` is empty (hashing is off).
    """
    import lzma  # only archives that need it pay for the import

    with zipfile.ZipFile(archive) as zf:
        by_offset = {info.header_offset: info for info in zf.infolist()}
        for i in indices:
            rel, usize = members.path(i), members.usizes[i]
            written, digest = 0, hashlib.sha256()
            with zf.open(by_offset[members.offsets[i]]) as src:
                out_fd = _create(archive, root, rel)
                try:
                    while True:
                        try:
                            out = src.read(CHUNK)
                        except (zipfile.BadZipFile, EOFError, OSError, lzma.LZMAError) as err:
                            why = f"member {rel!r} does not inflate ({err})"
                            raise corrupt(archive, why, rel) from err
                        if not out:
                            break
                        written += len(out)
                        if written > usize:
                            why = f"member {rel!r} inflates past its declared {usize:,} bytes"
                            raise too_large(archive, why, rel)
                        try:
                            write_all(out_fd, out)
                        except OSError as err:
                            raise os_error(archive, rel, err) from err
                        digest.update(out)
                        progress(len(out))
                finally:
                    os.close(out_fd)
            if written != usize:
                raise corrupt(archive, f"member {rel!r} is truncated", rel)
            if digests:
                digests[DIGEST_SIZE * i : DIGEST_SIZE * (i + 1)] = digest.digest()


def _create(archive: Path, root: str, rel: str) -> int:
    try:
        return os.open(f"{root}/{rel}", OPEN_FLAGS, 0o666)
    except OSError as err:
        raise os_error(archive, rel, err) from err
