"""``pars status``: where every record stands, what is late, and how the last runs went."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from webapp.models import (
    UNDELIVERED,
    Action,
    BoardDecision,
    BoardStatus,
    Delivery,
    DeliveryState,
    EngineRun,
    RunKind,
)

S = DeliveryState
NEAR_DAYS = 7

#: What a run's summary counts mean, in the order they are shown, for each kind of run.
SUMMARY_WORDS: dict[RunKind, tuple[tuple[str, str], ...]] = {
    RunKind.TRANSMIT: (("accepted", "accepted"), ("rejected", "rejected"), ("failed", "failed"),
                       ("unknown_left", "outcome unknown"), ("due_left", "still due"),
                       ("waiting", "held back"), ("corrections", "corrections queued")),
    RunKind.SYNC: (("accepted", "confirmed"), ("queued", "to be sent again"),
                   ("rejected", "rejected"), ("failed", "failed"),
                   ("boards_checked", "checked for board decisions"),
                   ("boards_board_changes", "board decisions updated")),
    RunKind.EXPORT: (("exported", "exported"), ("files", "file(s)")),
}


def run_summary(run: EngineRun) -> str:
    """The run's counts in one line, e.g. ``118 accepted, 2 rejected``; then its message."""
    counts: dict[str, Any] = run.summary or {}
    parts = [f"{counts[key]} {words}" for key, words in SUMMARY_WORDS.get(RunKind(run.kind), ())
             if isinstance(counts.get(key), int) and counts[key]]
    text = ", ".join(parts)
    if run.message:
        text = f"{text}: {run.message}" if text else run.message
    return text


def deadline_filter(today: dt.date, near_days: int = NEAR_DAYS) -> tuple[ColumnElement[bool], ...]:
    """Records not yet in PARS (waiting ones included) whose due date is past or within
    ``near_days``: what ``pars status`` counts and the staff dashboard lists."""
    return (Delivery.state.in_(UNDELIVERED),
            Delivery.due_date <= today + dt.timedelta(days=near_days))


def deadline_records(today: dt.date) -> Select[Any]:
    """The records of ``deadline_filter``, most urgent first."""
    return (select(Delivery).where(*deadline_filter(today))
            .order_by(Delivery.due_date, Delivery.id))


@dataclass
class StatusReport:
    today: dt.date
    by_state: dict[tuple[str, str], int] = field(default_factory=dict)
    overdue: dict[str, int] = field(default_factory=dict)
    near: dict[str, int] = field(default_factory=dict)
    #: Certifying boards' decisions on reported records, by decision.
    boards: dict[str, int] = field(default_factory=dict)
    last_runs: list[EngineRun] = field(default_factory=list)

    @property
    def attention(self) -> int:
        return sum(n for (state, _), n in self.by_state.items() if S(state).needs_attention)

    def lines(self) -> list[str]:
        out = [f"PARS delivery status on {self.today}"]
        if not self.by_state:
            out.append("  no delivery records yet")
        for state in S:
            adds = self.by_state.get((state.value, Action.ADD.value), 0)
            deletes = self.by_state.get((state.value, Action.DELETE.value), 0)
            if adds or deletes:
                extra = f" (+{deletes} removals)" if deletes else ""
                out.append(f"  {state.value:<10} {adds:>8}{extra}")
        out.append(f"needing attention: {self.attention}")
        for title, counts in (("past their deadline", self.overdue),
                              (f"due within {NEAR_DAYS} days", self.near)):
            total = sum(counts.values())
            detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            out.append(f"{title}: {total}" + (f" ({detail})" if detail else ""))
        if self.boards:
            out.append("board decisions: " + ", ".join(
                f"{n} {decision}" for decision, n in sorted(self.boards.items())))
        if not self.last_runs:
            out.append("last run: none yet")
        for run in self.last_runs:
            finished = run.finished_at.strftime("%Y-%m-%d %H:%M UTC") if run.finished_at else "-"
            started = run.started_at.strftime("%Y-%m-%d %H:%M UTC")
            line = (f"last {run.kind}: run {run.id}, started {started}, finished {finished}, "
                    f"{run.outcome}")
            summary = run_summary(run)
            if summary:
                line += f": {summary}"
            out.append(line)
        return out


def status(session: Session, today: dt.date | None = None) -> StatusReport:
    today = today or dt.date.today()
    report = StatusReport(today)
    for state, action, n in session.execute(
        select(Delivery.state, Delivery.action, func.count()).group_by(Delivery.state,
                                                                       Delivery.action)
    ):
        report.by_state[(S(state).value, Action(action).value)] = n
    for bucket, criteria in (
        (report.overdue, Delivery.due_date < today),
        (report.near, Delivery.due_date >= today),
    ):
        for state, n in session.execute(
            select(Delivery.state, func.count()).where(*deadline_filter(today), criteria)
            .group_by(Delivery.state)
        ):
            bucket[S(state).value] = n
    for decision, n in session.execute(
        select(BoardStatus.status, func.count()).group_by(BoardStatus.status)
    ):
        report.boards[BoardDecision(decision).value] = n
    kinds = session.scalars(select(EngineRun.kind).distinct()).all()
    for kind in sorted(kinds):
        run = session.scalar(select(EngineRun).where(EngineRun.kind == kind)
                             .order_by(EngineRun.id.desc()).limit(1))
        if run is not None:
            report.last_runs.append(run)
    return report
