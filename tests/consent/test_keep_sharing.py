"""An explicit "Keep sharing" for physicians who never chose; the opt-out confirmation's order;
what learners PARS never receives credit for see instead of the sharing form."""

from __future__ import annotations

import html

from sqlalchemy import func, select

from webapp.consent import wording
from webapp.models import AuditEvent, ConsentEvent, Learner


def _text(response) -> str:
    """The page's text with whitespace collapsed and entities decoded, as a reader sees it."""
    return html.unescape(" ".join(response.get_data(as_text=True).split()))


def _events(db_session, learner) -> list[tuple]:
    return [(e.granted, e.source, e.actor_identity_id, e.wording_version) for e in
            db_session.scalars(select(ConsentEvent).where(ConsentEvent.learner_id == learner.id)
                               .order_by(ConsentEvent.id))]


def test_a_physician_who_never_chose_can_keep_sharing_and_it_is_recorded(client, login_as, make,
                                                                        db_session):
    learner = make.learner()
    identity = login_as(learner)
    page = _text(client.get("/profile"))
    assert "You have not chosen yourself yet" in page
    assert page.index(">Keep sharing</button>") < page.index("Stop sharing (opt out)")

    response = client.post("/profile/sharing", data={"share": "yes"}, follow_redirects=True)
    assert "Recorded: you chose to keep sharing your credit with PARS." in _text(response)
    assert _events(db_session, learner) == [(True, "physician", identity.id, wording.VERSION)]
    audit = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("consent.%"))).one()
    assert (audit.action, audit.actor, audit.subject_id) == (
        "consent.granted", f"identity:{identity.id}", str(learner.id))
    db_session.expire_all()
    saved = db_session.get(Learner, learner.id)
    assert (saved.consent_granted, saved.consent_source) == (True, "physician")

    page = _text(client.get("/profile"))
    assert ">Keep sharing</button>" not in page  # chosen now: only stopping is offered
    assert "You, on this site" in page  # in the history


def test_keeping_sharing_again_changes_nothing(client, login_as, make, db_session):
    learner = make.learner()
    login_as(learner)
    client.post("/profile/sharing", data={"share": "yes"})
    response = client.post("/profile/sharing", data={"share": "yes"}, follow_redirects=True)
    assert "You keep sharing, as you chose before; nothing changed." in _text(response)
    assert len(_events(db_session, learner)) == 1


def test_an_imported_yes_can_be_kept_as_the_physicians_own(client, login_as, make, db_session):
    learner = make.learner(consent_granted=True, consent_source="import")
    login_as(learner)
    assert ">Keep sharing</button>" in _text(client.get("/profile"))
    client.post("/profile/sharing", data={"share": "yes"})
    assert [e[:2] for e in _events(db_session, learner)] == [(True, "physician")]


def test_keep_sharing_needs_the_csrf_token(client, login_as, make, db_session):
    learner = make.learner()
    login_as(learner)
    assert client.post("/profile/sharing", data={"share": "yes"}, csrf=False).status_code == 400
    assert _events(db_session, learner) == []


def test_the_opt_out_confirmation_puts_keep_sharing_first(client, login_as, make, db_session):
    learner = make.learner()
    login_as(learner)
    page = _text(client.post("/profile/sharing", data={"share": "no"}))
    keep = page.index('<button type="submit" class="primary">No, keep sharing</button>')
    stop = page.index('<button type="submit" class="danger">Yes, stop sharing my credit</button>')
    assert keep < stop
    # Never chose: "No, keep sharing" records the choice.
    client.post("/profile/sharing", data={"share": "yes"})
    assert [e[:2] for e in _events(db_session, learner)] == [(True, "physician")]
    # Chose already: it is a way back that records nothing new.
    page = _text(client.post("/profile/sharing", data={"share": "no"}))
    assert 'class="button button-primary" href="/profile#sharing">No, keep sharing</a>' in page
    assert page.index("No, keep sharing") < page.index("Yes, stop sharing my credit")


def test_a_non_physician_sees_what_applies_to_them(client, login_as, make):
    login_as(make.learner(degree="NP"))
    page = _text(client.get("/profile"))
    assert "Your credit is not reported to PARS" in page
    assert "records your degree as <strong>NP</strong>" in page
    for absent in ("Stop sharing", "Keep sharing", "I give permission", "Save details",
                   "History of your sharing choice", "I provide permission"):
        assert absent not in page


def test_a_non_physician_cannot_record_sharing_or_identifiers(client, login_as, make, db_session):
    learner = make.learner(degree="PA-C")
    login_as(learner)
    for url, data in (("/profile/sharing", {"share": "no", "confirmed": "yes"}),
                      ("/profile/sharing", {"share": "yes"}),
                      ("/profile/identifiers", {"npi": "", "birth_month": "", "birth_day": ""})):
        response = client.post(url, data=data, follow_redirects=True)
        assert "your degree is recorded as PA-C, and only physicians' credit is reported to " \
               "PARS" in _text(response)
    assert _events(db_session, learner) == []
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    db_session.expire_all()
    assert db_session.get(Learner, learner.id).npi == learner.npi


def test_the_sharing_notice_is_not_shown_to_a_non_physician(client, login_as, make):
    login_as(make.learner(degree="RN"))
    response = client.get("/sharing-notice?next=/faq")
    assert response.status_code == 302 and response.headers["Location"].endswith("/faq")
