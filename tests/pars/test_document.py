"""The documents the client builds (contract version 2), checked against the JSON Schema."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from webapp.pars import record
from webapp.pars.client import (
    BoardDecision,
    certificate_boards,
    document,
    read_results,
    read_status,
    report,
    reports_of,
    schema,
)

ROOT = Path(__file__).resolve().parents[2]
CREDIT_ID = "ccid:0001234:6f1c2b1e-3c1d-4a43-9d7e-0b7f6e1d2a10"
RECORD = {
    "credit_id": CREDIT_ID, "action": "add", "activity_id": "202312345",
    "activity_title": "Sepsis Grand Rounds", "completion_date": "2026-05-01",
    "first_name": "Ana", "last_name": "Diaz", "birth_month_day": "04-17",
    "npi": "1234567893", "license_state": "MI", "license_number": "4301012345",
    "cme_credits": "1.50",
    "boards": [{"board": "ABIM", "board_id": "123456", "credit_type": "Medical Knowledge",
                "credits": "1.50"}],
}
CREATED = dt.datetime(2026, 11, 27, 9, 0, 0)
VALIDATOR = Draft202012Validator(schema())


def build(*records: dict, created: dt.datetime = CREATED) -> dict:
    return document(list(records), provider_id="0001234",
                    reporting_organization="Lakeshore Health", created=created)


def one(r: dict) -> dict:
    return report(r, provider_id="0001234", reporting_organization="Lakeshore Health")


def certs(r: dict) -> list[dict]:
    return one(r)["Activity"]["Module"]["CreditCertificate"]


def problems(doc: dict) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(doc)]


def test_the_document_is_the_contracts_example():
    assert build(RECORD) == {"ACCMELearnerReports": {"ActivityReports": {
        "DateTimeCreated": "2026-11-27T09:00:00",
        "ActivityReport": [{
            "ReportingOrganization": "Lakeshore Health",
            "Member": {"Name": {"GivenName": "Ana", "FamilyName": "Diaz"},
                       "PersonalInfo": {"BirthDate": "04-17"}},
            "Activity": {
                "ProviderOrganization": "0001234",
                "Module": {
                    "ModuleName": {"value": "Sepsis Grand Rounds", "moduleID": "202312345"},
                    "Status": "Completed",
                    "CompletedDateTime": "2026-05-01T12:00:00",
                    "CreditCertificate": [
                        {"CreditID": CREDIT_ID + ".1",
                         "UniqueID": [{"value": "1234567893", "domain": "NPI"},
                                      {"value": "4301012345", "domain": "MI"}],
                         "CreditReceived": {"activityCertification": "AMA PRA Category 1 Credit",
                                            "creditUnit": "Point", "numberOfCredits": 1.5}},
                        {"CreditID": CREDIT_ID + ".2",
                         "UniqueID": [{"value": "123456", "domain": "ABIM"}],
                         "CreditReceived": {"activityCertification": "ABIM Medical Knowledge",
                                            "creditUnit": "Point", "numberOfCredits": 1.5}},
                    ]}},
            "XtensibleInfo": {"ProviderID": "0001234", "LearnerRecordAction": "add"},
        }]}}}
    assert problems(build(RECORD)) == []


def test_birth_date_is_month_and_day_and_completion_is_at_noon():
    built = one({**RECORD, "birth_month_day": "12-31", "completion_date": "2026-01-01"})
    assert built["Member"]["PersonalInfo"] == {"BirthDate": "12-31"}
    assert built["Activity"]["Module"]["CompletedDateTime"] == "2026-01-01T12:00:00"
    created = build(RECORD, created=dt.datetime(2026, 3, 1, 23, 59, 58, 999999))
    assert created["ACCMELearnerReports"]["ActivityReports"]["DateTimeCreated"] == \
        "2026-03-01T23:59:58"
    # Without a time given: now, without microseconds or a zone.
    now = build(RECORD, created=None)["ACCMELearnerReports"]["ActivityReports"]
    assert dt.datetime.fromisoformat(now["DateTimeCreated"]).tzinfo is None
    assert problems(build(RECORD, created=None)) == []


def test_a_board_only_completion_has_no_cme_certificate():
    board_only = {**RECORD, "cme_credits": "0.00"}
    [cert] = certs(board_only)
    assert cert["CreditID"] == CREDIT_ID + ".1"
    assert cert["CreditReceived"]["activityCertification"] == "ABIM Medical Knowledge"
    assert certificate_boards(board_only) == {CREDIT_ID + ".1": "ABIM"}
    assert problems(build(board_only)) == []


def test_each_board_credit_line_is_a_certificate_numbered_after_the_cme_one():
    two_boards = {**RECORD, "cme_credits": "2.00", "boards": [
        {"board": "ABIM", "board_id": "123456", "credit_type": "Medical Knowledge",
         "credits": "1.00"},
        {"board": "ABS", "board_id": None, "credit_type": "Accredited CME", "credits": "0.75"},
    ]}
    built = certs(two_boards)
    assert [(c["CreditID"], c["CreditReceived"]["activityCertification"],
             c["CreditReceived"]["numberOfCredits"]) for c in built] == [
        (CREDIT_ID + ".1", "AMA PRA Category 1 Credit", 2.0),
        (CREDIT_ID + ".2", "ABIM Medical Knowledge", 1.0),
        (CREDIT_ID + ".3", "ABS Accredited CME", 0.75),
    ]
    # ABS needs no board ID: the learner's own identifiers stand in for it, if any.
    assert built[2]["UniqueID"] == built[0]["UniqueID"]
    nothing = {**two_boards, "cme_credits": "0.00", "npi": None, "license_state": None,
               "license_number": None, "boards": two_boards["boards"][1:]}
    assert certs(nothing)[0]["UniqueID"] == []  # matched on name and birth month and day
    assert problems(build(nothing)) == []
    assert certificate_boards(two_boards) == {CREDIT_ID + ".2": "ABIM", CREDIT_ID + ".3": "ABS"}
    assert problems(build(two_boards)) == []


def test_the_cme_certificate_carries_the_npi_or_the_license():
    npi_only = {**RECORD, "license_state": None, "license_number": None}
    license_only = {**RECORD, "npi": None}
    assert certs(npi_only)[0]["UniqueID"] == [{"value": "1234567893", "domain": "NPI"}]
    assert certs(license_only)[0]["UniqueID"] == [{"value": "4301012345", "domain": "MI"}]
    assert problems(build(npi_only, license_only)) == []


def test_a_delete_repeats_the_add_with_the_same_credit_ids():
    add = one(RECORD)
    delete = one(record.as_delete(RECORD))
    assert delete["XtensibleInfo"]["LearnerRecordAction"] == "delete"
    assert {**delete, "XtensibleInfo": add["XtensibleInfo"]} == add
    assert problems(build(RECORD, record.as_delete(RECORD))) == []


def test_the_schema_holds_the_contracts_decisions():
    good = build(RECORD)

    def broken(change) -> list[str]:
        doc = copy.deepcopy(good)
        change(reports_of(doc)[0])
        return problems(doc)

    def cert(r: dict) -> dict:
        return r["Activity"]["Module"]["CreditCertificate"][0]

    assert broken(lambda r: cert(r).update(UniqueID={"value": "1", "domain": "NPI"}))
    assert broken(lambda r: cert(r).update(UniqueID=[]))  # AMA PRA Category 1: NPI or license
    assert broken(lambda r: r["Member"]["PersonalInfo"].update(BirthDate="1980-04-17"))
    assert broken(lambda r: r["Member"]["PersonalInfo"].update(BirthDate="13-01"))
    assert broken(lambda r: cert(r).update(CreditID="ccid:0001234:a:b"))
    assert broken(lambda r: cert(r).update(CreditID="ccid:0001234:" + "x" * 290))
    assert broken(lambda r: cert(r)["CreditReceived"].update(numberOfCredits=0.3))
    assert broken(lambda r: cert(r)["CreditReceived"].update(numberOfCredits=0))
    assert broken(lambda r: cert(r)["CreditReceived"].update(numberOfCredits="1.5"))
    assert broken(lambda r: r["XtensibleInfo"].update(LearnerRecordAction="update"))
    assert broken(lambda r: r["Activity"]["Module"].update(CompletedDateTime="2026-05-01"))
    assert broken(lambda r: r["Activity"]["Module"].update(CreditCertificate=[]))
    assert broken(lambda r: r.update(Comment="not in the contract"))
    assert broken(lambda r: r["Activity"].update(ProviderOrganization="1234"))
    assert problems(build(*[{**RECORD, "credit_id": f"ccid:0001234:{i}"}
                            for i in range(500)])) == []
    assert problems(build(*[{**RECORD, "credit_id": f"ccid:0001234:{i}"}
                            for i in range(501)]))
    empty = copy.deepcopy(good)
    empty["ACCMELearnerReports"]["ActivityReports"]["ActivityReport"] = []
    assert problems(empty)


def test_results_must_match_the_reports_sent():
    records = [RECORD, {**RECORD, "credit_id": "ccid:0001234:other", "boards": []}]
    sent = reports_of(build(*records))
    ok = {"Results": [
        {"CreditIDs": [CREDIT_ID + ".2", CREDIT_ID + ".1"], "Status": "Accepted", "Errors": []},
        {"CreditIDs": ["ccid:0001234:other.1"], "Status": "Rejected", "Errors": [
            {"Code": "LEARNER_NOT_MATCHED", "Message": "No match", "CreditID": "ccid:0001234:other.1"},
            {"Code": "MISSING_IDENTIFIER", "Message": "", "CreditID": "ccid:0001234:other.1"}]},
    ]}
    first, second = read_results(ok, records, sent)
    assert (first.credit_id, first.accepted, first.errors) == (CREDIT_ID, True, ())
    assert (second.credit_id, second.accepted, second.code, second.message) == (
        "ccid:0001234:other", False, "LEARNER_NOT_MATCHED", "No match")
    assert second.codes == {"LEARNER_NOT_MATCHED", "MISSING_IDENTIFIER"}
    for answer in (
        {"Results": ok["Results"][:1]},                                     # one missing
        {"Results": ok["Results"][::-1]},                                   # out of order
        {"Results": [ok["Results"][0], {**ok["Results"][1], "CreditIDs": ["ccid:0001234:x.1"]}]},
        {"Results": [{**ok["Results"][0], "CreditIDs": [CREDIT_ID + ".1"]}, ok["Results"][1]]},
        {"Results": [ok["Results"][0], {**ok["Results"][1], "Status": "Pending"}]},
    ):
        with pytest.raises(ValueError):
            read_results(answer, records, sent)


def entry(n: int, status: str = "Completed", board: tuple[str, str | None] | None = None) -> dict:
    found = {"CreditID": f"{CREDIT_ID}.{n}", "moduleID": "202312345",
             "CompletedDateTime": "2026-05-01T12:00:00", "Status": status,
             "AcceptedDate": "2026-05-02"}
    if board is not None:
        found["BoardStatus"] = {"Status": board[0], **({"Message": board[1]} if board[1] else {})}
    return found


def test_a_status_answer_is_read_certificate_by_certificate():
    two_lines = {**RECORD, "boards": [
        {"board": "ABIM", "board_id": "123456", "credit_type": "Medical Knowledge",
         "credits": "1.00"},
        {"board": "ABIM", "board_id": "123456", "credit_type": "Patient Safety",
         "credits": "0.50"},
        {"board": "ABS", "board_id": None, "credit_type": "Accredited CME", "credits": "1.00"},
    ]}
    boards = certificate_boards(two_lines)
    found = read_status([entry(1), entry(2, board=("Accepted", None)),
                         entry(3, board=("Rejected", "Board ID not found")),
                         entry(4, board=("Pending", None))], CREDIT_ID, boards)
    assert (found.status, found.accepted_date) == ("accepted", dt.date(2026, 5, 2))
    # One decision per board: a rejection of any of its certificates is what counts.
    assert found.boards == (BoardDecision("ABIM", "rejected", "Board ID not found"),
                            BoardDecision("ABS", "pending", None))
    deleted = read_status([entry(1, "Deleted"), entry(2, "Deleted")], CREDIT_ID, boards)
    assert deleted.status == "deleted"
    for answer in ([], {"CreditID": CREDIT_ID + ".1"}, [entry(2)],
                   [entry(1), entry(2, "Deleted")], [entry(1, "Removed")],
                   [entry(1), {**entry(2), "CreditID": "ccid:0001234:other.2"}],
                   [entry(1), entry(2, board=("Maybe", None))]):
        with pytest.raises((ValueError, KeyError, TypeError)):
            read_status(answer, CREDIT_ID, boards)


def test_the_schema_is_installed_with_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["webapp.pars"]
    packaged = {p for pattern in patterns for p in (ROOT / "webapp" / "pars").glob(pattern)}
    assert ROOT / "webapp" / "pars" / "schema" / "learner_reports.schema.json" in packaged
    assert schema()["$defs"]["creditId"]["pattern"] == "^ccid:[^:]+:[^:]+$"
