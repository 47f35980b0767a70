"""The issue's check in-process: demo data, transmit and sync against the local PARS
service, then `notify send` twice. The demo physicians get the notices they should, CME
staff get the digest, and the second run sends nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from devtools.localpars import FakePars
from tests.notify.conftest import STAFF, text_of
from tests.pars.conftest import FAST
from webapp.extensions import db
from webapp.models import Notice, NoticeKind
from webapp.pars.engine import sync, transmit


@pytest.fixture
def local_pars():
    server = FakePars(slow_seconds=5.0, validate=True, realistic=True).start()
    yield server
    server.stop()


def test_demo_physicians_and_staff_get_their_notices_once(sink, make_env, local_pars):
    env = make_env(sink.port, sink, STAFF_EMAIL=STAFF, **FAST, **local_pars.config())
    result = env.app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    transmit(db.engine, env.app.config)
    sync(db.engine, env.app.config)
    db.session.remove()

    result = env.app.test_cli_runner().invoke(args=["notify", "send"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("notify send: ")
    mail = {m["To"]: m for m in sink.messages}
    assert len(mail) == len(sink.messages)  # one e-mail per recipient

    digest = text_of(mail.pop(STAFF))
    assert "Activities without an ACCME Activity ID holding credit back: 1" in digest

    samuel = text_of(mail.pop("samuel.okafor@example.org"))
    assert "CREDIT WAITING FOR YOUR DETAILS" in samuel
    assert "(18 days left)" in samuel and "(4 days left)" in samuel

    kinds = {n.kind for n in db.session.scalars(select(Notice))}
    assert {NoticeKind.REJECTED, NoticeKind.BOARD_REJECTED} & kinds
    rejected = [text_of(m) for m in mail.values()]
    assert rejected and all("RECORDS THAT WERE REJECTED" in t for t in rejected)

    sent = len(sink.messages)
    again = env.app.test_cli_runner().invoke(args=["notify", "send"])
    assert again.exit_code == 0, again.output
    assert "notify send: 0 e-mails sent" in again.output
    assert len(sink.messages) == sent
