"""Which host failed, and why, in a few words: never urllib3's ``HTTPConnectionPool(...)`` text.

A pull talks to two hosts: Kaggle's API (``KAGGLE_API_ENVIRONMENT``'s endpoint) and the
storage its download redirects point to (Google Cloud Storage for kaggle.com). When one
cannot be reached, the message names that one. ``requests`` wraps the real cause (a
refused connection, a failed DNS lookup, a timeout) three levels deep, inside urllib3
errors whose text repeats the URL, signature included; :func:`why` digs it out.
"""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

__all__ = ["host_of", "public_url", "why"]

# urllib3/requests classes recognised by name, so this module imports neither.
_BY_NAME = {
    "NameResolutionError": "DNS could not resolve the host name",
    "SSLError": "the secure (TLS) connection failed",
    "ConnectTimeout": "the connection timed out",
    "ConnectTimeoutError": "the connection timed out",
    "ReadTimeout": "the server stopped answering (timed out)",
    "ReadTimeoutError": "the server stopped answering (timed out)",
    "ProtocolError": "the connection dropped",
    "IncompleteRead": "the connection dropped",
    "ChunkedEncodingError": "the connection dropped",
}
_BY_ERRNO = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "the connection was reset",
    errno.ECONNABORTED: "the connection was aborted",
    errno.EPIPE: "the connection was closed",
    errno.ENETUNREACH: "the network is unreachable",
    errno.EHOSTUNREACH: "no route to the host",
    errno.ETIMEDOUT: "the connection timed out",
}


def host_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what may be shown of it (no path, no signature).

    >>> host_of("https://storage.googleapis.com/b/o.zip?X-Goog-Signature=abc")
    'https://storage.googleapis.com'
    >>> host_of("http://localhost:7777/api/v1/x")
    'http://localhost:7777'
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]  # never user:password@
    return f"{parts.scheme}://{netloc}" if parts.scheme else netloc


def public_url(url: str) -> str:
    """A URL without its query and fragment: what may be stored or shown of a signed URL.

    >>> public_url("https://storage.googleapis.com/b/o.zip?X-Goog-Signature=abc#x")
    'https://storage.googleapis.com/b/o.zip'
    """
    return url.split("?", 1)[0].split("#", 1)[0]


def _causes(err: BaseException) -> list[BaseException]:
    """``err`` and everything it wraps, outermost first (causes, contexts, urllib3 reasons)."""
    found: list[BaseException] = []
    todo = [err]
    while todo:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        inner += list(getattr(current, "args", ()))
        todo += [e for e in inner if isinstance(e, BaseException)]
    return found


def why(err: BaseException) -> str:
    """The cause of a network failure in words: "connection refused", "timed out", ...

    The innermost cause wins (``requests`` says ConnectionError for all of them).

    >>> why(ConnectionRefusedError(111, "Connection refused"))
    'connection refused'
    >>> why(TimeoutError())
    'timed out'
    >>> why(socket.gaierror(-2, "Name or service not known"))
    'DNS could not resolve the host name'
    """
    chain = _causes(err)
    reason = _innermost(chain)
    if any(type(cause).__name__ == "ProxyError" for cause in chain):
        return f"the proxy could not be reached: {reason}"
    return reason


def _innermost(chain: list[BaseException]) -> str:
    for cause in reversed(chain):
        if isinstance(cause, socket.gaierror):
            return "DNS could not resolve the host name"
        if isinstance(cause, OSError) and cause.errno in _BY_ERRNO:
            return _BY_ERRNO[cause.errno]
        if type(cause) is TimeoutError:
            return "timed out"
    for cause in reversed(chain):
        name = type(cause).__name__
        if name in _BY_NAME:
            return _BY_NAME[name]
    return type(chain[0]).__name__
