"""A physician's visit in a real browser: sign in, the sharing notice, transcript, PDF, opt out
and in, FAQ, sign out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, sign_in

# The development provider (a third-party mock) calls an Authlib API that Authlib
# has deprecated, on its own server thread; not this project's code.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


def test_physician_journey(page, shot):
    sign_in(page, "morgan.hale")
    # The first sign-in shows the sharing permission and how to opt out; Continue keeps the choice.
    page.wait_for_url(re.compile(r"/sharing-notice\?next="))
    expect(page.get_by_role("heading", name="Before you continue: sharing your credit with PARS")
           ).to_be_visible()
    expect(page.get_by_role("link", name="Change my choice")).to_be_visible()
    shot(page, "sharing-notice")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/transcript$"))
    expect(page.get_by_role("heading", name="Your CME transcript")).to_be_visible()
    expect(page.get_by_text("Morgan Hale, MD")).to_be_visible()
    expect(page.get_by_text(re.compile("ABS asks for credit within 30 days")).first).to_be_visible()
    shot(page, "transcript")
    assert_accessible(page)

    # A status explanation, then back.
    page.get_by_role("link", name=re.compile("What does “Queued” mean")).first.click()
    page.wait_for_url(re.compile(r"/faq/when-credit-is-sent"))
    shot(page, "status-explained")
    assert_accessible(page)
    page.go_back()

    # The PDF a physician hands to a licensing board.
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert re.fullmatch(r"cme-transcript-Morgan-Hale-all-credit-to-\d{4}-\d{2}-\d{2}\.pdf",
                        download.suggested_filename)
    assert Path_read(download).startswith(b"%PDF")

    # One credit's timeline.
    page.locator("ol.credits h3 a").first.click()
    page.wait_for_url(re.compile(r"/transcript/credits/\d+$"))
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    shot(page, "credit-detail")
    assert_accessible(page)

    # Opt out, with confirmation, and see the statuses change.
    page.get_by_role("link", name="Sharing & identifiers").click()
    shot(page, "profile")
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("Stop sharing")).click()
    expect(page.get_by_text("The American Board of Surgery no longer accepts")).to_be_visible()
    shot(page, "confirm-opt-out")
    assert_accessible(page)
    page.get_by_role("button", name="Yes, stop sharing my credit").click()
    expect(page.get_by_text("You opted out")).to_be_visible()
    page.get_by_role("link", name="Transcript").click()
    expect(page.get_by_text("Withheld").first).to_be_visible()
    shot(page, "transcript-withheld")

    # And back in.
    page.get_by_role("link", name="Sharing & identifiers").click()
    page.get_by_role("button", name=re.compile("I give permission")).click()
    expect(page.get_by_text("Thank you: your credit will be shared")).to_be_visible()
    expect(page.get_by_role("cell", name="You, on this site")).to_have_count(2)
    expect(page.get_by_role("cell", name="You, after signing in")).to_have_count(1)
    page.get_by_role("link", name="Transcript").click()
    expect(page.get_by_text("Withheld")).to_have_count(0)
    expect(page.get_by_text("Queued").first).to_be_visible()

    # FAQ search and a deep link a support agent would send.
    page.goto("/faq?q=opt+out")
    page.get_by_role("link", name=re.compile("opt out", re.I)).first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shot(page, "faq-answer")
    assert_accessible(page)
    link = page.get_by_label(re.compile("link", re.I)).first.input_value()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Sign out; the back button shows nothing private.
    page.goto("/transcript")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    shot(page, "signed-out")
    page.go_back()
    page.wait_for_load_state()
    assert "Morgan Hale" not in page.content()
    page.goto("/transcript")
    assert "/transcript" not in page.url or "Morgan Hale" not in page.content()
    shot(page, "after-back")


def Path_read(download) -> bytes:  # noqa: N802 - reads the downloaded file
    from pathlib import Path

    return Path(download.path()).read_bytes()
