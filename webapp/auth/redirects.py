"""Where to send someone after they sign in.

A ``next`` address is followed only when it is a path on this site. Anything a
browser could read as another host (``//evil``, ``/\\evil``, ``https://evil``,
``javascript:``) or that hides characters browsers strip or rewrite is refused
rather than repaired, so a crafted sign-in link cannot become an open redirect.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: Longer values are not addresses anyone typed or we generated.
MAX_LENGTH = 2000


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a same-site relative path, else None."""
    if not value or len(value) > MAX_LENGTH:
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    # Browsers treat a backslash as a slash, and drop tabs and newlines inside URLs.
    if "\\" in value or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return value
