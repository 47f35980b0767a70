"""The staff console: access, dashboard, look-up, consent on behalf, reports; all audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from webapp.models import (
    Action,
    AuditEvent,
    ConsentEvent,
    Delivery,
    DeliveryState,
    EngineRun,
    RequestKind,
    SupportRequest,
)
from webapp.support.services import open_request


def staff_urls(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("staff."):
            url = rule.rule
            for arg in rule.arguments:
                url = re.sub(rf"<(?:[a-z]+:)?{arg}>", "1", url)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


def test_every_staff_route_refuses_physicians_and_strangers(app, client, login_as, make):
    routes = list(staff_urls(app))
    assert len(routes) >= 8
    for method, url in routes:  # signed out
        response = client.open(url, method=method, data={"csrf_token": client.csrf_token()})
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)
    login_as(make.learner())
    for method, url in routes:
        response = client.open(url, method=method, data={"csrf_token": client.csrf_token()})
        assert response.status_code == 403, (method, url)


def test_staff_posts_need_csrf(client, login_as, make, db_session):
    learner = make.learner()
    login_as(None, staff=True)
    response = client.post(f"/staff/physicians/{learner.id}/consent",
                           data={"granted": "no", "note": "form"}, csrf=False)
    assert response.status_code == 400
    assert db_session.scalars(select(ConsentEvent)).all() == []


def delivery(db_session, completion, state, due, **kw):
    d = Delivery(completion=completion, action=Action.ADD, credit_id=f"ccid:0001234:{completion.id}",
                 state=state, due_date=due, has_board_credit=True, **kw)
    db_session.add(d)
    db_session.flush()
    return d


def test_dashboard_counts_deadlines_and_runs(client, login_as, make, db_session):
    today = dt.date.today()
    surgeon = make.learner(first_name="Morgan", last_name="Hale")
    near = make.completion(surgeon, make.activity(title="Trauma Rounds"),
                           date=today - dt.timedelta(days=26),
                           board_lines=[("ABS", "Accredited CME", "1")])
    late = make.completion(surgeon, make.activity(title="Late Course"),
                           date=today - dt.timedelta(days=40),
                           board_lines=[("ABS", "Accredited CME", "1")])
    far = make.completion(surgeon, make.activity(title="Far Course"), date=today,
                          board_lines=[("ABS", "Accredited CME", "1")])
    delivery(db_session, near, DeliveryState.QUEUED, today + dt.timedelta(days=4))
    delivery(db_session, late, DeliveryState.REJECTED, today - dt.timedelta(days=10),
             error_code="LEARNER_NOT_MATCHED")
    delivery(db_session, far, DeliveryState.QUEUED, today + dt.timedelta(days=30))
    db_session.add(EngineRun(kind="transmit", outcome="attention", message="1 rejected",
                             finished_at=dt.datetime.now(dt.UTC)))
    db_session.flush()
    login_as(None, staff=True)
    html = client.get("/staff/").get_data(as_text=True)
    assert "Trauma Rounds" in html and "Late Course" in html and "Far Course" not in html
    assert html.index("Late Course") < html.index("Trauma Rounds")  # most urgent first
    assert "10 day(s) late" in html
    assert "1 rejected" in html and "attention" in html
    assert "1</strong> record(s) need attention" in html
    attention = client.get("/staff/attention").get_data(as_text=True)
    assert "Late Course" in attention and "Physician: fix an identifier" in attention


@pytest.mark.parametrize("query", ["hale", "Morgan Hale", "morgan.h@example.org", "NPI", "L-ID"])
def test_look_up_by_name_email_npi_or_learner_id(client, login_as, make, db_session, query):
    learner = make.learner(first_name="Morgan", last_name="Hale", email="morgan.h@example.org",
                           source_id="L-HALE-1")
    make.learner(first_name="Other", last_name="Person")
    q = {"NPI": learner.npi, "L-ID": "l-hale-1"}.get(query, query)
    identity = login_as(None, staff=True)
    html = client.get("/staff/physicians", query_string={"q": q}).get_data(as_text=True)
    assert "Morgan Hale" in html and "Other Person" not in html
    audit = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "staff.physician_search")).one()
    assert audit.actor == f"identity:{identity.id}" and audit.details == {"results": 1}
    assert learner.npi not in str(audit.details)


def test_physician_page_shows_what_the_physician_sees_and_is_audited(client, login_as, make,
                                                                     db_session):
    learner = make.learner(birth_month_day=None)
    completion = make.completion(learner, make.activity(title="Sepsis Update"))
    identity = login_as(None, staff=True)
    html = client.get(f"/staff/physicians/{learner.id}").get_data(as_text=True)
    assert "Sepsis Update" in html and "Waiting for your details" in html
    assert "birth month and day" in html
    detail = client.get(f"/staff/physicians/{learner.id}/credits/{completion.id}")
    assert detail.status_code == 200 and "Timeline" in detail.get_data(as_text=True)
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.actor == f"identity:{identity.id}").order_by(AuditEvent.id)).all()
    assert actions == ["staff.physician_viewed", "staff.credit_viewed"]
    other = make.completion(make.learner())
    assert client.get(f"/staff/physicians/{learner.id}/credits/{other.id}").status_code == 404


def test_staff_records_consent_on_behalf(client, login_as, make, db_session):
    learner = make.learner()
    identity = login_as(None, staff=True)
    bad = client.post(f"/staff/physicians/{learner.id}/consent", data={"granted": "no"})
    assert bad.status_code == 302
    assert db_session.scalars(select(ConsentEvent)).all() == []
    client.post(f"/staff/physicians/{learner.id}/consent",
                data={"granted": "no", "note": "Signed form received 2026-11-20"})
    event = db_session.scalars(select(ConsentEvent)).one()
    assert (event.granted, event.source, event.actor_identity_id) == (False, "staff", identity.id)
    assert event.note == "Signed form received 2026-11-20"
    db_session.expire_all()
    assert learner.consent_granted is False and learner.consent_source == "staff"
    audit = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "consent.withdrawn")).one()
    assert audit.actor == f"identity:{identity.id}" and audit.details["source"] == "staff"
    html = client.get(f"/staff/physicians/{learner.id}").get_data(as_text=True)
    assert "CME staff, on your behalf" in html


def test_staff_answer_physician_reports(client, login_as, make, db_session):
    learner = make.learner(first_name="Ana", last_name="Diaz")
    item = open_request(db_session, learner_id=learner.id, kind=RequestKind.MISSING,
                        message="Missing my November course", completion_id=None, actor="t")
    identity = login_as(None, staff=True)
    queue = client.get("/staff/requests").get_data(as_text=True)
    assert item.reference in queue and "Ana Diaz" in queue
    empty = client.post(f"/staff/requests/{item.id}", data={"answer": ""})
    assert empty.status_code == 422
    client.post(f"/staff/requests/{item.id}", data={"answer": "Added; it is on your transcript."})
    db_session.expire_all()
    saved = db_session.get(SupportRequest, item.id)
    assert saved.state == "answered" and saved.answered_by_identity_id == identity.id
    client.get("/staff/requests")  # shows the flash message naming the reference
    assert item.reference not in client.get("/staff/requests").get_data(as_text=True)
    assert item.reference in client.get("/staff/requests?state=answered").get_data(as_text=True)


def test_faq_helper_finds_answers_with_links(client, login_as, app):
    login_as(None, staff=True)
    html = client.get("/staff/faq?q=opt+out").get_data(as_text=True)
    assert app.config["PORTAL_URL"].rstrip("/") + "/faq/opting-out" in html


def test_dashboard_query_count_does_not_grow_with_records(client, login_as, make, db_session):
    from flask_sqlalchemy.record_queries import get_recorded_queries

    today = dt.date.today()
    learner = make.learner()
    login_as(None, staff=True)

    def queries():
        before = len(get_recorded_queries())
        assert client.get("/staff/").status_code == 200
        return len(get_recorded_queries()) - before

    def add(n):
        for i in range(n):
            c = make.completion(learner, date=today - dt.timedelta(days=i + 1),
                                board_lines=[("ABS", "Accredited CME", "1")])
            db_session.add(Delivery(completion=c, action=Action.ADD, credit_id=f"ccid:x:{c.id}",
                                    state=DeliveryState.QUEUED, due_date=today,
                                    has_board_credit=True))
        db_session.flush()

    add(2)
    few = queries()
    add(20)
    assert queries() == few


def _recorded(client, url: str) -> int:
    from flask_sqlalchemy.record_queries import get_recorded_queries

    before = len(get_recorded_queries())
    assert client.get(url).status_code == 200
    return len(get_recorded_queries()) - before


def test_records_page_query_count_does_not_grow_with_records(client, login_as, make,
                                                             db_session):
    today = dt.date.today()
    login_as(None, staff=True)
    url = f"/staff/records?state={DeliveryState.QUEUED.value}"

    def add(n):
        for i in range(n):
            learner = make.learner()
            c = make.completion(learner, date=today - dt.timedelta(days=i + 1))
            db_session.add(Delivery(completion=c, action=Action.ADD, credit_id=f"ccid:r:{c.id}",
                                    state=DeliveryState.QUEUED, due_date=today))
        db_session.flush()
        db_session.expire_all()

    add(2)
    few = _recorded(client, url)
    add(15)
    assert _recorded(client, url) == few


def test_physician_page_query_count_does_not_grow_with_credits_reports_or_mails(
        client, login_as, make, db_session):
    from webapp.models import MessageState, Notice, NoticeMessage
    from webapp.models.notify import NoticeKind, NoticeState

    today = dt.date.today()
    learner = make.learner()
    login_as(None, staff=True)
    url = f"/staff/physicians/{learner.id}"

    def add(n):
        for i in range(n):
            c = make.completion(learner, date=today - dt.timedelta(days=i + 1),
                                board_lines=[("ABS", "Accredited CME", "1")])
            db_session.add(Delivery(completion=c, action=Action.ADD, credit_id=f"ccid:p:{c.id}",
                                    state=DeliveryState.QUEUED, due_date=today,
                                    has_board_credit=True))
            report = open_request(db_session, learner_id=learner.id, kind=RequestKind.WRONG,
                                  message=f"report {c.id}", completion_id=c.id, actor="test")
            assert report is not None
            message = NoticeMessage(recipient=f"learner:{learner.id}", learner_id=learner.id,
                                    day=today - dt.timedelta(days=c.id), to_address=learner.email,
                                    subject=f"s{c.id}",
                                    text_body="t", html_body="h", message_id=f"<{c.id}@x>",
                                    state=MessageState.SENT)
            db_session.add(message)
            db_session.flush()
            db_session.add_all([
                Notice(key=f"consent:{c.id}", learner_id=learner.id,
                       kind=NoticeKind.CONSENT_RECEIPT, facts={}, state=NoticeState.INCLUDED,
                       message_id=message.id),
                Notice(key=f"rejected:{c.id}:1", learner_id=learner.id,
                       kind=NoticeKind.REJECTED, facts={}, state=NoticeState.TURNED_OFF),
            ])
        db_session.flush()
        db_session.expire_all()

    add(2)
    few = _recorded(client, url)
    add(6)
    assert _recorded(client, url) == few
    html = client.get(url).get_data(as_text=True)
    for report in db_session.scalars(select(SupportRequest)
                                     .where(SupportRequest.learner_id == learner.id)):
        assert report.reference in html and f"<td>s{report.completion_id}</td>" in html


def test_attention_page_query_count_does_not_grow_with_records(client, login_as, make,
                                                               db_session):
    from webapp.models import BoardStatus
    from webapp.models.delivery import BoardDecision

    today = dt.date.today()
    login_as(None, staff=True)

    def add(n):
        for i in range(n):
            learner = make.learner()
            failed = make.completion(learner, date=today - dt.timedelta(days=i + 1))
            db_session.add(Delivery(completion=failed, action=Action.ADD,
                                    credit_id=f"ccid:a:{failed.id}", state=DeliveryState.FAILED,
                                    due_date=today, error_code="X", error_message="failed"))
            accepted = make.completion(learner, date=today - dt.timedelta(days=i + 1),
                                       board_lines=[("ABIM", "Medical Knowledge", "1")])
            delivery = Delivery(completion=accepted, action=Action.ADD,
                                credit_id=f"ccid:b:{accepted.id}", state=DeliveryState.ACCEPTED,
                                due_date=today, has_board_credit=True)
            db_session.add(delivery)
            db_session.flush()
            db_session.add(BoardStatus(delivery_id=delivery.id, board="ABIM",
                                       status=BoardDecision.REJECTED, message="no match"))
        db_session.flush()
        db_session.expire_all()

    add(2)
    few = _recorded(client, "/staff/attention")
    add(12)
    assert _recorded(client, "/staff/attention") == few
    html = client.get("/staff/attention").get_data(as_text=True)
    assert html.count("ABIM: no match") == 14 and html.count("Retry now") >= 14


def test_dashboard_counts_records_needing_attention_without_loading_them(client, login_as,
                                                                         make, db_session,
                                                                         monkeypatch):
    from webapp.staff import services

    today = dt.date.today()
    learner = make.learner()
    for state in (DeliveryState.FAILED, DeliveryState.HELD, DeliveryState.REJECTED,
                  DeliveryState.QUEUED):
        c = make.completion(learner, date=today - dt.timedelta(days=1))
        db_session.add(Delivery(completion=c, action=Action.ADD, credit_id=f"ccid:d:{c.id}",
                                state=state, due_date=today))
    db_session.flush()
    login_as(None, staff=True)

    def loaded(*args, **kwargs):
        raise AssertionError("the dashboard needs only the count")

    monkeypatch.setattr(services, "needs_attention", loaded)
    html = client.get("/staff/").get_data(as_text=True)
    assert "<strong>3</strong> record(s) need attention" in html
