"""Dates as the portal spells them, and days of the year such as PARS's year close.

Pages, the PDF and the CSV's words spell dates one way (``March 31, 2026``, a
day of the year ``March 31``) and show moments in the zone ``DISPLAY_TIMEZONE``
names, through the template filters ``init_app`` registers; the CSV's date
columns stay ISO 8601 (``2026-03-31``) for programs that read them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Month names in English, independent of the server's locale.
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")

_MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")
#: Any year without February 29: a month-day must exist in every year.
_COMMON_YEAR = 2023


def readable_date(day: dt.date) -> str:
    """``July 1, 2023``."""
    return f"{MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"


@dataclass(frozen=True)
class MonthDay:
    """A day that comes round every year, e.g. March 31 (never February 29)."""

    month: int
    day: int

    def __post_init__(self) -> None:
        try:
            dt.date(_COMMON_YEAR, self.month, self.day)
        except ValueError:
            raise ValueError(
                f"month {self.month}, day {self.day} is not a day every year has"
            ) from None

    @classmethod
    def parse(cls, value: str) -> MonthDay:
        """``"03-31"`` (``MM-DD``); ValueError, saying why, for anything else."""
        match = _MONTH_DAY_RE.match(value)
        if not match:
            raise ValueError(f"expected a month and day as MM-DD, got {value!r}")
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except ValueError:
            raise ValueError(f"{value!r} is not a month and day every year has") from None

    def on(self, year: int) -> dt.date:
        """This day in ``year``."""
        return dt.date(year, self.month, self.day)

    def readable(self) -> str:
        """``March 31``."""
        return f"{MONTH_NAMES[self.month - 1]} {self.day}"

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


# --- display: one spelling of dates and times on every page, PDF and CSV ----------------------

#: The zone times are shown in when ``DISPLAY_TIMEZONE`` is not set.
DEFAULT_DISPLAY_TIMEZONE = "America/Chicago"


def display_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``America/Chicago``); ValueError, saying why, for anything else."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name such as America/Chicago "
                         "or UTC") from None


def local(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """``value`` in ``zone``; a naive value is taken as UTC (as the database stores it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone)


def format_date(value: dt.date | dt.datetime | None, zone: ZoneInfo) -> str:
    """``March 31, 2026``; a moment is first put in ``zone`` (its date there)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local(value, zone).date()
    return readable_date(value)


def format_time(value: dt.datetime, zone: ZoneInfo) -> str:
    """``5:05 p.m. CST``: the time of day in ``zone``, with the zone's abbreviation."""
    moment = local(value, zone)
    hour = moment.hour % 12 or 12
    half = "a.m." if moment.hour < 12 else "p.m."
    return f"{hour}:{moment.minute:02d} {half} {moment.tzname()}"


def format_datetime(value: dt.datetime | None, zone: ZoneInfo) -> str:
    """``March 31, 2026, 5:05 p.m. CDT``: a moment in ``zone``."""
    if value is None:
        return ""
    return f"{format_date(value, zone)}, {format_time(value, zone)}"


def format_month_day(value: MonthDay | dt.date | str) -> str:
    """``March 31`` for a ``MonthDay``, a date, or ``"03-31"``."""
    if isinstance(value, str):
        value = MonthDay.parse(value)
    if isinstance(value, dt.date):
        return f"{MONTH_NAMES[value.month - 1]} {value.day}"
    return value.readable()


def init_app(app: Any) -> None:
    """Register the filters every template uses for dates: ``|date``, ``|datetime``,
    ``|time`` and ``|month_day``, all in the zone ``DISPLAY_TIMEZONE`` names."""
    zone = display_zone(app.config.get("DISPLAY_TIMEZONE") or DEFAULT_DISPLAY_TIMEZONE)
    app.extensions["display_zone"] = zone
    app.add_template_filter(lambda v: format_date(v, zone), "date")
    app.add_template_filter(lambda v: format_datetime(v, zone), "datetime")
    app.add_template_filter(lambda v: format_time(v, zone), "time")
    app.add_template_filter(format_month_day, "month_day")
