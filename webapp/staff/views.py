"""The staff console: dashboard, attention queue, physician look-up, support requests,
and linking by hand a sign-in that matched no learner.

Every page and action requires the staff flag from sign-in; every look-up of a
physician and every action is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from webapp import audit
from webapp.auth import services as auth_services
from webapp.auth.access import staff_required
from webapp.consent import notice as consent_notice
from webapp.consent import services as consent_services
from webapp.consent import wording
from webapp.extensions import db, db_session
from webapp.models import (
    Batch,
    BatchKind,
    BatchState,
    ConsentSource,
    Delivery,
    DeliveryState,
    Identity,
    IdentityLink,
    Learner,
    RequestState,
    SupportRequest,
)
from webapp.pars import excel, outbox
from webapp.pars import policy as pars_policy
from webapp.pars import report as pars_report
from webapp.staff import services
from webapp.staff.forms import (
    ConfirmBatchForm,
    LinkIdentityForm,
    ResolveForm,
    StaffConsentForm,
    StaffIdentifiersForm,
    UnlinkIdentityForm,
    identifiers_data,
)
from webapp.support import services as support_services
from webapp.support.forms import AnswerForm
from webapp.transcript import documents
from webapp.transcript import services as transcript_services

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _page() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.get("/")
@staff_required
def dashboard():
    today = dt.date.today()
    rules = pars_policy.from_app(today).rules
    counts = services.counts_by_state(db_session())
    return render_template(
        "staff/dashboard.html",
        counts=counts,
        deadlines=services.deadlines(db_session(), today, _page()),
        near_days=pars_report.NEAR_DAYS,
        unregistered=services.unregistered_activities(db_session(), rules),
        year_end=services.year_end(db_session(), today, rules),
        runs=services.last_runs(db_session()),
        run_summary=pars_report.run_summary,
        open_requests=services.open_requests_count(db_session()),
        # What the attention page lists, counted from the counts already read.
        attention=sum(counts[state] for state in services.ATTENTION),
        state_labels=services.STATE_LABELS,
        today=today,
    )


@bp.get("/records")
@staff_required
def records():
    """The records in one delivery state: where each count on the dashboard leads."""
    try:
        state = DeliveryState(request.args.get("state", ""))
    except ValueError:
        abort(404)
    return render_template("staff/records.html", state=state,
                           label=services.STATE_LABELS[state],
                           attention=state in services.ATTENTION,
                           page=services.records_in_state(db_session(), state, _page()))


@bp.get("/attention")
@staff_required
def attention():
    return render_template("staff/attention.html",
                           page=services.needs_attention(db_session(), _page()),
                           boards=services.board_rejections(db_session(),
                                                            request.args.get("bpage", 1, type=int)))


DELIVERY_ACTIONS = tuple(outbox.STAFF_ACTIONS)


@bp.post("/deliveries/<int:delivery_id>/<action>")
@staff_required
def delivery_action(delivery_id: int, action: str):
    if action not in DELIVERY_ACTIONS:
        abort(404)
    delivery = db.get_or_404(Delivery, delivery_id)
    try:
        if action == "resolve":
            form = ResolveForm()
            if not form.validate():
                raise outbox.ActionRefused("write what was done before marking it resolved")
            outbox.resolve(db_session(), delivery, current_user.actor, form.note.data or "")
        elif action == "retry":
            outbox.retry(db_session(), delivery, current_user.actor, pars_policy.from_app())
        elif action == "hold":
            outbox.hold(db_session(), delivery, current_user.actor)
        else:
            outbox.release(db_session(), delivery, current_user.actor)
    except outbox.ActionRefused as refused:
        db.session.rollback()
        flash(f"Not done: {refused}.", "error")
    else:
        db.session.commit()
        flash({"retry": "Queued to be sent again.", "hold": "Put on hold.",
               "release": "Released: queued again.", "resolve": "Marked resolved."}[action],
              "success")
    return redirect(url_for(".attention", page=request.form.get("page", 1, type=int)))


@bp.get("/batches")
@staff_required
def batches():
    page = services.batches(db_session(), _page())
    return render_template("staff/batches.html", page=page,
                           refused=services.refused_counts(db_session(),
                                                           [b.id for b in page.items]))


@bp.post("/batches")
@staff_required
def create_batch():
    out = excel.new_batch_path(_batch_dir())
    actor = current_user.actor
    # The export runs in transactions of its own; end this request's first (on SQLite it
    # would otherwise hold the write lock the export needs) and touch no row until it is done.
    db.session.commit()
    try:
        result = excel.export(db.engine, current_app.config, out, actor=actor)
    except excel.ExportRefused as refused:
        flash(f"No batch was made: {refused}.", "error")
        return redirect(url_for(".batches"))
    for note in result.notes:
        flash(f"Template: {note}.", "info")
    made = result.batches
    if not made:
        flash("Nothing is due: no batch was made.", "info")
    elif len(made) == 1:
        flash(f"Batch {made[0].id} holds {made[0].record_count} record(s). Download it, upload "
              "it to PARS, then record PARS's answer here.", "success")
    else:
        flash(f"Batches {made[0].id} to {made[-1].id} hold {result.records} record(s), one file "
              f"each (at most {current_app.config.get('PARS_EXCEL_MAX_ROWS')} rows a file). "
              "Download each, upload it to PARS, then record PARS's answer to it here.",
              "success")
    return redirect(url_for(".batches"))


def _batch_dir() -> Path:
    return Path(current_app.config["BATCH_DIR"])


def _excel_batch_or_404(batch_id: int) -> Batch:
    batch = db.session.get(Batch, batch_id)
    if batch is None or batch.kind != BatchKind.EXCEL:
        abort(404)
    return batch


@bp.get("/batches/<int:batch_id>")
@staff_required
def batch(batch_id: int):
    return _batch_page(_excel_batch_or_404(batch_id), ConfirmBatchForm())


def _batch_page(item: Batch, form: ConfirmBatchForm, status: int = 200):
    rows = excel.data_rows(item)
    return render_template(
        "staff/batch.html", batch=item, form=form, rows=rows,
        downloadable=excel.batch_file(_batch_dir(), item) is not None,
        refused=services.refused_records(db_session(), item.id, _page()),
        state_labels=services.STATE_LABELS,
    ), status


@bp.get("/batches/<int:batch_id>/download")
@staff_required
def download_batch(batch_id: int):
    batch = db.session.get(Batch, batch_id)
    path = excel.batch_file(_batch_dir(), batch) if batch is not None else None
    if batch is None or path is None:
        abort(404)
    audit.record("pars.batch_downloaded", actor=current_user.actor, subject_type="batch",
                 subject_id=batch.id)
    db.session.commit()
    return send_file(path, as_attachment=True, download_name=path.name)


@bp.post("/batches/<int:batch_id>/confirm")
@staff_required
def confirm_batch(batch_id: int):
    """PARS's answer to an uploaded file: the rows it refused (none, or each with its
    message); every other record in the file is accepted today."""
    item = _excel_batch_or_404(batch_id)
    if item.state != BatchState.OPEN:
        flash(f"Not done: batch {batch_id} is {item.state.value} already.", "error")
        return redirect(url_for(".batch", batch_id=batch_id))
    form = ConfirmBatchForm()
    if not form.validate():
        return _batch_page(item, form, 422)
    try:
        refused = excel.parse_refused((form.refused.data or "").splitlines())
        result = excel.confirm_batch(db_session(), batch_id, current_user.actor,
                                     consent_default=current_app.config["CONSENT_DEFAULT"],
                                     refused=refused)
    except excel.ExportRefused as problem:
        db.session.rollback()
        form.refused.errors = [f"Nothing was recorded: {problem}."]
        return _batch_page(db.session.get(Batch, batch_id) or item, form, 422)
    name = item.file_name
    db.session.commit()
    excel.discard_file(_batch_dir(), name)
    message = f"Batch {batch_id}: {result.records} record(s) recorded as accepted by PARS"
    if result.rejected:
        message += (f"; {result.rejected} record(s) rejected (row "
                    f"{', '.join(map(str, sorted(refused)))}), now in Needs attention")
    message += "."
    if result.withdrawn_consent:
        message += (f" {result.withdrawn_consent} of them belong to physicians who withdrew "
                    "permission after the file was written: remove them in PARS.")
    flash(message, "success")
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.post("/batches/<int:batch_id>/cancel")
@staff_required
def cancel_batch(batch_id: int):
    item = _excel_batch_or_404(batch_id)
    name = item.file_name
    try:
        count = excel.cancel_batch(db_session(), batch_id, current_user.actor)
    except excel.ExportRefused as refused:
        db.session.rollback()
        flash(f"Not done: {refused}.", "error")
    else:
        db.session.commit()
        excel.discard_file(_batch_dir(), name)
        flash(f"Batch {batch_id} cancelled: {count} record(s) are queued again.", "success")
    return redirect(url_for(".batches"))


@bp.get("/physicians")
@staff_required
def physicians():
    q = request.args.get("q", "")
    page = services.find_physicians(db_session(), q, _page())
    if q:
        # Searches can name a person; the log keeps only that a search happened and its size.
        audit.record("staff.physician_search", actor=current_user.actor, results=page.total)
        db.session.commit()
    return render_template("staff/physicians.html", q=q, page=page)


@bp.get("/physicians/<int:learner_id>")
@staff_required
def physician(learner_id: int):
    learner = db.get_or_404(Learner, learner_id)
    audit.record("staff.physician_viewed", actor=current_user.actor, subject_type="learner",
                 subject_id=learner.id)
    db.session.commit()
    return _physician_page(learner)


def _transcript(learner: Learner, *, rows: bool = True) -> transcript_services.Transcript:
    """The physician's transcript, a page at a time as they see it (``?page=``)."""
    return transcript_services.build(
        db_session(), learner.id, pars_policy.from_app().rules,
        frequency=current_app.config["SUBMISSION_FREQUENCY"],
        page=request.args.get("page", 1, type=int),
        page_size=current_app.config["TRANSCRIPT_PAGE_SIZE"], with_rows=rows)


