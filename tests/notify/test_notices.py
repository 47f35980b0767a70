"""Each notice kind, gathered one e-mail per physician per day, sent through a real SMTP
server (the development mail sink), with the preference and the staff digest."""

from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from tests.notify.conftest import STAFF, html_of, text_of
from tests.notify.helpers import (
    answered_report,
    choose,
    days_ago,
    rejected_by_board,
    rejected_by_pars,
)
from webapp.consent import wording
from webapp.extensions import db
from webapp.models import ConsentSource, Learner, MessageState, Notice, NoticeKind, NoticeState
from webapp.notify import services
from webapp.pars.eligibility import Rules
from webapp.transcript import services as transcript

NOW = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)


def test_credit_waiting_for_details_is_told_when_it_starts_waiting_and_near_the_deadline(env):
    with time_machine.travel(NOW, tick=False) as clock:
        make = env.make()
        learner = make.learner(identifiers=False)
        make.completion(learner, make.activity(title="Sepsis Update"), date=days_ago(NOW, 10))
        env.plan()

        report = env.send()
        assert (report.sent, report.exit_code) == (1, 0)
        [mail] = env.mail()
        assert mail["To"] == learner.email
        assert mail["Subject"] == "Lakeshore Health CME: Action needed: credit is waiting for your details"
        unsubscribe = mail["List-Unsubscribe"]
        assert unsubscribe.startswith("<https://portal.test/notices/unsubscribe/")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = text_of(mail)
        assert "Sepsis Update (November 17, 2026), PARS / CME Passport:" in text
        assert "birth month and day" in text
        assert "Deadline: December 17, 2026 (20 days left)." in text
        # The same deadline and days left as the physician's transcript shows.
        rules = Rules.from_config(env.app.config, NOW.date())
        row = transcript.build(db.session, learner.id, rules).rows[0]
        assert row.pars.deadline == dt.date(2026, 12, 17)
        assert (row.pars.deadline - NOW.date()).days == 20
        assert "https://portal.test/profile#identifiers" in text

        # A second run, the same day or the next, plans and sends nothing.
        assert env.send().sent == 0
        clock.shift(dt.timedelta(days=1))
        assert env.send().sent == 0

        clock.move_to(NOW + dt.timedelta(days=14))  # 6 days before the deadline
        report = env.send()
        assert report.sent == 1
        text = text_of(env.mail()[-1])
        assert "Deadline: December 17, 2026 (6 days left)." in text
        assert env.send().sent == 0
        clock.shift(dt.timedelta(days=1))
        assert env.send().sent == 0
        kinds = [n.kind for n in db.session.scalars(select(Notice).order_by(Notice.id))]
        assert kinds == [NoticeKind.MISSING_IDENTIFIER, NoticeKind.DEADLINE_NEAR]
        assert len(env.mail()) == 2


def test_credit_fixed_before_its_message_goes_is_not_mentioned(env):
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner(identifiers=False)
        learner_id = learner.id
        make.completion(learner, date=days_ago(NOW, 10))
        env.plan()
        from webapp.notify import compose

        compose.plan_reminders(db.session, Rules.from_config(env.app.config, NOW.date()), 7)
        db.session.commit()
        fixed = db.session.get(Learner, learner_id)
        fixed.birth_month_day, fixed.npi = "03-14", "1234567893"
        db.session.commit()
        report = env.send()
        assert report.sent == 0 and report.composed.outdated == 1
        assert db.session.scalars(select(Notice.state)).all() == [NoticeState.OUTDATED]


