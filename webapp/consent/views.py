"""The profile: the sharing permission, its history, and the identifiers PARS needs;
and the sharing notice shown after sign-in."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.auth.access import physician_required
from webapp.auth.redirects import safe_next
from webapp.boards import BOARDS
from webapp.consent import notice as notices
from webapp.consent import services, wording
from webapp.consent.forms import SPARE_ROWS, IdentifiersForm, NoticeForm, SharingForm
from webapp.dates import MonthDay
from webapp.db import utcnow
from webapp.extensions import db, db_session
from webapp.models import ConsentSource, Learner
from webapp.models.people import is_physician
from webapp.pars import policy as pars_policy

bp = Blueprint("consent", __name__)


def _learner() -> Learner:
    return db.session.execute(
        select(Learner)
        .where(Learner.id == current_user.learner_id)
        .options(selectinload(Learner.licenses), selectinload(Learner.board_certifications),
                 selectinload(Learner.consent_events), selectinload(Learner.consent_notices))
    ).scalar_one()


def _identifiers_form(learner: Learner) -> IdentifiersForm:
    month, _, day = (learner.birth_month_day or "").partition("-")
    licenses = [{"state": lic.state, "number": lic.number} for lic in learner.licenses]
    primary = learner.primary_license
    boards = [{"board": c.board, "board_id": c.board_id or ""} for c in learner.board_certifications]
    return IdentifiersForm(formdata=None, data={
        "npi": learner.npi or "", "birth_month": month, "birth_day": day,
        "licenses": licenses + [{}] * SPARE_ROWS, "boards": boards + [{}] * SPARE_ROWS,
        "primary_license": str(learner.licenses.index(primary)) if primary else "",
    })


def _permission() -> dict[str, str]:
    return {"text": wording.permission(current_app.config["INSTITUTION_NAME"]),
            "version": wording.VERSION}


def _render(learner: Learner, identifiers: IdentifiersForm | None = None, status: int = 200):
    physician = _physician(learner)
    missing = services.still_missing(db_session(), learner) if physician else ()
    return render_template(
        "consent/profile.html",
        learner=learner,
        permission=_permission(),
        shares=learner.shares(current_app.config["CONSENT_DEFAULT"]),
        chosen=learner.chose_personally,
        sharing=SharingForm(),
        identifiers=identifiers or _identifiers_form(learner),
        history=services.history(learner),
        physician=physician,
        missing_words=services.in_words(missing) if missing else "",
        boards=BOARDS,
        year_close=MonthDay.parse(current_app.config["PARS_YEAR_CLOSE"]),
    ), status


@bp.get("/profile")
@physician_required
def profile():
    return _render(_learner())


def _not_reported(learner: Learner):
    """The answer to a sharing or identifier post from a learner PARS never receives credit
    for: nothing is recorded, and the profile says what applies to them."""
    flash(f"Nothing was saved: your degree is recorded as {learner.degree}, and only physicians' "
          "credit is reported to PARS, so there is no sharing choice or PARS detail to record.",
          "info")
    return redirect(url_for(".profile"))


@bp.post("/profile/sharing")
@physician_required
def sharing():
    learner = _learner()
    if not _physician(learner):
        return _not_reported(learner)
    form = SharingForm()
    if not form.validate():
        flash("Choose whether to share your credit.", "error")
        return redirect(url_for(".profile"))
    granted = form.share.data == "yes"
    if not granted and form.confirmed.data != "yes":
        # Opting out takes a second, informed step.
        return render_template("consent/confirm_opt_out.html", learner=learner,
                               form=SharingForm(formdata=None, share="no", confirmed="yes"),
                               chosen=learner.chose_personally, boards=BOARDS)
    was_sharing = learner.shares(current_app.config["CONSENT_DEFAULT"])
    event = services.set_consent(
        db_session(), learner, granted, source=ConsentSource.PHYSICIAN, actor=current_user.actor,
        policy=pars_policy.from_app(),
        actor_identity_id=current_user.identity.id,
        wording_version=wording.VERSION,
    )
    db.session.commit()
    if event is None:
        flash("You keep sharing, as you chose before; nothing changed." if granted else
              "Your sharing choice was already recorded; nothing changed.", "info")
    elif granted and was_sharing:
        flash("Recorded: you chose to keep sharing your credit with PARS. Nothing else changes; "
              "you can stop sharing at any time.", "success")
    elif granted:
        flash("Thank you: your credit will be shared with PARS, and shows in CME Passport once "
              "PARS matches it to you. Credit that was held back goes with the next submission, "
              "if PARS still accepts it.", "success")
    else:
        flash("You opted out: from now on we send nothing new. Credit already in PARS stays "
              "there. Credit already being sent, or already in a file CME staff are uploading, "
              "may still reach PARS; CME staff can then remove it from PARS.", "success")
    return redirect(url_for(".profile") + "#sharing")


@bp.post("/profile/identifiers")
@physician_required
def identifiers():
    learner = _learner()
    if not _physician(learner):
        return _not_reported(learner)
    form = IdentifiersForm()
    if not form.validate():
        flash("Nothing was saved: please correct the fields marked below.", "error")
        return _render(learner, form, 422)
    change = services.update_identifiers(
        db_session(), learner, npi=form.npi.data or None, birth_month_day=form.birth_month_day,
        licenses=form.license_pairs(), primary_license=form.primary_pair(),
        boards=form.board_pairs(), actor=current_user.actor, policy=pars_policy.from_app(),
    )
    db.session.commit()
    missing = services.still_missing(db_session(), learner)
    still = f"Still missing: {services.in_words(missing)}." if missing else ""
    if change.changed and missing:
        flash(f"Your details were saved. {still} Credit that needs what is missing waits until "
              "you add it; credit that was waiting only for what you added, or that PARS "
              "rejected for a missing or unmatched detail, goes with the next submission.",
              "success")
    elif change.changed:
        flash("Your details were saved, and nothing PARS or your boards match you by is missing "
              "now. Credit that was waiting for them, or that PARS rejected for a missing or "
              "unmatched detail, goes with the next submission.", "success")
    else:
        flash(f"Nothing changed. {still}".strip(), "info")
    return redirect(url_for(".profile") + "#identifiers")


#: In the (signed) session cookie: when this sign-in first showed the notice, and for which
#: learner and wording version.
NOTICE_SHOWN = "sharing_notice_shown"


def _physician(learner: Learner) -> bool:
    """Reported to PARS as a physician (the configured degrees)."""
    return is_physician(learner.degree, current_app.config["PHYSICIAN_DEGREES"])


def _shown_at(learner: Learner) -> dt.datetime | None:
    mark = session.get(NOTICE_SHOWN)
    if not (isinstance(mark, dict) and mark.get("learner") == learner.id
            and mark.get("version") == wording.VERSION):
        return None
    try:
        return dt.datetime.fromisoformat(mark["at"])
    except (KeyError, TypeError, ValueError):
        return None


@bp.get("/sharing-notice")
@physician_required
def notice():
    """The permission and how to opt out, before the transcript (see ``consent.notice``)."""
    next_url = safe_next(request.args.get("next")) or url_for("transcript.index")
    learner = _learner()
    if not _physician(learner):
        return redirect(next_url)  # not reported to PARS: nothing to tell them
    if _shown_at(learner) is None:
        session[NOTICE_SHOWN] = {"learner": learner.id, "version": wording.VERSION,
                                 "at": utcnow().isoformat()}
    return render_template(
        "consent/notice.html", learner=learner, permission=_permission(),
        shares=learner.shares(current_app.config["CONSENT_DEFAULT"]),
        chosen=learner.chose_personally,
        form=NoticeForm(formdata=None, next=next_url),
        change_url=url_for(".profile", _anchor="sharing"),
        year_close=MonthDay.parse(current_app.config["PARS_YEAR_CLOSE"]),
    )


@bp.post("/sharing-notice")
@physician_required
def acknowledge_notice():
    """Continue: the current choice stays; that the notice was shown is recorded."""
    # CSRFProtect refused a post without a valid token before this view ran.
    next_url = safe_next(NoticeForm().next.data) or url_for("transcript.index")
    learner = _learner()
    if _physician(learner):
        notices.acknowledge(
            db_session(), learner, identity_id=current_user.identity.id,
            shown_at=_shown_at(learner), consent_default=current_app.config["CONSENT_DEFAULT"],
            degrees=current_app.config["PHYSICIAN_DEGREES"], actor=current_user.actor,
        )
        db.session.commit()
    session.pop(NOTICE_SHOWN, None)
    return redirect(next_url)
