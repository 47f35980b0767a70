"""The reply thread on a report, and messages too long for it: refused and said, never cut."""

from __future__ import annotations

import html

from flask_sqlalchemy.record_queries import get_recorded_queries
from sqlalchemy import func, select

from webapp.models import AuditEvent, RequestKind, SupportRequest
from webapp.models.support import SupportReply
from webapp.support.services import answer_request, open_request


def _text(response) -> str:
    return html.unescape(" ".join(response.get_data(as_text=True).split()))


def _report(db_session, learner, message="My ABIM points are missing.") -> SupportRequest:
    return open_request(db_session, learner_id=learner.id, kind=RequestKind.WRONG,
                        message=message, completion_id=None, actor="test")


def _answer(db_session, make, request, text="Board ID added; resent."):
    staff = make.identity()
    answer_request(db_session, request, answer=text, identity_id=staff.id,
                   actor=f"identity:{staff.id}")
    return staff


def _audits(db_session) -> list[str]:
    """The report's audit actions (sorted: the test's own entries are written at its flush)."""
    db_session.flush()
    return sorted(db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "support_request")))


def test_reply_after_an_answer_reopens_the_report_for_staff(client, login_as, make, db_session):
    learner = make.learner()
    identity = login_as(learner)
    request = _report(db_session, learner)
    assert "Reply to CME staff" not in _text(client.get("/support"))  # waiting: nothing to reply to
    _answer(db_session, make, request)
    page = _text(client.get("/support"))
    assert "Board ID added; resent." in page and f"Reply to CME staff about {request.reference}" in page

    response = client.post(f"/support/{request.id}/reply",
                           data={"message": "Still not on my ABIM record.\r\nIt was in May."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/support#report-{request.id}")
    db_session.expire_all()
    saved = db_session.get(SupportRequest, request.id)
    assert saved.state == "open" and saved.answer is None
    assert [(r.author, r.identity_id, r.body) for r in saved.replies] == [
        ("staff", saved.answered_by_identity_id, "Board ID added; resent."),
        ("physician", identity.id, "Still not on my ABIM record.\nIt was in May."),
    ]
    assert _audits(db_session) == ["support.answered", "support.opened", "support.replied"]
    page = _text(client.get("/support"))
    assert "Your reply" in page and "Waiting for CME staff" in page


def test_staff_see_the_thread_and_answer_again(client, login_as, make, db_session):
    learner = make.learner()
    request = _report(db_session, learner)
    _answer(db_session, make, request, "First answer.")
    login_as(learner)
    client.post(f"/support/{request.id}/reply", data={"message": "That did not fix it."})

    login_as(None, staff=True)
    page = _text(client.get(f"/staff/requests/{request.id}"))
    assert page.index("First answer.") < page.index("The physician replied")
    assert page.index("The physician replied") < page.index("That did not fix it.")
    assert "Send answer and close" in page  # open again: staff can answer
    done = client.post(f"/staff/requests/{request.id}", data={"answer": "Second answer."})
    assert done.status_code == 302
    db_session.expire_all()
    saved = db_session.get(SupportRequest, request.id)
    assert saved.state == "answered" and saved.answer == "Second answer."
    assert [r.body for r in saved.replies] == ["First answer.", "That did not fix it.",
                                               "Second answer."]
    login_as(learner)
    page = _text(client.get("/support"))
    assert page.index("First answer.") < page.index("That did not fix it.") < \
        page.index("Second answer.")


def test_a_physician_cannot_reply_to_another_physicians_report(client, login_as, make,
                                                                 db_session):
    theirs = _report(db_session, make.learner(), "secret text of b")
    _answer(db_session, make, theirs)
    login_as(make.learner())
    response = client.post(f"/support/{theirs.id}/reply", data={"message": "intrusion"})
    assert response.status_code == 404
    assert client.post("/support/999999/reply", data={"message": "x"}).status_code == 404
    db_session.expire_all()
    assert db_session.get(SupportRequest, theirs.id).state == "answered"
    assert db_session.scalar(select(func.count()).select_from(SupportReply).where(
        SupportReply.author == "physician")) == 0


def test_a_reply_needs_the_csrf_token(client, login_as, make, db_session):
    learner = make.learner()
    request = _report(db_session, learner)
    _answer(db_session, make, request)
    login_as(learner)
    response = client.post(f"/support/{request.id}/reply", data={"message": "x"}, csrf=False)
    assert response.status_code == 400
    assert len(db_session.get(SupportRequest, request.id).replies) == 1


def test_a_reply_waits_for_an_answer(client, login_as, make, db_session):
    learner = make.learner()
    request = _report(db_session, learner)
    login_as(learner)
    response = client.post(f"/support/{request.id}/reply", data={"message": "Any news?"},
                           follow_redirects=True)
    assert f"{request.reference} is waiting for CME staff already" in _text(response)
    assert db_session.get(SupportRequest, request.id).replies == []
    assert _audits(db_session) == ["support.opened"]


def test_staff_and_non_physician_accounts_cannot_reply(client, login_as, make, db_session):
    request = _report(db_session, make.learner())
    _answer(db_session, make, request)
    login_as(None, staff=True)
    assert client.post(f"/support/{request.id}/reply", data={"message": "x"}).status_code == 403


def test_a_long_report_is_refused_with_its_length_and_kept_for_shortening(client, login_as, make,
                                                                         db_session):
    login_as(make.learner())
    pasted = "x" * 5000
    response = client.post("/support", data={"kind": "missing", "message": pasted})
    assert response.status_code == 422
    page = _text(response)
    assert ("This is 5,000 characters long; at most 4,000 fit. Shorten it by 1,000 characters "
            "and send it again (nothing was sent).") in page
    assert pasted in page  # kept in the text area, not cut
    assert db_session.scalar(select(func.count()).select_from(SupportRequest)) == 0


def test_line_breaks_count_once_as_in_the_browser(client, login_as, make, db_session):
    login_as(make.learner())
    message = "\r\n".join(["y" * 999] * 4)  # 3,996 letters and 3 line breaks: 3,999 characters
    assert client.post("/support", data={"kind": "missing", "message": message}).status_code == 302
    saved = db_session.scalars(select(SupportRequest)).one()
    assert len(saved.message) == 3999 and "\r" not in saved.message


def test_the_text_areas_have_a_counter_and_no_maxlength(client, login_as, make, db_session):
    learner = make.learner()
    request = _report(db_session, learner)
    _answer(db_session, make, request)
    login_as(learner)
    raw = client.get("/support").get_data(as_text=True)
    assert "maxlength" not in raw
    for field_id in ("message", f"reply-{request.id}"):
        assert f'data-counter="{field_id}-count"' in raw and 'data-max-chars="4000"' in raw
        assert (f'<p class="hint char-count" id="{field_id}-count" aria-live="polite">'
                "At most 4,000 characters.</p>") in raw
        assert f'aria-describedby="{field_id}-hint {field_id}-count"' in raw
    assert '<script src="/static/counter.js" defer></script>' in raw


def test_a_long_reply_is_refused_and_shown_under_its_report(client, login_as, make, db_session):
    learner = make.learner()
    request = _report(db_session, learner)
    _answer(db_session, make, request)
    login_as(learner)
    response = client.post(f"/support/{request.id}/reply", data={"message": "z" * 4001})
    assert response.status_code == 422
    raw = response.get_data(as_text=True)
    assert "This is 4,001 characters long; at most 4,000 fit. Shorten it by 1 character and" in raw
    assert f'id="reply-{request.id}-error"' in raw and "z" * 4001 in raw
    assert len(db_session.get(SupportRequest, request.id).replies) == 1


def test_the_reports_page_does_not_query_more_with_more_reports(client, login_as, make,
                                                                db_session):
    learner = make.learner()
    login_as(learner)
    first = _report(db_session, learner)
    _answer(db_session, make, first)

    def count() -> int:
        before = len(get_recorded_queries())
        assert client.get("/support").status_code == 200
        return len(get_recorded_queries()) - before

    few = count()
    for n in range(5):
        report = _report(db_session, learner, f"report {n}")
        report.completion = make.completion(learner)
        _answer(db_session, make, report)
    assert count() == few


def test_a_reply_and_an_answer_each_count_once_when_two_requests_cross(make, db_session):
    """A double-click sends two requests that both read the report before either saved:
    the second is refused rather than adding the same message twice (and, for an answer,
    telling the physician twice)."""
    import pytest
    from sqlalchemy import update

    from webapp.models import Notice, RequestState
    from webapp.support import services

    learner = make.learner()
    request = _report(db_session, learner)
    staff = _answer(db_session, make, request)
    db_session.flush()

    def saved_meanwhile(state: RequestState) -> None:
        db_session.execute(update(SupportRequest).where(SupportRequest.id == request.id)
                           .values(state=state).execution_options(synchronize_session=False))

    # The first reply was saved after this request read the report (still answered here).
    saved_meanwhile(RequestState.OPEN)
    with pytest.raises(services.CannotReply):
        services.reply(db_session, request, message="Still missing.", identity_id=staff.id,
                       actor="test")
    db_session.expire_all()
    request = db_session.get(SupportRequest, request.id)
    assert [r.author for r in request.replies] == ["staff"]
    # And the same for a second answer crossing the first.
    saved_meanwhile(RequestState.ANSWERED)
    with pytest.raises(services.AlreadyAnswered):
        services.answer_request(db_session, request, answer="Again", identity_id=staff.id,
                                actor="test")
    db_session.expire_all()
    request = db_session.get(SupportRequest, request.id)
    assert [r.body for r in request.replies] == ["Board ID added; resent."]
    assert db_session.scalar(select(func.count()).select_from(Notice)) == 1
