"""Physicians report a missing or wrong credit, read the answer and reply to it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.auth.access import physician_required
from webapp.extensions import db, db_session
from webapp.models import Completion, RequestKind, SupportRequest
from webapp.support import services
from webapp.support.forms import MAX_MESSAGE, ReplyForm, ReportForm

bp = Blueprint("support", __name__)


def _own_completion(raw: str | None) -> Completion | None:
    if not raw or not raw.isdigit():
        return None
    completion = db.session.get(Completion, int(raw))
    if completion is None or completion.learner_id != current_user.learner_id:
        return None
    return completion


def _page(form: ReportForm, completion: Completion | None, *, status: int = 200,
          reply_to: int | None = None, reply: ReplyForm | None = None):
    """The reports page; ``reply`` (with its errors) is shown under report ``reply_to``."""
    return render_template(
        "support/index.html", form=form, completion=completion,
        requests=services.for_learner(db_session(), current_user.learner_id),
        reply_to=reply_to, reply=reply, blank_reply=ReplyForm(formdata=None),
        max_chars=MAX_MESSAGE,
    ), status


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
    if form.errors:
        flash("Nothing was sent: please correct the fields marked below.", "error")
    return _page(form, completion, status=422 if form.errors else 200)


@bp.post("/support/<int:request_id>/reply")
@physician_required
def reply(request_id: int):
    """Reply to staff's answer on one's own report; it goes back to staff."""
    # CSRFProtect refused a post without a valid token before this view ran.
    item = db.session.get(SupportRequest, request_id)
    if item is None or item.learner_id != current_user.learner_id:
        abort(404)  # someone else's report is not there for this physician
    form = ReplyForm()
    if not form.validate():
        flash(f"Your reply to {item.reference} was not sent: please correct it below.", "error")
        blank = ReportForm(formdata=None)
        return _page(blank, None, status=422, reply_to=item.id, reply=form)
    try:
        services.reply(db_session(), item, message=form.message.data or "",
                       identity_id=current_user.identity.id, actor=current_user.actor)
    except services.CannotReply:
        flash(f"{item.reference} is waiting for CME staff already: you can reply once they "
              "answer. Nothing was sent.", "error")
        return redirect(url_for(".index"))
    db.session.commit()
    flash(f"Your reply was sent to CME staff with {item.reference}; their answer appears here.",
          "success")
    return redirect(url_for(".index", _anchor=f"report-{item.id}"))
