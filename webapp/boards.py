"""The certifying boards that take MOC credit through PARS: one entry per board, every fact once.

Eligibility, the import's checks, the forms, the transcript, the demo data and
the staff console read this registry; adding a board or a rule is one entry
here plus a test. A fact that public sources do not confirm is listed in the
entry's ``unconfirmed`` (and in the README), so nobody mistakes it for one.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from decimal import Decimal

from webapp.dates import MonthDay


class YearBasis(enum.StrEnum):
    """How a board decides which year a credit counts for."""

    #: The year PARS reported it to the board: credit must reach the board by its
    #: year-end date to count for the year it was earned.
    REPORT_DATE = "report_date"
    #: The year it was completed, whenever it is reported.
    COMPLETION_DATE = "completion_date"


@dataclass(frozen=True)
class Board:
    code: str
    name: str
    #: The credit types the board awards, as it names them; empty when not confirmed
    #: (then any type the import names is accepted and sent as it is).
    credit_types: tuple[str, ...] = ()
    #: Whether a record needs the physician's board ID (else the board matches on
    #: name and birth month and day).
    needs_board_id: bool = True
    #: The earliest completion date the board takes through PARS.
    earliest_completion: dt.date | None = None
    counts_year_by: YearBasis = YearBasis.REPORT_DATE
    #: For ``REPORT_DATE`` boards: the date in the completion year by which the
    #: credit must be reported to count for that year.
    year_end: MonthDay = MonthDay(12, 31)
    #: Most credit the board takes for one physician and one day of completion.
    daily_cap: Decimal | None = None
    #: Every learner of an activity must get the same points (no partial credit).
    same_points_per_activity: bool = False
    #: The shape of a board ID, where known (checked on forms and imports, on top of
    #: the characters and length every identifier must keep: ``webapp.identifiers``).
    id_pattern: str | None = None
    #: ``id_pattern`` in words, completing "ABIM IDs are …".
    id_format: str | None = None
    #: Names of the facts above that public sources do not confirm.
    unconfirmed: frozenset[str] = field(default_factory=frozenset)

    def takes_credit_type(self, credit_type: str) -> bool:
        return not self.credit_types or credit_type in self.credit_types

    def id_is_valid(self, board_id: str) -> bool:
        return self.id_pattern is None or re.fullmatch(self.id_pattern, board_id) is not None

    def report_by(self, completion_date: dt.date) -> dt.date | None:
        """The date by which credit earned on ``completion_date`` must reach the board to
        count for its year (None when the board counts by completion date)."""
        if self.counts_year_by != YearBasis.REPORT_DATE:
            return None
        return self.year_end.on(completion_date.year)

    def takes(self, completion_date: dt.date) -> bool:
        return self.earliest_completion is None or completion_date >= self.earliest_completion

    @property
    def label(self) -> str:
        return f"{self.code} ({self.name})"


#: ACCME names ABIM among the boards that count a credit's year by report date; for
#: the boards below that are not named there, that and the December 31 date are assumed.
_YEAR_ASSUMED = frozenset({"counts_year_by", "year_end"})
_TYPES_UNKNOWN = frozenset({"credit_types"}) | _YEAR_ASSUMED

REGISTRY: dict[str, Board] = {b.code: b for b in (
    Board("ABA", "American Board of Anesthesiology",
          ("Lifelong Learning", "Self-Assessment"), unconfirmed=_YEAR_ASSUMED),
    # ABIM IDs as physicians quote them are numbers; the project's sources confirm neither that
    # nor a length, so the pattern is marked unconfirmed and checks digits only.
    Board("ABIM", "American Board of Internal Medicine",
          ("Medical Knowledge", "Practice Assessment"),
          id_pattern=r"[0-9]+", id_format="digits only", unconfirmed=frozenset({"id_pattern"})),
    Board("ABOHNS", "American Board of Otolaryngology – Head and Neck Surgery",
          unconfirmed=_TYPES_UNKNOWN),
    Board("ABOS", "American Board of Orthopaedic Surgery", unconfirmed=_TYPES_UNKNOWN),
    Board("ABP", "American Board of Pediatrics",
          ("Lifelong Learning and Self-Assessment", "Improving Professional Practice"),
          year_end=MonthDay(12, 1), same_points_per_activity=True),
    Board("ABPATH", "American Board of Pathology",
          ("Lifelong Learning", "Improvement in Medical Practice"),
          # The board's rule is on the activity's date; the portal knows completion dates.
          earliest_completion=dt.date(2018, 1, 1),
          unconfirmed=frozenset({"earliest_completion"}) | _YEAR_ASSUMED),
    Board("ABPMR", "American Board of Physical Medicine and Rehabilitation",
          earliest_completion=dt.date(2025, 1, 1),
          unconfirmed=frozenset({"credit_types", "earliest_completion"}) | _YEAR_ASSUMED),
    Board("ABS", "American Board of Surgery", ("Accredited CME", "Self-Assessment"),
          needs_board_id=False, earliest_completion=dt.date(2021, 3, 1),
          counts_year_by=YearBasis.COMPLETION_DATE, daily_cap=Decimal(12)),
    Board("ABTS", "American Board of Thoracic Surgery", unconfirmed=_TYPES_UNKNOWN),
)}

#: Board codes as PARS and the credit export spell them, with their names.
BOARDS: dict[str, str] = {code: board.name for code, board in REGISTRY.items()}


def board(code: str) -> Board | None:
    return REGISTRY.get(code)
