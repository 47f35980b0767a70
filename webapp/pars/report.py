"""``pars status``: where every record stands, what is late, and how the last runs went."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.models import (
    UNDELIVERED,
    Action,
    BoardDecision,
    BoardStatus,
    Delivery,
    DeliveryState,
    EngineRun,
)

S = DeliveryState
NEAR_DAYS = 7


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
            if run.summary:
                keys = ("accepted", "rejected", "failed", "queued", "exported")
                parts = [f"{run.summary[k]} {k}" for k in keys if run.summary.get(k)]
                if parts:
                    line += " (" + ", ".join(parts) + ")"
            if run.message:
                line += f": {run.message}"
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
    undelivered = Delivery.state.in_(UNDELIVERED)
    for bucket, criteria in (
        (report.overdue, (Delivery.due_date < today,)),
        (report.near, (Delivery.due_date >= today,
                       Delivery.due_date <= today + dt.timedelta(days=NEAR_DAYS))),
    ):
        for state, n in session.execute(
            select(Delivery.state, func.count()).where(undelivered, *criteria)
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
