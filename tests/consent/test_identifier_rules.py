"""License numbers and board IDs: the form's rules and messages, and what saving says is missing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from webapp.consent.forms import IdentifiersForm
from webapp.models import AuditEvent, BoardCertification, Learner, License

BASE = {"npi": "", "birth_month": "03", "birth_day": "14"}


def _form(app, data: dict[str, str]) -> IdentifiersForm:
    with app.test_request_context(method="POST"):
        form = IdentifiersForm(formdata=MultiDict(data), meta={"csrf": False})
        form.validate()
        return form


@pytest.mark.parametrize("number,message", [
    ("<b>4301</b>", "This license number contains “<”, “>”, “/”, which a license number cannot "
                    "have: use only the letters A to Z, digits, and hyphens, periods or spaces "
                    "between them."),
    ("4301'; DROP TABLE licenses;--", "This license number contains “'”, “;”"),
    ("4301\U0001F600", "This license number contains “\U0001F600”"),
    ("4" * 300, "This license number is too long: it has 300 characters, and a license number "
                "has at most 20."),
    ("MEDICAL", "This license number has no digit"),
])
def test_license_number_rules(app, number, message):
    form = _form(app, BASE | {"licenses-0-state": "MI", "licenses-0-number": number})
    errors = form.licenses.entries[0].form.number.errors
    assert len(errors) == 1 and errors[0].startswith(message)


@pytest.mark.parametrize("board,board_id,message", [
    ("ABIM", "abc", "This board ID has no digit"),
    ("ABIM", "12A456", "This board ID is not an ABIM ID: ABIM IDs are digits only."),
    ("ABIM", "<script>1", "This board ID contains “<”, “>”"),
    ("ABA", "1' OR '1'='1", "This board ID contains “'”, “=”"),
    ("ABP", "\U0001F600", "This board ID contains “\U0001F600”"),
    ("ABA", "7" * 64, "This board ID is too long: it has 64 characters"),
])
def test_board_id_rules(app, board, board_id, message):
    form = _form(app, BASE | {"boards-0-board": board, "boards-0-board_id": board_id})
    errors = form.boards.entries[0].form.board_id.errors
    assert len(errors) == 1 and errors[0].startswith(message)


def test_good_identifiers_pass(app):
    form = _form(app, BASE | {"licenses-0-state": "OH", "licenses-0-number": "35.012345",
                              "licenses-1-state": "ME", "licenses-1-number": "ME 12345",
                              "boards-0-board": "ABIM", "boards-0-board_id": "284913",
                              "boards-1-board": "ABS", "boards-1-board_id": ""})
    assert form.errors == {}


def test_inputs_carry_no_maxlength_so_a_long_paste_reaches_the_server(client, login_as, make):
    login_as(make.learner())
    html = client.get("/profile").get_data(as_text=True)
    assert 'name="licenses-0-number"' in html and 'name="boards-0-board_id"' in html
    assert "maxlength" not in html


def test_bad_identifiers_are_refused_with_the_reason_and_nothing_changes(client, login_as, make,
                                                                         db_session):
    learner = make.learner()
    make.board(learner, "ABIM", "284913")
    login_as(learner)
    before = (learner.npi, [(x.state, x.number) for x in learner.licenses])
    response = client.post("/profile/identifiers", data=BASE | {
        "npi": learner.npi,
        "licenses-0-state": "MI", "licenses-0-number": "A-12 345/ß<b>x</b>'; DROP",
        "boards-0-board": "ABIM", "boards-0-board_id": "abc",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html
    assert "This license number contains “/”, “ß”, “&lt;”, “&gt;”, “&#39;” and 1 more" in html
    assert "<b>x</b>" not in html  # shown back escaped, never as markup
    assert "This board ID has no digit" in html
    db_session.expire_all()
    saved = db_session.get(Learner, learner.id)
    assert (saved.npi, [(x.state, x.number) for x in saved.licenses]) == before
    assert [c.board_id for c in saved.board_certifications] == ["284913"]
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "identifiers.updated")) == 0


def _text(response) -> str:
    """The page with its whitespace collapsed, as a reader sees it."""
    return " ".join(response.get_data(as_text=True).split())


def _flash(response) -> str:
    html = response.get_data(as_text=True)
    start = html.index('<div class="flashes">')
    return html[start:html.index("</div>", start)]


def test_saving_says_what_is_still_missing(client, login_as, make, db_session):
    learner = make.learner(birth_month_day=None, npi=None, licenses=[])
    make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    login_as(learner)
    response = client.post("/profile/identifiers", data={
        "licenses-0-state": "MI", "licenses-0-number": "4301012345"}, follow_redirects=True)
    flash = _flash(response)
    assert "Your details were saved. Still missing: your birth month and day, and your ABIM " \
           "board ID." in flash
    assert "goes with the next submission" in flash  # only for what was waiting for the license
    assert db_session.scalars(select(License.number)).all() == ["4301012345"]


def test_saving_says_when_nothing_is_missing(client, login_as, make):
    learner = make.learner(birth_month_day=None)
    make.board(learner, "ABS", None)  # ABS matches without a board ID
    login_as(learner)
    response = client.post("/profile/identifiers", data={
        "npi": learner.npi, "birth_month": "04", "birth_day": "17",
        "licenses-0-state": "MI", "licenses-0-number": learner.licenses[0].number,
        "boards-0-board": "ABS"}, follow_redirects=True)
    flash = _flash(response)
    assert "nothing PARS or your boards match you by is missing now" in flash
    assert "Still missing" not in flash


def test_nothing_changed_still_names_what_is_missing(client, login_as, make):
    learner = make.learner(birth_month_day=None, npi=None, licenses=[])
    login_as(learner)
    response = client.post("/profile/identifiers", data={}, follow_redirects=True)
    assert "Nothing changed. Still missing: your birth month and day, and an NPI or a state " \
           "license." in _flash(response)


def test_the_profile_lists_what_is_missing(client, login_as, make, db_session):
    learner = make.learner(birth_month_day=None)
    make.board(learner, "ABIM", None)
    login_as(learner)
    html = _text(client.get("/profile"))
    assert "Still missing</span> your birth month and day, and your ABIM board ID." in html
    learner.birth_month_day = "04-17"
    db_session.scalars(select(BoardCertification)).one().board_id = "284913"
    db_session.flush()
    html = _text(client.get("/profile"))
    assert "Nothing PARS or your boards match you by is missing." in html


def test_the_profile_page_wording_asks_for_both(client, login_as, make):
    login_as(make.learner())
    html = _text(client.get("/profile"))
    assert "birth month and day, and your NPI or a state license" in html
    assert "birth month and day, NPI or" not in html


def test_a_board_named_by_a_credit_needs_its_id_too(client, login_as, make):
    learner = make.learner()  # lists no board on the profile
    make.completion(learner, date=dt.date.today(), board_lines=[("ABA", "Lifelong Learning", "1")])
    login_as(learner)
    assert "your ABA board ID" in _text(client.get("/profile"))
