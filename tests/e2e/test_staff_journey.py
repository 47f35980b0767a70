"""CME staff in a real browser: dashboard, look-up, consent on a physician's behalf, reports."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


def test_staff_journey(page, shot, browser, site):
    # A physician reports a missing credit first.
    physician = browser.new_context(base_url=site).new_page()
    sign_in(physician, "elena.marsh")
    physician.goto("/support")
    physician.get_by_label("A credit I earned is missing").check()
    physician.get_by_label("Tell us about it").fill("My October grand rounds credit is missing.")
    physician.get_by_role("button", name="Send to CME staff").click()
    expect(physician.get_by_text("reference CME-")).to_be_visible()
    reference = re.search(r"CME-[A-Z0-9]{6}", physician.content()).group(0)

    sign_in(page, "casey.staff")
    page.get_by_role("link", name="Staff console").click()
    expect(page.get_by_role("heading", name="Reporting dashboard")).to_be_visible()
    shot(page, "dashboard")
    assert_accessible(page)

    page.get_by_role("link", name="Physician look-up").click()
    page.get_by_label("Name, e-mail, NPI or learner ID").fill("marsh")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Elena Marsh").click()
    expect(page.get_by_text("Transcript, as the physician sees it")).to_be_visible()
    shot(page, "physician")
    assert_accessible(page)

    page.get_by_label("Does not share credit (opted out)").check()
    page.get_by_label("How the decision reached you").fill("Signed form received by fax")
    page.get_by_role("button", name="Record on the physician's behalf").click()
    expect(page.get_by_text("Recorded.")).to_be_visible()
    expect(page.get_by_role("cell", name="Signed form received by fax")).to_be_visible()

    page.get_by_role("link", name="Physician reports").click()
    page.get_by_role("link", name=reference).click()
    page.get_by_label("Answer to the physician").fill("Found it: added to your transcript.")
    page.get_by_role("button", name="Send answer and close").click()
    expect(page.get_by_text(f"Answer sent for {reference}")).to_be_visible()

    page.get_by_role("link", name="Needs attention").click()
    expect(page.get_by_role("heading", name="Rejected by a certifying board")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Excel batches").click()
    page.get_by_role("button", name="Create Excel batch").click()
    expect(page.get_by_text(re.compile(r"Batch \d+ holds \d+ record"))).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").first.click()
    assert info.value.suggested_filename.endswith(".xlsx")
    shot(page, "batches")
    assert_accessible(page)
    # PARS's answer: a row number that is not a data row is refused, with nothing recorded.
    page.get_by_role("link", name="Record PARS's answer").first.click()
    page.get_by_label("Rows PARS refused").fill("2: Header row")
    page.get_by_role("button", name="Record the answer").click()
    expect(page.get_by_text(re.compile(r"Nothing was recorded: row 2 is not a data row"))).to_be_visible()
    expect(page.get_by_label("Rows PARS refused")).to_have_value("2: Header row")
    shot(page, "batch-answer")
    assert_accessible(page)
    page.get_by_role("button", name="Cancel batch").click()
    expect(page.get_by_text(re.compile(r"cancelled: \d+ record\(s\) are queued again"))).to_be_visible()

    page.get_by_role("link", name="FAQ links").click()
    page.get_by_label("Search the FAQ").fill("CME Passport")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("input.copy-link").first).to_have_value(re.compile(r"/faq/"))
    assert_accessible(page)

    physician.goto("/support")
    expect(physician.get_by_text("Found it: added to your transcript.")).to_be_visible()
    physician.goto("/transcript")
    expect(physician.get_by_text("Withheld").first).to_be_visible()
    physician.context.close()
