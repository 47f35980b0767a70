"""Request logs are structured and carry no personal identifiers or query strings."""

import json
import logging

from webapp.logs import JSONFormatter


def test_request_log_has_no_query_string_or_identifiers(client, login_as, make, caplog):
    learner = make.learner(first_name="Zelda", last_name="Quist", email="zelda@example.org")
    identity = login_as(learner)
    with caplog.at_level(logging.INFO, logger="webapp.request"):
        response = client.get("/transcript?date_from=2024-01-01")
    record = next(r for r in caplog.records if r.name == "webapp.request")
    line = JSONFormatter().format(record)
    entry = json.loads(line)
    assert entry["path"] == "/transcript" and entry["status"] == 200
    assert entry["identity_id"] == identity.id
    assert entry["request_id"] == response.headers["X-Request-ID"]
    for secret in ("2024-01-01", "Zelda", "Quist", "zelda@example.org", learner.npi):
        assert secret not in line


def test_database_errors_reach_the_log_without_the_values(db_session, make):
    import sys

    import pytest
    from sqlalchemy.exc import IntegrityError

    from webapp.logs import WithholdDatabaseDetails
    from webapp.models import License

    learner = make.learner()
    number = learner.licenses[0].number
    db_session.add(License(learner_id=learner.id, state="MI", number=number))
    with pytest.raises(IntegrityError):
        try:
            db_session.flush()
        except IntegrityError:
            record = logging.LogRecord("webapp", logging.ERROR, __file__, 1, "failed", None,
                                       sys.exc_info())
            raise
    db_session.rollback()
    assert WithholdDatabaseDetails().filter(record)
    line = JSONFormatter().format(record)
    assert "IntegrityError: database error" in line and "details withheld" in line
    assert number not in line  # neither bound parameters nor the server's DETAIL


def test_unhandled_errors_go_to_the_filtered_log(db_session, make):
    import io

    import pytest
    from sqlalchemy.exc import IntegrityError

    from webapp.logs import WithholdDatabaseDetails, log_unhandled
    from webapp.models import License

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(WithholdDatabaseDetails())
    logger = logging.getLogger("webapp")
    logger.addHandler(handler)
    learner = make.learner()
    number = learner.licenses[0].number
    db_session.add(License(learner_id=learner.id, state="MI", number=number))
    try:
        with pytest.raises(IntegrityError) as info:
            db_session.flush()
        log_unhandled(info.type, info.value, info.tb)
    finally:
        logger.removeHandler(handler)
        db_session.rollback()
    line = stream.getvalue()
    assert '"message": "unhandled error"' in line and "details withheld" in line
    assert number not in line
