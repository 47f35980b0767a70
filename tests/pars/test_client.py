"""The web-service adapter on its own: wire format, failure classes, retries, timeouts."""

from __future__ import annotations

import socket

import pytest
import requests

from webapp.pars.client import (
    LookupFailed,
    Malformed,
    NotSent,
    OutcomeUnknown,
    ParsClient,
    Unauthorized,
    to_wire,
)
from webapp.pars.settings import Settings, SettingsError

RECORD = {
    "credit_id": "ccid:0001234:6f1c2b1e-3c1d-4a43-9d7e-0b7f6e1d2a10", "action": "add",
    "activity_id": "202312345", "completion_date": "2024-05-01", "first_name": "Ana",
    "last_name": "Diaz", "birth_month_day": "04-17", "npi": "1234567893",
    "license_state": "MI", "license_number": "4301012345", "cme_credits": "1.50",
    "boards": [{"board": "ABIM", "board_id": "123456", "credit_type": "Medical Knowledge",
                "credits": "1.50"}],
}


def settings(url: str, **kw) -> Settings:
    config = {"PARS_API_URL": url, "PARS_PROVIDER_ID": "0001234", "PARS_USER": "pars-user",
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


def test_wire_format_follows_the_contract():
    body = to_wire("0001234", [RECORD])
    assert body == {"ProviderID": "0001234", "ActivityReports": [{
        "CreditID": RECORD["credit_id"], "LearnerRecordAction": "add",
        "ActivityID": "202312345", "CompletionDate": "2024-05-01",
        "Learner": {"FirstName": "Ana", "LastName": "Diaz", "BirthMonthDay": "04-17",
                    "NPI": "1234567893", "LicenseState": "MI", "LicenseNumber": "4301012345"},
        "Credits": [{"Type": "AMA PRA Category 1 Credit", "Amount": 1.5},
                    {"Board": "ABIM", "BoardID": "123456", "Type": "Medical Knowledge",
                     "Amount": 1.5}],
    }]}


def test_submit_and_status(client, fake_pars):
    [result] = client.submit([RECORD])
    assert result.accepted and result.code is None
    found = client.status(RECORD["credit_id"])
    assert (found.status, found.boards[0].board, found.boards[0].status) == (
        "accepted", "ABIM", "pending")
    [again] = client.submit([RECORD])
    assert (again.accepted, again.code) == (False, "DUPLICATE_CREDIT_ID")
    assert client.status("ccid:0001234:unknown") is None


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
    assert [p.status for p in fake_pars.posts] == [429, 200]
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
    assert client.status(RECORD["credit_id"]).status == "accepted"
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
