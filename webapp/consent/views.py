"""The profile: the sharing permission, its history, and the identifiers PARS needs."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.auth.access import physician_required
from webapp.boards import BOARDS
from webapp.consent import services, wording
from webapp.consent.forms import SPARE_ROWS, IdentifiersForm, SharingForm
from webapp.dates import MonthDay
from webapp.extensions import db, db_session
from webapp.models import ConsentSource, Learner
from webapp.pars import policy as pars_policy

bp = Blueprint("consent", __name__)


def _learner() -> Learner:
    return db.session.execute(
        select(Learner)
        .where(Learner.id == current_user.learner_id)
        .options(selectinload(Learner.licenses), selectinload(Learner.board_certifications),
                 selectinload(Learner.consent_events))
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
    return render_template(
        "consent/profile.html",
        learner=learner,
        permission=_permission(),
        shares=learner.shares(current_app.config["CONSENT_DEFAULT"]),
        chosen=learner.chose_personally,
        sharing=SharingForm(),
        identifiers=identifiers or _identifiers_form(learner),
        history=list(reversed(learner.consent_events)),
        source_words=services.source_words,
        boards=BOARDS,
        year_close=MonthDay.parse(current_app.config["PARS_YEAR_CLOSE"]),
    ), status


@bp.get("/profile")
@physician_required
def profile():
    return _render(_learner())


@bp.post("/profile/sharing")
@physician_required
def sharing():
    learner = _learner()
    form = SharingForm()
    if not form.validate():
        flash("Choose whether to share your credit.", "error")
        return redirect(url_for(".profile"))
    granted = form.share.data == "yes"
    if not granted and form.confirmed.data != "yes":
        # Opting out takes a second, informed step.
        return render_template("consent/confirm_opt_out.html", learner=learner,
                               form=SharingForm(formdata=None, share="no", confirmed="yes"),
                               boards=BOARDS)
    event = services.set_consent(
        db_session(), learner, granted, source=ConsentSource.PHYSICIAN, actor=current_user.actor,
        policy=pars_policy.from_app(),
        actor_identity_id=current_user.identity.id,
        wording_version=wording.VERSION,
    )
    db.session.commit()
    if event is None:
        flash("Your sharing choice was already recorded; nothing changed.", "info")
    elif granted:
        flash("Thank you: your credit will be shared with PARS and CME Passport. Credit that was "
              "held back is sent in the next transmission.", "success")
    else:
        flash("You opted out: from now on your credit is not sent to PARS. Credit already sent "
              "stays there.", "success")
    return redirect(url_for(".profile") + "#sharing")


@bp.post("/profile/identifiers")
@physician_required
def identifiers():
    learner = _learner()
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
    if change.changed:
        flash("Your details were saved. Credit that was waiting for them is sent in the next "
              "transmission.", "success")
    else:
        flash("Nothing changed.", "info")
    return redirect(url_for(".profile") + "#identifiers")

