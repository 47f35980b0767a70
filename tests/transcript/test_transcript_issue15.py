"""The long transcript (pages, totals over everything, constant queries), filters that do
not hold, deadlines, board decisions after the sync stops asking, non-physician credit,
local times, and the PDF and CSV a licensing board or credentialing office asks for."""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import io
import re
from decimal import Decimal

import pytest
from flask_sqlalchemy.record_queries import get_recorded_queries
from pypdf import PdfReader

from webapp.config import DEFAULT_ACCREDITATION_STATEMENT, DEFAULT_PDF_FONT_DIR
from webapp.dates import MonthDay, readable_date
from webapp.db import utcnow
from webapp.models import Action, BoardStatus, Delivery, DeliveryState
from webapp.pars.eligibility import Rules
from webapp.pars.settle import sync_boards
from webapp.transcript import services
from webapp.transcript.statuses import Status

TODAY = dt.date.today()


def text_of(html: str) -> str:
    """What a reader gets: tags and signs hidden from screen readers left out, spaces folded."""
    html = re.sub(r'<span aria-hidden="true">[^<]*</span>', "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" :", ":").replace(" .", ".")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _queries(client, url):
    before = len(get_recorded_queries())
    response = client.get(url)
    assert response.status_code == 200
    return len(get_recorded_queries()) - before, response


@pytest.fixture
def long_transcript(make, app):
    """120 credits, one a day back from yesterday, each with ABIM credit."""
    learner = make.learner(first_name="Ana", last_name="Diaz")
    make.board(learner, "ABIM", "123456")
    activity = make.activity(title="Daily Rounds")
    for day in range(1, 121):
        make.completion(learner, activity, date=TODAY - dt.timedelta(days=day), credits="1.25",
                        board_lines=[("ABIM", "Medical Knowledge", "0.50")])
    return learner


# --- a long transcript -------------------------------------------------------------------------


def test_a_long_transcript_is_paged_with_totals_over_every_credit(client, login_as, long_transcript):
    login_as(long_transcript)
    html = client.get("/transcript").get_data(as_text=True)
    text = text_of(html)
    assert "Credit (1–50 of 120, newest first)" in text
    assert html.count('class="card credit"') == 50
    assert "150.00" in text  # 120 × 1.25: the totals cover all 120, not the page
    assert "60.00" in text   # 120 × 0.50 ABIM
    assert "The downloads list all 120 credits shown" in text
    assert 'aria-current="page"' in html and 'aria-label="Pages of credit"' in html
    last = client.get("/transcript?page=3").get_data(as_text=True)
    assert last.count('class="card credit"') == 20
    assert "Credit (101–120 of 120" in text_of(last)
    # A page past the last shows the last; a page that is no number, the first.
    assert "Credit (101–120 of 120" in text_of(client.get("/transcript?page=99").get_data(as_text=True))
    assert "Credit (1–50 of 120" in text_of(client.get("/transcript?page=x").get_data(as_text=True))


def test_page_links_keep_the_filter(client, login_as, long_transcript):
    login_as(long_transcript)
    start = (TODAY - dt.timedelta(days=110)).isoformat()
    html = client.get(f"/transcript?date_from={start}&credit_type=ABIM").get_data(as_text=True)
    assert "Credit (1–50 of 110" in text_of(html)
    links = re.findall(r'href="(/transcript\?[^"]*page=\d[^"]*)"', html)
    assert links and all(f"date_from={start}" in link.replace("&amp;", "&")
                         and "credit_type=ABIM" in link for link in links)
    assert f"/transcript.pdf?date_from={start}" in html.replace("&amp;", "&")


def test_the_query_count_does_not_grow_with_a_long_transcript(client, login_as, make, app):
    learner = make.learner()
    make.board(learner, "ABIM", "123456")
    activity = make.activity()
    login_as(learner)
    for day in range(1, 11):
        make.completion(learner, activity, date=TODAY - dt.timedelta(days=day),
                        board_lines=[("ABIM", "Medical Knowledge", "1")])
    few, _ = _queries(client, "/transcript")
    for day in range(11, 301):
        make.completion(learner, activity, date=TODAY - dt.timedelta(days=day),
                        board_lines=[("ABIM", "Medical Knowledge", "1")])
    many, response = _queries(client, "/transcript")
    assert many == few
    assert "300.00" in response.get_data(as_text=True)


def test_the_downloads_hold_every_credit_in_range_not_one_page(client, login_as, long_transcript):
    login_as(long_transcript)
    body = client.get("/transcript.csv").get_data().decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(body)))) == 1 + 120
    text = pdf_text(client.get("/transcript.pdf").get_data())
    assert text.count("Daily Rounds") == 120


