"""Delivery that neither duplicates nor loses: SMTP failures and retries, a connection
dropped after the message was handed over, a run that died mid-send, duplicate runs and
two senders at once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from sqlalchemy import event, func, select, update

from tests.notify.conftest import parse, text_of
from tests.notify.faulty_smtp import FaultySmtp
from tests.notify.helpers import choose
from webapp.extensions import db
from webapp.models import MessageState, Notice, NoticeMessage, NoticeState
from webapp.notify import engine as notify_engine
from webapp.notify import services
from webapp.pars.eligibility import Rules

NOW = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def faulty():
    servers: list[FaultySmtp] = []

    def start(**behaviour) -> FaultySmtp:
        server = FaultySmtp(**behaviour).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _one_receipt(env) -> None:
    learner = env.make().learner()
    db.session.commit()
    choose(db.session, env.app, learner, False)


def test_refused_for_now_is_tried_again_with_backoff_within_the_run(faulty, make_env):
    server = faulty(refuse_mail=2)
    env = make_env(server.port, NOTIFY_RETRY_TRIES=3)
    with time_machine.travel(NOW, tick=False):
        _one_receipt(env)
        report = env.send()
        assert (report.sent, report.retry, report.exit_code) == (1, 0, 0)
        assert server.mail_commands == 3 and len(server.received) == 1
        [message] = env.messages()
        assert message.state == MessageState.SENT and message.attempts == 1


def test_a_server_that_keeps_failing_leaves_the_message_for_a_later_run(faulty, make_env):
    server = faulty(refuse_connections=2)
    env = make_env(server.port, NOTIFY_RETRY_TRIES=2)
    with time_machine.travel(NOW, tick=False) as clock:
        _one_receipt(env)
        report = env.send()
        assert (report.sent, report.retry, report.exit_code) == (0, 1, notify_engine.EXIT_INCOMPLETE)
        assert "1 to try again later" in report.line()
        [message] = env.messages()
        assert message.state == MessageState.READY and message.next_attempt_at > NOW
        assert env.send().sent == 0  # backing off
        assert server.connections == 2
        clock.shift(dt.timedelta(hours=7))
        report = env.send()
        assert (report.sent, report.exit_code) == (1, 0)
        assert len(server.received) == 1


def test_a_message_still_refused_after_the_most_attempts_fails_for_staff(faulty, make_env):
    server = faulty(refuse_mail=100)
    env = make_env(server.port, NOTIFY_MAX_ATTEMPTS=2)
    with time_machine.travel(NOW, tick=False) as clock:
        _one_receipt(env)
        assert env.send().retry == 1
        clock.shift(dt.timedelta(hours=7))
        report = env.send()
        assert (report.failed, report.exit_code) == (1, notify_engine.EXIT_ATTENTION)
        [message] = env.messages()
        assert message.state == MessageState.FAILED
        assert "Not sent after 2 runs" in message.error
        clock.shift(dt.timedelta(days=3))
        assert env.send().sent == 0 and server.received == []


def test_refused_for_good_fails_without_retrying(faulty, make_env):
    server = faulty(end_of_data="550")
    env = make_env(server.port, NOTIFY_RETRY_TRIES=3)
    with time_machine.travel(NOW, tick=False):
        _one_receipt(env)
        report = env.send()
        assert (report.failed, report.exit_code) == (1, notify_engine.EXIT_ATTENTION)
        assert len(server.received) == 1
        assert env.messages()[0].state == MessageState.FAILED


def test_a_451_to_the_message_itself_is_tried_again(faulty, make_env):
    server = faulty(end_of_data="451")
    env = make_env(server.port)
    with time_machine.travel(NOW, tick=False):
        _one_receipt(env)
        assert env.send().retry == 1
        assert env.messages()[0].state == MessageState.READY


def test_connection_dropped_after_the_message_is_unknown_and_never_sent_again(faulty, make_env):
    server = faulty(end_of_data="drop")
    env = make_env(server.port, NOTIFY_RETRY_TRIES=3)
    with time_machine.travel(NOW, tick=False) as clock:
        _one_receipt(env)
        report = env.send()
        assert (report.unknown, report.sent, report.exit_code) == (1, 0, notify_engine.EXIT_ATTENTION)
        assert "unknown outcome (not sent again" in report.line()
        [message] = env.messages()
        assert message.state == MessageState.UNKNOWN
        assert "may have been delivered" in message.error
        assert len(server.received) == 1  # not retried within the run either
        for _ in range(3):
            clock.shift(dt.timedelta(days=1))
            env.send()
        assert len(server.received) == 1
        [message] = env.messages()
        assert message.state == MessageState.UNKNOWN
        # Only when staff decide it did not arrive does it go again.
        server.end_of_data = "250"
        assert services.send_again(db.session, message, actor="identity:9")
        db.session.commit()
        assert env.send().sent == 1
        assert len(server.received) == 2


def test_an_unreadable_answer_to_the_message_is_unknown_and_never_sent_again(faulty, make_env):
    # No reply code: smtplib reads it as -1, which says nothing about what was stored.
    server = faulty(end_of_data="garbled")
    env = make_env(server.port, NOTIFY_RETRY_TRIES=3)
    with time_machine.travel(NOW, tick=False):
        _one_receipt(env)
        report = env.send()
        assert (report.unknown, report.retry, report.sent) == (1, 0, 0)
        [message] = env.messages()
        assert message.state == MessageState.UNKNOWN
        assert "may have been delivered" in message.error
        assert len(server.received) == 1  # not tried again within the run
        assert env.send().sent == 0 and len(server.received) == 1


def test_a_run_that_died_while_sending_leaves_the_message_unknown(sink, make_env):
    env = make_env(sink.port, sink, NOTIFY_LEASE_SECONDS=900)
    with time_machine.travel(NOW, tick=False) as clock:
        _one_receipt(env)
        from webapp.notify import compose

        # The first part of a run: the message is put together, then claimed...
        with env.app.app_context():
            report = notify_engine.Report()
            ctx = compose.Context(env.app, Rules.from_config(env.app.config, NOW.date()),
                                  NOW.date(), NOW, "UTC")
            for learner_id in compose.recipients(db.session):
                notify_engine.compose_one(db.session, ctx, learner_id, report)
        claimed = notify_engine._claim(db.engine, "dead-run", NOW)
        assert len(claimed) == 1
        # ...and the process dies before the mail server answers.
        clock.shift(dt.timedelta(minutes=5))
        assert env.send().sent == 0  # still within the lease: left alone
        clock.shift(dt.timedelta(minutes=20))
        report = env.send()
        assert (report.stale, report.sent, report.exit_code) == (1, 0, notify_engine.EXIT_ATTENTION)
        assert env.messages()[0].state == MessageState.UNKNOWN
        assert sink.messages == []


def test_two_senders_at_once_send_each_message_exactly_once(sink, make_env):
    env = make_env(sink.port, sink)
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learners = [make.learner() for _ in range(8)]
        db.session.commit()
        for learner in learners:
            choose(db.session, env.app, learner, False)
        emails = sorted(learner.email for learner in learners)
        db.session.commit()
        db.session.remove()

        barrier = threading.Barrier(2)
        reports: list[notify_engine.Report] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with env.app.app_context():
                    barrier.wait(30)
                    reports.append(notify_engine.send(db.engine, env.app))
                    db.session.remove()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert sum(r.sent for r in reports) == 8
        assert sorted(m["To"] for m in sink.messages) == emails
        assert len({m["Message-ID"] for m in sink.messages}) == 8
        assert db.session.scalar(select(func.count()).select_from(NoticeMessage)) == 8
        assert set(db.session.scalars(select(Notice.state))) == {NoticeState.INCLUDED}
        # And a third run finds nothing to do.
        assert env.send().sent == 0 and len(sink.messages) == 8


def test_a_claim_is_conditional_on_the_message_still_being_ready(sink, make_env):
    env = make_env(sink.port, sink)
    with time_machine.travel(NOW, tick=False):
        _one_receipt(env)
        env.send()
        db.session.execute(update(NoticeMessage).values(state=MessageState.READY))
        db.session.commit()
        first = notify_engine._claim(db.engine, "a", NOW)
        second = notify_engine._claim(db.engine, "b", NOW)
        assert len(first) == 1 and second == []

        # Found ready, then taken by another run's claim before this one's UPDATE: the
        # UPDATE itself must see that it is not ready any more.
        db.session.execute(update(NoticeMessage).values(state=MessageState.READY,
                                                        claim_token=None))
        db.session.commit()
        db.session.remove()
        taken: list[str] = []

        def taken_meanwhile(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().startswith("UPDATE notice_messages SET state") and not taken:
                sql = ("UPDATE notice_messages SET state = ?, claim_token = ?"
                       if conn.dialect.paramstyle == "qmark"
                       else "UPDATE notice_messages SET state = %s, claim_token = %s")
                cursor.execute(sql, (MessageState.SENDING.value, "other"))
                taken.append(statement)

        event.listen(db.engine, "before_cursor_execute", taken_meanwhile)
        try:
            third = notify_engine._claim(db.engine, "c", NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", taken_meanwhile)
        assert taken and third == []
        [message] = env.messages()
        assert (message.state, message.claim_token) == (MessageState.SENDING, "other")


@pytest.mark.postgres
def test_a_message_another_sender_is_claiming_is_passed_over_for_the_next(sink, make_env):
    from sqlalchemy import create_engine

    env = make_env(sink.port, sink)
    with time_machine.travel(NOW, tick=False):
        _one_receipt(env)
        _one_receipt(env)
        _one_receipt(env)
        env.send()
        db.session.execute(update(NoticeMessage).values(state=MessageState.READY))
        db.session.commit()
        first, second, third = (m.id for m in env.messages())
        db.session.remove()
        # Waiting for a lock is an error here (the limit is a safety net against a hang).
        waits_not = create_engine(db.engine.url.render_as_string(hide_password=False),
                                  connect_args={"options": "-c lock_timeout=10000"})
        other = db.engine.connect()
        try:
            # Another sender's claim of the first message, not committed yet.
            other.execute(update(NoticeMessage).where(NoticeMessage.id == first)
                          .values(state=MessageState.SENDING, claim_token="other"))
            claimed = notify_engine._claim(waits_not, "mine", NOW)
            other.commit()
        finally:
            other.close()
            waits_not.dispose()
        # The next message alone, not none (which would end this sender's run with mail
        # left) nor more than one.
        assert [m["id"] for m in claimed] == [second]
        assert [(m.id, m.state, m.claim_token) for m in env.messages()] == [
            (first, MessageState.SENDING, "other"), (second, MessageState.SENDING, "mine"),
            (third, MessageState.READY, None)]


def test_no_mail_server_configured_is_a_clear_stop(make_env):
    env = make_env(25, MAIL_SERVER="")
    result = env.app.test_cli_runner().invoke(args=["notify", "send"])
    assert result.exit_code == notify_engine.EXIT_STOPPED
    assert "notify send: not run: MAIL_SERVER is not set" in result.output


def test_a_staff_address_that_is_not_one_is_a_clear_stop(make_env):
    env = make_env(25, STAFF_EMAIL="cme staff")
    result = env.app.test_cli_runner().invoke(args=["notify", "send"])
    assert result.exit_code == notify_engine.EXIT_STOPPED
    assert "STAFF_EMAIL must be an e-mail address" in result.output


def test_a_slow_run_keeps_its_claim_on_the_messages_it_has_not_reached(sink, make_env,
                                                                       monkeypatch):
    """The lease runs from each message's own send: a second run starting while the first
    is still busy with an earlier message neither takes the later ones for a dead run's
    nor makes the first run send a message it no longer holds."""
    env = make_env(sink.port, sink, NOTIFY_LEASE_SECONDS=900)
    with time_machine.travel(NOW, tick=False) as clock:
        for _ in range(2):
            _one_receipt(env)
        real_send = notify_engine.mailer.send
        taken_as_dead: list[int] = []

        calls: list[str] = []

        def slow_send(settings, msg, **kw):
            # Ten minutes each, within the lease; another run starts during the second.
            calls.append(msg["To"])
            clock.shift(dt.timedelta(minutes=10))
            if len(calls) == 2:
                with notify_engine.engine_session(db.engine) as other:
                    taken_as_dead.append(notify_engine._mark_stale(other, 900))
            real_send(settings, msg, **kw)

        monkeypatch.setattr(notify_engine.mailer, "send", slow_send)
        report = env.send()
        assert taken_as_dead == [0]
        assert (report.sent, report.stale, report.unknown) == (2, 0, 0)
        assert [m.state for m in env.messages()] == [MessageState.SENT] * 2
        assert len(sink.messages) == 2


def test_an_address_beyond_ascii_neither_stops_the_run_nor_loses_the_others(sink, make_env):
    """The import accepts internationalised addresses (``josé@example.org``): sent with
    SMTPUTF8 when the server takes it, and the other messages go either way."""
    env = make_env(sink.port, sink)
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learners = [make.learner(email="josé@example.org"), make.learner()]
        db.session.commit()
        for learner in learners:
            choose(db.session, env.app, learner, False)
        report = env.send()
        assert (report.sent, report.failed) == (2, 0)
        assert sorted(str(m["To"]) for m in sink.messages) == sorted(
            [learners[1].email, "josé@example.org"])
        assert [m.state for m in env.messages()] == [MessageState.SENT] * 2


def test_an_address_beyond_ascii_fails_alone_on_a_server_without_smtputf8(faulty, make_env):
    server = faulty()
    env = make_env(server.port)
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learners = [make.learner(email="josé@example.org"), make.learner()]
        db.session.commit()
        for learner in learners:
            choose(db.session, env.app, learner, False)
        report = env.send()
        assert (report.sent, report.failed) == (1, 1)
        first, second = env.messages()
        assert first.state == MessageState.FAILED and "SMTPUTF8" in (first.error or "")
        assert second.state == MessageState.SENT and len(server.received) == 1


def test_an_address_with_a_line_break_fails_alone_and_adds_no_header(sink, make_env):
    env = make_env(sink.port, sink)
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learners = [make.learner(email="a@example.org\r\nBcc: b@example.net"), make.learner()]
        db.session.commit()
        for learner in learners:
            choose(db.session, env.app, learner, False)
        report = env.send()
        assert (report.sent, report.failed) == (1, 1)
        first, second = env.messages()
        assert first.state == MessageState.FAILED and second.state == MessageState.SENT
        assert [str(m["To"]) for m in sink.messages] == [learners[1].email]
        assert all(m["Bcc"] is None for m in sink.messages)


def test_a_message_the_server_did_not_take_by_the_next_day_goes_in_that_days_one(faulty,
                                                                               make_env):
    """One e-mail a day holds across a mail server that refused for a while: the next day's
    message carries what the earlier one had, re-read as of that day, instead of both going."""
    server = faulty(refuse_connections=2)
    env = make_env(server.port, NOTIFY_RETRY_TRIES=2)
    with time_machine.travel(NOW, tick=False) as clock:
        learner = env.make().learner()
        db.session.commit()
        choose(db.session, env.app, learner, False)
        assert env.send().retry == 1
        clock.shift(dt.timedelta(days=1))
        choose(db.session, env.app, learner, True)
        report = env.send()
        assert (report.sent, report.composed.messages, report.composed.notices) == (1, 1, 2)
        assert len(server.received) == 1
        raw = server.received[0].decode()
        assert "Do not share my credit" in raw and "Share my credit" in raw
        [message] = env.messages()
        assert message.day == NOW.date() + dt.timedelta(days=1)
        # The run that tried the first day's message counts: a server that keeps refusing
        # still ends in "failed" after NOTIFY_MAX_ATTEMPTS.
        assert message.state == MessageState.SENT and message.attempts == 2
        assert set(db.session.scalars(select(Notice.message_id))) == {message.id}


def test_each_try_within_a_run_restarts_the_lease(sink, make_env, monkeypatch):
    """Tries that each stay within NOTIFY_LEASE_SECONDS but together pass it (a mail server
    slow to refuse) do not make the message look like a dead run's to another run."""
    env = make_env(sink.port, sink, NOTIFY_LEASE_SECONDS=900, NOTIFY_RETRY_TRIES=2)
    with time_machine.travel(NOW, tick=False) as clock:
        _one_receipt(env)
        real_once = notify_engine.mailer._send_once
        tries: list[int] = []
        taken_as_dead: list[int] = []

        def slow_once(settings, msg):
            tries.append(1)
            clock.shift(dt.timedelta(minutes=10))
            if len(tries) == 1:
                raise notify_engine.mailer.NotSent("MAIL FROM: 451 try again later")
            with notify_engine.engine_session(db.engine) as other:
                taken_as_dead.append(notify_engine._mark_stale(other, 900))
            real_once(settings, msg)

        monkeypatch.setattr(notify_engine.mailer, "_send_once", slow_once)
        report = env.send()
        assert taken_as_dead == [0]
        assert (report.sent, report.unknown) == (1, 0)
        assert [m.state for m in env.messages()] == [MessageState.SENT]


