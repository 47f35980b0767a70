"""Sign-in and sign-out pages: validate, call the flow and the services, redirect."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from webapp.auth import flow, provider, services, sessions
from webapp.auth.failures import FailureReason, failure_for
from webapp.auth.redirects import safe_next
from webapp.consent import notice
from webapp.extensions import db, db_session
from webapp.models import EndReason

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

#: Longest ID token kept for signing out at the provider (the column's size).
MAX_ID_TOKEN_HINT = 4096


def _refuse(reason: FailureReason, identity_id: int | None = None):
    """Audit the refusal and show what to do next (nothing else was written)."""
    reference = services.record_failure(reason, identity_id)
    db.session.commit()
    log.info("sign-in refused: %s (support reference %s)", reason, reference)
    failure = failure_for(reason)
    page = render_template("auth/failed.html", failure=failure, reference=reference)
    return page, failure.status


@bp.get("/login")
def login():
    requested = request.args.get("next")
    next_url = safe_next(requested)
    if requested and next_url is None:
        return _refuse(FailureReason.UNSAFE_NEXT)
    if current_user.is_authenticated:
        return redirect(next_url or _landing(current_user.is_staff))
    try:
        target = flow.begin(url_for(".callback", _external=True), next_url)
    except flow.LoginFailed as exc:
        return _refuse(exc.reason)
    return redirect(target)


@bp.get("/login/callback")
def callback():
    try:
        verified = flow.complete(request.args)
        sign_in = services.resolve(
            verified.issuer, verified.claims,
            staff_claim=current_app.config["OIDC_STAFF_CLAIM"],
            staff_value=current_app.config["OIDC_STAFF_VALUE"],
            rules=services.LinkRules.from_config(current_app.config),
        )
    except flow.LoginFailed as exc:
        return _refuse(exc.reason)
    except services.SignInRefused as exc:
        return _refuse(exc.reason, exc.identity_id)
    hint = verified.id_token if len(verified.id_token) <= MAX_ID_TOKEN_HINT else None
    sessions.start(sign_in.identity, is_staff=sign_in.is_staff, id_token=hint)
    services.record_sign_in(sign_in)
    db.session.commit()
    flash("You are signed in.", "success")
    target = verified.next_url or _landing(sign_in.is_staff)
    # A physician sees the sharing permission first: once, and again when its wording changes.
    if notice.needed(db_session(), sign_in.identity.learner,
                     degrees=current_app.config["PHYSICIAN_DEGREES"]):
        target = url_for("consent.notice", next=target)
    return redirect(target)


def _landing(is_staff: bool) -> str:
    """Where a sign-in without a ``next`` lands: staff on the console (their transcript, if
    they have one, is one link away), physicians on their transcript."""
    return url_for("staff.dashboard" if is_staff else "main.index")


@bp.post("/logout")
def logout():
    ended = sessions.end_current(EndReason.LOGOUT)
    target = None
    if ended is not None:
        services.record_sign_out(ended.identity_id)
        target = provider.logout_url(
            id_token_hint=ended.id_token_hint,
            post_logout_redirect_uri=url_for(".signed_out", _external=True),
        )
    db.session.commit()
    # Nothing from the signed-in visit survives: CSRF token, flashes, pending sign-ins.
    session.clear()
    return redirect(target or url_for(".signed_out"))


@bp.get("/signed-out")
def signed_out():
    return render_template("auth/signed_out.html")
