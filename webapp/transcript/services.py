"""The physician's transcript: completions, totals, and each credit's delivery status.

A page is loaded in a fixed number of queries, however many credits the
physician has: one aggregate query for the totals over every credit the filter
covers, then one page of credits with what their statuses need. Statuses are
worked out in memory from the outbox rows and the eligibility rules the engine
applies. The downloads read every credit in range in chunks (``iter_rows``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from webapp.boards import YearBasis
from webapp.boards import board as board_entry
from webapp.dates import readable_date
from webapp.models import (
    Action,
    BatchKind,
    BoardCredit,
    BoardDecision,
    Completion,
    Delivery,
    DeliveryState,
    Learner,
)
from webapp.pars.codes import REJECTIONS, EngineCode, rejection
from webapp.pars.eligibility import Assessment, Blocker, Rules, assess
from webapp.transcript.statuses import CATALOG, Status, StatusInfo

PARS_DESTINATION = "PARS / CME Passport"

#: ``pars sync`` asks PARS for the boards' decisions on a record for this many days after
#: PARS accepted it (``webapp.pars.settle.sync_boards``; a test keeps the two equal).
BOARD_DECISION_DAYS = 90

_IDENTIFIER_WORDS = {
    Blocker.MISSING_BIRTH_DATE: "birth month and day",
    Blocker.MISSING_LICENSE_OR_NPI: "NPI or a state license",
    Blocker.MISSING_BOARD_ID: "board ID",
}


@dataclass(frozen=True)
class Limit:
    """A date by which credit should be in PARS, for one destination, and what missing it means."""

    on: dt.date
    #: Days from today (negative once passed).
    days_left: int
    #: What the date is, ending where the date follows: "ABIM asks for it within 30 days, by".
    label: str
    #: What passing it means for this destination, in plain words the registry supports.
    after: str

    @property
    def passed(self) -> bool:
        return self.days_left < 0

    def soon(self, within_days: int) -> bool:
        return 0 <= self.days_left <= within_days


@dataclass(frozen=True)
class DestinationStatus:
    """Where one credit stands with one destination (PARS, or a certifying board)."""

    destination: str
    status: Status
    #: One or two plain sentences: what happened, and what happens next.
    text: str
    #: The date of the step shown (sent, accepted, ...), if any.
    on: dt.date | None = None
    #: What the physician can do, if anything.
    action: str | None = None
    #: Whether the physician can fix it on their profile.
    fix_on_profile: bool = False
    #: Deadline shown with credit not yet in PARS: ACCME's for PARS, the board's for a board.
    deadline: dt.date | None = None
    #: ``deadline`` explained: days left and what passing it means (set by ``credit_row``).
    limit: Limit | None = None
    #: The board's code, for a board's status.
    board: str | None = None

    @property
    def info(self) -> StatusInfo:
        return CATALOG[self.status]


@dataclass
class CreditRow:
    completion: Completion
    pars: DestinationStatus
    boards: list[DestinationStatus]

    @property
    def statuses(self) -> list[DestinationStatus]:
        return [self.pars, *self.boards]


@dataclass
class Filters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    #: ``""`` for all credit, ``"AMA"`` for AMA PRA Category 1 only, or a board code.
    credit_type: str = ""

    def clause(self, learner_id: int) -> ColumnElement[bool]:
        """The learner's completions the filter covers, as SQL."""
        parts: list[ColumnElement[bool]] = [Completion.learner_id == learner_id]
        if self.date_from:
            parts.append(Completion.completion_date >= self.date_from)
        if self.date_to:
            parts.append(Completion.completion_date <= self.date_to)
        if self.credit_type == "AMA":
            parts.append(Completion.cme_credits > 0)
        elif self.credit_type:
            line = aliased(BoardCredit)  # not correlated with a query over BoardCredit itself
            parts.append(exists().where(line.completion_id == Completion.id,
                                        line.board == self.credit_type))
        return and_(*parts)

    @property
    def active(self) -> bool:
        return bool(self.date_from or self.date_to or self.credit_type)


