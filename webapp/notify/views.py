"""The notice preference on the profile, and the signed one-click link in every e-mail.

The link (``/notices/unsubscribe/<token>``) works without signing in: GET shows
what it turns off and a button; POST turns it off. Mail programs that offer
"unsubscribe" POST to the same address by themselves (RFC 8058 one-click,
``List-Unsubscribe-Post``), without a session or CSRF token, so this one
endpoint is exempt from CSRF protection: the signed token in its address, which
only the e-mail's recipient has, is what a forged request cannot supply. It
changes that one preference of that one physician and nothing else.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf

from webapp.auth.access import physician_required, staff_required
from webapp.extensions import csrf, db, db_session
from webapp.models import Learner, NoticeMessage
from webapp.notify import links, services

bp = Blueprint("notify", __name__)


class PreferenceForm(FlaskForm):
    reminders = HiddenField(validators=[AnyOf(["on", "off"])])


class SendAgainForm(FlaskForm):
    """CSRF only: staff confirm a message did not arrive."""


@bp.app_template_global()
def notice_preference_form(learner_id: int) -> dict[str, object]:
    """For the profile's notices section: the current choice and its form."""
    return {"on": services.reminders_on(db_session(), learner_id), "form": PreferenceForm()}


@bp.app_template_global()
def notices_sent_to(learner_id: int) -> dict[str, object]:
    """For the staff console's physician page."""
    session = db_session()
    return {"messages": services.messages_for(session, learner_id),
            "unsent": services.not_sent_for(session, learner_id),
            "labels": services.KIND_LABELS, "send_again": SendAgainForm(),
            "reminders_on": services.reminders_on(session, learner_id)}


@bp.post("/profile/notices")
@physician_required
def preference():
    form = PreferenceForm()
    if not form.validate():
        flash("Choose whether to get these e-mails.", "error")
        return redirect(url_for("consent.profile") + "#notices")
    on = form.reminders.data == "on"
    changed = services.set_reminders(db_session(), current_user.learner_id, on,
                                     actor=current_user.actor)
    db.session.commit()
    if not changed:
        flash("That was already your choice; nothing changed.", "info")
    elif on:
        flash("You will get e-mails about credit waiting for your details and about rejected "
              "records.", "success")
    else:
        flash("You will no longer get e-mails about credit waiting for your details or about "
              "rejected records. Receipts of your sharing choices and answers to your reports "
              "still come.", "success")
    return redirect(url_for("consent.profile") + "#notices")


@bp.route("/notices/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    learner_id = links.learner_of(current_app.config["SECRET_KEY"], token)
    if learner_id is None or db.session.get(Learner, learner_id) is None:
        return render_template("notify/unsubscribe.html", invalid=True), 400
    if request.method == "GET":
        on = services.reminders_on(db_session(), learner_id)
        db.session.commit()
        return render_template("notify/unsubscribe.html", invalid=False, done=not on,
                               token=token)
    services.set_reminders(db_session(), learner_id, False, actor="unsubscribe-link")
    db.session.commit()
    return render_template("notify/unsubscribe.html", invalid=False, done=True, token=token)


@bp.post("/staff/e-mails/<int:message_id>/send-again")
@staff_required
def send_again(message_id: int):
    """An e-mail whose outcome is unknown (or that failed) is sent again only when staff
    decide so, e.g. after the physician said it did not arrive."""
    message = db.get_or_404(NoticeMessage, message_id)
    if message.learner_id is None:
        abort(404)
    if not SendAgainForm().validate():
        abort(400)
    if services.send_again(db_session(), message, actor=current_user.actor):
        db.session.commit()
        flash("The e-mail goes again with the next notify send.", "success")
    else:
        flash("Only an e-mail whose outcome is unknown, or that failed, can be sent again.",
              "error")
    return redirect(url_for("staff.physician", learner_id=message.learner_id) + "#notices")
