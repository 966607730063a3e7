"""``kagman doctor``: why things do or do not work, on one screen (or as JSON).

The report combines the credentials each client will use
(:func:`kagman.credentials.credentials_status`), the installed Kaggle packages,
the cache and its disk, and the network variables in effect; ``online=True``
adds a real credentials check against Kaggle. Every field is safe to print:
keys and tokens are never read out, and proxy passwords are masked.
"""

from __future__ import annotations

import html
import platform
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from kagman.cache.info import held
from kagman.credentials import CredentialsStatus, credentials_status
from kagman.diagnostics.environment import (
    CacheHealth,
    Package,
    cache_health,
    network_settings,
    packages,
)
from kagman.errors import KagmanError
from kagman.fs import counted, human_size

__all__ = ["DoctorReport", "OnlineCheck", "doctor"]


@dataclass(frozen=True)
class OnlineCheck:
    """The answer to ``whoami`` with the credentials kagman uses."""

    ok: bool
    username: str | None
    error: str | None
    endpoint: str | None


@dataclass(frozen=True)
class DoctorReport:
    """Everything ``kagman doctor`` shows. Never holds a secret.

    Attributes
    ----------
    credentials
        Which credentials each client (kagman, the kaggle CLI, kagglehub,
        kagglesdk) will use, permissions, problems and conflicts.
    packages
        Installed versions of kagman, kaggle, kagglesdk and kagglehub, and
        whether ``kaggle`` is importable (found, never imported).
    cache
        The cache folder, its size on disk, free space, leftovers of
        interrupted pulls, whether it is shared and whether this user may write it.
    network
        Proxy and CA-bundle variables in effect (passwords masked).
    online
        With ``online=True``: whether Kaggle accepts the credentials.
    """

    credentials: CredentialsStatus
    packages: tuple[Package, ...]
    cache: CacheHealth
    network: dict[str, str] = field(default_factory=dict)
    online: OnlineCheck | None = None
    python: str = ""

    @property
    def problems(self) -> tuple[str, ...]:
        """Everything that needs fixing, each with what to do."""
        found = list(self.credentials.problems)
        found += [f"{p.name}: {p.note}" for p in self.packages if p.note and p.version]
        if self.online is not None and not self.online.ok:
            found.append(f"Kaggle check: {self.online.error}")
        c = self.cache
        if c.problem is not None:
            found.append(c.problem)
        elif c.exists and not c.writable:
            found.append(
                f"The cache {c.root} is read-only for you: cached entries work, pulls "
                "of anything new fail. Ask its owner for group write access or set KAGMAN_CACHE."
            )
        elif not c.writable:
            found.append(
                f"The cache folder {c.root} does not exist yet, and you may not create it "
                "(the folder above it is not writable for you): every pull would fail. Set "
                "KAGMAN_CACHE to a folder you can write."
            )
        if c.relative is not None:
            found.append(c.relative)
        return tuple(found)

    @property
    def ok(self) -> bool:
        """kagman has credentials and nothing needs fixing."""
        return self.credentials.ok and not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``kagman doctor --json``)."""
        return {
            "ok": self.ok,
            "python": self.python,
            "credentials": self.credentials.to_dict(),
            "packages": {p.name: asdict(p) for p in self.packages},
            "cache": asdict(self.cache),
            "network": dict(self.network),
            "online": asdict(self.online) if self.online is not None else None,
            "problems": list(self.problems),
        }

    def lines(self) -> list[str]:
        """The one screen ``kagman doctor`` prints."""
        cred = self.credentials
        out = [f"kagman on Python {self.python}", "", "Credentials"]
        out += [f"  {line}" for line in str(cred).splitlines() if not line.startswith("Problem")]
        if self.online is not None:
            said = (
                f"Kaggle ({self.online.endpoint}) accepts them: you are {self.online.username}."
                if self.online.ok
                else f"FAILED: {self.online.error}"
            )
            out.append(f"  Online check: {said}")
        out += ["", "Packages"]
        for p in self.packages:
            where = f"  ({p.module})" if p.module else ""
            out.append(f"  {p.name:<10} {p.version or 'not installed'}{where}")
            if p.note:
                out.append(f"             {p.note}")
        c = self.cache
        out += ["", "Cache", f"  {c.root}"]
        if c.problem is not None:
            out.append("  NOT USABLE: see the problems below")
        elif c.exists:
            free = f", {human_size(c.free)} free on its disk" if c.free is not None else ""
            stored = held(c.entries, c.datasets, c.competitions)
            out.append(f"  {stored}, {human_size(c.size)} on disk{free}")
        else:
            out.append("  not created yet (the first pull creates it)")
        if c.incomplete:
            left = counted(
                c.incomplete, "leftover of an interrupted pull", "leftovers of interrupted pulls"
            )
            them = "it" if c.incomplete == 1 else "them"
            out.append(f"  {left} ({human_size(c.incomplete_size)}): `kagman prune` removes {them}")
        sharing = f"shared with group {c.group}" if c.shared else f"private (owner {c.owner})"
        if c.problem is None:
            out.append(f"  {sharing}; you {'can' if c.writable else 'can NOT'} write it")
        if c.relative is not None:
            out.append("  from a relative KAGMAN_CACHE: see the problems below")
        out += ["", "Network"]
        out += [f"  {name}={value}" for name, value in self.network.items()] or [
            "  no proxy or CA-bundle variables set"
        ]
        out.append("")
        if self.problems:
            out.append(f"{counted(len(self.problems), 'problem')}:")
            out += [f"  - {p}" for p in self.problems]
        else:
            out.append("No problems found.")
        return out

    def __str__(self) -> str:
        """What ``kagman doctor`` prints."""
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        found = counted(len(self.problems), "problem")
        return f"<DoctorReport ok={self.ok}: {found}; kagman uses {self.credentials.used}>"

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def _online_check() -> OnlineCheck:
    from kagman.credentials import resolve_credentials
    from kagman.remote.client import endpoint, whoami

    where = None
    try:
        where = endpoint()
        return OnlineCheck(True, whoami(resolve_credentials()), None, where)
    except KagmanError as err:
        return OnlineCheck(False, None, str(err).split("\n", 1)[0], where)


def doctor(*, online: bool = False) -> DoctorReport:
    """Why kagman (and the other Kaggle clients) do or do not work here (``kagman doctor``).

    Reads only: creates no folder, takes no lock, never imports ``kaggle``, and
    makes no network request unless ``online``.

    Parameters
    ----------
    online
        Also ask Kaggle whether it accepts the credentials kagman uses (one
        request, like ``kagman whoami``).

    Returns
    -------
    DoctorReport
        ``.ok``, ``.problems``, and each section; ``str()`` is the one-screen
        text, ``.to_dict()`` the JSON, and it shows as text in a notebook.

    Examples
    --------
    ::

        report = kagman.doctor()
        report.credentials.clients      # {'kagman': '/home/ada/.kaggle/kaggle.json', ...}
        report.problems
    """
    python = f"{platform.python_version()} ({sys.platform})"
    return DoctorReport(
        credentials=credentials_status(),
        packages=packages(),
        cache=cache_health(),
        network=network_settings(),
        online=_online_check() if online else None,
        python=python,
    )
