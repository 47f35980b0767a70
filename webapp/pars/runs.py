"""Engine runs: who is working, whether they are still alive, how they ended.

A run's claims are stale once the run is known to be gone: it finished (any
outcome but ``running``), its process no longer exists on this host, or it
has not sent a heartbeat for ``PARS_STALE_RUN_SECONDS``. Stale claims are
settled by status look-up, never simply sent again.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import EngineRun, RunKind, RunOutcome

RUNNING = RunOutcome.RUNNING
HOST = socket.gethostname()[:255]


def start(session: Session, kind: RunKind) -> int:
    now = utcnow()
    run = EngineRun(kind=kind, host=HOST, pid=os.getpid(), heartbeat_at=now, outcome=RUNNING)
    session.add(run)
    session.commit()
    return run.id


class RunTakenOver(RuntimeError):
    """Another run declared this one dead (it was silent too long); it must stop now."""


def heartbeat(session: Session, run_id: int) -> None:
    """Refresh the run's heartbeat inside the caller's transaction.

    A run that was declared dead (silent for longer than ``PARS_STALE_RUN_SECONDS``)
    stops here rather than claim more: its claims are being settled by another run.
    """
    alive = session.scalar(update(EngineRun).where(EngineRun.id == run_id,
                                                   EngineRun.outcome == RUNNING)
                           .values(heartbeat_at=utcnow()).returning(EngineRun.id))
    if alive is None:
        raise RunTakenOver(f"run {run_id} was declared dead by another run; stopping")


def finish(session: Session, run_id: int, outcome: RunOutcome, summary: dict[str, Any] | None,
           message: str | None) -> None:
    session.execute(update(EngineRun).where(EngineRun.id == run_id).values(
        outcome=outcome, summary=summary, message=message, finished_at=utcnow(),
        heartbeat_at=utcnow()))
    session.commit()


def _process_gone(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


def reap(session: Session, stale_after: float, me: int | None) -> list[int]:
    """Mark runs that are gone as ended, inside the caller's transaction; their IDs."""
    cutoff = utcnow() - dt.timedelta(seconds=stale_after)
    dead = []
    for run in session.scalars(
        select(EngineRun).where(EngineRun.outcome == RUNNING, EngineRun.id != (me or 0))
    ):
        silent = run.heartbeat_at is None or run.heartbeat_at < cutoff
        if silent or (run.host == HOST and _process_gone(run.pid)):
            run.outcome = RunOutcome.FAILED
            run.finished_at = utcnow()
            run.message = ("ended without finishing (no heartbeat)" if silent
                           else "ended without finishing (its process is gone)")
            dead.append(run.id)
    session.flush()
    return dead
