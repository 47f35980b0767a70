"""Dates as the portal spells them, and days of the year such as PARS's year close."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

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
