"""Which completions go to PARS, and what keeps the others back.

One set of rules for the engine (which re-checks them when it claims a
record) and the transcript (which explains them to the physician).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func

from webapp.boards import board
from webapp.dates import MonthDay
from webapp.models import Activity, Completion, Learner
from webapp.models.people import PHYSICIAN_DEGREES, is_physician


class Blocker(enum.StrEnum):
    # Not reportable: PARS will never receive it (or not until the provider acts).
    BEFORE_START = "before_start"
    NOT_REGISTERED = "not_registered"
    NOT_PHYSICIAN = "not_physician"
    #: Neither AMA PRA Category 1 credit nor board credit a board takes through PARS.
    NO_CREDIT = "no_credit"
    YEAR_CLOSED = "year_closed"
    # Withheld: the physician said no.
    OPTED_OUT = "opted_out"
    # Waiting: the physician can fix it.
    MISSING_BIRTH_DATE = "missing_birth_date"
    MISSING_LICENSE_OR_NPI = "missing_license_or_npi"
    MISSING_BOARD_ID = "missing_board_id"


NOT_REPORTABLE = frozenset({Blocker.BEFORE_START, Blocker.NOT_REGISTERED, Blocker.NOT_PHYSICIAN,
                            Blocker.NO_CREDIT, Blocker.YEAR_CLOSED})
MISSING_IDENTIFIER = frozenset({Blocker.MISSING_BIRTH_DATE, Blocker.MISSING_LICENSE_OR_NPI,
                                Blocker.MISSING_BOARD_ID})


@dataclass(frozen=True)
class Rules:
    reporting_start: dt.date
    #: The day PARS closes the previous year's learner data.
    year_close: MonthDay
    #: Days after completion within which ACCME and the boards ask for learner data.
    reporting_days: int
    consent_default: bool
    today: dt.date
    #: Normalised degrees reported as physicians (``webapp.models.people.normalise_degree``).
    physician_degrees: frozenset[str] = PHYSICIAN_DEGREES

    @classmethod
    def from_config(cls, config: Any, today: dt.date | None = None) -> Rules:
        return cls(
            reporting_start=config["REPORTING_START_DATE"],
            year_close=MonthDay.parse(config["PARS_YEAR_CLOSE"]),
            reporting_days=config["BOARD_REPORTING_DAYS"],
            consent_default=config["CONSENT_DEFAULT"],
            today=today or dt.date.today(),
            physician_degrees=config.get("PHYSICIAN_DEGREES") or PHYSICIAN_DEGREES,
        )

    def year_closes(self, completion_date: dt.date) -> dt.date:
        """The last day PARS accepts learner data for the year of ``completion_date``."""
        return self.year_close.on(completion_date.year + 1)

    def open_from(self) -> dt.date:
        """The earliest completion date whose PARS reporting year is still open today."""
        last_year_open = self.today <= self.year_close.on(self.today.year)
        return dt.date(self.today.year - 1 if last_year_open else self.today.year, 1, 1)

    def pars_deadline(self, completion_date: dt.date) -> dt.date:
        """ACCME asks for learner data within the reporting days; never after the year closes."""
        return min(completion_date + dt.timedelta(days=self.reporting_days),
                   self.year_closes(completion_date))

    def board_deadline(self, completion_date: dt.date, code: str) -> dt.date:
        """When a board's credit should be in PARS: the reporting days, or the board's
        year-end date when that comes first (boards that count credit by report date)."""
        due = self.pars_deadline(completion_date)
        found = board(code)
        report_by = found.report_by(completion_date) if found else None
        # Credit earned after the year-end date counts for the next year anyway.
        if report_by is not None and completion_date <= report_by < due:
            return report_by
        return due

    def due_date(self, completion: Completion) -> dt.date:
        """When the record should be in PARS: the earliest deadline of its parts."""
        return min([self.pars_deadline(completion.completion_date)]
                   + [self.board_deadline(completion.completion_date, code)
                      for code in completion.boards])

    def is_physician(self, degree: str) -> bool:
        return _is_physician(degree, self.physician_degrees)


@functools.lru_cache(maxsize=1024)
def _is_physician(degree: str, degrees: frozenset[str]) -> bool:
    # The same few degree spellings for thousands of records in a run.
    return is_physician(degree, degrees)


@dataclass(frozen=True)
class Assessment:
    #: What keeps the whole record back, most fundamental first.
    blockers: tuple[Blocker, ...] = ()
    #: Boards whose ID is missing (with ``MISSING_BOARD_ID``, in ``blockers`` or ``held``).
    boards_missing_id: tuple[str, ...] = field(default=())
    #: The parts that go when the record is sent: AMA PRA Category 1 credit, and the
    #: credit of these boards.
    sends_cme: bool = False
    sends_boards: tuple[str, ...] = ()
    #: What keeps other parts back while these go (the CME part waiting for an NPI
    #: or license, a board waiting for its ID).
    held: tuple[Blocker, ...] = ()
    #: Boards on the completion that do not take it through PARS (too early for them).
    boards_not_taken: tuple[str, ...] = ()

    @property
    def reportable(self) -> bool:
        """In scope for PARS at all (it may still wait for consent or identifiers)."""
        return not any(b in NOT_REPORTABLE for b in self.blockers)

    @property
    def sendable(self) -> bool:
        return not self.blockers

    @property
    def missing(self) -> tuple[Blocker, ...]:
        """Every missing identifier, whether it holds back the record or one part of it."""
        return tuple(b for b in (*self.blockers, *self.held) if b in MISSING_IDENTIFIER)

    @property
    def first(self) -> Blocker | None:
        return self.blockers[0] if self.blockers else None

    @property
    def complete(self) -> bool:
        """Sendable with every part it has."""
        return self.sendable and not self.held


def in_scope(completion: Completion, learner: Learner, rules: Rules) -> list[Blocker]:
    """What keeps a completion out of PARS whatever the physician does."""
    blockers = []
    if completion.completion_date < rules.reporting_start:
        blockers.append(Blocker.BEFORE_START)
    if not rules.is_physician(learner.degree):
        blockers.append(Blocker.NOT_PHYSICIAN)
    if completion.activity.accme_activity_id is None:
        blockers.append(Blocker.NOT_REGISTERED)
    if completion.cme_credits <= 0 and not any(
            (b := board(code)) is None or b.takes(completion.completion_date)
            for code in completion.boards):
        blockers.append(Blocker.NO_CREDIT)
    return blockers


def reportable_clause(rules: Rules, *, registered: bool = True) -> ColumnElement[bool]:
    """``in_scope`` and an open reporting year as SQL, to find candidates in bulk.

    Needs ``Completion`` joined to ``Activity`` and ``Learner``; every candidate is
    still assessed in Python before anything is queued. ``registered=False``: the same,
    for activities not registered with PARS yet (what their registration would release).
    """
    degree = func.upper(Learner.degree)
    for ch in (" ", ".", ",", "-", "/"):
        degree = func.replace(degree, ch, "")
    return and_(
        Completion.completion_date >= max(rules.reporting_start, rules.open_from()),
        Activity.accme_activity_id.is_not(None) if registered
        else Activity.accme_activity_id.is_(None),
        degree.in_(sorted(rules.physician_degrees)),
    )


def assess(completion: Completion, learner: Learner, rules: Rules, *,
           already_sent: bool = False) -> Assessment:
    """Everything that keeps ``completion`` (or a part of it) from being sent now.

    A record goes as soon as one part can be matched: board credit needs the board
    ID (not for boards that match on name and birth date), the AMA PRA Category 1
    part an NPI or a license; the other parts wait. ``already_sent``: the record is
    in PARS already, so a closed year does not matter for it.
    """
    blockers = in_scope(completion, learner, rules)
    if not already_sent and rules.today > rules.year_closes(completion.completion_date):
        blockers.append(Blocker.YEAR_CLOSED)
    if not learner.shares(rules.consent_default):
        blockers.append(Blocker.OPTED_OUT)
    if not learner.birth_month_day:
        blockers.append(Blocker.MISSING_BIRTH_DATE)
    has_cme = completion.cme_credits > 0
    cme_ok = has_cme and bool(learner.npi or learner.licenses)
    taken, not_taken, missing_id = [], [], []
    for code in completion.boards:
        entry = board(code)
        if entry is not None and not entry.takes(completion.completion_date):
            not_taken.append(code)
        elif (entry is None or entry.needs_board_id) and not learner.board_id_for(code):
            missing_id.append(code)
        else:
            taken.append(code)
    part_blockers = []
    if has_cme and not cme_ok:
        part_blockers.append(Blocker.MISSING_LICENSE_OR_NPI)
    if missing_id:
        part_blockers.append(Blocker.MISSING_BOARD_ID)
    held: list[Blocker] = []
    if cme_ok or taken:
        held = part_blockers
    else:
        blockers += part_blockers
    return Assessment(tuple(blockers), tuple(missing_id), sends_cme=cme_ok,
                      sends_boards=tuple(taken), held=tuple(held),
                      boards_not_taken=tuple(not_taken))
