"""Consent and identifier changes move the physician's records in the PARS outbox."""

from __future__ import annotations

from sqlalchemy import select

from webapp.models import Action, Delivery, DeliveryState
from webapp.pars import outbox

S = DeliveryState


def records(db_session, learner):
    db_session.expire_all()
    return db_session.scalars(select(Delivery).join(Delivery.completion)
                              .where(Delivery.completion.has(learner_id=learner.id))
                              .order_by(Delivery.id)).all()


def test_opting_out_holds_back_and_opting_in_requeues(client, login_as, make, db_session, policy):
    learner = make.learner()
    make.completion(learner)
    outbox.plan(db_session, policy)
    assert [r.state for r in records(db_session, learner)] == [S.QUEUED]
    login_as(learner)
    client.post("/profile/sharing", data={"share": "no", "confirmed": "yes"})
    [record] = records(db_session, learner)
    assert (record.state, record.error_code) == (S.WAITING, "opted_out")
    client.post("/profile/sharing", data={"share": "yes"})
    assert [r.state for r in records(db_session, learner)] == [S.QUEUED]


def test_fixing_details_after_a_mismatch_sends_again_under_a_new_credit_id(client, login_as,
                                                                           make, db_session, policy):
    learner = make.learner()
    make.completion(learner)
    outbox.plan(db_session, policy)
    [rejected] = records(db_session, learner)
    rejected.state, rejected.error_code = S.REJECTED, "LEARNER_NOT_MATCHED"
    db_session.flush()
    login_as(learner)
    client.post("/profile/identifiers", data={
        "npi": learner.npi, "birth_month": "05", "birth_day": "06",
        "licenses-0-state": "MI", "licenses-0-number": learner.licenses[0].number})
    old, new = records(db_session, learner)
    assert old.state == S.CANCELLED
    assert (new.action, new.state) == (Action.ADD, S.QUEUED)
    assert new.credit_id != old.credit_id


def test_staff_consent_on_behalf_also_holds_back(client, login_as, make, db_session, policy):
    learner = make.learner()
    make.completion(learner)
    outbox.plan(db_session, policy)
    login_as(None, staff=True)
    client.post(f"/staff/physicians/{learner.id}/consent",
                data={"granted": "no", "note": "Phone call, confirmed by e-mail"})
    assert [r.state for r in records(db_session, learner)] == [S.WAITING]


def test_a_choice_repeating_the_imported_value_becomes_the_physicians_own(client, login_as, make,
                                                                          db_session, policy):
    import io

    from tests.credits.test_import import BASE, csv_bytes
    from webapp.credits.importer import import_credits
    from webapp.models import ConsentEvent, Learner

    import_credits(db_session, io.BytesIO(csv_bytes([BASE | {"consent": "no"}])), policy=policy)
    learner = db_session.scalars(select(Learner)).one()
    assert (learner.consent_granted, learner.consent_source) == (False, "import")
    login_as(None, staff=True)
    client.post(f"/staff/physicians/{learner.id}/consent",
                data={"granted": "no", "note": "Signed opt-out form"})
    db_session.expire_all()
    assert learner.consent_source == "staff"
    assert [e.source for e in db_session.scalars(select(ConsentEvent).order_by(
        ConsentEvent.id))] == ["import", "staff"]
    import_credits(db_session, io.BytesIO(csv_bytes([BASE | {"consent": "yes"}])), policy=policy)
    learner = db_session.scalars(select(Learner)).one()
    assert (learner.consent_granted, learner.consent_source) == (False, "staff")
