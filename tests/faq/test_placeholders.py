"""Provider values filled into the text at render time, safely, without Jinja."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.faq.helpers import write_question
from webapp.faq import placeholders
from webapp.faq.placeholders import values_from_config
from webapp.faq.rendering import render


def config(app, **changes):
    return {**app.config, **changes}


def test_every_documented_placeholder_has_a_value(app):
    values = values_from_config(config(
        app, INSTITUTION_NAME="Riverside CME", PORTAL_URL="https://cme.example.org/",
        REPORTING_START_DATE=dt.date(2024, 1, 15), SUBMISSION_FREQUENCY="every weekday",
        SUPPORT_EMAIL="help@example.org", SUPPORT_PHONE="+1 (555) 010-2000",
        BOARD_REPORTING_DAYS=30, PARS_YEAR_CLOSE="03-31",
        PHYSICIAN_DEGREES=frozenset({"MBBS", "DO", "MD"}), NOTIFY_REMINDER_DAYS=10,
    ))
    text = {name: value.text for name, value in values.items()}
    assert text == {
        "institution_name": "Riverside CME",
        "portal_url": "https://cme.example.org",
        "reporting_start_date": "January 15, 2024",
        "submission_frequency": "every weekday",
        "support_email": "help@example.org",
        "support_phone": "+1 (555) 010-2000",
        "support_contact": "email help@example.org or call +1 (555) 010-2000",
        "board_reporting_days": "30",
        "pars_year_close": "March 31",
        "physician_degrees": "MD, DO or MBBS",
        "notify_reminder_days": "10",
    }
    assert values["support_contact"].html == (
        'email <a href="mailto:help@example.org">help@example.org</a> or call '
        '<a href="tel:+15550102000">+1 (555) 010-2000</a>'
    )


def test_a_single_physician_degree_is_named_alone(app):
    values = values_from_config(config(app, PHYSICIAN_DEGREES=frozenset({"MD"})))
    assert values["physician_degrees"].text == "MD"


def test_without_a_phone_number_support_contact_is_email_only(app):
    values = values_from_config(config(app, SUPPORT_PHONE=""))
    assert values["support_contact"].text == f"email {app.config['SUPPORT_EMAIL']}"


def test_values_are_escaped_and_never_read_as_markdown_or_html(app):
    known = values_from_config(config(
        app, INSTITUTION_NAME='<b onclick="x()">*Big* & _Co_</b>',
        SUPPORT_EMAIL="cme_help_desk@example.org",
    ))
    html = render("We are {{ institution_name }}. Write to "
                  "[{{ support_email }}](mailto:{{ support_email }}).", known).html
    assert 'We are &lt;b onclick="x()"&gt;*Big* &amp; _Co_&lt;/b&gt;.' in html
    assert "<em>" not in html and "<b" not in html
    assert '<a href="mailto:cme_help_desk@example.org"' in html
    assert ">cme_help_desk@example.org</a>" in html


def test_spacing_inside_the_braces_does_not_matter(app):
    known = values_from_config(app.config)
    html = render("{{institution_name}} / {{  institution_name  }}", known).html
    name = app.config["INSTITUTION_NAME"]
    assert f"{name} / {name}" in html


def test_headings_with_placeholders_get_anchors_from_the_value(app):
    known = values_from_config(config(app, INSTITUTION_NAME="Riverside CME"))
    rendered = render("## About {{ institution_name }}\n", known)
    assert rendered.headings[0].id == "about-riverside-cme"
    assert rendered.headings[0].text == "About Riverside CME"


def test_content_is_not_a_jinja_template(app):
    known = values_from_config(app.config)
    html = render("{{ config.SECRET_KEY }} {% if true %}x{% endif %} {{ 7*7 }}", known).html
    assert app.config["SECRET_KEY"] not in html
    assert "{{ config.SECRET_KEY }}" in html
    assert "49" not in html


@pytest.mark.parametrize("text,needle", [
    ("Hello {{ instituton_name }}", "unknown placeholder '{{ instituton_name }}'"),
    ("Hello {{ }}", "unknown placeholder '{{ }}'"),
    ("Hello {{ institution_name }", "not a placeholder"),
    ("Hello institution_name }}", "not a placeholder"),
])
def test_unknown_and_malformed_placeholders_are_reported(app, text, needle):
    problems = placeholders.problems(text, values_from_config(app.config))
    assert len(problems) == 1 and needle in problems[0]


def test_titles_and_keywords_are_filled_in_too(client, faq_dir, app, monkeypatch):
    monkeypatch.setitem(app.config, "INSTITUTION_NAME", "Riverside CME")
    write_question(faq_dir, "keep", "Since {{ reporting_start_date }}.",
                   title="Will {{ institution_name }} keep my transcript?")
    html = client.get("/faq/keep").get_data(as_text=True)
    assert "<h1 id=\"faq-title\">Will Riverside CME keep my transcript?</h1>" in html
    assert "Since July 1, 2023." in html
    assert "{{" not in html


def test_changed_configuration_shows_without_editing_content(client, faq_dir, app, monkeypatch):
    write_question(faq_dir, "when", "We send credit {{ submission_frequency }}.")
    assert "We send credit every day." in client.get("/faq/when").get_data(as_text=True)
    monkeypatch.setitem(app.config, "SUBMISSION_FREQUENCY", "every Monday")
    assert "We send credit every Monday." in client.get("/faq/when").get_data(as_text=True)
