"""Staff actions on delivery records, and the Excel batch route from the console."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from devtools.database import create_database, drop_database, make_app, migrate
from tests import factories
from tests.conftest import Client
from webapp.extensions import db
from webapp.models import AuditEvent, Batch, Delivery, DeliveryState
from webapp.pars import outbox

S = DeliveryState


def planned(make, db_session, policy, **learner):
    person = make.learner(**learner)
    completion = make.completion(person)
    outbox.plan(db_session, policy)
    return db_session.scalars(select(Delivery).where(Delivery.completion_id == completion.id)).one()


def test_hold_release_retry_and_resolve(client, login_as, make, db_session, policy):
    record = planned(make, db_session, policy)
    identity = login_as(None, staff=True)
    client.post(f"/staff/deliveries/{record.id}/hold")
    db_session.expire_all()
    assert record.state == S.HELD
    assert "Release" in client.get("/staff/attention").get_data(as_text=True)
    client.post(f"/staff/deliveries/{record.id}/release")
    db_session.expire_all()
    assert record.state == S.QUEUED

    record.state, record.error_code = S.REJECTED, "INVALID_ACTIVITY_ID"
    db_session.flush()
    client.post(f"/staff/deliveries/{record.id}/retry")
    db_session.expire_all()
    old, new = db_session.scalars(select(Delivery).where(
        Delivery.completion_id == record.completion_id).order_by(Delivery.id)).all()
    assert old.state == S.CANCELLED and new.state == S.QUEUED and new.credit_id != old.credit_id

    new.state = S.FAILED
    db_session.flush()
    refused = client.post(f"/staff/deliveries/{new.id}/resolve", data={"note": ""},
                          follow_redirects=True)
    assert "Not done" in refused.get_data(as_text=True)
    client.post(f"/staff/deliveries/{new.id}/resolve", data={"note": "Entered in PARS by hand"})
    db_session.expire_all()
    assert (new.state, new.resolution_note) == (S.CANCELLED, "Entered in PARS by hand")
    # Planning again does not queue a record staff resolved by hand.
    outbox.plan(db_session, policy)
    assert db_session.scalars(select(Delivery).where(
        Delivery.completion_id == record.completion_id, Delivery.state == S.QUEUED)).all() == []
    actors = set(db_session.scalars(select(AuditEvent.actor).where(
        AuditEvent.action.like("pars.%"))).all())
    assert f"identity:{identity.id}" in actors


def test_refused_actions_say_why_and_change_nothing(client, login_as, make, db_session, policy):
    record = planned(make, db_session, policy)
    login_as(None, staff=True)
    page = client.post(f"/staff/deliveries/{record.id}/retry", follow_redirects=True)
    assert "Not done: only records that need attention can be retried" in page.get_data(
        as_text=True)
    db_session.expire_all()
    assert record.state == S.QUEUED
    assert client.post(f"/staff/deliveries/{record.id}/explode").status_code == 404


@pytest.fixture
def own_site(tmp_path):
    """A site on a database of its own: the export commits in transactions of its own."""
    url = create_database(tmp_path)
    app = make_app(url, BATCH_DIR=str(tmp_path / "batches"))
    app.test_client_class = Client
    migrate(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    drop_database(url)


def test_batches_from_the_console(own_site):
    app = own_site
    make = factories.Factory(db.session)
    learner = make.learner()
    make.board(learner, "ABIM", "123456")
    make.completion(learner, date=dt.date.today() - dt.timedelta(days=3),
                    board_lines=[("ABIM", "Medical Knowledge", "1")])
    make.completion(make.learner(), date=dt.date.today() - dt.timedelta(days=4))
    client = app.test_client()
    factories.sign_in(db.session, client, None, staff=True)
    db.session.commit()
    db.session.remove()

    created = client.post("/staff/batches", follow_redirects=True).get_data(as_text=True)
    assert "holds 2 record(s)" in created
    batch = db.session.scalars(select(Batch)).one()
    assert {d.state for d in db.session.scalars(select(Delivery))} == {S.EXPORTED}
    db.session.remove()
    download = client.get(f"/staff/batches/{batch.id}/download")
    assert download.status_code == 200
    path = app.config["BATCH_DIR"] + "/downloaded.xlsx"
    with open(path, "wb") as fh:
        fh.write(download.data)
    download.close()
    rows = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    assert rows[1][:3] == ("Record Action", "ACCME Activity ID", "Completion Date")
    assert len(rows) == 2 + 2  # guidance, header, one row per credit line

    client.post(f"/staff/batches/{batch.id}/cancel")
    assert {d.state for d in db.session.scalars(select(Delivery))} == {S.QUEUED}
    # A cancelled batch's file is gone and cannot be downloaded (it would report twice).
    assert client.get(f"/staff/batches/{batch.id}/download").status_code == 404
    assert not (Path(app.config["BATCH_DIR"]) / batch.file_name).exists()
    db.session.remove()
    client.post("/staff/batches")
    second = db.session.scalars(select(Batch).order_by(Batch.id.desc())).first()
    db.session.remove()
    confirmed = client.post(f"/staff/batches/{second.id}/confirm", follow_redirects=True)
    assert "2 record(s) recorded as sent to PARS" in confirmed.get_data(as_text=True)
    assert {d.state for d in db.session.scalars(select(Delivery))} == {S.SENT}
    again = client.post(f"/staff/batches/{second.id}/confirm", follow_redirects=True)
    assert "Not done: batch" in again.get_data(as_text=True)
    db.session.remove()
    nothing = client.post("/staff/batches", follow_redirects=True).get_data(as_text=True)
    assert "Nothing is due" in nothing


def test_board_rejections_reach_the_staff_queue(client, login_as, make, db_session, policy):
    from webapp.models import BoardStatus

    record = planned(make, db_session, policy, first_name="Ana", last_name="Board")
    record.state = S.ACCEPTED
    db_session.add(BoardStatus(delivery_id=record.id, board="ABIM", status="rejected",
                               message="Board ID not found"))
    db_session.flush()
    login_as(None, staff=True)
    html = client.get("/staff/attention").get_data(as_text=True)
    assert "Rejected by a certifying board" in html
    assert "Ana Board" in html and "ABIM: Board ID not found" in html


def test_rejected_records_are_not_offered_a_hold_they_cannot_take(client, login_as, make,
                                                                  db_session, policy):
    record = planned(make, db_session, policy)
    record.state, record.error_code = S.REJECTED, "INVALID_ACTIVITY_ID"
    db_session.flush()
    login_as(None, staff=True)
    html = client.get("/staff/attention").get_data(as_text=True)
    assert f"/staff/deliveries/{record.id}/retry" in html
    assert f"/staff/deliveries/{record.id}/hold" not in html
