"""What a browser shows on the physician's own pages: the message counter on reports, the
"Keep sharing" choice, and the profile of a learner PARS never receives credit for; on a
desktop and at a phone's 390 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def fits_width(page) -> bool:
    """Nothing wider than the viewport it was opened with. (A phone's browser zooms out to
    show a page that overflows, which widens ``innerWidth`` too: compare with the set size.)"""
    width = page.viewport_size["width"]
    return page.evaluate("() => document.documentElement.scrollWidth") <= width


@pytest.fixture(params=list(WIDTHS))
def sized(request, browser, site):
    phone = request.param == "phone"
    context = browser.new_context(base_url=site, viewport=WIDTHS[request.param],
                                  is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_the_report_counter_warns_before_the_server_refuses(sized, shot):
    page = sized
    sign_in(page, "samuel.okafor")
    page.goto("/support")
    message = page.get_by_label("Tell us about it")
    counter = page.locator("#message-count")
    expect(counter).to_have_attribute("aria-live", "polite")
    expect(counter).to_have_text("0 of 4,000 characters used.")
    message.fill("Grand rounds, May 2")
    expect(counter).to_have_text("19 of 4,000 characters used.")
    message.fill("x" * 5000)  # a paste the browser keeps whole: no maxlength cuts it
    expect(counter).to_have_text(
        "5,000 characters: 1,000 over the limit of 4,000. Shorten it before sending.")
    expect(counter).to_have_class("hint char-count over")
    assert message.input_value() == "x" * 5000
    assert fits_width(page)
    assert_accessible(page)

    # Sent anyway: the server refuses it, says by how much, and keeps the text.
    page.get_by_label("A credit I earned is missing").check()
    page.get_by_role("button", name="Send to CME staff").click()
    expect(page.get_by_text("This is 5,000 characters long; at most 4,000 fit.")).to_be_visible()
    expect(page.get_by_text("Nothing was sent: please correct the fields marked below.")
           ).to_be_visible()
    assert page.get_by_label("Tell us about it").input_value() == "x" * 5000
    expect(page.locator("#message-count")).to_contain_text("1,000 over the limit")
    expect(page.get_by_label("Tell us about it")).to_have_attribute("aria-invalid", "true")
    assert fits_width(page)
    assert_accessible(page)
    shot(page, "too-long")


def test_keep_sharing_is_offered_and_recorded(browser, site, shot):
    # Elena's "yes" came from the learning system: she never chose on this site.
    context = browser.new_context(base_url=site, viewport=WIDTHS["phone"], is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, "elena.marsh")
        page.goto("/profile")
        keep = page.get_by_role("button", name="Keep sharing")
        expect(keep).to_be_visible()
        expect(page.get_by_text("You have not chosen yourself yet")).to_be_visible()
        assert fits_width(page)
        assert_accessible(page)
        shot(page, "choice")

        # The opt-out confirmation offers keeping first, and as the main button.
        page.get_by_role("button", name="Stop sharing (opt out)…").click()
        buttons = page.locator("main .actions button")
        expect(buttons.first).to_have_text("No, keep sharing")
        expect(buttons.nth(1)).to_have_text("Yes, stop sharing my credit")
        assert "primary" in (buttons.first.get_attribute("class") or "")
        assert "primary" not in (buttons.nth(1).get_attribute("class") or "")
        assert fits_width(page)
        assert_accessible(page)
        shot(page, "confirm")

        buttons.first.click()
        expect(page.get_by_text("Recorded: you chose to keep sharing your credit with PARS.")
               ).to_be_visible()
        expect(page.get_by_role("button", name="Keep sharing")).to_have_count(0)
        expect(page.get_by_role("cell", name="You, on this site")).to_have_count(1)
        assert_accessible(page)
    finally:
        context.close()


def test_a_nurse_practitioner_sees_what_applies_to_them(sized, shot):
    page = sized
    sign_in(page, "jordan.ellis")
    page.goto("/profile")
    expect(page.get_by_role("heading", name="Your credit is not reported to PARS")).to_be_visible()
    expect(page.get_by_text("records your degree as NP")).to_be_visible()
    for hidden in ("Stop sharing (opt out)…", "Keep sharing", "Save details"):
        expect(page.get_by_role("button", name=hidden)).to_have_count(0)
    expect(page.get_by_label("NPI (National Provider Identifier)")).to_have_count(0)
    assert fits_width(page)
    assert_accessible(page)
    shot(page, "non-physician")
