"""Physicians report a missing or wrong credit and read the answer."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.auth.access import physician_required
from webapp.extensions import db, db_session
from webapp.models import Completion, RequestKind
from webapp.support import services
from webapp.support.forms import ReportForm

bp = Blueprint("support", __name__)


def _own_completion(raw: str | None) -> Completion | None:
    if not raw or not raw.isdigit():
        return None
    completion = db.session.get(Completion, int(raw))
    if completion is None or completion.learner_id != current_user.learner_id:
        return None
    return completion


@bp.route("/support", methods=["GET", "POST"])
@physician_required
def index():
    form = ReportForm()
    if request.method == "GET":
        form.completion_id.data = request.args.get("credit", "")
        if form.completion_id.data:
            form.kind.data = RequestKind.WRONG.value
    completion = _own_completion(form.completion_id.data)
    if form.validate_on_submit():
        opened = services.open_request(
            db_session(), learner_id=current_user.learner_id, kind=RequestKind(form.kind.data),
            message=form.message.data, completion_id=completion.id if completion else None,
            actor=current_user.actor,
        )
        db.session.commit()
        flash(f"Thank you. Your report was sent to CME staff with reference {opened.reference}; "
              "their answer appears on this page.", "success")
        return redirect(url_for(".index"))
    status = 422 if form.errors else 200
    return render_template("support/index.html", form=form, completion=completion,
                           requests=services.for_learner(db_session(), current_user.learner_id)
                           ), status
