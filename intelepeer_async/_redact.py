"""Redaction: what a URL or a set of headers may show in a log, a repr or an error.

One place decides, so logs, reprs and errors agree: a URL keeps its scheme,
host, port and path, and loses its userinfo and query (both ``***``); headers
keep their names, and only values known to be harmless stay readable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

__all__ = ["HIDDEN", "redact_headers", "redact_url"]

HIDDEN = "***"

#: Headers whose values never carry a credential; every other value is hidden.
#: An allow-list, not a deny-list: a header we have never heard of (a per-flow
#: token under a custom name, a user's ``extra_headers``) is hidden by default.
_READABLE_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "date",
        "host",
        "retry-after",
        "retry-after-ms",
        "server",
        "user-agent",
        "x-correlation-id",
        "x-request-id",
        "request-id",
        "x-amzn-requestid",
    }
)


def redact_url(url: str) -> str:
    """`url` without userinfo or query: ``https://***@host/path?***``.

    Never raises: a value that does not parse as a URL is hidden whole.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return HIDDEN
    if not parts.scheme or not host:
        return HIDDEN if ("@" in url or "?" in url) else url
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if "@" in parts.netloc:
        netloc = f"{HIDDEN}@{netloc}"
    query = HIDDEN if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of `headers` with every value that might be a credential hidden."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: _header_value(name.lower(), value) for name, value in items}


def _header_value(name: str, value: str) -> str:
    if name in _READABLE_HEADERS:
        return value
    if name in ("location", "content-location", "referer"):
        return redact_url(value)
    return HIDDEN
