"""What a browser shows after issue #15: staff landing and dashboard links, the FAQ copy
button, who is signed in, the favicon, the 429 page, and no sideways scrolling at 390 px."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from devtools.database import create_database, drop_database, make_app, migrate
from tests.e2e.helpers import assert_accessible, buffered, fits_width, sign_in
from webapp.extensions import db

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

PHONE = {"width": 390, "height": 844}
#: One word of 300 characters: a pasted token or link with no place to break.
LONG_WORD = "x" * 150 + "Y" * 150


def phone(browser, site, **kw):
    return browser.new_context(base_url=site, viewport=PHONE, is_mobile=True, has_touch=True,
                               **kw)


def test_staff_land_on_the_console_and_see_who_is_signed_in(page, shot):
    sign_in(page, "casey.staff")
    assert page.url.endswith("/staff/")
    expect(page.get_by_role("heading", name="Reporting dashboard")).to_be_visible()
    header = page.locator("header.site-header")
    expect(header).to_contain_text("Signed in as Casey Staff (CME staff)")
    expect(header).not_to_contain_text("@")
    shot(page, "landing")
    assert_accessible(page)


def test_physician_header_names_them(page):
    sign_in(page, "samuel.okafor")
    expect(page.locator("header.site-header")).to_contain_text("Signed in as Samuel Okafor")
    expect(page.locator("header.site-header")).not_to_contain_text("(CME staff)")


def test_dashboard_counts_lead_to_their_records(page, shot):
    sign_in(page, "casey.staff")
    count = page.locator("#counts-h + dl div").filter(has=page.locator("a")).first
    expect(count).to_be_visible()
    label = count.locator("dt").inner_text()
    number = count.locator("a").inner_text()
    count.locator("a").click()
    expect(page.get_by_role("heading", name=f"Records: {label}")).to_be_visible()
    if int(number) > 1:
        expect(page.locator("tbody tr")).to_have_count(min(int(number), 50))
    shot(page, "records")
    assert_accessible(page)
    page.get_by_role("link", name="← Dashboard").click()
    expect(page.locator("#due-h")).to_be_visible()
    expect(page.locator("#unregistered-h")).to_be_visible()


def test_faq_links_copy_button(browser, site, shot):
    context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    try:
        sign_in(page, "casey.staff")
        page.get_by_role("link", name="FAQ links").click()
        links = page.locator("input.faq-share-link")
        expect(links.first).to_have_value(re.compile(r"/faq/[a-z0-9-]+$"))
        assert links.count() > 10  # every question, before any search
        first = page.locator("li.faq-link").first
        first.get_by_role("button", name="Copy link").click()
        expect(first.get_by_role("status")).to_have_text("Link copied.")
        assert page.evaluate("() => navigator.clipboard.readText()") == links.first.input_value()
        shot(page, "faq-links")
        assert_accessible(page)
    finally:
        context.close()


def test_faq_links_work_without_javascript(browser, site):
    context = browser.new_context(base_url=site, java_script_enabled=False)
    page = context.new_page()
    try:
        # The development provider's page is a form: no script needed to sign in.
        sign_in(page, "casey.staff")
        page.goto("/staff/faq")
        link = page.locator("input.faq-share-link").first
        expect(link).to_be_visible()
        expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/faq/"))
        expect(page.get_by_role("button", name="Copy link")).to_have_count(0)
    finally:
        context.close()


def test_favicon_is_served_and_no_page_asset_is_missing(page):
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto("/")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")
    page.goto("/faq")
    assert missing == []


@pytest.fixture
def limited_site(tmp_path):
    """A site of its own whose form posts are limited to one a minute (the shared e2e site
    runs without limits, so other tests never meet them)."""
    url = create_database(tmp_path)
    app = make_app(url, SERVER_NAME=None, TESTING=False, RATELIMIT_ENABLED=True,
                   RATELIMIT_DEFAULT="1 per minute", WTF_CSRF_ENABLED=False)
    migrate(app)
    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        with app.app_context():
            db.engine.dispose()
        drop_database(url)


SUBMIT = """() => {
    const form = document.createElement('form');
    form.method = 'post'; form.action = '/profile/sharing';
    document.body.appendChild(form); form.submit();
}"""


def test_too_many_posts_get_the_sites_styled_page(browser, limited_site, shot):
    context = phone(browser, limited_site)
    page = context.new_page()
    try:
        page.goto("/")
        with page.expect_navigation():
            page.evaluate(SUBMIT)  # the first post is let through (to the sign-in)
        page.goto("/")
        with page.expect_navigation():
            page.evaluate(SUBMIT)
        expect(page.get_by_role("heading", name="Too many requests")).to_be_visible()
        styled = page.evaluate("""() => ({
            header: getComputedStyle(document.querySelector('.site-header')).borderBottomStyle,
            font: getComputedStyle(document.body).fontFamily})""")
        assert styled["header"] == "solid" and "system-ui" in styled["font"]
        assert fits_width(page)
        shot(page, "429")
        assert_accessible(page)
    finally:
        context.close()


PHYSICIAN_PAGES = ["/transcript", "/profile", "/faq", "/faq/opting-out", "/support",
                   f"/faq?q={LONG_WORD}"]
STAFF_PAGES = ["/staff/", "/staff/attention", "/staff/batches", "/staff/requests",
               "/staff/requests?state=answered", "/staff/faq", f"/staff/faq?q={LONG_WORD}",
               "/staff/sign-ins", f"/staff/physicians?q={LONG_WORD}", "/staff/physicians?q=a",
               "/staff/records?state=queued", "/staff/records?state=accepted"]


def test_no_page_scrolls_sideways_at_390_px(browser, site, shot):
    physician_context = phone(browser, site)
    staff_context = phone(browser, site)
    physician, staff = physician_context.new_page(), staff_context.new_page()
    try:
        wide = []
        sign_in(physician, "elena.marsh")
        # A report holding one unbroken word of 300 characters.
        physician.goto("/support")
        physician.get_by_label("A credit I earned is missing").check()
        physician.get_by_label("Tell us about it").fill(f"My credit {LONG_WORD} is missing.")
        physician.get_by_role("button", name="Send to CME staff").click()
        reference = re.search(r"CME-[A-Z0-9]{6}", physician.content()).group(0)
        for path in PHYSICIAN_PAGES:
            physician.goto(path)
            if not fits_width(physician):
                wide.append(path)
        expect(physician.get_by_text(LONG_WORD[:20], exact=False).first).to_be_visible()

        sign_in(staff, "casey.staff")
        for path in STAFF_PAGES:
            staff.goto(path)
            if not fits_width(staff):
                wide.append(path)
        staff.goto("/staff/requests")
        staff.get_by_role("link", name=reference).click()
        expect(staff.get_by_text(LONG_WORD[:20], exact=False)).to_be_visible()
        if not fits_width(staff):
            wide.append("the report's page")
        staff.get_by_role("link", name="Elena Marsh").first.click()
        staff.get_by_text("Correct the identifiers on the physician's behalf").click()
        expect(staff.get_by_label("How the correction reached you")).to_be_visible()
        if not fits_width(staff) or staff.evaluate(SPILLING):
            wide.append("the physician's page")
        shot(staff, "physician-390")
        assert_accessible(staff)
        first = staff.locator(".credits a").first
        if first.count():
            first.click()
            if not fits_width(staff):
                wide.append("a credit's page")

        for path in ("/login/callback?error=access_denied", "/signed-out"):
            staff.goto(path)
            if not fits_width(staff):
                wide.append(path)
        assert wide == [], f"these scroll sideways at 390 px: {wide}"
    finally:
        physician_context.close()
        staff_context.close()


def test_signed_out_list_has_no_bullets_over_its_links(browser, site, shot):
    context = phone(browser, site)
    page = context.new_page()
    try:
        page.goto("/signed-out")
        styles = page.evaluate("""() => [...document.querySelectorAll('ul.actions')].map(
            ul => getComputedStyle(ul).listStyleType)""")
        assert styles and set(styles) == {"none"}
        heading = page.locator("main h1").bounding_box()
        header = page.locator("header.site-header").bounding_box()
        assert heading["y"] - (header["y"] + header["height"]) >= 16  # not flush under it
        shot(page, "signed-out-390")
    finally:
        context.close()


#: Elements inside a box (fieldset or card) whose right edge passes the box's own.
SPILLING = """() => {
    const out = [];
    for (const box of document.querySelectorAll('main fieldset, main .card')) {
        const edge = box.getBoundingClientRect().right + 1;
        for (const el of box.querySelectorAll('input, select, textarea, label, button, legend')) {
            if (el.getBoundingClientRect().right > edge) {
                out.push((box.querySelector('legend, h2') || box).textContent.trim().slice(0, 40)
                         + ': ' + (el.name || el.id || el.tagName));
            }
        }
    }
    return out;
}"""


def test_board_certifications_stay_inside_their_box_at_390_px(browser, site, shot):
    context = phone(browser, site)
    page = context.new_page()
    try:
        sign_in(page, "samuel.okafor")
        page.goto("/profile")
        page.locator('select[name="boards-0-board"]').select_option(index=1)
        assert page.evaluate(SPILLING) == []
        shot(page, "profile-390")
    finally:
        context.close()
