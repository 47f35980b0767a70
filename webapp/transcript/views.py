"""The physician's transcript, one credit's timeline, and the CSV and PDF downloads."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
)
from flask_login import current_user
from sqlalchemy import select

from webapp import dates
from webapp.auth.access import physician_required
from webapp.extensions import db_session
from webapp.models import Learner
from webapp.pars import policy as pars_policy
from webapp.transcript import documents, services
from webapp.transcript.forms import FilterForm

bp = Blueprint("transcript", __name__)
# The date filters serve every template (staff, consent, support), registered with the app.
bp.record_once(lambda state: dates.init_app(state.app))

#: Said when a download is asked for with filters that do not hold.
REFUSED = ("The transcript was not made: {errors} Go back to your transcript, correct the "
           "filter and download again.")


def _filters() -> tuple[FilterForm, services.Filters | None, bool]:
    """The filter form, the filters (None when they do not hold), and whether the learner
    is a physician."""
    session = db_session()
    degree = session.scalar(select(Learner.degree).where(Learner.id == current_user.learner_id))
    physician = pars_policy.from_app().rules.is_physician(degree or "")
    form = FilterForm(request.args, boards=services.boards_on_record(session, current_user.learner_id),
                      physician=physician)
    filter_args = {"date_from", "date_to", "credit_type"} & set(request.args)
    if not filter_args:
        return form, services.Filters(), physician
    if not form.validate():
        return form, None, physician
    return form, services.Filters(form.date_from.data, form.date_to.data,
                                  form.credit_type.data or ""), physician


def _errors(form: FilterForm) -> str:
    return " ".join(f"{form[name].label.text}: {message}" for name, messages in form.errors.items()
                    for message in messages)


def _refused(form: FilterForm) -> Response:
    # Plain text: a download link has no page to come back to, and nothing pretends to be filtered.
    return Response(REFUSED.format(errors=_errors(form)) + "\n", 400, mimetype="text/plain")


def _transcript(filters: services.Filters, page: int | None = None) -> services.Transcript:
    """One page of the transcript; without ``page``, only its totals (for the downloads)."""
    return services.build(
        db_session(), current_user.learner_id, pars_policy.from_app().rules, filters,
        frequency=current_app.config["SUBMISSION_FREQUENCY"], page=page or 1,
        page_size=current_app.config["TRANSCRIPT_PAGE_SIZE"], with_rows=page is not None,
    )


@bp.get("/transcript")
@physician_required
def index():
    form, filters, physician = _filters()
    if filters is None:
        # A range that does not hold lists nothing: no listing pretends to be filtered.
        learner = services.load_learner(db_session(), current_user.learner_id)
        return render_template("transcript/index.html", form=form, transcript=None,
                               learner=learner, physician=physician), 400
    page = request.args.get("page", 1, type=int) or 1
    transcript = _transcript(filters, page)
    return render_template("transcript/index.html", form=form, transcript=transcript,
                           learner=transcript.learner, physician=transcript.physician,
                           query=_filter_query())


def _filter_query() -> dict[str, str]:
    """The filter's arguments, for links that must keep it (pages, downloads)."""
    return {k: v for k, v in request.args.items() if k in ("date_from", "date_to", "credit_type")}


@bp.get("/transcript/credits/<int:completion_id>")
@physician_required
def detail(completion_id: int):
    completion = services.find_credit(db_session(), current_user.learner_id, completion_id)
    if completion is None:
        abort(404)  # another physician's credit looks exactly like a missing one
    learner = services.load_learner(db_session(), current_user.learner_id)
    rules = pars_policy.from_app().rules
    row = services.credit_row(completion, learner, rules,
                              current_app.config["SUBMISSION_FREQUENCY"])
    return render_template("transcript/detail.html", row=row,
                           physician=rules.is_physician(learner.degree),
                           timeline=documents.timeline(completion))


@bp.get("/transcript.csv")
@physician_required
def download_csv():
    form, filters, _ = _filters()
    if filters is None:
        return _refused(form)
    transcript = _transcript(filters)
    rows = services.iter_rows(db_session(), transcript, pars_policy.from_app().rules,
                              current_app.config["SUBMISSION_FREQUENCY"])
    # Read in chunks, sent whole: a long transcript's CSV is a few hundred kilobytes, and the
    # body is complete before the request's database session closes.
    response = Response("".join(documents.csv_lines(transcript, rows)), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment",
                         **documents.download_name(transcript, "csv", _today()))
    return response


@bp.get("/transcript.pdf")
@physician_required
def download_pdf():
    form, filters, _ = _filters()
    if filters is None:
        return _refused(form)
    transcript = _transcript(filters)
    rules = pars_policy.from_app().rules
    rows = services.iter_rows(db_session(), transcript, rules,
                              current_app.config["SUBMISSION_FREQUENCY"])
    pdf = documents.pdf_bytes(transcript, rows, documents.PdfSettings.from_app(), today=_today())
    response = Response(pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment",
                         **documents.download_name(transcript, "pdf", _today()))
    return response


def _today() -> dt.date:
    return pars_policy.from_app().rules.today
