"""Text from outside (import files, forms) that must not carry invisible or control characters.

NUL cannot be stored by PostgreSQL at all; other control characters, line
breaks and the bidirectional overrides make a name display as something it is
not, or rewrite an operator's terminal when echoed.
"""

from __future__ import annotations

import unicodedata

#: Bidirectional controls (the "Trojan Source" characters) and the byte order mark.
_FORMAT = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Zl", "Zp"})

MESSAGE = ("contains a control or invisible formatting character (such as NUL, a tab, "
           "a line break or a right-to-left override)")


def has_control_characters(value: str) -> bool:
    return any(ch in _FORMAT or unicodedata.category(ch) in _CATEGORIES for ch in value)


def printable(text: str) -> str:
    """``text`` safe to write to a terminal: what is not printable as written is escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


class NoControlCharacters:
    """WTForms validator: refuse control and invisible formatting characters with a field
    error. ``multiline`` fields (messages, notes) may hold line breaks and tabs."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, form: object, field: object) -> None:
        from wtforms.validators import StopValidation

        value = getattr(field, "data", None)
        if not isinstance(value, str):
            return
        if self.multiline:
            value = value.replace("\r", "").replace("\n", "").replace("\t", "")
        if has_control_characters(value):
            raise StopValidation("This " + MESSAGE + "; remove it and try again.")