def test_sharing_choices_get_a_receipt_with_wording_time_and_who_gathered_in_one_email(env):
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner()
        imported = make.learner()
        db.session.commit()
        choose(db.session, env.app, learner, False)
        choose(db.session, env.app, learner, True, source=ConsentSource.STAFF)
        choose(db.session, env.app, imported, False, source=ConsentSource.IMPORT)

        report = env.send()
        assert report.sent == 1
        [mail] = env.mail()
        assert mail["To"] == learner.email
        text = text_of(mail)
        assert ("November 27, 2026, 3:00 p.m. UTC: Do not share my credit, recorded by: You, "
                "on this site.") in text
        assert ("November 27, 2026, 3:00 p.m. UTC: Share my credit, recorded by: CME staff, "
                "on your behalf.") in text
        permission = wording.permission("Lakeshore Health")
        assert f"The permission (wording {wording.VERSION}): \"{permission}\"" in text
        assert "signed form" not in text  # staff's note stays in the console


def test_an_answered_report_is_told_without_the_answer_itself(env):
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner()
        staff = make.identity(None)
        db.session.commit()
        reference = answered_report(db.session, learner, staff.id,
                                    answer=f"Your NPI {learner.npi} was wrong in our system")
        assert env.send().sent == 1
        [mail] = env.mail()
        assert mail["Subject"] == "Lakeshore Health CME: CME staff answered your report"
        text = text_of(mail)
        assert f"CME staff answered your report {reference}. Read the answer: " \
               "https://portal.test/support" in text
        assert learner.npi not in mail.as_string()


def test_records_rejected_by_pars_and_by_a_board_say_what_to_do_and_no_identifier(env):
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner()
        make.board(learner, "ABIM", "284913")
        first = make.completion(learner, make.activity(title="Heart Failure Update"),
                                date=days_ago(NOW, 5))
        second = make.completion(learner, make.activity(title="Hypertension Essentials"),
                                 date=days_ago(NOW, 6),
                                 board_lines=[("ABIM", "Medical Knowledge", "1.00")])
        env.plan()
        rejected_by_pars(db.session, first.id)
        rejected_by_board(db.session, second.id, "ABIM")

        assert env.send().sent == 1
        [mail] = env.mail()
        assert mail["Subject"] == "Lakeshore Health CME: Action needed: a credit record was rejected"
        text = text_of(mail)
        assert "Heart Failure Update (November 22, 2026), PARS / CME Passport:" in text
        assert "PARS could not match your name" in text
        assert "Hypertension Essentials (November 21, 2026), ABIM (American Board of Internal " \
               "Medicine):\n  ABIM did not accept the record. Its reason is on your transcript." \
               in text
        raw = mail.as_string()
        for secret in (learner.npi, learner.birth_month_day, learner.licenses[0].number, "284913"):
            assert secret not in raw
        html = html_of(mail)
        assert '<html lang="en">' in html and "<h2" in html
        assert 'name="viewport"' in html


def test_a_boards_own_words_which_may_quote_an_identifier_stay_out_of_the_email(env):
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner()
        make.board(learner, "ABIM", "284913")
        completion = make.completion(learner, make.activity(title="Hypertension Essentials"),
                                     date=days_ago(NOW, 6),
                                     board_lines=[("ABIM", "Medical Knowledge", "1.00")])
        env.plan()
        rejected_by_board(db.session, completion.id, "ABIM",
                          message=f"Diplomate 284913 born {learner.birth_month_day} not matched")

        assert env.send().sent == 1
        [mail] = env.mail()
        raw = mail.as_string()
        for secret in ("284913", learner.birth_month_day, "not matched"):
            assert secret not in raw
        assert "ABIM did not accept the record. Its reason is on your transcript." \
            in text_of(mail)


def test_html_escapes_what_comes_from_the_data(env):
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner(identifiers=False)
        make.completion(learner, make.activity(title="<script>alert(1)</script> & Co"),
                        date=days_ago(NOW, 10))
        env.plan()
        env.send()
        [mail] = env.mail()
        html = html_of(mail)
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
        assert "<script>alert(1)</script> & Co" in text_of(mail)