@dataclass
class Transcript:
    learner: Learner
    rows: list[CreditRow]
    filters: Filters
    #: How many credits the physician has in all, before filtering.
    total_count: int
    #: How many credits the filter covers (the totals cover all of them; ``rows`` one page).
    shown_count: int = 0
    ama_total: Decimal = Decimal(0)
    #: board -> credit type -> total.
    board_totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    #: Whether the learner's degree is a physician's: AMA PRA Category 1 Credit™ is
    #: designated for physicians; others receive a certificate of participation.
    physician: bool = True
    page: int = 1
    pages: int = 1
    #: Index of the first row shown, counted from 1.
    first: int = 1

    @property
    def board_sums(self) -> dict[str, Decimal]:
        return {b: sum(t.values(), Decimal(0)) for b, t in self.board_totals.items()}

    @property
    def board_columns(self) -> list[tuple[str, str]]:
        """(board, credit type) pairs the credit shown carries, in order."""
        return [(b, t) for b, types in self.board_totals.items() for t in sorted(types)]

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    @property
    def only_before_reporting(self) -> bool:
        return bool(self.rows) and self.pages == 1 and all(
            r.pars.status == Status.BEFORE_START for r in self.rows)


_EAGER = (
    joinedload(Completion.activity),
    selectinload(Completion.board_credits),
    selectinload(Completion.deliveries).selectinload(Delivery.board_statuses),
    selectinload(Completion.deliveries).joinedload(Delivery.batch),
)
_NEWEST_FIRST = (Completion.completion_date.desc(), Completion.id.desc())


def _completions(learner_id: int, filters: Filters | None = None) -> Select[Completion]:
    return (select(Completion)
            .where((filters or Filters()).clause(learner_id))
            .options(*_EAGER)
            .order_by(*_NEWEST_FIRST))


def load_learner(session: Session, learner_id: int) -> Learner:
    return session.execute(
        select(Learner)
        .where(Learner.id == learner_id)
        .options(selectinload(Learner.licenses), selectinload(Learner.board_certifications))
    ).scalar_one()


@dataclass
class Totals:
    total_count: int = 0
    shown_count: int = 0
    ama_total: Decimal = Decimal(0)
    board_totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)


def totals(session: Session, learner_id: int, filters: Filters) -> Totals:
    """Counts and totals over every credit the filter covers, in one aggregate query."""
    shown = filters.clause(learner_id)
    mine = Completion.learner_id == learner_id
    query: CompoundSelect = union_all(
        select(literal("all").label("kind"), null().label("board"), null().label("type"),
               null().label("amount"), func.count(Completion.id).label("n"))
        .where(mine),
        select(literal("ama"), null(), null(), func.sum(Completion.cme_credits),
               func.count(Completion.id))
        .where(shown),
        select(literal("board"), BoardCredit.board, BoardCredit.credit_type,
               func.sum(BoardCredit.credits), func.count(BoardCredit.id))
        .join(Completion, Completion.id == BoardCredit.completion_id)
        .where(shown).group_by(BoardCredit.board, BoardCredit.credit_type),
    )
    result = Totals()
    board_totals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for kind, board, credit_type, amount, n in session.execute(query):
        if kind == "all":
            result.total_count = n
        elif kind == "ama":
            result.shown_count = n
            result.ama_total = Decimal(amount or 0).quantize(Decimal("0.01"))
        else:
            board_totals[board][credit_type] = Decimal(amount or 0).quantize(Decimal("0.01"))
    result.board_totals = {b: dict(sorted(t.items())) for b, t in sorted(board_totals.items())}
    return result


def boards_on_record(session: Session, learner_id: int) -> tuple[str, ...]:
    """Every board the learner has credit with, whatever the filter (the filter offers these)."""
    return tuple(session.execute(
        select(BoardCredit.board).distinct()
        .join(Completion, Completion.id == BoardCredit.completion_id)
        .where(Completion.learner_id == learner_id)
        .order_by(BoardCredit.board)
    ).scalars())


