"""Server-side sessions.

The session cookie carries only a random token; the database holds its hash,
who it belongs to and when it was last used. Signing out marks the row ended,
so a copy of the cookie taken before sign-out no longer works.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from flask import Flask, current_app, flash, redirect, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.audit import record
from webapp.db import utcnow
from webapp.extensions import db, login_manager
from webapp.models import EndReason, Identity, Learner, UserSession

#: Write ``last_seen_at`` at most this often, so reading pages does not write on every request.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(eq=False)
class SignedInUser:
    """What ``current_user`` is for a signed-in request."""

    session_row: UserSession
    identity: Identity
    is_staff: bool

    is_authenticated = True
    is_active = True
    is_anonymous = False

    @property
    def learner(self) -> Learner | None:
        return self.identity.learner

    @property
    def learner_id(self) -> int | None:
        return self.identity.learner_id

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"identity:{self.identity.id}"

    def get_id(self) -> str:
        return self.session_row.id


def start(identity: Identity, *, is_staff: bool, id_token: str | None = None) -> UserSession:
    """Begin a new session for ``identity``; any previous cookie contents are dropped."""
    end_current(EndReason.REPLACED)
    session.clear()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        id=_hash(token), identity_id=identity.id, is_staff=is_staff,
        created_at=now, last_seen_at=now, id_token_hint=id_token,
    )
    db.session.add(row)
    session["sid"] = token
    return row


def _current_row() -> UserSession | None:
    token = session.get("sid")
    if not isinstance(token, str):
        return None
    return db.session.execute(
        select(UserSession)
        .options(joinedload(UserSession.identity).joinedload(Identity.learner))
        .where(UserSession.id == _hash(token))
    ).scalar_one_or_none()


def end_current(reason: EndReason) -> UserSession | None:
    """Mark the session in the cookie ended and clear the cookie.

    Returns the row this call ended, or None when the cookie named no session
    or one that had already ended (a replayed copy of an old cookie).
    """
    row = _current_row()
    session.pop("sid", None)
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = utcnow()
    row.end_reason = reason
    return row


def _load_user(_request: object) -> SignedInUser | None:
    row = _current_row()
    if row is None:
        session.pop("sid", None)
        return None
    if row.ended_at is not None:
        session.pop("sid", None)
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    absolute = dt.timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    reason: EndReason | None = None
    if now - row.last_seen_at > idle:
        reason = EndReason.IDLE
    elif now - row.created_at > absolute:
        reason = EndReason.EXPIRED
    elif row.identity.disabled_at is not None:
        reason = EndReason.DISABLED
    if reason:
        row.ended_at = now
        row.end_reason = reason
        record("auth.session_ended", actor=f"identity:{row.identity_id}",
               subject_type="identity", subject_id=row.identity_id, reason=reason)
        db.session.commit()
        session.pop("sid", None)
        session["ended"] = reason
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
        db.session.commit()
    return SignedInUser(session_row=row, identity=row.identity, is_staff=row.is_staff)


def _unauthorized():
    """Send people who are not signed in to sign in, and back here afterwards."""
    # Staff searches can name a physician: their query string does not go into the cookie.
    keep_query = request.query_string and not request.path.startswith("/staff")
    target = request.full_path if keep_query else request.path
    if session.get("ended") in (EndReason.IDLE, EndReason.EXPIRED):
        flash("Your session ended. Please sign in again.", "info")
    return redirect(url_for("auth.login", next=target))


def init_app(app: Flask) -> None:
    login_manager.request_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.session_protection = None  # the server-side session row is the protection
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
