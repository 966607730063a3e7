"""What the doctor reads from the machine: installed Kaggle packages, network variables, the cache.

Nothing here imports ``kaggle``: ``import kaggle`` authenticates over the network
and creates folders. Whether it is importable comes from
:func:`importlib.util.find_spec`; versions from the installed packages' metadata.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass

from kagman.cache.info import cache_info
from kagman.cache.paths import cache_dir, cache_root_problem, relative_setting
from kagman.cache.shared import cache_access
from kagman.settings import PROXY_ENVS

__all__ = [
    "CacheHealth",
    "Package",
    "cache_health",
    "mask_url",
    "network_settings",
    "packages",
]

PACKAGES = ("kagman", "kaggle", "kagglesdk", "kagglehub")
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?([^:@/\s]*):([^@/\s]*)@")


@dataclass(frozen=True)
class Package:
    """One installed package: its version (``None``: not installed) and, for modules, where."""

    name: str
    version: str | None
    module: str | None = None  # where `import <name>` would load it from (never imported)
    note: str = ""


def packages() -> tuple[Package, ...]:
    """kagman, kaggle, kagglesdk and kagglehub: installed versions, and whether kaggle imports."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in PACKAGES:
        try:
            installed: str | None = version(name)
        except PackageNotFoundError:
            installed = None
        module = note = None
        if name == "kaggle":
            spec = importlib.util.find_spec("kaggle")  # finds it; does not import it
            module = spec.origin if spec is not None else None
            if spec is None:
                note = "not importable: `pip install kaggle` (kagman never imports it)"
            elif importlib.util.find_spec("six") is None:
                note = "`import kaggle` will fail: it needs six; `pip install six`"
        found.append(Package(name, installed, module, note or ""))
    return tuple(found)


def mask_url(value: str) -> str:
    """A proxy URL with its password hidden.

    >>> mask_url("http://ada:s3cret@proxy.example:3128")
    'http://ada:****@proxy.example:3128'
    >>> mask_url("proxy.example:3128")
    'proxy.example:3128'
    """
    return _USERINFO.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}:****@", value.strip())


def network_settings() -> dict[str, str]:
    """Proxy and CA-bundle variables in effect (requests, so kagglesdk, reads them); masked."""
    return {name: mask_url(os.environ[name]) for name in PROXY_ENVS if os.environ.get(name)}


@dataclass(frozen=True)
class CacheHealth:
    """The cache, for the doctor: where, how big, how full the disk, who may write it."""

    root: str
    exists: bool
    entries: int
    datasets: int
    competitions: int
    size: int
    free: int | None
    incomplete: int
    incomplete_size: int
    shared: bool
    writable: bool
    group: str | None
    owner: str | None
    problem: str | None = None  # the root is a file, or lies under one: nothing works
    relative: str | None = None  # KAGMAN_CACHE is a relative path (what that means)


def cache_health() -> CacheHealth:
    """Read the cache's state; creates nothing, takes no lock."""
    root = cache_dir()
    problem = cache_root_problem(root)
    access = cache_access(root)
    common = {
        "root": str(root),
        "exists": root.is_dir(),
        "shared": access.shared,
        "writable": access.writable and problem is None,
        "group": access.group,
        "owner": access.owner,
        "problem": problem,
        "relative": relative_setting(),
    }
    if problem is not None:  # nothing to list
        return CacheHealth(
            entries=0,
            datasets=0,
            competitions=0,
            size=0,
            free=None,
            incomplete=0,
            incomplete_size=0,
            **common,  # type: ignore[arg-type]
        )
    info = cache_info()
    done = [row for row in info.entries if row.state != "incomplete"]
    return CacheHealth(
        entries=len(done),
        datasets=len({row.ref for row in done if row.kind == "dataset"}),
        competitions=len({row.ref for row in done if row.kind == "competition"}),
        size=info.size,
        free=info.free,
        incomplete=len(info.incomplete),
        incomplete_size=sum(row.size for row in info.incomplete),
        **common,  # type: ignore[arg-type]
    )
