"""The demo data shows each case the portal must explain, with the right status."""

import datetime as dt
import re

import pytest
from sqlalchemy import select

from webapp.dates import readable_date
from webapp.models import Learner


@pytest.fixture
def demo(runner, db_session):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output

    def learner(source_id):
        return db_session.scalars(select(Learner).where(Learner.source_id == source_id)).one()

    return learner


@pytest.mark.parametrize("source_id,expected", [
    ("demo-surgeon", ["Queued", "ABS (American Board of Surgery)",
                      "Due soon: ABS asks for credit within 30 days, by "
                      + f"{readable_date(dt.date.today() + dt.timedelta(days=6))} (6 days left)"]),
    ("demo-opted-out", ["Withheld", "You chose not to share"]),
    ("demo-missing-ids", ["Waiting for your details", "birth month and day",
                          "NPI or a state license"]),
    ("demo-internist", ["Not reportable", "when reporting to PARS began", "Not reportable yet",
                        "not yet registered with PARS"]),
    ("demo-np", ["Not reported", "physicians only (MD, DO and equivalent"]),
])
def test_each_demo_case_shows_its_status(demo, client, login_as, source_id, expected):
    login_as(demo(source_id))
    html = client.get("/transcript").get_data(as_text=True)
    # The words as a reader gets them: tags and signs hidden from screen readers left out.
    html = re.sub(r'<span aria-hidden="true">[^<]*</span>', "", html)
    html = " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" :", ":")
    for text in expected:
        assert text in html, text