def _physician_page(learner: Learner, identifiers: StaffIdentifiersForm | None = None,
                    status: int = 200):
    return render_template(
        "staff/physician.html", learner=learner, transcript=_transcript(learner),
        consent_form=StaffConsentForm(),
        identifiers=identifiers or StaffIdentifiersForm(formdata=None,
                                                        data=identifiers_data(learner)),
        shares=learner.shares(current_app.config["CONSENT_DEFAULT"]),
        history=consent_services.history(learner, for_staff=True),
        wording_version=wording.VERSION,
        notice_shown=next((n for n in reversed(learner.consent_notices)
                           if n.wording_version == wording.VERSION), None),
        notice_pending=consent_notice.needed(
            db_session(), learner, degrees=current_app.config["PHYSICIAN_DEGREES"]),
        requests=support_services.for_learner(db_session(), learner.id),
    ), status


@bp.post("/physicians/<int:learner_id>/identifiers")
@staff_required
def correct_identifiers(learner_id: int):
    """Correct the physician's identifiers on their behalf: validated as their own form,
    saved by the same service (so waiting credit is queued again), audited with the note."""
    learner = db.get_or_404(Learner, learner_id)
    form = StaffIdentifiersForm()
    valid = form.validate()
    if valid and _repeats_an_identifier(form.note.data or "", learner, form):
        form.note.errors = [*form.note.errors,
                            "Leave the identifiers out of the note: it is kept in the audit log, "
                            "which never holds them. Say only how the correction reached you."]
        valid = False
    if not valid:
        flash("Nothing was saved: correct the fields marked below.", "error")
        return _physician_page(learner, form, 422)
    change = consent_services.update_identifiers(
        db_session(), learner, npi=form.npi.data or None, birth_month_day=form.birth_month_day,
        licenses=form.license_pairs(), primary_license=form.primary_pair(),
        boards=form.board_pairs(), actor=current_user.actor, policy=pars_policy.from_app(),
    )
    if change.changed:
        # The note says how the correction reached staff; the values stay out of the log.
        audit.record("staff.identifiers_corrected", actor=current_user.actor,
                     subject_type="learner", subject_id=learner.id,
                     fields=list(change.fields), note=form.note.data)
    db.session.commit()
    if change.changed:
        flash("Saved on the physician's behalf. Credit that was waiting for these details, or "
              "that PARS rejected for a missing or unmatched detail, goes with the next "
              "submission.", "success")
    else:
        flash("These are the details on record already; nothing changed.", "info")
    return redirect(url_for(".physician", learner_id=learner.id) + "#identifiers")


