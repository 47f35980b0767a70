"""The preference on the profile, the signed one-click link, and the staff console's list."""

from __future__ import annotations

import datetime as dt

from itsdangerous import URLSafeSerializer
from sqlalchemy import insert, select

from devtools.database import SECRET
from webapp.models import (
    AuditEvent,
    MessageState,
    Notice,
    NoticeKind,
    NoticeMessage,
    NoticePreference,
    NoticeState,
)
from webapp.notify import links, services


def _link(learner_id: int) -> str:
    return f"/notices/unsubscribe/{links.unsubscribe_token(SECRET, learner_id)}"


def test_link_get_signed_out_shows_a_button_and_changes_nothing(client, make, db_session):
    learner = make.learner()
    response = client.get(_link(learner.id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Stop these e-mails" in html and 'method="post"' in html
    assert services.reminders_on(db_session, learner.id)


def test_link_post_signed_out_turns_off_only_that_preference(client, make, db_session):
    learner, other = make.learner(), make.learner()
    consent_before = (learner.consent_granted, learner.consent_source)
    # A mail program's one-click POST (RFC 8058): no session, no CSRF token.
    response = client.post(_link(learner.id), data={"List-Unsubscribe": "One-Click"}, csrf=False)
    assert response.status_code == 200
    assert "no longer get e-mails" in response.get_data(as_text=True)
    db_session.expire_all()
    assert not services.reminders_on(db_session, learner.id)
    assert services.reminders_on(db_session, other.id)
    assert (learner.consent_granted, learner.consent_source) == consent_before
    audit = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "notify.reminders_off")).one()
    assert audit.actor == "unsubscribe-link" and audit.subject_id == str(learner.id)
    # Again: nothing more changes.
    assert client.post(_link(learner.id), csrf=False).status_code == 200
    assert db_session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "notify.reminders_off", AuditEvent.id != audit.id)) is None


def test_forged_altered_or_foreign_tokens_are_refused_and_change_nothing(client, make, db_session):
    learner = make.learner()
    good = links.unsubscribe_token(SECRET, learner.id)
    forged = [
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),       # signature altered
        links.unsubscribe_token("another-secret-" + "y" * 40, learner.id),  # other key
        URLSafeSerializer(SECRET, salt="wtf-csrf-token").dumps({"l": learner.id, "p": "reminders"}),
        URLSafeSerializer(SECRET, salt=links.SALT).dumps({"l": learner.id, "p": "consent"}),
        URLSafeSerializer(SECRET, salt=links.SALT).dumps({"l": "1", "p": "reminders"}),
        "not-a-token",
        links.unsubscribe_token(SECRET, learner.id + 999),             # no such learner
    ]
    for token in forged:
        for method in ("get", "post"):
            kwargs = {"csrf": False} if method == "post" else {}
            response = getattr(client, method)(f"/notices/unsubscribe/{token}", **kwargs)
            assert response.status_code == 400, token
            assert "This link is not valid" in response.get_data(as_text=True)
    db_session.expire_all()
    assert services.reminders_on(db_session, learner.id)