def test_line_breaks_in_names_and_titles_add_no_header_nor_a_second_message(env):
    """Names and titles go into the body only; a lone dot on a line of theirs does not end
    the message early (SMTP smuggling) either."""
    injected = "x\r\nBcc: evil@example.net\r\n.\r\nMAIL FROM:<evil@example.net>"
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner(identifiers=False, last_name="Smith" + injected)
        make.completion(learner, make.activity(title="Heart" + injected), date=days_ago(NOW, 10))
        env.plan()
        assert env.send().sent == 1
        [mail] = env.mail()
        assert mail["Bcc"] is None and mail["To"] == learner.email
        assert mail["Subject"] == "Lakeshore Health CME: Action needed: credit is waiting for " \
            "your details"
        assert "MAIL FROM:<evil@example.net>" in text_of(mail)


def test_turned_off_reminders_leave_only_receipts_and_answers(env):
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner(identifiers=False)
        make.completion(learner, make.activity(title="Waiting Credit"), date=days_ago(NOW, 10))
        db.session.commit()
        services.set_reminders(db.session, learner.id, False, actor="test")
        db.session.commit()
        env.plan()
        choose(db.session, env.app, learner, True)  # confirms sharing: still waiting for details

        report = env.send()
        assert report.sent == 1 and report.composed.turned_off == 1
        [mail] = env.mail()
        text = text_of(mail)
        assert "Share my credit" in text and "Waiting Credit" not in text
        assert mail["Subject"] == "Lakeshore Health CME: Your sharing choice was recorded"
        assert "You turned off e-mails about credit waiting" in text
        turned_off = db.session.scalars(select(Notice).where(
            Notice.kind == NoticeKind.MISSING_IDENTIFIER)).one()
        assert turned_off.state == NoticeState.TURNED_OFF and turned_off.message_id is None


def test_one_email_per_physician_per_day_the_rest_waits_for_tomorrow(env):
    with time_machine.travel(NOW.replace(hour=9), tick=False) as clock:
        learner = env.make().learner()
        db.session.commit()
        choose(db.session, env.app, learner, False)
        assert env.send().sent == 1
        clock.shift(dt.timedelta(hours=6))
        choose(db.session, env.app, learner, True)
        report = env.send()
        assert (report.sent, report.composed.deferred) == (0, 1)
        assert "wait for tomorrow" in report.line()
        clock.shift(dt.timedelta(hours=12))  # 03:00 the next day (UTC)
        assert env.send().sent == 1
        first, second = env.mail()
        assert "Do not share my credit" in text_of(first)
        assert "Share my credit" in text_of(second) and "Do not share" not in text_of(second)


def test_the_day_is_the_configured_time_zones(sink, make_env):
    env = make_env(sink.port, sink, NOTIFY_TIMEZONE="America/Chicago",
                   DISPLAY_TIMEZONE="America/Chicago")
    evening = dt.datetime(2026, 11, 27, 20, 0, tzinfo=dt.UTC)  # 14:00 in Chicago
    with time_machine.travel(evening, tick=False) as clock:
        learner = env.make().learner()
        db.session.commit()
        choose(db.session, env.app, learner, False)
        assert env.send().sent == 1
        clock.shift(dt.timedelta(hours=7))  # 03:00 UTC on the 28th, still the 27th in Chicago
        choose(db.session, env.app, learner, True)
        assert env.send().sent == 0
        clock.shift(dt.timedelta(hours=4))  # 01:00 on the 28th in Chicago
        assert env.send().sent == 1
        assert [m.day for m in env.messages()] == [dt.date(2026, 11, 27), dt.date(2026, 11, 28)]
        assert "CST" in text_of(env.mail()[1])