def _compact(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _repeats_an_identifier(note: str, learner: Learner, form: StaffIdentifiersForm) -> bool:
    """Whether the note quotes an NPI, license number or board ID, old or new (spaces and
    dashes aside)."""
    values = {learner.npi, form.npi.data,
              *(lic.number for lic in learner.licenses), *(n for _, n in form.license_pairs()),
              *(c.board_id for c in learner.board_certifications),
              *(b for _, b in form.board_pairs())}
    text = _compact(note)
    return any(len(v) >= 4 and v in text for v in (_compact(x) for x in values if x))


@bp.get("/physicians/<int:learner_id>/transcript.pdf")
@staff_required
def physician_pdf(learner_id: int):
    """The transcript PDF the physician downloads, for staff to send or check."""
    learner = db.get_or_404(Learner, learner_id)
    transcript = _transcript(learner, rows=False)
    rules = pars_policy.from_app().rules
    rows = transcript_services.iter_rows(db_session(), transcript, rules,
                                         current_app.config["SUBMISSION_FREQUENCY"])
    pdf = documents.pdf_bytes(transcript, rows, documents.PdfSettings.from_app(),
                              today=rules.today)
    audit.record("staff.transcript_downloaded", actor=current_user.actor,
                 subject_type="learner", subject_id=learner.id)
    db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment",
                         **documents.download_name(transcript, "pdf", rules.today))
    return response