# --- filters that do not hold ------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/transcript.pdf", "/transcript.csv"])
@pytest.mark.parametrize("query", ["date_from=2025-01-01&date_to=2024-01-01", "date_from=2025-13-45",
                                   "credit_type=ABS"])
def test_a_download_for_a_filter_that_does_not_hold_is_refused(client, login_as, long_transcript,
                                                                url, query):
    login_as(long_transcript)
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "Content-Disposition" not in response.headers
    body = response.get_data(as_text=True)
    assert body.startswith("The transcript was not made:")
    assert "Daily Rounds" not in body and "All credit on record" not in body


def test_the_filter_offers_only_the_physicians_own_boards(client, login_as, long_transcript):
    login_as(long_transcript)
    html = client.get("/transcript").get_data(as_text=True)
    offered = re.findall(r'<option[^>]*value="([^"]*)"', html)
    assert offered == ["", "AMA", "ABIM"]
    refused = client.get("/transcript?credit_type=ABS")
    assert refused.status_code == 400
    assert "Not a valid choice" in refused.get_data(as_text=True)
    assert "Daily Rounds" not in refused.get_data(as_text=True)


# --- deadlines ---------------------------------------------------------------------------------


def test_a_deadline_near_is_marked_due_soon_in_words(client, login_as, make):
    learner = make.learner()
    make.board(learner, "ABIM", "123456")
    make.completion(learner, make.activity(title="Near"), date=TODAY - dt.timedelta(days=24),
                    board_lines=[("ABIM", "Medical Knowledge", "1")])
    login_as(learner)
    text = text_of(client.get("/transcript").get_data(as_text=True))
    due = readable_date(TODAY + dt.timedelta(days=6))
    assert f"Due soon: ABIM asks for credit within 30 days, by {due} (6 days left)" in text
    assert f"Due soon: ACCME asks for credit in PARS within 30 days, by {due} (6 days left)" in text


def test_a_deadline_far_off_has_no_mark_and_the_threshold_is_a_setting(client, login_as, make, app):
    learner = make.learner()
    make.completion(learner, make.activity(), date=TODAY - dt.timedelta(days=10))
    login_as(learner)
    text = text_of(client.get("/transcript").get_data(as_text=True))
    assert "(20 days left)" in text and "Due soon" not in text
    app.config["DEADLINE_SOON_DAYS"] = 21
    try:
        assert "Due soon:" in text_of(client.get("/transcript").get_data(as_text=True))
    finally:
        app.config["DEADLINE_SOON_DAYS"] = 7


RULES = Rules(reporting_start=dt.date(2023, 7, 1), year_close=MonthDay(3, 31), reporting_days=30,
              consent_default=True, today=dt.date(2026, 11, 27))