def test_digest_times_are_in_the_display_zone_whatever_zone_counts_the_days(sink, make_env):
    from webapp.models import EngineRun, RunKind, RunOutcome

    env = make_env(sink.port, sink, STAFF_EMAIL=STAFF, NOTIFY_TIMEZONE="UTC",
                   DISPLAY_TIMEZONE="America/Chicago")
    with time_machine.travel(NOW, tick=False):
        for kind in (RunKind.TRANSMIT, RunKind.SYNC):
            db.session.add(EngineRun(kind=kind, started_at=NOW - dt.timedelta(hours=30),
                                     outcome=RunOutcome.OK))
        db.session.commit()
        assert env.send().sent == 1
        text = text_of(env.mail()[0])
        assert "pars transmit has not run since November 26, 2026, 3:00 a.m. CST" in text


def test_staff_digest_once_a_day(sink, make_env):
    env = make_env(sink.port, sink, STAFF_EMAIL=STAFF)
    with time_machine.travel(NOW, tick=False) as clock:
        make = env.make()
        learner = make.learner()
        credit = make.completion(learner, date=days_ago(NOW, 5))
        board_credit = make.completion(learner, date=days_ago(NOW, 6))
        make.completion(learner, make.activity(registered=False, title="Unregistered Grand Rounds"),
                        date=days_ago(NOW, 3))
        staff = make.identity(None)
        env.plan()
        rejected_by_pars(db.session, credit.id)
        rejected_by_board(db.session, board_credit.id, "ABIM")
        from webapp.models import RequestKind
        from webapp.support.services import open_request

        open_request(db.session, learner_id=learner.id, kind=RequestKind.WRONG, message="x",
                     completion_id=None, actor="test")
        db.session.commit()
        del staff

        report = env.send()
        assert report.sent == 2
        digest = next(m for m in env.mail() if m["To"] == STAFF)
        assert digest["Subject"] == "Lakeshore Health CME: daily digest for November 27, 2026"
        assert digest["List-Unsubscribe"] is None
        text = text_of(digest)
        assert "Needs attention (rejected or failed records): 1" in text
        assert "Rejected by a certifying board: 1" in text
        assert "Open physician reports: 1" in text
        assert "- Unregistered Grand Rounds: 1 credit" in text
        assert "pars transmit has never run." in text and "pars sync has never run." in text
        assert learner.last_name not in text

        assert env.send().sent == 0
        clock.shift(dt.timedelta(days=1))
        assert env.send().sent == 1
        assert [m["To"] for m in env.mail()].count(STAFF) == 2


def test_staff_console_lists_what_was_sent_and_when(env, ):
    with time_machine.travel(NOW, tick=False):
        learner = env.make().learner()
        db.session.commit()
        choose(db.session, env.app, learner, False)
        env.send()
        [sent] = services.messages_for(db.session, learner.id)
        assert sent.message.state == MessageState.SENT
        assert sent.message.sent_at == NOW
        assert sent.kinds == ["Receipt of a sharing choice"]


def test_board_credit_waiting_for_the_board_id_names_the_board_and_its_deadline(env):
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner()
        make.board(learner, "ABIM", None)
        make.completion(learner, make.activity(title="Hypertension Essentials"),
                        date=days_ago(NOW, 25), board_lines=[("ABIM", "Medical Knowledge", "1.00")])
        env.plan()
        report = env.send()
        assert report.sent == 1 and report.planned == 1
        text = text_of(env.mail()[0])
        assert ("Hypertension Essentials (November 2, 2026), ABIM (American Board of Internal "
                "Medicine):") in text
        assert "ABIM ID" in text
        assert "Deadline: December 2, 2026 (5 days left)." in text
        notice = db.session.scalars(select(Notice)).one()
        assert notice.kind == NoticeKind.DEADLINE_NEAR
        assert notice.key == f"deadline_near:{notice.facts['completion_id']}:ABIM:2026-12-02"


