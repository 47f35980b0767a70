"""The staff console after issue #15: landing, dashboard links and lists, corrections on a
physician's behalf, the PDF, reports, FAQ links, and an Excel press with nothing due."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.staff.test_actions import own_site  # noqa: F401  (a site on a database of its own)
from webapp.extensions import db
from webapp.models import (
    Action,
    AuditEvent,
    Delivery,
    DeliveryState,
    EngineRun,
    RequestKind,
)
from webapp.pars import outbox
from webapp.pars.eligibility import Rules
from webapp.support.services import open_request

S = DeliveryState
TODAY = dt.date.today()


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def delivery(db_session, completion, state, due, action=Action.ADD, **kw):
    d = Delivery(completion=completion, action=action, state=state, due_date=due,
                 credit_id=f"ccid:0001234:{completion.id}:{action}",
                 has_board_credit=bool(completion.board_credits), **kw)
    db_session.add(d)
    db_session.flush()
    return d


# -- Landing -----------------------------------------------------------------------------


def test_staff_land_on_the_console_after_signing_in(browser, idp, client):
    idp.reset(sub="staff-9", email="office@example.org", email_verified=True,
              groups=["cme-staff"])
    response = browser.sign_in()
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    page = client.get("/staff/")
    assert page.status_code == 200 and "Reporting dashboard" in page.get_data(as_text=True)
    # Signed in already, /login without a next goes to the console too.
    assert client.get("/login").headers["Location"] == "/staff/"


def test_physicians_still_land_on_their_transcript(browser, idp, make, client):
    make.learner(email="someone@example.org")
    response = browser.sign_in()
    # The sharing notice first, then the home page, which leads to the transcript.
    assert response.headers["Location"] in ("/", "/sharing-notice?next=/")
    assert client.get("/").headers["Location"].endswith("/transcript")


# -- Dashboard ---------------------------------------------------------------------------


def test_counts_link_to_the_records_in_that_state(client, login_as, make, db_session):
    learner = make.learner(first_name="Rhea", last_name="Quill")
    queued = make.completion(learner, make.activity(title="Queued Course"))
    waiting = make.completion(learner, make.activity(title="Waiting Course"))
    delivery(db_session, queued, S.QUEUED, days(20))
    delivery(db_session, waiting, S.WAITING, days(20), error_code="missing_birth_date")
    login_as(None, staff=True)
    html = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/records?state=queued"' in html
    assert 'href="/staff/records?state=waiting"' in html
    assert 'href="/staff/records?state=accepted"' not in html  # a zero is not a link
    listed = client.get("/staff/records?state=waiting").get_data(as_text=True)
    assert "Waiting for the physician" in listed and "Waiting Course" in listed
    assert "Queued Course" not in listed and "missing_birth_date" in listed
    assert "Rhea Quill" in listed
    assert client.get("/staff/records?state=nonsense").status_code == 404
    assert client.get("/staff/records").status_code == 404


def test_records_page_sends_attention_states_to_the_attention_queue(client, login_as, make,
                                                                    db_session):
    delivery(db_session, make.completion(make.learner()), S.REJECTED, days(3),
             error_code="LEARNER_NOT_MATCHED")
    login_as(None, staff=True)
    html = client.get("/staff/records?state=rejected").get_data(as_text=True)
    assert 'href="/staff/attention"' in html and "LEARNER_NOT_MATCHED" in html


def test_last_runs_show_the_counts_transmit_and_sync_stored(client, login_as, db_session):
    now = dt.datetime.now(dt.UTC)
    db_session.add_all([
        EngineRun(kind="transmit", outcome="ok", finished_at=now,
                  summary={"accepted": 118, "rejected": 0, "waiting": 3}, message=""),
        EngineRun(kind="sync", outcome="attention", finished_at=now,
                  summary={"accepted": 4, "rejected": 1, "boards_checked": 9,
                           "boards_board_changes": 2},
                  message="records need attention (rejected or failed)"),
    ])
    db_session.flush()
    login_as(None, staff=True)
    html = client.get("/staff/").get_data(as_text=True)
    assert "118 accepted, 3 held back" in html
    assert ("4 confirmed, 1 rejected, 9 checked for board decisions, 2 board decisions updated: "
            "records need attention (rejected or failed)") in html


def deadline_rows(html: str) -> list[str]:
    table = html.split('id="due-h"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", table, re.S)


def test_deadline_list_and_pars_status_show_the_same_records(client, login_as, make, db_session,
                                                            runner):
    learner = make.learner(first_name="Ida", last_name="Bell")
    abim = [("ABIM", "Medical Knowledge", "1")]
    shown = {
        "Waiting Late": (make.completion(learner, make.activity(title="Waiting Late")),
                         S.WAITING, -3),
        "Board Soon": (make.completion(learner, make.activity(title="Board Soon"),
                                       board_lines=abim), S.QUEUED, 5),
        "Rejected Today": (make.completion(learner, make.activity(title="Rejected Today")),
                           S.REJECTED, 0),
        "Held Week": (make.completion(learner, make.activity(title="Held Week")), S.HELD, 7),
    }
    hidden = {
        "Accepted Late": (make.completion(learner, make.activity(title="Accepted Late")),
                          S.ACCEPTED, -10),
        "Queued Later": (make.completion(learner, make.activity(title="Queued Later")),
                         S.QUEUED, 8),
    }
    for completion, state, due in (*shown.values(), *hidden.values()):
        delivery(db_session, completion, state, days(due))
    login_as(None, staff=True)
    html = client.get("/staff/").get_data(as_text=True)
    rows = deadline_rows(html)
    titles = [next(t for t in {**shown, **hidden} if t in row) for row in rows]
    assert titles == ["Waiting Late", "Rejected Today", "Board Soon", "Held Week"]
    assert "3 day(s) late" in rows[0] and "due today" in rows[1]
    assert ">5<" in rows[2] and "ABIM" in rows[2] and ">7<" in rows[3]
    assert "Waiting for the physician" in rows[0]

    out = runner.invoke(args=["pars", "status"]).output
    late = int(re.search(r"past their deadline: (\d+)", out).group(1))
    soon = int(re.search(r"due within 7 days: (\d+)", out).group(1))
    assert (late, soon) == (1, 3)
    assert late + soon == len(rows)
    assert "(1 waiting)" in out


def test_activities_without_an_accme_id_holding_credit_back(client, login_as, make, db_session,
                                                            app):
    rules = Rules.from_config(app.config)
    md, rn = make.learner(), make.learner(degree="RN")
    pending = make.activity(title="Unregistered Grand Rounds", registered=False)
    held = [make.completion(md, pending, date=days(-20), credits="1.50",
                            board_lines=[("ABS", "Accredited CME", "1")]),
            make.completion(make.learner(), pending, date=days(-40), credits="2.00")]
    make.completion(rn, pending, date=days(-2))  # not a physician: never reported
    make.completion(md, make.activity(title="Registered Course"), date=days(-3))
    login_as(None, staff=True)
    html = client.get("/staff/").get_data(as_text=True)
    section = html.split('id="unregistered-h"', 1)[1].split("</section>", 1)[0]
    assert "Registered Course" not in section
    row = re.search(r"<td>Unregistered Grand Rounds</td>(.*?)</tr>", section, re.S).group(1)
    earliest = min(rules.due_date(c) for c in held)
    assert re.findall(r"<td>(.*?)</td>", row)[:2] == ["2", str(Decimal("3.50"))]
    assert earliest.strftime("%B %-d, %Y") in row


def test_no_unregistered_activity_says_so(client, login_as, make):
    make.completion(make.learner())
    login_as(None, staff=True)
    assert "No credit is held back by an unregistered activity." in \
        client.get("/staff/").get_data(as_text=True)


def test_dashboard_queries_stay_constant_with_unregistered_activities(client, login_as, make,
                                                                      db_session):
    from flask_sqlalchemy.record_queries import get_recorded_queries

    learner = make.learner()
    login_as(None, staff=True)

    def queries():
        before = len(get_recorded_queries())
        assert client.get("/staff/").status_code == 200
        return len(get_recorded_queries()) - before

    def add(n):
        for i in range(n):
            c = make.completion(learner, make.activity(registered=False), date=days(-i - 1),
                                board_lines=[("ABS", "Accredited CME", "1")])
            delivery(db_session, make.completion(learner, date=days(-i - 1)), S.WAITING,
                     days(i - 3))
            assert c.id

    add(2)
    few = queries()
    add(15)
    assert queries() == few


# -- The physician page ------------------------------------------------------------------


def identifiers_form(learner, **changes):
    data = {"npi": learner.npi or "", "birth_month": "", "birth_day": "",
            "licenses-0-state": learner.licenses[0].state if learner.licenses else "",
            "licenses-0-number": learner.licenses[0].number if learner.licenses else "",
            "primary_license": "0", "note": "Phone call, ticket 4711"}
    if learner.birth_month_day:
        data["birth_month"], data["birth_day"] = learner.birth_month_day.split("-")
    data.update(changes)
    return data


def records_of(db_session, learner):
    db_session.expire_all()
    return db_session.scalars(select(Delivery).where(Delivery.completion.has(
        learner_id=learner.id)).order_by(Delivery.id)).all()


def test_staff_correct_identifiers_and_waiting_credit_is_queued(client, login_as, make,
                                                               db_session, policy):
    learner = make.learner(birth_month_day=None)
    make.completion(learner)
    outbox.plan(db_session, policy)
    assert [(r.state, r.error_code) for r in records_of(db_session, learner)] == \
        [(S.WAITING, "missing_birth_date")]
    identity = login_as(None, staff=True)
    page = client.get(f"/staff/physicians/{learner.id}").get_data(as_text=True)
    assert 'name="npi"' in page and "How the correction reached you" in page
    response = client.post(f"/staff/physicians/{learner.id}/identifiers",
                           data=identifiers_form(learner, birth_month="05", birth_day="06"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/physicians/{learner.id}#identifiers")
    assert [r.state for r in records_of(db_session, learner)] == [S.QUEUED]
    assert learner.birth_month_day == "05-06"
    updated = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "identifiers.updated")).one()
    assert updated.actor == f"identity:{identity.id}"
    corrected = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "staff.identifiers_corrected")).one()
    assert corrected.actor == f"identity:{identity.id}"
    assert corrected.subject_id == str(learner.id)
    assert corrected.details == {"fields": ["birth_month_day"], "note": "Phone call, ticket 4711"}
    assert "05-06" not in str(corrected.details) and learner.npi not in str(corrected.details)


@pytest.mark.parametrize("change, message", [
    ({"npi": "1234567890"}, "fails its check digit"),
    ({"birth_month": "02", "birth_day": "30"}, "February has no day 30"),
    ({"note": ""}, "Say how you received it"),
])
def test_bad_corrections_say_why_and_change_nothing(client, login_as, make, db_session, change,
                                                    message):
    learner = make.learner()
    before = (learner.npi, learner.birth_month_day)
    login_as(None, staff=True)
    response = client.post(f"/staff/physicians/{learner.id}/identifiers",
                           data=identifiers_form(learner, **change))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db_session.expire_all()
    assert (learner.npi, learner.birth_month_day) == before
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.in_(["identifiers.updated", "staff.identifiers_corrected"]))) == 0


@pytest.mark.parametrize("note", [
    "Phone call: new NPI {new_npi}",
    "Ticket 4711; the old license was {old_license}",
    "Board ID {old_board_id} was a typo",
])
def test_a_note_repeating_an_identifier_is_refused(client, login_as, make, db_session, note):
    """The note goes into the audit log, which never holds identifier values."""
    learner = make.learner()
    make.board(learner, "ABIM", "284913")
    new_npi = "1234567893"
    note = note.format(new_npi=new_npi, old_license=learner.licenses[0].number,
                       old_board_id="284-913")
    login_as(None, staff=True)
    response = client.post(f"/staff/physicians/{learner.id}/identifiers",
                           data=identifiers_form(learner, npi=new_npi, note=note))
    assert response.status_code == 422
    assert "Leave the identifiers out of the note" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.in_(["identifiers.updated", "staff.identifiers_corrected"]))) == 0


def test_identifier_correction_needs_csrf_and_staff(client, login_as, make, db_session):
    learner = make.learner(birth_month_day=None)
    login_as(None, staff=True)
    refused = client.post(f"/staff/physicians/{learner.id}/identifiers", csrf=False,
                          data=identifiers_form(learner, birth_month="05", birth_day="06"))
    assert refused.status_code == 400
    db_session.expire_all()
    assert learner.birth_month_day is None
    login_as(make.learner())  # a physician, for someone else's record
    assert client.post(f"/staff/physicians/{learner.id}/identifiers",
                       data=identifiers_form(learner, birth_month="05",
                                             birth_day="06")).status_code == 403
    db_session.expire_all()
    assert learner.birth_month_day is None


def test_unchanged_identifiers_are_not_audited_as_a_correction(client, login_as, make, db_session):
    learner = make.learner()
    login_as(None, staff=True)
    client.post(f"/staff/physicians/{learner.id}/identifiers", data=identifiers_form(learner))
    page = client.get(f"/staff/physicians/{learner.id}").get_data(as_text=True)
    assert "nothing changed" in page
    assert db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "staff.identifiers_corrected")).all() == []


def test_staff_download_the_physicians_pdf(client, login_as, make, db_session):
    learner = make.learner()
    make.completion(learner, make.activity(title="Sepsis Update"))
    identity = login_as(None, staff=True)
    page = client.get(f"/staff/physicians/{learner.id}").get_data(as_text=True)
    assert f'href="/staff/physicians/{learner.id}/transcript.pdf"' in page
    response = client.get(f"/staff/physicians/{learner.id}/transcript.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]
    audit = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "staff.transcript_downloaded")).one()
    assert (audit.actor, audit.subject_id) == (f"identity:{identity.id}", str(learner.id))
    assert client.get("/staff/physicians/999999/transcript.pdf").status_code == 404
    login_as(learner)
    assert client.get(f"/staff/physicians/{learner.id}/transcript.pdf").status_code == 403


def test_physician_page_lists_their_reports(client, login_as, make, db_session):
    learner = make.learner()
    item = open_request(db_session, learner_id=learner.id, kind=RequestKind.MISSING,
                        message="Missing my course", completion_id=None, actor="t")
    other = open_request(db_session, learner_id=make.learner().id, kind=RequestKind.WRONG,
                         message="Not mine", completion_id=None, actor="t")
    login_as(None, staff=True)
    page = client.get(f"/staff/physicians/{learner.id}").get_data(as_text=True)
    reports = page.split('id="req-h"', 1)[1].split("</section>", 1)[0]
    assert f'href="/staff/requests/{item.id}"' in reports and item.reference in reports
    assert "Missing credit" in reports and other.reference not in reports
    empty = client.get(f"/staff/physicians/{make.learner().id}").get_data(as_text=True)
    assert "Reports from this physician" in empty and "None." in empty


# -- FAQ links ---------------------------------------------------------------------------


def test_faq_links_list_every_question_before_any_search(client, login_as, app):
    from webapp.faq import services as faq_services

    login_as(None, staff=True)
    html = client.get("/staff/faq").get_data(as_text=True)
    base = app.config["PORTAL_URL"].rstrip("/")
    questions = faq_services.library(app).questions
    assert questions
    for question in questions:
        assert f'value="{base}/faq/{question.slug}"' in html
    assert html.count("data-copy-status=") == len(questions)
    assert '<script src="/static/faq.js" defer' in html
    for category in faq_services.library(app).categories:
        assert f">{category.name}</h2>" in html.replace("&amp;", "&")


# -- Excel press with nothing due --------------------------------------------------------


def test_excel_press_with_nothing_due_records_no_run(own_site):  # noqa: F811
    client = own_site.test_client()
    factories.sign_in(db.session, client, None, staff=True)
    db.session.commit()
    db.session.remove()
    html = client.post("/staff/batches", follow_redirects=True).get_data(as_text=True)
    assert "Nothing is due: no batch was made." in html
    assert db.session.scalars(select(EngineRun)).all() == []
    dashboard = client.get("/staff/").get_data(as_text=True)
    runs = dashboard.split('id="runs-h"', 1)[1].split("</table>", 1)[0]
    assert runs.count("Never run") == 3
