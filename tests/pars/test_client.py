"""The web-service adapter on its own: wire format, failure classes, retries, timeouts."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
import requests

from webapp.pars.client import (
    BoardDecision,
    LookupFailed,
    Malformed,
    NotSent,
    OutcomeUnknown,
    ParsClient,
    Unauthorized,
)
from webapp.pars.settings import Settings, SettingsError

RECORD = {
    "credit_id": "ccid:0001234:6f1c2b1e-3c1d-4a43-9d7e-0b7f6e1d2a10", "action": "add",
    "activity_id": "202312345", "activity_title": "Sepsis Grand Rounds",
    "completion_date": "2024-05-01", "first_name": "Ana",
    "last_name": "Diaz", "birth_month_day": "04-17", "npi": "1234567893",
    "license_state": "MI", "license_number": "4301012345", "cme_credits": "1.50",
    "boards": [{"board": "ABIM", "board_id": "123456", "credit_type": "Medical Knowledge",
                "credits": "1.50"}],
}


def settings(url: str, **kw) -> Settings:
    config = {"PARS_API_URL": url, "PARS_PROVIDER_ID": "0001234", "PARS_USER": "pars-user",
              "INSTITUTION_NAME": "Lakeshore Health",
              "PARS_PASSWORD": "pars-secret", "PARS_CONNECT_TIMEOUT": 2, "PARS_READ_TIMEOUT": 1.0,
              "PARS_RETRY_TRIES": 3, "PARS_RETRY_BASE_SECONDS": 0.01,
              "PARS_MAX_WAIT_SECONDS": 2}
    config.update(kw)
    return Settings.from_config(config)


@pytest.fixture
def client(fake_pars):
    c = ParsClient(settings(fake_pars.url))
    yield c
    c.close()


def test_submit_and_status(client, fake_pars):
    [result] = client.submit([RECORD])
    assert result.accepted and result.code is None
    assert fake_pars.posts[0].status == 201
    assert fake_pars.posts[0].certificate_ids == [[RECORD["credit_id"] + ".1",
                                                   RECORD["credit_id"] + ".2"]]
    found = client.status(RECORD["credit_id"], RECORD)
    assert fake_pars.asked == [RECORD["credit_id"] + ".1"]  # any certificate finds the record
    assert (found.status, found.accepted_date, found.boards) == (
        "accepted", dt.date.today(), (BoardDecision("ABIM", "pending", None),))
    fake_pars.board_decisions[("ABIM", "123456")] = ("Rejected", "Board ID not found")
    assert client.status(RECORD["credit_id"], RECORD).boards == (
        BoardDecision("ABIM", "rejected", "Board ID not found"),)
    # Without the record sent, the certificates cannot be told apart: no board decisions.
    assert client.status(RECORD["credit_id"]).boards == ()
    [again] = client.submit([RECORD])
    assert (again.accepted, again.code) == (False, "DUPLICATE_CREDIT_ID")
    assert client.status("ccid:0001234:unknown") is None
    [removal] = client.submit([{**RECORD, "action": "delete"}])
    assert removal.accepted
    assert client.status(RECORD["credit_id"], RECORD).status == "deleted"


def test_200_is_an_answer_as_good_as_201(client, fake_pars):
    fake_pars.created_status = 200
    [result] = client.submit([RECORD])
    assert result.accepted and fake_pars.posts[0].status == 200


def test_rejections_are_per_report(client, fake_pars):
    fake_pars.unmatched_last_names.add("Nomatch")
    records = [{**RECORD, "credit_id": f"ccid:0001234:r{i}"} for i in range(3)]
    records[1]["last_name"] = "Nomatch"
    results = client.submit(records)
    assert [(r.credit_id, r.accepted, r.code) for r in results] == [
        ("ccid:0001234:r0", True, None), ("ccid:0001234:r1", False, "LEARNER_NOT_MATCHED"),
        ("ccid:0001234:r2", True, None)]
    assert results[1].message == "No physician matches these identifiers"
    assert fake_pars.accepted_ids() == {"ccid:0001234:r0", "ccid:0001234:r2"}


def test_an_answer_that_does_not_match_the_request_is_an_unknown_outcome(client, fake_pars):
    fake_pars.fail_next("short_results_after")
    with pytest.raises(OutcomeUnknown, match="did not match"):
        client.submit([RECORD, {**RECORD, "credit_id": "ccid:0001234:second"}])
    assert len(fake_pars.posts) == 1  # never posted again
    assert fake_pars.accepted_ids() == {RECORD["credit_id"], "ccid:0001234:second"}


def test_a_status_answer_about_another_record_is_not_trusted(client, fake_pars, monkeypatch):
    client.submit([RECORD])
    other = fake_pars.status_of(RECORD["credit_id"] + ".1")
    monkeypatch.setattr(fake_pars, "status_of", lambda credit_id: other)
    with pytest.raises(LookupFailed, match="not understood"):
        client.status("ccid:0001234:another", RECORD)


def test_a_document_the_schema_refuses_is_malformed(client, fake_pars):
    with pytest.raises(Malformed, match="BirthDate"):
        client.submit([{**RECORD, "birth_month_day": "1980-04-17"}])
    assert fake_pars.accepted_ids() == set()
    [(_, why)] = fake_pars.invalid_documents
    assert "does not match" in why
    fake_pars.invalid_documents.clear()  # expected here; the fixture fails on any other


def test_posts_are_never_retried_when_the_outcome_is_unknown(client, fake_pars):
    for fault in ("error_before", "error_after", "timeout_after", "drop_after", "garbage_after"):
        fake_pars.fail_next(fault)
        before = len(fake_pars.posts)
        with pytest.raises(OutcomeUnknown):
            client.submit([{**RECORD, "credit_id": f"ccid:0001234:{fault}"}])
        assert len(fake_pars.posts) == before + 1, fault


def test_read_timeout_applies_to_every_call(client, fake_pars, monkeypatch):
    timeouts = []
    request = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        timeouts.append((method, kwargs.get("timeout")))
        return request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording)
    fake_pars.fail_next("timeout_before")  # PARS answers long after the read timeout
    with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
        client.submit([RECORD])
    fake_pars.fail_next("timeout", method="GET", times=3)
    with pytest.raises(LookupFailed, match="ReadTimeout"):
        client.status(RECORD["credit_id"])
    # The connect and read timeouts of the settings, on the post and on each look-up try.
    assert timeouts == [("POST", (2.0, 1.0))] + [("GET", (2.0, 1.0))] * 3


def test_no_connection_means_not_sent_after_retries():
    # A port bound but never listened on, held for the whole test: connections are refused
    # and no other process can start listening there meanwhile.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        c = ParsClient(settings(f"http://127.0.0.1:{port}"))
        with pytest.raises(NotSent, match="could not connect"):
            c.submit([RECORD])
        with pytest.raises(LookupFailed):
            c.status(RECORD["credit_id"])
        c.close()


def test_429_is_retried_after_the_wait_pars_asks_for(fake_pars):
    waits: list[float] = []
    client = ParsClient(settings(fake_pars.url), sleep=waits.append)
    fake_pars.retry_after = "1"
    fake_pars.fail_next("rate_limit")
    [result] = client.submit([RECORD])
    assert result.accepted
    assert [p.status for p in fake_pars.posts] == [429, 201]
    # Its own backoff before a retry is at most 0.02 s here: the wait is PARS's second.
    assert waits == [1.0]
    fake_pars.retry_after = "30"  # longer than the client may wait: give up at once
    fake_pars.fail_next("rate_limit")
    with pytest.raises(NotSent) as raised:
        client.submit([{**RECORD, "credit_id": "ccid:0001234:later"}])
    assert raised.value.retry_after == 30.0
    assert len(fake_pars.posts) == 3
    assert waits == [1.0]
    client.close()


def test_lookups_are_retried(client, fake_pars):
    client.submit([RECORD])
    fake_pars.fail_next("error", method="GET", times=2)
    assert client.status(RECORD["credit_id"], RECORD).status == "accepted"
    fake_pars.fail_next("drop", method="GET", times=3)
    with pytest.raises(LookupFailed):
        client.status(RECORD["credit_id"])


def test_refusals(client, fake_pars):
    fake_pars.fail_next("malformed")
    with pytest.raises(Malformed, match="MALFORMED: injected"):
        client.submit([RECORD])
    bad = ParsClient(settings(fake_pars.url, PARS_PASSWORD="wrong"))  # noqa: S106
    with pytest.raises(Unauthorized, match="PARS_PASSWORD"):
        bad.submit([RECORD])
    with pytest.raises(Unauthorized):
        bad.status(RECORD["credit_id"])
    assert fake_pars.accepted_ids() == set()


def test_web_service_needs_the_reporting_organisation():
    with pytest.raises(SettingsError, match="INSTITUTION_NAME"):
        settings("http://127.0.0.1:1", INSTITUTION_NAME=" ").require_web_service()


@pytest.mark.parametrize("override,message", [
    ({"PARS_BATCH_SIZE": 0}, "between 1 and 500"),
    ({"PARS_READ_TIMEOUT": 0}, "PARS_READ_TIMEOUT must be more than 0"),
    ({"PARS_MAX_ATTEMPTS": 0}, "PARS_MAX_ATTEMPTS must be at least 1"),
])
def test_settings_are_checked(override, message):
    with pytest.raises(SettingsError, match=message):
        settings("http://127.0.0.1:1", **override)


def test_web_service_settings_are_required():
    with pytest.raises(SettingsError, match="PARS_API_URL"):
        settings("").require_web_service()
    with pytest.raises(SettingsError, match="http"):
        settings("ftp://pars").require_web_service()


def test_local_pars_service_refuses_production(monkeypatch):
    import pytest

    from devtools.localpars import FakePars

    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="never runs with APP_ENV=production"):
        FakePars().start()