@bp.get("/physicians/<int:learner_id>/credits/<int:completion_id>")
@staff_required
def physician_credit(learner_id: int, completion_id: int):
    completion = transcript_services.find_credit(db_session(), learner_id, completion_id)
    if completion is None:
        abort(404)
    learner = transcript_services.load_learner(db_session(), learner_id)
    row = transcript_services.credit_row(completion, learner, pars_policy.from_app().rules,
                                         current_app.config["SUBMISSION_FREQUENCY"])
    audit.record("staff.credit_viewed", actor=current_user.actor, subject_type="completion",
                 subject_id=completion.id)
    db.session.commit()
    return render_template("staff/credit.html", learner=learner, row=row,
                           timeline=documents.timeline(completion))


@bp.post("/physicians/<int:learner_id>/consent")
@staff_required
def record_consent(learner_id: int):
    learner = db.get_or_404(Learner, learner_id)
    form = StaffConsentForm()
    if not form.validate():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for(".physician", learner_id=learner.id) + "#consent")
    event = consent_services.set_consent(
        db_session(), learner, form.granted.data == "yes", source=ConsentSource.STAFF,
        policy=pars_policy.from_app(),
        actor=current_user.actor, actor_identity_id=current_user.identity.id,
        wording_version=wording.VERSION, note=form.note.data,
    )
    db.session.commit()
    flash("Recorded." if event else "That was already the physician's choice; nothing changed.",
          "success" if event else "info")
    return redirect(url_for(".physician", learner_id=learner.id) + "#consent")


@bp.get("/requests")
@staff_required
def requests_queue():
    state = RequestState.ANSWERED if request.args.get("state") == "answered" else RequestState.OPEN
    return render_template("staff/requests.html", state=state,
                           page=services.support_queue(db_session(), state, _page()))


