"""The physician's transcript, one credit's timeline, and the CSV and PDF downloads."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from webapp.auth.access import physician_required
from webapp.extensions import db_session
from webapp.pars import policy as pars_policy
from webapp.transcript import documents, services
from webapp.transcript.forms import FilterForm

bp = Blueprint("transcript", __name__)


def _filters() -> tuple[FilterForm, services.Filters]:
    form = FilterForm(request.args)
    if request.args and form.validate():
        return form, services.Filters(form.date_from.data, form.date_to.data,
                                      form.credit_type.data or "")
    return form, services.Filters()


def _transcript(filters: services.Filters) -> services.Transcript:
    return services.build(
        db_session(), current_user.learner_id, pars_policy.from_app().rules, filters,
        frequency=current_app.config["SUBMISSION_FREQUENCY"],
    )


@bp.get("/transcript")
@physician_required
def index():
    form, filters = _filters()
    transcript = _transcript(filters)
    return render_template("transcript/index.html", form=form, transcript=transcript,
                           query=request.query_string.decode())


@bp.get("/transcript/credits/<int:completion_id>")
@physician_required
def detail(completion_id: int):
    completion = services.find_credit(db_session(), current_user.learner_id, completion_id)
    if completion is None:
        abort(404)  # another physician's credit looks exactly like a missing one
    learner = services.load_learner(db_session(), current_user.learner_id)
    row = services.credit_row(completion, learner, pars_policy.from_app().rules,
                              current_app.config["SUBMISSION_FREQUENCY"])
    return render_template("transcript/detail.html", row=row,
                           timeline=documents.timeline(completion))


@bp.get("/transcript.csv")
@physician_required
def download_csv():
    _, filters = _filters()
    transcript = _transcript(filters)
    return Response(
        documents.csv_lines(transcript), mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="cme-transcript.csv"'},
    )


@bp.get("/transcript.pdf")
@physician_required
def download_pdf():
    _, filters = _filters()
    transcript = _transcript(filters)
    pdf = documents.pdf_bytes(transcript, current_app.config["INSTITUTION_NAME"])
    return Response(
        pdf, mimetype="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="cme-transcript.pdf"'},
    )