def test_a_passed_limit_says_what_it_means_for_each_board():
    # ABS counts credit by completion date (confirmed): late credit still counts for its year.
    abs_ = services.limit(RULES, dt.date(2026, 10, 1), dt.date(2026, 10, 31), "ABS")
    assert abs_.passed and abs_.days_left == -27
    assert "whether ABS takes late credit is up to ABS" in abs_.after
    assert "ABS counts credit toward the year it was completed" in abs_.after
    # ABIM counts by report date: a passed 30 days still counts for the year until Dec 31.
    abim = services.limit(RULES, dt.date(2026, 10, 1), dt.date(2026, 10, 31), "ABIM")
    assert "counts toward 2026 when it reaches ABIM by December 31, 2026" in abim.after
    assert "not confirmed" not in abim.after
    # ABA's year rule is assumed in the registry, and the page says so.
    aba = services.limit(RULES, dt.date(2026, 12, 10), dt.date(2026, 12, 31), "ABA")
    assert aba.label == "To count toward ABA's 2026 requirements, in PARS by"
    assert "counts toward 2027 instead of 2026" in aba.after and "ABA has not confirmed" in aba.after
    # PARS itself: late credit goes until the reporting year closes.
    pars = services.limit(RULES, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert "until PARS closes the 2026 reporting year on March 31, 2027" in pars.after


def test_a_passed_limit_is_shown_with_its_meaning(client, login_as, make):
    learner = make.learner()
    make.completion(learner, make.activity(), date=TODAY - dt.timedelta(days=45),
                    board_lines=[("ABS", "Accredited CME", "1")])
    login_as(learner)
    text = text_of(client.get("/transcript").get_data(as_text=True))
    assert "Limit passed: ABS asks for credit within 30 days" in text
    assert "(passed 15 days ago)" in text
    assert "whether ABS takes late credit is up to ABS. ABS counts credit toward the year it " \
        "was completed" in text


# --- board decisions after the sync stops asking -----------------------------------------------


def test_the_window_matches_the_sync():
    default = inspect.signature(sync_boards).parameters["within_days"].default
    assert services.BOARD_DECISION_DAYS == default


def _accepted_with_pending_board(make, db_session, accepted_days_ago: int):
    learner = make.learner()
    make.board(learner, "ABIM", "123456")
    completion = make.completion(learner, date=RULES.today - dt.timedelta(days=accepted_days_ago + 2),
                                 board_lines=[("ABIM", "Medical Knowledge", "1")])
    at = dt.datetime.combine(RULES.today - dt.timedelta(days=accepted_days_ago), dt.time(12),
                             tzinfo=dt.UTC)
    delivery = Delivery(completion=completion, action=Action.ADD, credit_id=f"ccid:1:{completion.id}",
                        state=DeliveryState.ACCEPTED, due_date=RULES.today, sent_at=at,
                        settled_at=at, sent_payload={"boards": [{"board": "ABIM"}]})
    delivery.board_statuses.append(BoardStatus(board="ABIM", status="pending"))
    db_session.add(delivery)
    db_session.flush()
    db_session.refresh(completion)
    return services.credit_row(completion, learner, RULES).boards[0]


def test_a_pending_board_decision_says_until_when_the_portal_asks(make, db_session):
    status = _accepted_with_pending_board(make, db_session, accepted_days_ago=10)
    assert status.status == Status.BOARD_PENDING
    asks_until = readable_date(RULES.today + dt.timedelta(days=80))
    assert f"the portal asks PARS for ABIM's decision until {asks_until}" in status.text
    assert status.action is None


def test_after_the_window_it_says_the_portal_stopped_asking_and_where_to_look(make, db_session):
    status = _accepted_with_pending_board(make, db_session, accepted_days_ago=120)
    assert status.status == Status.BOARD_PENDING
    assert "usually decide" not in status.text
    assert "the portal stopped asking PARS" in status.text
    assert "ABIM's website" in status.action and "CME support" in status.action


# --- non-physicians ------------------------------------------------------------------------------


@pytest.fixture
def nurse_practitioner(make):
    learner = make.learner(degree="NP", first_name="Jordan", last_name="Ellis")
    make.completion(learner, make.activity(title="Wound Care"), credits="2.00")
    return learner


def test_a_non_physicians_credit_is_shown_as_participation(client, login_as, nurse_practitioner):
    login_as(nurse_practitioner)
    text = text_of(client.get("/transcript").get_data(as_text=True))
    assert "Participation (activity designated for 2.00 AMA PRA Category 1 Credit™)" in text
    assert "2.00 AMA PRA Category 1 Credit™ ·" not in text
    assert "AMA PRA Category 1 Credit™ is designated for physicians" in text
    credit = nurse_practitioner.completions[0]
    detail = text_of(client.get(f"/transcript/credits/{credit.id}").get_data(as_text=True))
    assert "Certificate of participation" in detail
    assert "AMA PRA Category 1 Credit™ 2.00" not in detail


def test_a_non_physicians_documents_say_participation(client, login_as, nurse_practitioner):
    login_as(nurse_practitioner)
    header = next(csv.reader(io.StringIO(client.get("/transcript.csv").get_data().decode("utf-8-sig"))))
    assert header[3] == "Participation (activity designated for AMA PRA Category 1 Credit™)"
    text = pdf_text(client.get("/transcript.pdf").get_data())
    assert "certificate of participation" in text and "is not AMA PRA Category 1 Credit™" in text
    assert "Learner" in text


# --- local times ---------------------------------------------------------------------------------


def test_the_timeline_shows_local_times_not_utc(client, login_as, make, app):
    learner = make.learner()
    completion = make.completion(learner)
    completion.created_at = dt.datetime(2026, 1, 15, 17, 0, tzinfo=dt.UTC)
    login_as(learner)
    html = client.get(f"/transcript/credits/{completion.id}").get_data(as_text=True)
    assert "January 15, 2026, 11:00 a.m. CST" in html  # the default zone, America/Chicago
    assert "UTC" not in text_of(html)
    assert 'datetime="2026-01-15T17:00:00+00:00"' in html  # machines still get the moment


# --- the PDF and CSV --------------------------------------------------------------------------


@pytest.fixture
def documented(make, db_session):
    learner = make.learner(first_name="José", last_name="Núñez")
    make.board(learner, "ABIM", "123456")
    done = make.completion(learner, make.activity(title="Sepsis Update"), date=TODAY - dt.timedelta(days=20),
                           credits="1.50", board_lines=[("ABIM", "Medical Knowledge", "1.25"),
                                                        ("ABIM", "Practice Assessment", "0.75")])
    delivery = Delivery(completion=done, action=Action.ADD, credit_id=f"ccid:1:{done.id}",
                        state=DeliveryState.ACCEPTED, due_date=TODAY, sent_at=utcnow(),
                        settled_at=utcnow(), sent_payload={"cme_credits": "1.50",
                                                           "boards": [{"board": "ABIM"}]})
    delivery.board_statuses.append(BoardStatus(board="ABIM", status="accepted"))
    db_session.add(delivery)
    make.completion(learner, make.activity(title="Ethics"), date=TODAY - dt.timedelta(days=3),
                    credits="1.00")
    db_session.flush()
    return learner


def test_the_pdf_carries_statements_identifiers_board_credit_and_the_tm_sign(client, login_as,
                                                                             documented, app):
    login_as(documented)
    response = client.get("/transcript.pdf")
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.get_data())
    flat = " ".join(text.split())
    institution = app.config["INSTITUTION_NAME"]
    assert (f"{institution} is accredited by the Accreditation Council for Continuing Medical "
            "Education (ACCME)") in flat
    assert f"{institution} designates each activity listed" in flat
    assert f"NPI {documented.npi}" in flat and f"MI license {documented.licenses[0].number}" in flat
    assert "José Núñez" in flat
    assert "AMA PRA Category 1 Credit™: 2.50" in flat
    assert "ABIM MOC credit: 2.00 (Medical Knowledge 1.25, Practice Assessment 0.75)" in flat
    assert "ABIM Medical Knowledge 1.25: Accepted by the board" in flat
    # The table's header is one line, not wrapped (the text read back drops some spaces).
    lines = ["".join(line.split()) for line in text.splitlines()]
    assert "CompletedActivityAMAPRACat.1Credit™BoardMOCcreditandstatusPARSstatus" in lines
    # Dates stay on one line in their column.
    assert any(line.startswith(readable_date(TODAY - dt.timedelta(days=3)).replace(" ", ""))
               for line in lines)


