"""Fixtures for the e-mail notices: a real SMTP server (the development mail sink) and a
database of the test's own, since ``notify send`` works in its own transactions."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from devtools.database import create_database, drop_database, make_app, migrate
from devtools.mailsink import MailSink
from tests.factories import Factory
from webapp.extensions import db
from webapp.models import NoticeMessage
from webapp.pars import outbox
from webapp.pars.policy import Policy

STAFF = "cme-staff@example.org"


@pytest.fixture
def sink() -> Iterator[MailSink]:
    server = MailSink().start(0)
    yield server
    server.stop()


def mail_settings(port: int, **overrides: Any) -> dict[str, Any]:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_FROM": "cme@example.org",
            "MAIL_TIMEOUT": 10.0, "STAFF_EMAIL": "", "NOTIFY_RETRY_TRIES": 1,
            "NOTIFY_RETRY_BASE_SECONDS": 0.0, "PORTAL_URL": "https://portal.test",
            **overrides}


@dataclass
class Env:
    app: Flask
    sink: MailSink | None

    @property
    def session(self):
        return db.session

    def make(self) -> Factory:
        return Factory(db.session)

    def plan(self, today: dt.date | None = None) -> None:
        """Queue the credit (the PARS outbox), as the transmit run does, and commit."""
        outbox.plan(db.session, Policy.from_config(self.app.config, today))
        db.session.commit()

    def send(self):
        from webapp.notify.engine import send

        db.session.commit()
        report = send(db.engine, self.app)
        db.session.expire_all()
        return report

    def messages(self) -> list[NoticeMessage]:
        db.session.expire_all()
        return list(db.session.scalars(select(NoticeMessage).order_by(NoticeMessage.id)))

    def mail(self) -> list[EmailMessage]:
        assert self.sink is not None
        return list(self.sink.messages)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _env(tmp_path, sink: MailSink | None, port: int, **overrides: Any) -> Iterator[Env]:
    url = create_database(tmp_path)
    # Days and times in UTC unless a test says otherwise: the expectations are written so.
    overrides = {"NOTIFY_TIMEZONE": "UTC", "DISPLAY_TIMEZONE": "UTC", **overrides}
    app = make_app(url, **mail_settings(port, **overrides))
    migrate(app)
    try:
        with app.app_context():
            yield Env(app, sink)
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    finally:
        drop_database(url)


@pytest.fixture
def env(tmp_path, sink) -> Iterator[Env]:
    yield from _env(tmp_path, sink, sink.port)


@pytest.fixture
def make_env(tmp_path):
    """An ``Env`` on a mail server and settings of the test's choosing."""
    made = []

    def build(port: int, sink: MailSink | None = None, **overrides: Any) -> Env:
        gen = _env(tmp_path, sink, port, **overrides)
        made.append(gen)
        return next(gen)

    yield build
    for gen in made:
        for _ in gen:
            pass
