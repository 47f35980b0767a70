"""The physician's transcript: completions, totals, and each credit's delivery status.

Everything a page needs is loaded in a fixed number of queries, however many
credits the physician has; statuses are worked out in memory from the outbox
rows and the eligibility rules the engine applies.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from webapp.boards import board as board_entry
from webapp.dates import readable_date
from webapp.models import (
    Action,
    BatchKind,
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

_IDENTIFIER_WORDS = {
    Blocker.MISSING_BIRTH_DATE: "birth month and day",
    Blocker.MISSING_LICENSE_OR_NPI: "NPI or a state license",
    Blocker.MISSING_BOARD_ID: "board ID",
}


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
    #: Board deadline shown with queued and waiting credit.
    deadline: dt.date | None = None

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

    def matches(self, completion: Completion) -> bool:
        if self.date_from and completion.completion_date < self.date_from:
            return False
        if self.date_to and completion.completion_date > self.date_to:
            return False
        if self.credit_type == "AMA":
            return completion.cme_credits > 0
        if self.credit_type:
            return self.credit_type in completion.boards
        return True

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
    ama_total: Decimal = Decimal(0)
    #: board -> credit type -> total.
    board_totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def board_sums(self) -> dict[str, Decimal]:
        return {b: sum(t.values(), Decimal(0)) for b, t in self.board_totals.items()}

    @property
    def only_before_reporting(self) -> bool:
        return bool(self.rows) and all(r.pars.status == Status.BEFORE_START for r in self.rows)


def load_completions(session: Session, learner_id: int) -> list[Completion]:
    """All of a learner's completions with what their statuses need, newest first."""
    return list(session.execute(
        select(Completion)
        .where(Completion.learner_id == learner_id)
        .options(
            joinedload(Completion.activity),
            selectinload(Completion.board_credits),
            selectinload(Completion.deliveries).selectinload(Delivery.board_statuses),
            selectinload(Completion.deliveries).joinedload(Delivery.batch),
        )
        .order_by(Completion.completion_date.desc(), Completion.id.desc())
    ).scalars())


def load_learner(session: Session, learner_id: int) -> Learner:
    return session.execute(
        select(Learner)
        .where(Learner.id == learner_id)
        .options(selectinload(Learner.licenses), selectinload(Learner.board_certifications))
    ).scalar_one()


def build(session: Session, learner_id: int, rules: Rules, filters: Filters | None = None,
          frequency: str = "on the regular schedule") -> Transcript:
    filters = filters or Filters()
    learner = load_learner(session, learner_id)
    completions = load_completions(session, learner_id)
    transcript = Transcript(learner=learner, rows=[], filters=filters,
                            total_count=len(completions))
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for completion in completions:
        if not filters.matches(completion):
            continue
        transcript.rows.append(credit_row(completion, learner, rules, frequency))
        transcript.ama_total += completion.cme_credits
        for line in completion.board_credits:
            totals[line.board][line.credit_type] += line.credits
    transcript.board_totals = {b: dict(t) for b, t in sorted(totals.items())}
    return transcript


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
    boards = [board_status(completion, learner, rules, board, current, pars)
              for board in completion.boards]
    return CreditRow(completion, pars, boards)


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
            f"Earned before {rules.reporting_start:%B %-d, %Y}, when reporting to PARS began. "
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
            f"{closed:%B %-d, %Y}. It stays on this transcript, which you can download."),
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
        return DestinationStatus(name, Status.BOARD_PENDING, (
            f"PARS passed the credit to {board}. Boards usually decide within a day or two."),
            on=pars.on)
    if pars.status in (Status.QUEUED, Status.VERIFYING, Status.IN_BATCH, Status.CORRECTING,
                       Status.HELD, Status.FAILED):
        return DestinationStatus(name, pars.status, f"Goes to {board} through PARS. "
                                 + pars.text, on=pars.on, deadline=deadline)
    # Blocked, rejected or removed: the board gets nothing until PARS does.
    return DestinationStatus(name, pars.status, pars.text, on=pars.on, action=pars.action,
                             fix_on_profile=pars.fix_on_profile,
                             deadline=None if pars.status in _NO_DEADLINE else deadline)


#: Statuses for which a board deadline means nothing to the physician.
_NO_DEADLINE = frozenset({Status.BEFORE_START, Status.NOT_PHYSICIAN, Status.NO_CREDIT,
                          Status.YEAR_CLOSED,
                          Status.REMOVED, Status.RESOLVED})