def test_profile_shows_the_preference_and_changes_it_with_csrf(client, login_as, make, db_session):
    learner = make.learner()
    login_as(learner)
    html = client.get("/profile").get_data(as_text=True)
    assert 'id="notices"' in html and "Turn off reminders and rejection notices" in html
    assert client.post("/profile/notices", data={"reminders": "off"}, csrf=False).status_code == 400
    assert services.reminders_on(db_session, learner.id)
    response = client.post("/profile/notices", data={"reminders": "off"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile#notices")
    db_session.expire_all()
    assert not services.reminders_on(db_session, learner.id)
    html = client.get("/profile").get_data(as_text=True)
    assert "Turn on reminders and rejection notices" in html
    client.post("/profile/notices", data={"reminders": "sideways"})
    db_session.expire_all()
    assert not services.reminders_on(db_session, learner.id)
    client.post("/profile/notices", data={"reminders": "on"})
    db_session.expire_all()
    assert services.reminders_on(db_session, learner.id)


def test_staff_physician_page_lists_what_was_sent_and_when(client, login_as, make, db_session):
    learner = make.learner()
    sent_at = dt.datetime(2026, 11, 27, 15, 2, tzinfo=dt.UTC)
    message = NoticeMessage(recipient=f"learner:{learner.id}", learner_id=learner.id,
                            day=dt.date(2026, 11, 27), to_address=learner.email,
                            subject="Lakeshore Health CME: Your sharing choice was recorded",
                            text_body="t", html_body="h", message_id="<m@x>",
                            state=MessageState.SENT, sent_at=sent_at)
    lost = NoticeMessage(recipient=f"learner:{learner.id}", learner_id=learner.id,
                         day=dt.date(2026, 11, 28), to_address=learner.email,
                         subject="Lakeshore Health CME: CME staff answered your report",
                         text_body="t", html_body="h", message_id="<n@x>",
                         state=MessageState.UNKNOWN, error="the connection failed")
    db_session.add_all([message, lost])
    db_session.flush()
    db_session.add_all([
        Notice(key="consent:1", learner_id=learner.id, kind=NoticeKind.CONSENT_RECEIPT,
               facts={}, state=NoticeState.INCLUDED, message_id=message.id),
        Notice(key="rejected:1:1", learner_id=learner.id, kind=NoticeKind.REJECTED,
               facts={}, state=NoticeState.TURNED_OFF),
    ])
    db_session.flush()
    login_as(None, staff=True)
    html = client.get(f"/staff/physicians/{learner.id}").get_data(as_text=True)
    assert "E-mail notices" in html
    assert "Your sharing choice was recorded" in html and "November 27, 2026, 9:02 a.m. CST" in html
    # The time is in DISPLAY_TIMEZONE, with its zone: the heading claims no other.
    assert '<th scope="col">Sent</th>' in html and "(UTC)" not in html
    assert "Receipt of a sharing choice" in html
    assert "Outcome unknown: may have arrived; not sent again" in html
    assert "Record rejected by PARS" in html and "turned off by the physician" in html


def _message(learner, state: MessageState) -> NoticeMessage:
    return NoticeMessage(recipient=f"learner:{learner.id}", learner_id=learner.id,
                         day=dt.date(2026, 11, 27), to_address=learner.email, subject="s",
                         text_body="t", html_body="h", message_id="<m@x>", state=state,
                         error="the connection failed after the message was handed over")


def test_staff_send_again_an_unknown_message_only_when_they_decide(client, login_as, make,
                                                                   db_session):
    learner = make.learner()
    lost = _message(learner, MessageState.UNKNOWN)
    db_session.add(lost)
    db_session.flush()
    url = f"/staff/e-mails/{lost.id}/send-again"
    # Signed out, or a physician: refused.
    assert client.post(url).status_code == 302
    login_as(learner)
    assert client.post(url).status_code == 403
    login_as(None, staff=True)
    assert "Send again (it did not arrive)" in client.get(
        f"/staff/physicians/{learner.id}").get_data(as_text=True)
    assert client.post(url, csrf=False).status_code == 400
    db_session.refresh(lost)
    assert lost.state == MessageState.UNKNOWN
    response = client.post(url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/physicians/{learner.id}#notices")
    db_session.refresh(lost)
    assert lost.state == MessageState.READY and "CME staff" in lost.error
    assert db_session.scalars(select(AuditEvent.actor).where(
        AuditEvent.action == "notify.send_again")).one().startswith("identity:")
    # A message that went out is not sent again.
    sent = _message(learner, MessageState.SENT)
    sent.day = dt.date(2026, 11, 28)
    db_session.add(sent)
    db_session.flush()
    client.post(f"/staff/e-mails/{sent.id}/send-again")
    db_session.refresh(sent)
    assert sent.state == MessageState.SENT


def test_profile_and_faq_say_when_the_second_reminder_goes(client, login_as, make, app):
    """As many days before the deadline as NOTIFY_REMINDER_DAYS says, not "a few"."""
    days = app.config["NOTIFY_REMINDER_DAYS"]
    login_as(make.learner())
    profile = " ".join(client.get("/profile").get_data(as_text=True).split())
    faq = " ".join(client.get("/faq/email-notices").get_data(as_text=True).split())
    for page in (profile, faq):
        assert f"{days} days before the deadline" in page and "a few days" not in page


def test_a_preference_written_meanwhile_by_another_request_is_not_an_error(make, db_session):
    learner = make.learner()
    # Another request turned reminders off first: the row exists, written without this
    # session's knowledge. Turning off again changes nothing and raises nothing.
    db_session.execute(insert(NoticePreference).values(
        learner_id=learner.id, reminders=False, changed_by="identity:1"))
    assert services.set_reminders(db_session, learner.id, False, actor="unsubscribe-link") \
        is False
    assert services.set_reminders(db_session, learner.id, True, actor="identity:1") is True
    assert services.set_reminders(db_session, learner.id, True, actor="identity:1") is False
    assert services.reminders_on(db_session, learner.id)
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_id == str(learner.id)).order_by(AuditEvent.id)).all()
    assert actions.count("notify.reminders_on") == 1
    assert "notify.reminders_off" not in actions
