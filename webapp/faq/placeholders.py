"""Provider-specific values in question text: ``{{ name }}`` tokens filled in from configuration.

Content is never run through Jinja (a question file must not be able to reach
template globals); instead each known token is swapped for a value. In the
markdown body a token is first replaced by an inert marker, the markdown is
rendered, and the marker is then replaced by the HTML-escaped value, so a value
can never be read as markdown or HTML (an ``_`` in an e-mail address stays an
``_``) and works inside link targets such as ``mailto:{{ support_email }}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from webapp.dates import MonthDay, readable_date

#: ``{{ name }}`` with optional spaces inside the braces.
TOKEN_RE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]*)\s*\}\}")
#: Braces that do not form a token: almost always a typo.
_STRAY_RE = re.compile(r"\{\{|\}\}")
#: Marker that survives markdown untouched (letters and digits only, no markdown meaning).
_MARKER = "zqfaqph{}qz"
_MARKER_RE = re.compile(r"zqfaqph(\d+)qz")

@dataclass(frozen=True)
class Value:
    #: For titles and search (escaped by the template when shown).
    text: str
    #: For rendered bodies; already safe HTML.
    html: str


def degree_list(degrees: Iterable[str]) -> str:
    """The degrees counted as a physician's, MD and DO first: "MD, DO or MBBS"."""
    first = [d for d in ("MD", "DO") if d in degrees]
    names = first + sorted(d for d in degrees if d not in first)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def values_from_config(config: Mapping[str, Any]) -> dict[str, Value]:
    """Every placeholder an author may use, with this installation's value."""
    email = config["SUPPORT_EMAIL"].strip()
    phone = config["SUPPORT_PHONE"].strip()
    contact_text = f"email {email}" + (f" or call {phone}" if phone else "")
    contact_html = f'email <a href="mailto:{escape(email)}">{escape(email)}</a>'
    if phone:
        dial = re.sub(r"[^0-9+]", "", phone)
        contact_html += f' or call <a href="tel:{escape(dial)}">{escape(phone)}</a>'
    plain = {
        "institution_name": config["INSTITUTION_NAME"],
        "portal_url": config["PORTAL_URL"].rstrip("/"),
        "reporting_start_date": readable_date(config["REPORTING_START_DATE"]),
        "submission_frequency": config["SUBMISSION_FREQUENCY"],
        "support_email": email,
        "support_phone": phone or "the number on our contact page",
        "board_reporting_days": str(config["BOARD_REPORTING_DAYS"]),
        "pars_year_close": MonthDay.parse(config["PARS_YEAR_CLOSE"]).readable(),
        "physician_degrees": degree_list(config["PHYSICIAN_DEGREES"]),
        "notify_reminder_days": str(config["NOTIFY_REMINDER_DAYS"]),
    }
    values = {name: Value(text, escape(text)) for name, text in plain.items()}
    values["support_contact"] = Value(contact_text, contact_html)
    return values


def problems(text: str, known: Mapping[str, Value]) -> list[str]:
    """Unknown tokens and stray braces in ``text``, as messages."""
    found = []
    for match in TOKEN_RE.finditer(text):
        name = match.group(1)
        if name not in known:
            hint = "; known: " + ", ".join(sorted(known))
            found.append(f"unknown placeholder {match.group(0)!r}{hint}")
    leftover = TOKEN_RE.sub("", text)
    if _STRAY_RE.search(leftover):
        found.append("'{{' or '}}' that is not a placeholder such as {{ institution_name }}")
    return found


def fill_text(text: str, known: Mapping[str, Value]) -> str:
    """Plain-text substitution (titles, keywords); unknown tokens are left as written."""
    return TOKEN_RE.sub(lambda m: known[m.group(1)].text if m.group(1) in known else m.group(0),
                        text)


class Protected:
    """A markdown body with its known tokens swapped for markers, and the way back."""

    def __init__(self, source: str, known: Mapping[str, Value]) -> None:
        self._known = known
        self._names: list[str] = []

        def mark(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in known:
                return match.group(0)
            self._names.append(name)
            return _MARKER.format(len(self._names) - 1)

        self.source = TOKEN_RE.sub(mark, source)

    def restore_html(self, html: str) -> str:
        return _MARKER_RE.sub(lambda m: self._value(m, "html"), html)

    def restore_text(self, text: str) -> str:
        return _MARKER_RE.sub(lambda m: self._value(m, "text"), text)

    def _value(self, match: re.Match[str], kind: str) -> str:
        index = int(match.group(1))
        if index >= len(self._names):  # the author typed something that looks like a marker
            return match.group(0)
        return getattr(self._known[self._names[index]], kind)
