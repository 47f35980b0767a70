"""Automatic linking by e-mail: only a learner nobody has linked yet, e-mails compared unfolded."""

from __future__ import annotations

from tests.auth.test_refusals import UNMATCHED_TITLE, assert_refused
from webapp.auth.services import verified_email
from webapp.models import Identity


def test_a_second_identity_with_the_same_verified_email_is_not_linked(browser, idp, make,
                                                                      db_session):
    learner = make.learner(email="someone@example.org")
    first = make.identity(learner, issuer="https://idp.test", subject="the-first-owner")
    # idp signs in as another subject ("idp-user-1") whose verified e-mail is the same:
    # a mailbox given to someone else must not inherit the record.
    html = assert_refused(browser.sign_in(), db_session, "learner_already_linked", 403,
                          title=UNMATCHED_TITLE)
    assert "cme-support@example.org" in html
    db_session.expire_all()
    assert [i.id for i in db_session.query(Identity).filter_by(learner_id=learner.id)] == [first.id]


def test_an_email_with_a_kelvin_sign_does_not_link(browser, idp, make, db_session):
    make.learner(email="kim@example.org")
    idp.behaviour.user["email"] = "\u212aim@example.org"  # KELVIN SIGN, folds to "k"
    html = browser.sign_in().get_data(as_text=True)
    assert UNMATCHED_TITLE in html
    assert db_session.query(Identity).filter(Identity.learner_id.isnot(None)).count() == 0
    assert verified_email({"email": "\u212aim@example.org", "email_verified": True}) \
        != "kim@example.org"