def test_the_statements_are_settings(client, login_as, documented, app):
    app.config["TRANSCRIPT_ACCREDITATION_STATEMENT"] = "{institution} is jointly accredited."
    try:
        login_as(documented)
        flat = " ".join(pdf_text(client.get("/transcript.pdf").get_data()).split())
    finally:
        app.config["TRANSCRIPT_ACCREDITATION_STATEMENT"] = DEFAULT_ACCREDITATION_STATEMENT
    assert f"{app.config['INSTITUTION_NAME']} is jointly accredited." in flat


def test_without_the_font_the_pdf_is_still_made_with_tm_spelled_out(client, login_as, documented,
                                                                    app, tmp_path):
    app.config["PDF_FONT_DIR"] = str(tmp_path)
    try:
        login_as(documented)
        flat = " ".join(pdf_text(client.get("/transcript.pdf").get_data()).split())
    finally:
        app.config["PDF_FONT_DIR"] = DEFAULT_PDF_FONT_DIR
    assert "AMA PRA Category 1 Credit(TM): 2.50" in flat


def test_the_file_names_carry_the_name_and_range(client, login_as, documented):
    login_as(documented)
    pdf = client.get("/transcript.pdf?date_from=2024-01-01&date_to=2025-12-31")
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename=cme-transcript-Jose-Nunez-2024-01-01-to-2025-12-31.pdf' in disposition
    assert ("filename*=UTF-8''cme-transcript-Jos%C3%A9-N%C3%BA%C3%B1ez-2024-01-01-to-2025-12-31.pdf"
            in disposition)
    csv_ = client.get("/transcript.csv").headers["Content-Disposition"]
    assert f"cme-transcript-Jose-Nunez-all-credit-to-{TODAY.isoformat()}.csv" in csv_


