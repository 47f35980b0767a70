"""Physicians report missing or wrong credit and see the answer."""

from sqlalchemy import select

from webapp.models import AuditEvent, SupportRequest
from webapp.support.services import answer_request


def test_report_a_wrong_credit_and_read_the_answer(client, login_as, make, db_session):
    learner = make.learner()
    completion = make.completion(learner, make.activity(title="Stroke Systems"))
    login_as(learner)
    page = client.get(f"/support?credit={completion.id}").get_data(as_text=True)
    assert "Stroke Systems" in page
    response = client.post("/support", data={"kind": "wrong", "completion_id": str(completion.id),
                                              "message": "My ABIM points are missing."})
    assert response.status_code == 302
    request = db_session.scalars(select(SupportRequest)).one()
    assert request.completion_id == completion.id and request.reference.startswith("CME-")
    html = client.get("/support").get_data(as_text=True)
    assert request.reference in html and "Waiting for CME staff" in html

    staff = make.identity()
    answer_request(db_session, request, answer="Board ID added; resent.", identity_id=staff.id,
                   actor=f"identity:{staff.id}")
    html = client.get("/support").get_data(as_text=True)
    assert "Board ID added; resent." in html and "Answered" in html
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "support_request").order_by(AuditEvent.id)).all()
    assert actions == ["support.opened", "support.answered"]


def test_cannot_attach_someone_elses_credit(client, login_as, make, db_session):
    learner = make.learner()
    other = make.completion(make.learner(), make.activity(title="Private Course"))
    login_as(learner)
    assert "Private Course" not in client.get(f"/support?credit={other.id}").get_data(as_text=True)
    client.post("/support", data={"kind": "wrong", "completion_id": str(other.id),
                                  "message": "x"})
    assert db_session.scalars(select(SupportRequest)).one().completion_id is None


def test_invalid_report_is_refused_with_messages(client, login_as, make, db_session):
    login_as(make.learner())
    response = client.post("/support", data={"message": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose what is wrong." in html and "Describe the problem" in html
    assert db_session.scalars(select(SupportRequest)).all() == []


def test_physicians_only_see_their_own_reports(client, login_as, make, db_session):
    a, b = make.learner(), make.learner()
    from webapp.models import RequestKind
    from webapp.support.services import open_request
    theirs = open_request(db_session, learner_id=b.id, kind=RequestKind.MISSING,
                          message="secret text of b", completion_id=None, actor="test")
    login_as(a)
    html = client.get("/support").get_data(as_text=True)
    assert theirs.reference not in html and "secret text of b" not in html
