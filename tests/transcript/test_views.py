"""The transcript pages and downloads, as a signed-in physician."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from flask_sqlalchemy.record_queries import get_recorded_queries
from sqlalchemy import select

from webapp.models import Learner


@pytest.fixture
def physician(make):
    learner = make.learner(first_name="Ana", last_name="Diaz")
    make.board(learner, "ABIM", "123456")
    today = dt.date.today()
    make.completion(learner, make.activity(title="Sepsis Update"), date=today - dt.timedelta(days=3),
                    credits="1.50", board_lines=[("ABIM", "Medical Knowledge", "1.50")])
    make.completion(learner, make.activity(title="Old Grand Rounds"), date=dt.date(2022, 3, 1),
                    credits="2.00")
    make.completion(learner, make.activity(title="Unregistered Course", registered=False),
                    date=today - dt.timedelta(days=40), credits="0.75")
    return learner


def test_requires_sign_in(client):
    for url in ("/transcript", "/transcript.csv", "/transcript.pdf", "/transcript/credits/1"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert f"/login?next={url}" in response.headers["Location"]


def test_transcript_lists_credit_totals_and_statuses(client, login_as, physician):
    login_as(physician)
    html = client.get("/transcript").get_data(as_text=True)
    assert "Sepsis Update" in html and "Old Grand Rounds" in html
    assert html.index("Sepsis Update") < html.index("Unregistered Course") < html.index("Old Grand Rounds")
    assert "4.25" in html  # AMA total
    assert "ABIM MOC credit" in html and "Medical Knowledge 1.50" in html
    assert "Queued" in html and "Not reportable yet" in html and "Not reportable" in html
    assert "ABIM asks for credit within 30 days, by" in html
    assert "ACCME asks for credit in PARS within 30 days, by" in html


def test_filters_by_date_and_board(client, login_as, physician):
    login_as(physician)
    html = client.get("/transcript?date_from=2023-01-01&credit_type=ABIM").get_data(as_text=True)
    assert "Sepsis Update" in html
    assert "Old Grand Rounds" not in html and "Unregistered Course" not in html
    assert "1.50" in html
    bad = client.get("/transcript?date_from=2024-01-01&date_to=2023-01-01")
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "end date must be on or after" in html and "Nothing listed" in html
    # A range that does not hold lists nothing, totals nothing and offers no download.
    for listed in ("Sepsis Update", "Old Grand Rounds", "Unregistered Course", "Totals",
                   "Download PDF", "Download CSV"):
        assert listed not in html, listed


def test_detail_and_timeline(client, login_as, physician, db_session):
    login_as(physician)
    completion = physician.completions[0]
    html = client.get(f"/transcript/credits/{completion.id}").get_data(as_text=True)
    assert "Timeline" in html and "Recorded on your transcript" in html
    assert completion.activity.title in html


def test_other_physicians_credit_is_not_found(client, login_as, physician, make):
    other = make.learner()
    theirs = make.completion(other, make.activity(title="Someone Else's Course"))
    login_as(physician)
    response = client.get(f"/transcript/credits/{theirs.id}")
    assert response.status_code == 404
    assert "Someone Else" not in response.get_data(as_text=True)
    for url in ("/transcript", "/transcript.csv"):
        assert "Someone Else" not in client.get(url).get_data(as_text=True)


def test_csv_download(client, login_as, physician):
    login_as(physician)
    response = client.get("/transcript.csv?date_from=2023-01-01")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][0] == "Completion date"
    assert {r[1] for r in rows[1:]} == {"Sepsis Update", "Unregistered Course"}


def test_csv_cells_cannot_become_formulas(client, login_as, make):
    learner = make.learner()
    make.completion(learner, make.activity(title="=HYPERLINK(\"http://x\")"))
    login_as(learner)
    body = client.get("/transcript.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_pdf_download(client, login_as, physician):
    login_as(physician)
    response = client.get("/transcript.pdf")
    assert response.mimetype == "application/pdf"
    data = response.get_data()
    assert data.startswith(b"%PDF")
    assert len(data) > 1500


def test_empty_transcript_is_helpful(client, login_as, make):
    login_as(make.learner())
    html = client.get("/transcript").get_data(as_text=True)
    assert "No credit on record yet" in html


def test_only_old_credit_is_explained(client, login_as, make):
    learner = make.learner()
    make.completion(learner, date=dt.date(2021, 5, 5))
    login_as(learner)
    html = client.get("/transcript").get_data(as_text=True)
    assert "earned before" in html and "none of it goes to CME Passport" in html


def test_staff_without_learner_gets_a_clear_page(client, login_as):
    login_as(None, staff=True)
    response = client.get("/transcript")
    assert response.status_code == 403
    assert "not linked to a learner" in response.get_data(as_text=True)


def _count_queries(client, url):
    before = len(get_recorded_queries())
    assert client.get(url).status_code == 200
    return len(get_recorded_queries()) - before


def test_query_count_does_not_grow_with_credits(client, login_as, make, db_session):
    learner = make.learner()
    make.board(learner, "ABS", None)
    activity = make.activity()
    login_as(learner)
    make.completion(learner, activity, date=dt.date(2024, 1, 1),
                    board_lines=[("ABS", "Accredited CME", "1")])
    few = _count_queries(client, "/transcript")
    for day in range(1, 60):
        make.completion(learner, activity, date=dt.date(2024, 1, 1) + dt.timedelta(days=day),
                        board_lines=[("ABS", "Accredited CME", "1")])
    many = _count_queries(client, "/transcript")
    assert many == few
    assert db_session.scalars(select(Learner)).first() is not None


def test_status_links_land_on_their_faq_answers(client, login_as, physician):
    from webapp.transcript.statuses import CATALOG

    login_as(physician)
    html = client.get("/transcript").get_data(as_text=True)
    linked = set(re.findall(r'href="/faq/([a-z0-9-]+)"', html))
    assert {"when-credit-is-sent", "activity-not-registered",
            "credits-before-reporting-start"} <= linked
    for info in CATALOG.values():
        page = client.get(f"/faq/{info.faq}")
        assert page.status_code == 200, info.faq