def test_the_csv_opens_in_excel_with_board_credit_as_numbers(client, login_as, documented):
    login_as(documented)
    data = client.get("/transcript.csv").get_data()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:4] == ["Completion date", "Activity", "ACCME Activity ID",
                          "AMA PRA Category 1 Credit™"]
    knowledge = header.index("ABIM Medical Knowledge credit")
    practice = header.index("ABIM Practice Assessment credit")
    status = header.index("ABIM status")
    sepsis = next(r for r in rows[1:] if r[1] == "Sepsis Update")
    assert Decimal(sepsis[knowledge]) == Decimal("1.25") and Decimal(sepsis[practice]) == Decimal("0.75")
    assert sepsis[status] == "Accepted by the board"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", sepsis[0])  # ISO dates for programs
    ethics = next(r for r in rows[1:] if r[1] == "Ethics")
    assert ethics[knowledge] == "" and Decimal(ethics[3]) == Decimal("1.00")


def test_a_long_institution_name_stays_on_one_line(client, login_as, documented, app):
    long_name = "Lakeshore Health System Department of Continuing Medical and Interprofessional Education"
    app.config["INSTITUTION_NAME"] = long_name
    try:
        login_as(documented)
        lines = pdf_text(client.get("/transcript.pdf").get_data()).splitlines()
    finally:
        app.config["INSTITUTION_NAME"] = "Lakeshore Health"
    assert lines[0].strip() == long_name


def test_production_refuses_to_start_without_the_pdf_font(tmp_path):
    from tests.test_production_settings import GOOD
    from webapp.config import ConfigError, load

    assert load(dict(GOOD))["PDF_FONT_DIR"] == DEFAULT_PDF_FONT_DIR
    with pytest.raises(ConfigError, match="fonts-dejavu-core"):
        load({**GOOD, "PDF_FONT_DIR": str(tmp_path)})
    # Development still starts, and makes its PDF with a built-in font.
    assert load({"PDF_FONT_DIR": str(tmp_path)})["PDF_FONT_DIR"] == str(tmp_path)


def test_the_downloads_read_in_chunks_without_skipping_or_repeating_a_credit(make, db_session):
    learner = make.learner()
    same_day = TODAY - dt.timedelta(days=4)
    # Several credits on one day, so chunks end in the middle of a day.
    made = [make.completion(learner, make.activity(),
                            date=same_day if i % 2 else TODAY - dt.timedelta(days=i))
            for i in range(9)]
    transcript = services.build(db_session, learner.id, RULES, with_rows=False)
    assert transcript.rows == [] and transcript.shown_count == 9
    rows = list(services.iter_rows(db_session, transcript, RULES, chunk=2))
    assert sorted(r.completion.id for r in rows) == sorted(c.id for c in made)
    keys = [(r.completion.completion_date, r.completion.id) for r in rows]
    assert keys == sorted(keys, reverse=True)  # newest first, across chunk boundaries


def test_the_staff_look_up_pages_the_transcript_and_its_pdf_holds_every_credit(
        client, login_as, long_transcript):
    login_as(None, staff=True)
    url = f"/staff/physicians/{long_transcript.id}"
    html = client.get(url).get_data(as_text=True)
    assert "Credit (1–50 of 120, newest first)" in text_of(html)
    assert html.count('class="card credit"') == 50
    assert f'href="{url}?page=2"' in html
    assert client.get(f"{url}?page=3").get_data(as_text=True).count('class="card credit"') == 20
    response = client.get(f"{url}/transcript.pdf")
    assert response.status_code == 200
    assert "Ana" in response.headers["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert text.count("Daily Rounds") == 120