@bp.route("/requests/<int:request_id>", methods=["GET", "POST"])
@staff_required
def support_request(request_id: int):
    item = db.get_or_404(SupportRequest, request_id)
    form = AnswerForm()
    if request.method == "POST" and item.answer:
        flash(f"{item.reference} was answered already; the answer stands.", "error")
        return redirect(url_for(".support_request", request_id=item.id))
    if form.validate_on_submit():
        try:
            support_services.answer_request(db_session(), item, answer=form.answer.data or "",
                                            identity_id=current_user.identity.id,
                                            actor=current_user.actor)
        except support_services.AlreadyAnswered:
            db.session.rollback()
            flash(f"{item.reference} was answered already; the answer stands.", "error")
            return redirect(url_for(".support_request", request_id=item.id))
        db.session.commit()
        flash(f"Answer sent for {item.reference}.", "success")
        return redirect(url_for(".requests_queue"))
    if request.method == "GET":
        audit.record("staff.request_viewed", actor=current_user.actor,
                     subject_type="support_request", subject_id=item.id)
        db.session.commit()
    return render_template("staff/request.html", item=item, form=form), (422 if form.errors else 200)


@bp.get("/faq")
@staff_required
def faq_helper():
    """Find the answer to send a physician, with its link ready to copy."""
    from webapp.faq import services as faq_services
    from webapp.faq.search import MAX_QUERY

    query = request.args.get("q", "").strip()[:MAX_QUERY]
    library = faq_services.library()
    results = library.index.search(query) if query else None
    base = current_app.config["PORTAL_URL"].rstrip("/")
    return render_template("staff/faq.html", query=query, results=results,
                           categories=library.categories,
                           link=lambda slug: base + url_for("faq.question", slug=slug))


# -- Sign-ins that matched no learner: link by hand, unlink ------------------------------


@bp.get("/sign-ins")
@staff_required
def sign_ins():
    """Find a refused sign-in by the support reference the physician was shown."""
    reference = request.args.get("ref", "").strip()
    if reference:
        identity = auth_services.find_refused_identity(reference)
        audit.record("staff.sign_in_search", actor=current_user.actor, found=identity is not None)
        db.session.commit()
        if identity is not None:
            return redirect(url_for(".sign_in_identity", identity_id=identity.id))
        flash("No sign-in that can be linked has that reference. References of sign-ins "
              "refused for another reason (a cancelled or expired sign-in) have nothing to "
              "link: ask the physician to sign in again.", "error")
    return render_template("staff/sign_ins.html", reference=reference)


@bp.get("/sign-ins/<int:identity_id>")
@staff_required
def sign_in_identity(identity_id: int):
    identity = db.get_or_404(Identity, identity_id)
    q = request.args.get("q", "")
    candidates = services.find_physicians(db_session(), q, _page())
    audit.record("staff.identity_viewed", actor=current_user.actor, subject_type="identity",
                 subject_id=identity.id)
    db.session.commit()
    history = db.session.scalars(select(IdentityLink).where(
        IdentityLink.identity_id == identity.id).order_by(IdentityLink.id)).all()
    return render_template("staff/sign_in.html", identity=identity, q=q, page=candidates,
                           history=history, link_form=LinkIdentityForm(),
                           unlink_form=UnlinkIdentityForm(),
                           own=identity.id == current_user.identity.id)


@bp.post("/sign-ins/<int:identity_id>/<action>")
@staff_required
def sign_in_link(identity_id: int, action: str):
    if action not in ("link", "unlink"):
        abort(404)
    identity = db.get_or_404(Identity, identity_id)
    form = LinkIdentityForm() if action == "link" else UnlinkIdentityForm()
    try:
        if identity.id == current_user.identity.id:
            raise auth_services.LinkRefused("another staff member must change your own sign-in")
        if not form.validate():
            raise auth_services.LinkRefused(
                " ".join(e for errors in form.errors.values() for e in errors))
        if isinstance(form, LinkIdentityForm):
            learner = db.get_or_404(Learner, form.learner_id.data or 0)
            auth_services.link_by_hand(identity, learner, actor=current_user.identity,
                                       note=form.note.data or "")
            message = f"Linked to {learner.full_name}: they reach their transcript when they sign in."
        else:
            auth_services.unlink(identity, actor=current_user.identity, note=form.note.data or "")
            message = "Unlinked: this sign-in reaches no transcript now."
    except auth_services.LinkRefused as refused:
        db.session.rollback()
        flash(f"Not done: {refused}", "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for(".sign_in_identity", identity_id=identity_id))
