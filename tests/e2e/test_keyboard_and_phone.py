"""Keyboard-only use of sign-in, filters and the consent form; the layout on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, fits_width, sign_in, tab_to

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


def test_keyboard_only(page, shot):
    page.goto("/")
    tab_to(page, "Sign in")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/oauth2/authorize"))
    expect(page.locator('button[value="priya.lindqvist"]')).to_be_visible()
    tab_to(page, "priya.lindqvist")
    page.keyboard.press("Enter")
    # The sharing notice on first sign-in, continued by keyboard.
    page.wait_for_url(re.compile(r"/sharing-notice"))
    tab_to(page, "Continue")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/transcript$"))

    # Filters: a license cycle, typed into the date fields.
    tab_to(page, "From")
    page.keyboard.type("01012024")
    tab_to(page, "To")
    page.keyboard.type("12312026")
    tab_to(page, "Show")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"date_from=2024-01-01"))
    assert "date_to=2026-12-31" in page.url
    shot(page, "filtered")

    # The consent form: Priya opted out in the learning system; share again by keyboard.
    page.goto("/profile")
    tab_to(page, "I give permission")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Thank you: your credit will be shared")).to_be_visible()
    tab_to(page, "Stop sharing")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Stop sharing your credit?")).to_be_visible()
    tab_to(page, "Yes, stop sharing")
    page.keyboard.press("Enter")
    expect(page.get_by_text("You opted out")).to_be_visible()


@pytest.mark.parametrize("path", ["/transcript", "/sharing-notice", "/profile", "/faq",
                                  "/faq/opting-out", "/support"])
def test_phone_layout(browser, site, shot, path):
    context = browser.new_context(base_url=site, viewport={"width": 375, "height": 740},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, "samuel.okafor")
        page.goto(path)
        assert fits_width(page), f"{path} scrolls sideways on a phone"
        assert_accessible(page)
        shot(page, path.strip("/").replace("/", "-"))
    finally:
        context.close()
