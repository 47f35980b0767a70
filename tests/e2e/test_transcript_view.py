"""What a browser shows on the transcript, at desktop and phone width: the due-soon mark,
a refused date range, local times, and pages of credit used from the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, fits_width, sign_in, tab_to

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(WIDTHS))
def view(request, browser, site):
    phone = request.param == "phone"
    context = browser.new_context(base_url=site, viewport=WIDTHS[request.param],
                                  is_mobile=phone, has_touch=phone, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def to_transcript(page, subject: str) -> None:
    sign_in(page, subject)
    if "/sharing-notice" in page.url:
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/transcript"))


def test_deadline_near_is_marked_in_words(view, shot):
    to_transcript(view, "morgan.hale")
    # Morgan Hale's ABS credit is 24 days old: 6 days to the 30-day limit.
    mark = view.locator("p.deadline-soon").filter(has_text="ABS asks for credit within 30 days")
    expect(mark.first).to_be_visible()
    expect(mark.first).to_contain_text("Due soon:")
    expect(mark.first).to_contain_text("(6 days left)")
    assert fits_width(view)
    assert_accessible(view)
    shot(view, "due-soon")


def test_a_range_ending_before_it_starts_lists_nothing(view, shot):
    to_transcript(view, "elena.marsh")
    view.get_by_label("From", exact=True).fill("2026-05-01")
    view.get_by_label("To", exact=True).fill("2026-01-01")
    view.get_by_role("button", name="Show").click()
    view.wait_for_url(re.compile(r"date_from=2026-05-01"))
    expect(view.get_by_text("The end date must be on or after the start date.")).to_be_visible()
    expect(view.get_by_role("heading", name="Nothing listed: the filter does not hold")).to_be_visible()
    expect(view.locator("ol.credits")).to_have_count(0)
    expect(view.get_by_role("link", name="Download PDF")).to_have_count(0)
    assert fits_width(view)
    assert_accessible(view)
    shot(view, "refused-range")


def test_times_are_local_and_pages_keep_the_filter(view, shot):
    to_transcript(view, "elena.marsh")
    # Seven credits, four to a page on this test site: two pages, reached by keyboard.
    expect(view.get_by_role("heading", name=re.compile(r"Credit \(1–4 of 7"))).to_be_visible()
    pages = view.get_by_role("navigation", name="Pages of credit").first
    expect(pages.get_by_role("link", name="Page 1")).to_have_attribute("aria-current", "page")
    tab_to(view, "Older credit")
    view.keyboard.press("Enter")
    view.wait_for_url(re.compile(r"page=2"))
    expect(view.get_by_role("heading", name=re.compile(r"Credit \(5–7 of 7"))).to_be_visible()
    assert fits_width(view)
    assert_accessible(view)
    shot(view, "page-2")

    # A filter narrows the list; the totals and pages follow it.
    view.get_by_label("Credit", exact=True).select_option("AMA")
    view.get_by_role("button", name="Show").click()
    view.wait_for_url(re.compile(r"credit_type=AMA"))
    expect(view.get_by_role("link", name="Older credit").first).to_have_attribute(
        "href", re.compile(r"credit_type=AMA"))
    expect(view.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", re.compile(r"credit_type=AMA"))

    # One credit's timeline shows local times, never UTC.
    view.locator("ol.credits h3 a").first.click()
    view.wait_for_url(re.compile(r"/transcript/credits/\d+$"))
    times = view.locator("ol.timeline time")
    expect(times.filter(has_text=re.compile(r"\d:\d\d [ap]\.m\. C[SD]T"))).not_to_have_count(0)
    assert "UTC" not in view.locator("ol.timeline").inner_text()
    assert fits_width(view)
    assert_accessible(view)
    shot(view, "local-times")