def build(session: Session, learner_id: int, rules: Rules, filters: Filters | None = None,
          frequency: str = "on the regular schedule", *, page: int | None = None,
          page_size: int = 50, with_rows: bool = True) -> Transcript:
    """The transcript with its totals; ``page`` (from 1): one page of ``page_size`` credits,
    newest first (a page past the last shows the last); None: every credit. Without
    ``with_rows`` only the totals (the downloads read the rows with ``iter_rows``)."""
    filters = filters or Filters()
    learner = load_learner(session, learner_id)
    sums = totals(session, learner_id, filters)
    transcript = Transcript(
        learner=learner, rows=[], filters=filters, total_count=sums.total_count,
        shown_count=sums.shown_count, ama_total=sums.ama_total, board_totals=sums.board_totals,
        physician=rules.is_physician(learner.degree))
    query = _completions(learner_id, filters)
    if page is not None:
        transcript.pages = max(1, -(-sums.shown_count // page_size))
        transcript.page = min(max(page, 1), transcript.pages)
        offset = (transcript.page - 1) * page_size
        transcript.first = offset + 1
        query = query.limit(page_size).offset(offset)
    if sums.shown_count and with_rows:
        transcript.rows = [credit_row(c, learner, rules, frequency)
                           for c in session.execute(query).scalars()]
    return transcript


def rows_of(session: Session, learner_id: int, completion_ids: Iterable[int], rules: Rules,
            frequency: str = "on the regular schedule") -> dict[int, CreditRow]:
    """The transcript's rows for just these credits of the learner, by completion ID (what
    an e-mail about a few of them needs, without reading the rest of the transcript)."""
    ids = sorted(set(completion_ids))
    if not ids:
        return {}
    learner = load_learner(session, learner_id)
    query = _completions(learner_id).where(Completion.id.in_(ids))
    return {c.id: credit_row(c, learner, rules, frequency)
            for c in session.execute(query).scalars()}


def iter_rows(session: Session, transcript: Transcript, rules: Rules,
              frequency: str = "on the regular schedule", chunk: int = 500) -> Iterator[CreditRow]:
    """Every credit the transcript's filter covers, newest first, read ``chunk`` at a time
    (keyset paging: each chunk starts after the last row of the one before)."""
    learner = transcript.learner
    after: tuple[dt.date, int] | None = None
    while True:
        query = _completions(learner.id, transcript.filters)
        if after is not None:
            day, ident = after
            query = query.where(or_(Completion.completion_date < day,
                                    and_(Completion.completion_date == day, Completion.id < ident)))
        completions = list(session.execute(query.limit(chunk)).scalars())
        for completion in completions:
            yield credit_row(completion, learner, rules, frequency)
        if len(completions) < chunk:
            return
        # The session's identity map holds clean objects weakly: a finished chunk is freed.
        after = (completions[-1].completion_date, completions[-1].id)


def find_credit(session: Session, learner_id: int, completion_id: int) -> Completion | None:
    """The completion, only if it belongs to ``learner_id``."""
    return session.execute(
        select(Completion)
        .where(Completion.id == completion_id, Completion.learner_id == learner_id)
        .options(
            joinedload(Completion.activity),
            selectinload(Completion.board_credits),
            selectinload(Completion.deliveries).selectinload(Delivery.board_statuses),
            selectinload(Completion.deliveries).selectinload(Delivery.events),
            selectinload(Completion.deliveries).joinedload(Delivery.batch),
        )
    ).scalar_one_or_none()


# --- statuses -------------------------------------------------------------------------------


def _current(deliveries: list[Delivery]) -> tuple[Delivery | None, Delivery | None]:
    """The newest add that still counts, and a pending delete (a correction under way).

    Cancelled adds do not count (superseded, or out of scope), except one that
    staff resolved by hand: that is where the credit stands.
    """
    adds = [d for d in deliveries if d.action == Action.ADD and (
        d.state != DeliveryState.CANCELLED or d.resolution_note is not None)]
    pending_delete = next(
        (d for d in reversed(deliveries)
         if d.action == Action.DELETE and not d.state.settled),
        None,
    )
    return (adds[-1] if adds else None), pending_delete


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def credit_row(completion: Completion, learner: Learner, rules: Rules,
               frequency: str = "on the regular schedule") -> CreditRow:
    current, pending_delete = _current(completion.deliveries)
    pars = pars_status(completion, learner, rules, current, pending_delete, frequency)
    if pending_delete is not None and pars.status in (Status.ACCEPTED, Status.SENT):
        # A held-back correction: the boards' decisions are on the record PARS holds.
        current = next((d for d in completion.deliveries if d.id == pending_delete.withdraws_id),
                       current)
    boards = [dataclasses.replace(board_status(completion, learner, rules, board, current, pars),
                                  board=board)
              for board in completion.boards]
    return CreditRow(completion, _with_limit(pars, completion, rules),
                     [_with_limit(b, completion, rules) for b in boards])


# --- deadlines -------------------------------------------------------------------------------


def _with_limit(status: DestinationStatus, completion: Completion, rules: Rules) -> DestinationStatus:
    if status.deadline is None:
        return status
    return dataclasses.replace(status, limit=limit(rules, completion.completion_date,
                                                   status.deadline, status.board))


def limit(rules: Rules, completed: dt.date, deadline: dt.date, board: str | None = None) -> Limit:
    """``deadline`` for PARS (``board`` None) or one board, with what passing it means.

    Says no more than the board registry knows: a rule it marks unconfirmed for a
    board is said to be assumed."""
    days = rules.reporting_days
    left = (deadline - rules.today).days
    year = completed.year
    closes = rules.year_closes(completed)
    if deadline == closes and deadline < completed + dt.timedelta(days=days):
        who = board or "PARS"
        return Limit(deadline, left, f"PARS closes the {year} reporting year on",
                     f"After that day PARS takes no more credit for {year}, so this credit cannot "
                     f"reach {who} through PARS; it stays on this transcript.")
    if board is None:
        return Limit(deadline, left, f"ACCME asks for credit in PARS within {days} days, by",
                     f"The credit is still sent after that, until PARS closes the {year} "
                     f"reporting year on {readable_date(closes)}.")
    entry = board_entry(board)
    assumed = ""
    if entry is not None and entry.unconfirmed & {"counts_year_by", "year_end"}:
        assumed = (f" ({board} has not confirmed this rule: ACCME states it for boards such as "
                   "ABIM, and it is assumed here.)")
    report_by = entry.report_by(completed) if entry else None
    if report_by is not None and deadline == report_by:
        return Limit(deadline, left, f"To count toward {board}'s {year} requirements, in PARS by",
                     f"Credit that reaches {board} after {readable_date(report_by)} counts toward "
                     f"{year + 1} instead of {year}.{assumed}")
    label = f"{board} asks for credit within {days} days, by"
    # The registry knows how each board counts a credit's year, not whether it takes late
    # credit: that stays the board's to say.
    late = f"The credit is still sent after that; whether {board} takes late credit is up to {board}."
    if entry is None:
        return Limit(deadline, left, label, late)
    if entry.counts_year_by == YearBasis.COMPLETION_DATE:
        return Limit(deadline, left, label,
                     f"{late} {board} counts credit toward the year it was completed.")
    assert report_by is not None
    counts = (f"If it does, the credit counts toward {year} when it reaches {board} by "
              f"{readable_date(report_by)}, and toward {year + 1} after that."
              if deadline < report_by else f"If it does, the credit counts toward {year + 1}.")
    return Limit(deadline, left, label, f"{late} {counts}{assumed}")


def pars_status(
    completion: Completion, learner: Learner, rules: Rules, current: Delivery | None,
    pending_delete: Delivery | None, frequency: str = "on the regular schedule",
) -> DestinationStatus:
    def status(code: Status, text: str, **kw) -> DestinationStatus:
        return DestinationStatus(PARS_DESTINATION, code, text, **kw)

    deadline = rules.pars_deadline(completion.completion_date)
    if pending_delete is not None:
        return _correction(completion, learner, rules, pending_delete, deadline)
    state = current.state if current else None
    shown = STATE_STATUS[state] if state is not None else Status.QUEUED

    if state in (None, DeliveryState.QUEUED, DeliveryState.WAITING):
        # Held-back and queued records are explained by the rules as they stand now,
        # so a fix shows at once, before the engine's next run re-queues the record.
        result = assess(completion, learner, rules)
        if result.blockers:
            return _blocked(result, rules, completion, deadline)
        if completion.cme_credits > 0 and not result.sends_cme:
            return status(Status.QUEUED, (
                f"Your board credit is ready to send; credits are sent to PARS {frequency}. "
                + _CME_FOLLOWS + " Add an NPI or a state license before it is sent and your "
                "CME credit goes with it."), deadline=deadline,
                action="Add your NPI or a state license", fix_on_profile=True)
        return status(Status.QUEUED, f"Ready to send. Credits are sent to PARS {frequency}.",
                      deadline=deadline)
    assert current is not None
    if shown == Status.VERIFYING:
        return status(Status.VERIFYING, "It was sent, and we are confirming with PARS that it "
                      "arrived. It will not be sent twice.", on=_date(current.sent_at),
                      deadline=deadline)
    if shown == Status.IN_BATCH:
        return status(Status.IN_BATCH, "It is in a file CME staff are uploading to PARS.",
                      on=_date(current.updated_at), deadline=deadline)
    if shown == Status.SENT:
        return status(Status.SENT, "CME staff uploaded it to PARS in a file. PARS's answer to "
                      "that upload was not recorded here; once PARS has matched it to you, it "
                      "shows in CME Passport.", on=_date(current.sent_at))
    if shown == Status.ACCEPTED and _cme_left_out(completion, current):
        return status(Status.ACCEPTED, "PARS accepted your board credit. " + _CME_FOLLOWS
                      + " This record is not sent again when you add one later.",
                      on=_date(current.settled_at or current.sent_at),
                      action="Contact CME support if you need this credit in CME Passport.")
    if shown == Status.ACCEPTED and uploaded(current):
        return status(Status.ACCEPTED, "CME staff uploaded it to PARS in a file, and PARS "
                      "accepted it. CME Passport shows it once PARS has matched it to you.",
                      on=_date(current.settled_at or current.sent_at))
    if shown == Status.ACCEPTED:
        return status(Status.ACCEPTED, "PARS accepted it. It shows in CME Passport, and to "
                      "licensing boards that collaborate with ACCME, once PARS matches it to you "
                      "by your name, birth month and day, and NPI or license.",
                      on=_date(current.settled_at or current.sent_at))
    if shown == Status.REJECTED:
        why = rejection(current.error_code)
        return status(Status.REJECTED, why.meaning, on=_date(current.settled_at),
                      action=why.action, fix_on_profile=why.physician_can_fix)
    if shown == Status.FAILED:
        if current.error_code == EngineCode.REPORTING_YEAR_CLOSED:
            return _blocked(Assessment((Blocker.YEAR_CLOSED,)), rules, completion, None)
        if current.error_code in REJECTIONS:
            why = REJECTIONS[current.error_code]
            return status(Status.FAILED, why.meaning, on=_date(current.updated_at),
                          action=why.action, deadline=deadline)
        return status(Status.FAILED, "PARS did not take it after several tries. It is on CME "
                      "staff's list of records that need attention; they send it again once the "
                      "cause is fixed. Nothing for you to do.",
                      on=_date(current.updated_at), deadline=deadline)
    if shown == Status.HELD:
        return status(Status.HELD, "CME staff are holding this credit back while they check "
                      "something. Contact support if you have questions.",
                      on=_date(current.updated_at), deadline=deadline)
    if shown == Status.RESOLVED:  # cancelled: shown only when resolved by staff (see _current)
        return status(Status.RESOLVED, "CME staff dealt with this credit by hand, for example "
                      "by entering it in PARS directly.", on=_date(current.settled_at))
    # Removed: no record in PARS now.
    return status(Status.REMOVED, "PARS no longer holds this record, for example because CME "
                  "staff deleted it there.", on=_date(current.settled_at))


#: The status a physician sees for an add in each state (queued and waiting records
#: are explained by the eligibility rules as they stand). ``tests/pars/test_lifecycle.py``
#: checks that every state has one.
STATE_STATUS: dict[DeliveryState, Status] = {
    DeliveryState.QUEUED: Status.QUEUED,
    DeliveryState.WAITING: Status.QUEUED,
    DeliveryState.SENDING: Status.VERIFYING,
    DeliveryState.UNKNOWN: Status.VERIFYING,
    DeliveryState.EXPORTED: Status.IN_BATCH,
    DeliveryState.SENT: Status.SENT,
    DeliveryState.ACCEPTED: Status.ACCEPTED,
    DeliveryState.REJECTED: Status.REJECTED,
    DeliveryState.FAILED: Status.FAILED,
    DeliveryState.HELD: Status.HELD,
    DeliveryState.CANCELLED: Status.RESOLVED,
    DeliveryState.REMOVED: Status.REMOVED,
}


#: Said when the board part went (or goes) without the AMA PRA Category 1 part.
_CME_FOLLOWS = ("PARS creates the matching CME credit from board credit itself, within about "
                "a week. To match it to you for CME Passport and state licensing boards, PARS "
                "needs your NPI or a state license, which the record carries only if we have "
                "one when it is sent.")


def _sent_boards(delivery: Delivery | None) -> set[str] | None:
    """The boards whose credit went with a sent record (None when nothing was sent)."""
    if delivery is None or not delivery.sent_payload:
        return None
    return {line.get("board") for line in delivery.sent_payload.get("boards", [])}


def _cme_left_out(completion: Completion, delivery: Delivery) -> bool:
    payload = delivery.sent_payload or {}
    return completion.cme_credits > 0 and str(payload.get("cme_credits", "")) in ("0", "0.00")


def _correction(completion: Completion, learner: Learner, rules: Rules, delete: Delivery,
                deadline: dt.date | None) -> DestinationStatus:
    """A reported record being replaced: the old one is removed, then the new one sent."""
    old = next((d for d in completion.deliveries if d.id == delete.withdraws_id), None)
    d = PARS_DESTINATION
    if delete.state == DeliveryState.WAITING and old is not None:
        # The replacement is held back (consent or identifiers), so is the removal:
        # PARS keeps the record as first reported until then.
        held = _blocked(assess(completion, learner, rules), rules, completion, deadline)
        code = Status.ACCEPTED if old.state == DeliveryState.ACCEPTED else Status.SENT
        return DestinationStatus(d, code, (
            "PARS holds this credit as first reported. The credit changed since, and the "
            "update is held back: " + held.text), on=_date(old.settled_at or old.sent_at),
            action=held.action, fix_on_profile=held.fix_on_profile)
    if delete.state in (DeliveryState.REJECTED, DeliveryState.FAILED, DeliveryState.HELD):
        return DestinationStatus(d, Status.CORRECTING, (
            "This credit changed after it was reported. Replacing the record in PARS ran into "
            "a problem that CME staff are resolving; nothing for you to do."),
            on=_date(delete.updated_at), deadline=deadline)
    return DestinationStatus(d, Status.CORRECTING, (
        "This credit changed after it was reported. The old record is being removed from PARS "
        "and the corrected one sent."), on=_date(delete.created_at), deadline=deadline)


def _blocked(result: Assessment, rules: Rules, completion: Completion,
             deadline: dt.date | None) -> DestinationStatus:
    first = result.first
    d = PARS_DESTINATION
    if first == Blocker.BEFORE_START:
        return DestinationStatus(d, Status.BEFORE_START, (
            f"Earned before {readable_date(rules.reporting_start)}, when reporting to PARS began. "
            "It stays on this transcript, which you can download for your board."))
    if first == Blocker.NOT_PHYSICIAN:
        return DestinationStatus(d, Status.NOT_PHYSICIAN, (
            "PARS records credit for physicians only (MD, DO and equivalent physician degrees "
            "such as MBBS). It stays on this transcript."))
    if first == Blocker.NO_CREDIT:
        return DestinationStatus(d, Status.NO_CREDIT, (
            "It carries neither AMA PRA Category 1 Credit™ nor board credit that a board takes "
            "through PARS, so there is nothing to report. It stays on this transcript."))
    if first == Blocker.NOT_REGISTERED:
        return DestinationStatus(d, Status.NOT_REGISTERED, (
            "The activity is not yet registered with PARS. CME staff register it, then your "
            "credit is sent; nothing for you to do."), deadline=deadline)
    if first == Blocker.YEAR_CLOSED:
        closed = rules.year_closes(completion.completion_date)
        return DestinationStatus(d, Status.YEAR_CLOSED, (
            f"PARS stopped accepting credit for {completion.completion_date.year} on "
            f"{readable_date(closed)}. It stays on this transcript, which you can download."),
            action="Contact CME support if you need this credit reported.")
    if first == Blocker.OPTED_OUT:
        return DestinationStatus(d, Status.OPTED_OUT, (
            ("You chose not to share your credit, so it is not sent." if rules.consent_default
             else "Your credit is shared only with your permission, which is not on record, so "
             "it is not sent.") + " If you share, it is sent within the reporting rules."),
            action="Change your sharing choice",
            fix_on_profile=True, deadline=deadline)
    missing = ", ".join(_IDENTIFIER_WORDS[b] for b in result.missing)
    if Blocker.MISSING_BOARD_ID in result.missing:
        missing = missing.replace("board ID", "board ID for " + ", ".join(result.boards_missing_id))
    return DestinationStatus(d, Status.MISSING_IDENTIFIER, (
        f"PARS needs your {missing} to match this credit to you. It goes with the next "
        "submission after you add it."), action=f"Add your {missing}", fix_on_profile=True, deadline=deadline)


def uploaded(delivery: Delivery) -> bool:
    """Whether staff uploaded the record in an Excel file. PARS's answer to the file is
    recorded; the boards' decisions on it are not (PARS is asked by CreditID, which an
    Excel row does not carry)."""
    return delivery.batch is not None and delivery.batch.kind == BatchKind.EXCEL


def board_status(completion: Completion, learner: Learner, rules: Rules, board: str,
                 current: Delivery | None, pars: DestinationStatus) -> DestinationStatus:
    entry = board_entry(board)
    name = entry.label if entry else board
    deadline = rules.board_deadline(completion.completion_date, board)
    if entry is not None and not entry.takes(completion.completion_date):
        assert entry.earliest_completion is not None
        return DestinationStatus(name, Status.BOARD_NOT_TAKEN, (
            f"{board} takes credit through PARS only for activities completed from "
            f"{readable_date(entry.earliest_completion)}. It stays on this transcript."))
    sent = _sent_boards(current)
    if sent is not None and board not in sent and pars.status in (Status.ACCEPTED, Status.SENT,
                                                                  Status.VERIFYING):
        return DestinationStatus(name, Status.MISSING_IDENTIFIER, (
            f"The rest of this credit went to PARS; the {board} credit waits for your {board} "
            "ID and goes with the next submission after you add it."), action=f"Add your {board} ID",
            fix_on_profile=True, deadline=deadline)
    if pars.status == Status.QUEUED:
        result = assess(completion, learner, rules)
        if board in result.boards_missing_id:
            return DestinationStatus(name, Status.MISSING_IDENTIFIER, (
                f"PARS needs your {board} ID to match this credit to you. The rest of the "
                "credit goes without it; this part follows once you add it."),
                action=f"Add your {board} ID", fix_on_profile=True, deadline=deadline)
    if pars.status in (Status.ACCEPTED, Status.SENT) and current is not None \
            and (pars.status == Status.SENT or uploaded(current)):
        passed = (f"PARS accepted it and passes it on to {board}" if pars.status == Status.ACCEPTED
                  else f"Uploaded to PARS for {board}")
        return DestinationStatus(name, Status.BOARD_NOT_SEEN, (
            f"{passed}. This portal does not see {board}'s decision on credit uploaded in a "
            f"file: check your account on {board}'s website, or ask CME support (staff see the "
            "board's answer in PARS)."), on=pars.on)
    if pars.status == Status.ACCEPTED and current is not None:
        decision = next((s for s in current.board_statuses if s.board == board), None)
        if decision is not None and decision.status == BoardDecision.ACCEPTED:
            return DestinationStatus(name, Status.BOARD_ACCEPTED,
                                     f"{board} accepted the credit for your certification.",
                                     on=_date(decision.updated_at))
        if decision is not None and decision.status == BoardDecision.REJECTED:
            return DestinationStatus(
                name, Status.BOARD_REJECTED,
                f"{board} did not accept the record" + (f": {decision.message}" if
                                                        decision.message else "."),
                on=_date(decision.updated_at),
                action="Check your board ID and birth month and day on your profile (if your "
                       "name differs from the board's, contact CME support); once corrected, the "
                       "record is removed from PARS and reported again, while PARS still accepts "
                       "credit for that year.", fix_on_profile=True)
        return _board_pending(name, board, current, rules, pars.on)
    if pars.status in (Status.QUEUED, Status.VERIFYING, Status.IN_BATCH, Status.CORRECTING,
                       Status.HELD, Status.FAILED):
        return DestinationStatus(name, pars.status, f"Goes to {board} through PARS. "
                                 + pars.text, on=pars.on, deadline=deadline)
    # Blocked, rejected or removed: the board gets nothing until PARS does.
    return DestinationStatus(name, pars.status, pars.text, on=pars.on, action=pars.action,
                             fix_on_profile=pars.fix_on_profile,
                             deadline=None if pars.status in _NO_DEADLINE else deadline)


def _board_pending(name: str, board: str, current: Delivery, rules: Rules,
                   accepted_on: dt.date | None) -> DestinationStatus:
    """No decision seen yet: the portal asks PARS for it for ``BOARD_DECISION_DAYS`` after
    PARS accepted the record, and then stops (``pars sync``)."""
    accepted = current.settled_at or current.sent_at
    asks_until = (accepted.date() if accepted else rules.today) \
        + dt.timedelta(days=BOARD_DECISION_DAYS)
    if rules.today <= asks_until:
        return DestinationStatus(name, Status.BOARD_PENDING, (
            f"PARS passed the credit to {board}. Boards usually decide within a day or two; the "
            f"portal asks PARS for {board}'s decision until {readable_date(asks_until)}."),
            on=accepted_on)
    return DestinationStatus(name, Status.BOARD_PENDING, (
        f"PARS passed the credit to {board}. No decision from {board} reached the portal by "
        f"{readable_date(asks_until)}, {BOARD_DECISION_DAYS} days after PARS accepted it, when "
        "the portal stopped asking PARS, so this status no longer changes."), on=accepted_on,
        action=f"Check your account on {board}'s website, or ask CME support: staff can see "
               f"{board}'s answer in PARS.")


#: Statuses for which a board deadline means nothing to the physician.
_NO_DEADLINE = frozenset({Status.BEFORE_START, Status.NOT_PHYSICIAN, Status.NO_CREDIT,
                          Status.YEAR_CLOSED,
                          Status.REMOVED, Status.RESOLVED})