def test_a_run_that_lost_its_claim_between_tries_does_not_send(sink, make_env, monkeypatch):
    env = make_env(sink.port, sink, NOTIFY_LEASE_SECONDS=60, NOTIFY_RETRY_TRIES=2)
    with time_machine.travel(NOW, tick=False) as clock:
        _one_receipt(env)

        def slow_refusal(settings, msg):
            clock.shift(dt.timedelta(minutes=10))
            with notify_engine.engine_session(db.engine) as other:  # another run starts
                assert notify_engine._mark_stale(other, 60) == 1
            raise notify_engine.mailer.NotSent("MAIL FROM: 451 try again later")

        monkeypatch.setattr(notify_engine.mailer, "_send_once", slow_refusal)
        report = env.send()
        assert (report.sent, report.retry, report.failed) == (0, 0, 0)
        assert [m.state for m in env.messages()] == [MessageState.UNKNOWN]
        assert sink.messages == []


def test_a_server_without_8bitmime_gets_a_seven_bit_message(faulty, make_env):
    """A name beyond ASCII makes the body 8-bit: such a body goes only to a server that
    offers 8BITMIME (declared with BODY=8BITMIME); any other gets it re-encoded."""
    server = faulty()
    env = make_env(server.port)
    with time_machine.travel(NOW, tick=False):
        learner = env.make().learner(first_name="José", last_name="Núñez")
        db.session.commit()
        choose(db.session, env.app, learner, False)
        assert env.send().sent == 1
        [raw] = server.received
        assert raw.isascii()
        assert "Dear José Núñez," in text_of(parse(raw))
