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
from kagman.archive.writer import CHUNK, OPEN_FLAGS, Progress, write_all
from kagman.archive.zipformat import ZipEntry

__all__ = ["extract_fallback"]


def extract_fallback(
    archive: Path, root: str, members: list[tuple[str, ZipEntry]], progress: Progress
) -> dict[str, str]:
    """Extract bzip2/lzma members through zipfile (which checks the CRC), still capped.

    Returns each member's SHA-256 hex digest, by path.
    """
    import lzma  # only archives that need it pay for the import

    digests: dict[str, str] = {}
    with zipfile.ZipFile(archive) as zf:
        by_offset = {info.header_offset: info for info in zf.infolist()}
        for rel, entry in members:
            written, usize, digest = 0, entry.usize, hashlib.sha256()
            with zf.open(by_offset[entry.offset]) as src:
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
            digests[rel] = digest.hexdigest()
    return digests


def _create(archive: Path, root: str, rel: str) -> int:
    try:
        return os.open(f"{root}/{rel}", OPEN_FLAGS, 0o666)
    except OSError as err:
        raise os_error(archive, rel, err) from err