def test_composing_a_physicians_email_queries_the_same_however_many_notices_or_credits(env):
    """Each physician's e-mail is put together in a fixed number of queries: it does not
    grow with the notices it carries nor with the credit on the transcript."""
    from sqlalchemy import event

    from webapp.notify import compose

    with time_machine.travel(NOW, tick=False):
        make = env.make()

        def physician(rejected: int, other: int) -> int:
            learner = make.learner()
            done = [make.completion(learner, make.activity(title=f"Course {n}"),
                                    date=days_ago(NOW, 5 + n)) for n in range(rejected + other)]
            env.plan()
            for completion in done[:rejected]:
                rejected_by_pars(db.session, completion.id)
            return learner.id

        few, many = physician(1, 0), physician(6, 12)
        db.session.commit()
        app = env.app
        ctx = compose.Context(app=app, rules=Rules.from_config(app.config, today=NOW.date()),
                              day=NOW.date(), now=NOW, zone="UTC")

        def queries(learner_id: int) -> int:
            seen: list[str] = []

            def record(conn, cursor, statement, *args):
                seen.append(statement)

            event.listen(db.engine, "before_cursor_execute", record)
            try:
                result = compose.Composed()
                compose.compose_for(db.session, ctx, learner_id, result)
                db.session.commit()
            finally:
                event.remove(db.engine, "before_cursor_execute", record)
            assert result.messages == 1
            return len(seen)

        assert queries(many) == queries(few)
        assert db.session.scalars(select(Notice.state).where(Notice.learner_id == many)).all() \
            == [NoticeState.INCLUDED] * 6


def test_composing_reads_only_the_credits_the_notices_are_about(env, monkeypatch):
    """A physician with a long transcript and one rejected record: the e-mail reads that
    credit, not every credit on record."""
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner()
        done = [make.completion(learner, make.activity(title=f"Course {n}"),
                                date=days_ago(NOW, 5 + n)) for n in range(10)]
        env.plan()
        rejected_by_pars(db.session, done[3].id)
        read: list[int] = []
        credit_row = transcript.credit_row

        def counted(completion, *args, **kwargs):
            read.append(completion.id)
            return credit_row(completion, *args, **kwargs)

        monkeypatch.setattr(transcript, "credit_row", counted)
        assert env.send().sent == 1
        assert read == [done[3].id]
        assert "Course 3" in text_of(env.mail()[0])


def test_the_digest_counts_board_rejections_without_loading_the_records(sink, make_env,
                                                                        monkeypatch):
    from webapp.staff import services as staff

    env = make_env(sink.port, sink, STAFF_EMAIL=STAFF)
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner()
        done = [make.completion(learner, date=days_ago(NOW, 5 + n)) for n in range(3)]
        env.plan()
        for completion in done:
            rejected_by_board(db.session, completion.id, "ABIM")

        def loaded(*args, **kwargs):
            raise AssertionError("the digest needs only the count")

        monkeypatch.setattr(staff, "board_rejections", loaded)
        env.send()
        digest = next(m for m in env.mail() if m["To"] == STAFF)
        assert "Rejected by a certifying board: 3" in text_of(digest)


def test_planning_reminders_reads_only_credit_recent_enough_for_a_deadline(env, monkeypatch):
    """A physician with years of credit and one recent credit waiting for details: the
    reminder plan reads that credit, not the whole transcript."""
    with time_machine.travel(NOW, tick=False):
        make = env.make()
        learner = make.learner(identifiers=False)
        rules = Rules.from_config(env.app.config, NOW.date())
        for n in range(6):
            make.completion(learner, make.activity(title=f"Old course {n}"),
                            date=days_ago(NOW, rules.reporting_days + 30 + n))
        recent = make.completion(learner, make.activity(title="Sepsis Update"),
                                 date=days_ago(NOW, 10))
        env.plan()
        read: list[int] = []
        credit_row = transcript.credit_row

        def counted(completion, *args, **kwargs):
            read.append(completion.id)
            return credit_row(completion, *args, **kwargs)

        monkeypatch.setattr(transcript, "credit_row", counted)
        assert env.send().sent == 1
        assert read == [recent.id, recent.id]  # planning, then composing
        assert "Sepsis Update" in text_of(env.mail()[0])
