"""Which completions go to PARS, and what keeps the others back.

One set of rules for the engine (which re-checks them when it claims a
record) and the transcript (which explains them to the physician).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func

from webapp.boards import BOARD_ID_OPTIONAL
from webapp.dates import MonthDay
from webapp.models import Activity, Completion, Learner
from webapp.models.people import PHYSICIAN_DEGREES


class Blocker(enum.StrEnum):
    # Not reportable: PARS will never receive it (or not until the provider acts).
    BEFORE_START = "before_start"
    NOT_REGISTERED = "not_registered"
    NOT_PHYSICIAN = "not_physician"
    YEAR_CLOSED = "year_closed"
    # Withheld: the physician said no.
    OPTED_OUT = "opted_out"
    # Waiting: the physician can fix it.
    MISSING_BIRTH_DATE = "missing_birth_date"
    MISSING_LICENSE_OR_NPI = "missing_license_or_npi"
    MISSING_BOARD_ID = "missing_board_id"


NOT_REPORTABLE = frozenset({Blocker.BEFORE_START, Blocker.NOT_REGISTERED, Blocker.NOT_PHYSICIAN,
                            Blocker.YEAR_CLOSED})
MISSING_IDENTIFIER = frozenset({Blocker.MISSING_BIRTH_DATE, Blocker.MISSING_LICENSE_OR_NPI,
                                Blocker.MISSING_BOARD_ID})


@dataclass(frozen=True)
class Rules:
    reporting_start: dt.date
    #: The day PARS closes the previous year's learner data.
    year_close: MonthDay
    board_days: int
    consent_default: bool
    today: dt.date

    @classmethod
    def from_config(cls, config: Any, today: dt.date | None = None) -> Rules:
        return cls(
            reporting_start=config["REPORTING_START_DATE"],
            year_close=MonthDay.parse(config["PARS_YEAR_CLOSE"]),
            board_days=config["BOARD_REPORTING_DAYS"],
            consent_default=config["CONSENT_DEFAULT"],
            today=today or dt.date.today(),
        )

    def year_closes(self, completion_date: dt.date) -> dt.date:
        """The last day PARS accepts learner data for the year of ``completion_date``."""
        return self.year_close.on(completion_date.year + 1)

    def open_from(self) -> dt.date:
        """The earliest completion date whose PARS reporting year is still open today."""
        last_year_open = self.today <= self.year_close.on(self.today.year)
        return dt.date(self.today.year - 1 if last_year_open else self.today.year, 1, 1)

    def board_deadline(self, completion_date: dt.date) -> dt.date:
        return completion_date + dt.timedelta(days=self.board_days)

    def due_date(self, completion: Completion) -> dt.date:
        """When the record should be in PARS: the board limit if it carries board credit."""
        if completion.board_credits:
            return self.board_deadline(completion.completion_date)
        return self.year_closes(completion.completion_date)


@dataclass(frozen=True)
class Assessment:
    blockers: tuple[Blocker, ...] = ()
    #: Boards whose ID is missing (with ``MISSING_BOARD_ID``).
    boards_missing_id: tuple[str, ...] = field(default=())

    @property
    def reportable(self) -> bool:
        """In scope for PARS at all (it may still wait for consent or identifiers)."""
        return not any(b in NOT_REPORTABLE for b in self.blockers)

    @property
    def sendable(self) -> bool:
        return not self.blockers

    @property
    def missing(self) -> tuple[Blocker, ...]:
        return tuple(b for b in self.blockers if b in MISSING_IDENTIFIER)

    @property
    def first(self) -> Blocker | None:
        return self.blockers[0] if self.blockers else None


def in_scope(completion: Completion, learner: Learner, rules: Rules) -> list[Blocker]:
    """What keeps a completion out of PARS whatever the physician does."""
    blockers = []
    if completion.completion_date < rules.reporting_start:
        blockers.append(Blocker.BEFORE_START)
    if not learner.is_physician:
        blockers.append(Blocker.NOT_PHYSICIAN)
    if completion.activity.accme_activity_id is None:
        blockers.append(Blocker.NOT_REGISTERED)
    return blockers


def reportable_clause(rules: Rules) -> ColumnElement[bool]:
    """``in_scope`` and an open reporting year as SQL, to find candidates in bulk.

    Needs ``Completion`` joined to ``Activity`` and ``Learner``; every candidate is
    still assessed in Python before anything is queued.
    """
    return and_(
        Completion.completion_date >= max(rules.reporting_start, rules.open_from()),
        Activity.accme_activity_id.is_not(None),
        func.upper(func.trim(Learner.degree)).in_(sorted(PHYSICIAN_DEGREES)),
    )


def assess(completion: Completion, learner: Learner, rules: Rules, *,
           already_sent: bool = False) -> Assessment:
    """Everything that keeps ``completion`` from being sent now, most fundamental first.

    ``already_sent``: the record is in PARS already, so a closed year does not
    matter for it (only for records not yet sent).
    """
    blockers = in_scope(completion, learner, rules)
    if not already_sent and rules.today > rules.year_closes(completion.completion_date):
        blockers.append(Blocker.YEAR_CLOSED)
    if not learner.shares(rules.consent_default):
        blockers.append(Blocker.OPTED_OUT)
    if not learner.birth_month_day:
        blockers.append(Blocker.MISSING_BIRTH_DATE)
    if not learner.npi and not learner.licenses:
        blockers.append(Blocker.MISSING_LICENSE_OR_NPI)
    missing_boards = tuple(
        board for board in completion.boards
        if board not in BOARD_ID_OPTIONAL and not learner.board_id_for(board)
    )
    if missing_boards:
        blockers.append(Blocker.MISSING_BOARD_ID)
    return Assessment(tuple(blockers), missing_boards)
