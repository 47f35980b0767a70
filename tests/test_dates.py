import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from webapp.config import ConfigError, load
from webapp.dates import (
    MonthDay,
    display_zone,
    format_date,
    format_datetime,
    format_month_day,
    format_time,
    readable_date,
)


def test_a_month_day_is_parsed_placed_in_a_year_and_spelled_out():
    close = MonthDay.parse("03-31")
    assert close == MonthDay(3, 31)
    assert close.on(2026) == dt.date(2026, 3, 31)
    assert close.readable() == "March 31"
    assert str(close) == "03-31"


@pytest.mark.parametrize("value,says", [
    ("3-31", "MM-DD"), ("03/31", "MM-DD"), ("2023-03-31", "MM-DD"), ("", "MM-DD"),
    ("02-30", "every year"), ("02-29", "every year"), ("13-01", "every year"), ("00-10", "every year"),
])
def test_anything_else_is_refused_saying_why(value, says):
    with pytest.raises(ValueError, match=says):
        MonthDay.parse(value)


def test_readable_date():
    assert readable_date(dt.date(2023, 7, 1)) == "July 1, 2023"


# --- display filters -------------------------------------------------------------------------

CHICAGO = ZoneInfo("America/Chicago")


def test_a_moment_is_shown_in_the_display_zone_with_its_abbreviation():
    winter = dt.datetime(2026, 1, 15, 17, 0, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 15, 17, 0, tzinfo=dt.UTC)
    assert format_datetime(winter, CHICAGO) == "January 15, 2026, 11:00 a.m. CST"
    assert format_datetime(summer, CHICAGO) == "July 15, 2026, 12:00 p.m. CDT"
    assert format_datetime(winter, ZoneInfo("UTC")) == "January 15, 2026, 5:00 p.m. UTC"
    assert format_time(dt.datetime(2026, 1, 15, 6, 5, tzinfo=dt.UTC), CHICAGO) == "12:05 a.m. CST"


def test_a_moment_late_in_the_utc_day_is_dated_by_the_local_day():
    # 02:30 UTC on March 1 is still February 28 in Chicago.
    assert format_date(dt.datetime(2026, 3, 1, 2, 30, tzinfo=dt.UTC), CHICAGO) == "February 28, 2026"
    # A day (a completion date) is never shifted.
    assert format_date(dt.date(2026, 3, 1), CHICAGO) == "March 1, 2026"
    # The database's naive values are UTC.
    assert format_date(dt.datetime(2026, 3, 1, 2, 30), CHICAGO) == "February 28, 2026"
    assert format_date(None, CHICAGO) == "" and format_datetime(None, CHICAGO) == ""


def test_a_day_of_the_year_is_spelled_out():
    assert format_month_day(MonthDay(3, 31)) == "March 31"
    assert format_month_day("12-01") == "December 1"
    assert format_month_day(dt.date(2028, 2, 29)) == "February 29"


def test_an_unknown_zone_is_refused_saying_what_is_expected():
    with pytest.raises(ValueError, match="IANA time zone"):
        display_zone("Central Time")
    with pytest.raises(ConfigError, match="DISPLAY_TIMEZONE"):
        load({"DISPLAY_TIMEZONE": "Mars/Olympus"})
    assert load({"DISPLAY_TIMEZONE": "Europe/Berlin"})["DISPLAY_TIMEZONE"] == "Europe/Berlin"


def test_filters_are_registered_for_every_template(app):
    moment = dt.datetime(2026, 3, 31, 17, 0, tzinfo=dt.UTC)
    with app.test_request_context():
        rendered = app.jinja_env.from_string(
            "{{ d|date }} / {{ m|datetime }} / {{ m|time }} / {{ md|month_day }}").render(
            d=dt.date(2026, 3, 31), m=moment, md=MonthDay(3, 31))
    zone = app.extensions["display_zone"]
    assert zone.key == app.config["DISPLAY_TIMEZONE"]
    assert rendered == (f"March 31, 2026 / {format_datetime(moment, zone)}"
                        f" / {format_time(moment, zone)} / March 31")


def test_every_template_compiles_with_the_date_filters(app):
    # Jinja resolves filter names when it compiles (outside {% if %} blocks, which it leaves to
    # rendering): a template naming an unknown filter there fails here.
    names = [n for n in app.jinja_env.list_templates() if n.endswith(".html")]
    assert "staff/dashboard.html" in names and "support/index.html" in names
    for name in names:
        app.jinja_env.get_template(name)
