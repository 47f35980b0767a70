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
    confirmed = client.post(f"/staff/batches/{second.id}/confirm", data={"refused": ""},
                            follow_redirects=True)
    assert "2 record(s) recorded as accepted by PARS." in confirmed.get_data(as_text=True)
    assert {d.state for d in db.session.scalars(select(Delivery))} == {S.ACCEPTED}
    again = client.post(f"/staff/batches/{second.id}/confirm", follow_redirects=True)
    assert f"Not done: batch {second.id} is confirmed already" in again.get_data(as_text=True)
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


def _four_exported(app):
    """Four physicians' credit in one Excel batch (rows 3 to 6), made from the console."""
    make = factories.Factory(db.session)
    activity = make.activity()
    for i in range(4):
        make.completion(make.learner(last_name=f"Row{i}"), activity,
                        date=dt.date.today() - dt.timedelta(days=9 - i))
    client = app.test_client()
    identity = factories.sign_in(db.session, client, None, staff=True)
    db.session.commit()
    identity_id = identity.id
    db.session.remove()
    client.post("/staff/batches")
    batch = db.session.scalars(select(Batch)).one()
    rows = {d.completion.learner.last_name: d.batch_row
            for d in db.session.scalars(select(Delivery))}
    db.session.remove()
    return client, batch.id, rows, identity_id


def test_pars_answer_from_the_console_rejects_the_refused_rows(own_site):
    client, batch_id, rows, identity_id = _four_exported(own_site)
    assert sorted(rows.values()) == [3, 4, 5, 6]
    page = client.get(f"/staff/batches/{batch_id}").get_data(as_text=True)
    assert "Record PARS's answer" in page and "rows 3 to 6" in page

    answer = f"{rows['Row1']}: Learner not matched\n{rows['Row3']}\tBoard ID not valid\n"
    done = client.post(f"/staff/batches/{batch_id}/confirm", data={"refused": answer},
                       follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "2 record(s) recorded as accepted by PARS; 2 record(s) rejected" in html
    states = {d.completion.learner.last_name: (d.state, d.error_code, d.error_message)
              for d in db.session.scalars(select(Delivery))}
    assert states["Row1"] == (S.REJECTED, "EXCEL_ROW_REJECTED",
                              f"Row {rows['Row1']}: Learner not matched")
    assert states["Row3"][0] == S.REJECTED and states["Row0"][0] == states["Row2"][0] == S.ACCEPTED
    # The batch page lists the refused rows with PARS's message; the attention list has them.
    assert "Learner not matched" in html and "Row1" in html
    attention = client.get("/staff/attention").get_data(as_text=True)
    assert "EXCEL_ROW_REJECTED" in attention and "Board ID not valid" in attention
    batches = client.get("/staff/batches").get_data(as_text=True)
    assert "2 refused by PARS" in batches
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "pars.batch_confirmed")).one()
    assert event.actor == f"identity:{identity_id}"
    assert event.details["refused_rows"] == sorted([rows["Row1"], rows["Row3"]])


@pytest.mark.parametrize("answer,message", [
    ("2: Header row", "row 2 is not a data row of batch"),
    ("7: One too far", "row 7 is not a data row of batch"),
    ("Learner not matched", "line 1: write the row number"),
    ("4: a\n4: b", "row 4 is given twice"),
])
def test_a_wrong_answer_is_refused_and_nothing_changes(own_site, answer, message):
    client, batch_id, _rows, _ = _four_exported(own_site)
    response = client.post(f"/staff/batches/{batch_id}/confirm", data={"refused": answer})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was recorded: " + message in html
    assert 'aria-invalid="true"' in html and answer.split("\n")[0] in html  # kept for fixing
    assert {d.state for d in db.session.scalars(select(Delivery))} == {S.EXPORTED}
    assert db.session.get(Batch, batch_id).state.value == "open"
    assert db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "pars.batch_confirmed")).all() == []


def test_recording_an_answer_needs_the_csrf_token(own_site):
    client, batch_id, _rows, _ = _four_exported(own_site)
    response = client.post(f"/staff/batches/{batch_id}/confirm", data={"refused": ""},
                           csrf=False)
    assert response.status_code == 400
    assert {d.state for d in db.session.scalars(select(Delivery))} == {S.EXPORTED}
