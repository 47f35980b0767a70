"""The credit import: all or nothing, every error by line and column, idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import func, select

from webapp.credits.importer import ImportRejected, import_credits
from webapp.identifiers import npi_with_check_digit
from webapp.models import (
    Activity,
    AuditEvent,
    BoardCredit,
    Completion,
    ConsentEvent,
    ConsentSource,
    ImportRow,
    Learner,
)
from webapp.pars.policy import Policy

NPI = npi_with_check_digit("123456789")
BASE = {
    "learner_id": "L1", "first_name": "Ana", "last_name": "Diaz", "email": "Ana.Diaz@Example.org",
    "degree": "MD", "npi": NPI, "birth_month_day": "04-17", "license_state": "MI",
    "license_number": "4301012345", "activity_id": "A1", "activity_title": "Sepsis Update",
    "accme_activity_id": "202312345", "completion_date": "2024-05-01", "cme_credits": "1.50",
    "board": "", "board_id": "", "board_credit_type": "", "board_credits": "", "consent": "",
}


def csv_bytes(rows: list[dict[str, str]], header: list[str] | None = None, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or list(BASE), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = out.getvalue().encode()
    return (b"\xef\xbb\xbf" + data) if bom else data


def run(session, data: bytes):
    return import_credits(session, io.BytesIO(data), policy=Policy.from_config(current_app.config),
                          today=dt.date(2026, 11, 27))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_imports_learners_activities_completions_and_board_lines(db_session):
    rows = [
        BASE | {"board": "ABIM", "board_id": "123456", "board_credit_type": "Medical Knowledge",
                "board_credits": "1.5"},
        BASE | {"board": "ABIM", "board_id": "123456", "board_credit_type": "Practice Assessment",
                "board_credits": "0.5"},
        BASE | {"activity_id": "A2", "activity_title": "Unregistered", "accme_activity_id": "",
                "completion_date": "2023-01-10", "cme_credits": "0"},
    ]
    summary = run(db_session, csv_bytes(rows, bom=True))
    assert (summary.rows, summary.learners, summary.activities) == (3, 1, 2)
    assert (summary.completions_created, summary.completions_updated,
            summary.completions_unchanged) == (2, 0, 0)

    learner = db_session.scalars(select(Learner)).one()
    assert learner.email == "ana.diaz@example.org"
    assert (learner.npi, learner.birth_month_day) == (NPI, "04-17")
    assert [(lic.state, lic.number) for lic in learner.licenses] == [("MI", "4301012345")]
    assert [(c.board, c.board_id) for c in learner.board_certifications] == [("ABIM", "123456")]
    done = db_session.scalars(
        select(Completion).join(Activity).where(Activity.source_id == "A1")).one()
    assert done.cme_credits == Decimal("1.50")
    assert {(b.credit_type, b.credits) for b in done.board_credits} == {
        ("Medical Knowledge", Decimal("1.50")), ("Practice Assessment", Decimal("0.50"))}
    assert db_session.scalars(select(Activity).where(Activity.source_id == "A2")).one(
    ).accme_activity_id is None
    assert count(db_session, ImportRow) == 0  # staging is cleaned up
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "credits.imported")).one()
    assert audit.details["rows"] == 3
    assert NPI not in str(audit.details) and "Diaz" not in str(audit.details)


def test_reimport_changes_nothing(db_session):
    data = csv_bytes([BASE, BASE | {"activity_id": "A2", "completion_date": "2024-06-01"}])
    run(db_session, data)
    before = db_session.scalars(select(Completion.id, Completion.revision,
                                       Completion.updated_at)).all()
    again = run(db_session, data)
    assert (again.completions_created, again.completions_updated,
            again.completions_unchanged) == (0, 0, 2)
    assert (again.learners_created, again.learners_updated) == (0, 0)
    assert db_session.scalars(select(Completion.id, Completion.revision,
                                     Completion.updated_at)).all() == before
    assert count(db_session, Completion) == 2


def test_changed_completion_updates_transcript_and_revision(db_session):
    run(db_session, csv_bytes([BASE | {"board": "ABIM", "board_id": "1", "board_credits": "1.5",
                                       "board_credit_type": "Medical Knowledge"}]))
    changed = BASE | {"cme_credits": "2.00", "board": "ABIM", "board_id": "1",
                      "board_credit_type": "Practice Assessment", "board_credits": "2"}
    summary = run(db_session, csv_bytes([changed]))
    assert summary.completions_updated == 1
    completion = db_session.scalars(select(Completion)).one()
    assert completion.cme_credits == Decimal("2.00")
    assert completion.revision == 2
    assert [(b.credit_type, b.credits) for b in completion.board_credits] == [
        ("Practice Assessment", Decimal("2.00"))]
    assert count(db_session, BoardCredit) == 1


def test_import_fills_identifiers_but_never_overwrites_portal_values(db_session):
    run(db_session, csv_bytes([BASE | {"npi": "", "birth_month_day": ""}]))
    learner = db_session.scalars(select(Learner)).one()
    assert learner.npi is None
    other_npi = npi_with_check_digit("987654321")
    learner.npi = other_npi  # the physician corrected it in the portal
    db_session.flush()
    run(db_session, csv_bytes([BASE]))
    learner = db_session.scalars(select(Learner)).one()
    assert learner.npi == other_npi
    assert learner.birth_month_day == "04-17"  # was blank: filled in


def test_import_consent_applies_only_until_the_physician_chooses(db_session):
    run(db_session, csv_bytes([BASE | {"consent": "no"}]))
    learner = db_session.scalars(select(Learner)).one()
    assert (learner.consent_granted, learner.consent_source) == (False, ConsentSource.IMPORT)
    assert [(e.granted, e.source) for e in learner.consent_events] == [(False, "import")]

    learner.consent_granted, learner.consent_source = True, ConsentSource.PHYSICIAN
    db_session.flush()
    run(db_session, csv_bytes([BASE | {"consent": "no"}]))
    learner = db_session.scalars(select(Learner)).one()
    assert learner.consent_granted is True
    assert count(db_session, ConsentEvent) == 1


def test_blank_consent_keeps_what_the_portal_has(db_session):
    run(db_session, csv_bytes([BASE | {"consent": "yes"}]))
    run(db_session, csv_bytes([BASE | {"consent": ""}]))
    learner = db_session.scalars(select(Learner)).one()
    assert learner.consent_granted is True
    assert count(db_session, ConsentEvent) == 1


def errors_of(session, data: bytes) -> list[str]:
    with pytest.raises(ImportRejected) as info:
        run(session, data)
    return [str(e) for e in info.value.errors]


def assert_nothing_written(session):
    for model in (Learner, Activity, Completion, ImportRow, ConsentEvent, AuditEvent):
        assert count(session, model) == 0, model


def test_malformed_file_lists_every_error_and_writes_nothing(db_session):
    rows = [
        BASE | {"consent": "no"},                                           # line 2: fine
        BASE | {"learner_id": "L2", "completion_date": "2024-13-01"},        # 3
        BASE | {"learner_id": "L3", "npi": "1234567890"},                    # 4
        BASE | {"learner_id": "L4", "board": "ABX", "board_credit_type": "Medical Knowledge",
                "board_credits": "1"},                                       # 5
        BASE | {"learner_id": "L5", "cme_credits": "1.3"},                   # 6
        BASE | {"first_name": "Anna"},                                       # 7: conflicts with 2
        BASE | {"learner_id": "L6", "birth_month_day": "02-30", "email": "not-an-email",
                "license_state": "ZZ"},                                      # 8
        BASE | {"learner_id": "L7", "board": "ABIM", "board_credits": "0.1"},  # 9
        BASE | {"learner_id": "L8", "completion_date": "05/01/2024"},        # 10
        BASE | {"learner_id": "L9", "consent": "maybe", "accme_activity_id": "12"},  # 11
    ]
    errors = errors_of(db_session, csv_bytes(rows))
    expected = [
        "line 3, completion_date:", "line 4, npi:", "line 5, board: unknown board 'ABX'",
        "line 6, cme_credits:", "line 7, first_name: differs from line 2",
        "line 8, birth_month_day:", "line 8, email:", "line 8, license_state:",
        "line 9, board_credit_type: required", "line 9, board_credits:",
        "line 10, completion_date:", "line 11, accme_activity_id:", "line 11, consent:",
    ]
    for needle in expected:
        assert any(e.startswith(needle) for e in errors), (needle, errors)
    assert_nothing_written(db_session)


def test_a_credit_type_the_board_does_not_have_is_refused_by_line_and_column(db_session):
    rows = [
        BASE | {"board": "ABIM", "board_id": "123456", "board_credit_type": "Medical Knowledge",
                "board_credits": "1"},
        BASE | {"board": "ABS", "board_credit_type": "Medical Knowledge", "board_credits": "1"},
        # A board whose credit types are not confirmed takes the type as written.
        BASE | {"board": "ABTS", "board_id": "55", "board_credit_type": "Anything",
                "board_credits": "1"},
    ]
    errors = errors_of(db_session, csv_bytes(rows))
    assert errors == ["line 3, board_credit_type: ABS has no credit type 'Medical Knowledge'; "
                      "expected one of Accredited CME, Self-Assessment"]
    assert_nothing_written(db_session)


def test_unknown_and_missing_columns(db_session):
    header = [*BASE, "favourite_color"]
    header.remove("email")
    row = {k: v for k, v in BASE.items() if k != "email"} | {"favourite_color": "blue"}
    errors = errors_of(db_session, csv_bytes([row], header=header))
    assert any(e.startswith("line 1, favourite_color: unknown column") for e in errors)
    assert any(e.startswith("line 1, email: required column is missing") for e in errors)
    assert_nothing_written(db_session)


def test_empty_file_and_header_only(db_session):
    assert errors_of(db_session, b"") == ["file: the file is empty; expected a header row"]
    assert errors_of(db_session, csv_bytes([])) == ["file: the file has a header but no rows"]
    assert_nothing_written(db_session)


def test_wrong_encoding_is_reported_by_line(db_session):
    data = csv_bytes([BASE, BASE | {"learner_id": "L2"}]).replace(b"Diaz", "Díaz".encode("latin-1"))
    errors = errors_of(db_session, data)
    assert any(e.startswith("line 2: not UTF-8") for e in errors)
    assert any(e.startswith("line 3: not UTF-8") for e in errors)
    assert_nothing_written(db_session)


def test_conflicting_completion_and_repeated_board_line(db_session):
    line = {"board": "ABS", "board_credit_type": "Accredited CME", "board_credits": "1"}
    rows = [BASE | line, BASE | line, BASE | {"cme_credits": "2"},
            BASE | {"activity_id": "A9", "activity_title": "Other"},
            BASE | {"activity_id": "A9", "activity_title": "Other title",
                    "completion_date": "2024-05-02"}]
    errors = errors_of(db_session, csv_bytes(rows))
    assert "line 3, board_credit_type: repeats the board credit line of line 2" in errors
    assert any(e.startswith("line 4, cme_credits: differs from line 2") for e in errors)
    assert any(e.startswith("line 6, activity_title: differs from line 5") for e in errors)
    assert_nothing_written(db_session)


def test_board_id_must_not_change_for_one_learner(db_session):
    rows = [BASE | {"board": "ABIM", "board_id": "111", "board_credit_type": "Medical Knowledge",
                    "board_credits": "1"},
            BASE | {"activity_id": "A2", "board": "ABIM", "board_id": "222",
                    "board_credit_type": "Medical Knowledge", "board_credits": "1"}]
    errors = errors_of(db_session, csv_bytes(rows))
    assert any(e.startswith("line 3, board_id: differs from line 2") for e in errors)


def test_ragged_rows_and_future_dates(db_session):
    data = csv_bytes([BASE]) + b"L2,only,three\n"
    data += csv_bytes([BASE | {"learner_id": "L3", "completion_date": "2027-01-01"}]).split(b"\n", 1)[1]
    errors = errors_of(db_session, data)
    assert any(e.startswith("line 3: has 3 cells") for e in errors)
    assert any(e.startswith("line 4, completion_date: 2027-01-01 is in the future") for e in errors)


def test_error_messages_do_not_echo_identifiers(db_session):
    errors = errors_of(db_session, csv_bytes([BASE | {"npi": "1234567890"}]))
    assert all("1234567890" not in e for e in errors)


def test_chunk_boundaries_do_not_split_or_lose_completions(db_session, monkeypatch):
    import webapp.credits.importer as importer

    monkeypatch.setattr(importer, "STAGE_CHUNK", 3)
    monkeypatch.setattr(importer, "MERGE_CHUNK", 2)
    line = {"board": "ABIM", "board_id": "9", "board_credit_type": "Medical Knowledge", "board_credits": "1"}
    rows = []
    for n in range(7):
        for act in ("A1", "A2"):
            rows.append(BASE | {"learner_id": f"L{n}", "email": f"p{n}@example.org",
                                "activity_id": act} | line)
            rows.append(BASE | {"learner_id": f"L{n}", "email": f"p{n}@example.org",
                                "activity_id": act} | line | {"board_credit_type": "Practice Assessment"})
    summary = run(db_session, csv_bytes(rows))
    assert (summary.rows, summary.learners, summary.completions_created) == (28, 7, 14)
    assert count(db_session, BoardCredit) == 28
    assert summary.learners_created == 7
    again = run(db_session, csv_bytes(rows))
    assert again.completions_unchanged == 14


def test_a_corrected_name_sends_records_rejected_for_a_mismatch_again(db_session, policy):
    from webapp.models import Delivery, DeliveryState
    from webapp.pars import outbox

    recent = {"completion_date": (dt.date.today() - dt.timedelta(days=5)).isoformat()}
    run(db_session, csv_bytes([BASE | recent]))
    outbox.plan(db_session, policy)
    record = db_session.scalars(select(Delivery)).one()
    record.state, record.error_code = DeliveryState.REJECTED, "LEARNER_NOT_MATCHED"
    db_session.flush()
    summary = import_credits(db_session, io.BytesIO(csv_bytes([BASE | recent | {"last_name": "Díaz"}])),
                             policy=policy)
    assert summary.learners_updated == 1
    states = [d.state for d in db_session.scalars(select(Delivery).order_by(Delivery.id))]
    assert states == [DeliveryState.CANCELLED, DeliveryState.QUEUED]
