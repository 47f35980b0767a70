"""Steps the browser tests share: signing in, and the accessibility check."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()


def sign_in(page, subject: str) -> None:
    """Sign in through the development provider's page, as a person would."""
    page.goto("/")
    page.get_by_role("link", name="Sign in").first.click()
    page.locator(f'button[name="sub"][value="{subject}"]').click()
    page.wait_for_url(lambda url: "127.0.0.1" in url and "/login" not in url)


def serious_violations(page) -> list[str]:
    """axe-core violations of serious or critical impact on the current page."""
    results = _axe.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]


def assert_accessible(page) -> None:
    problems = serious_violations(page)
    assert not problems, "\n".join(problems)


def tab_to(page, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element's accessible text contains ``name``."""
    page.wait_for_load_state()
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; if (!e) return '';"
            " const label = e.labels && e.labels.length ? e.labels[0].innerText : '';"
            " return (e.innerText || e.value || '') + ' ' + label + ' ' + (e.name || ''); }")
        if name in focused:
            return
    raise AssertionError(f"could not reach {name!r} with the keyboard")


def fits_width(page) -> bool:
    """No horizontal scrolling: the layout fits the viewport."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def buffered(app):
    """``app`` with each response read whole and closed before the server writes it.

    Werkzeug's development server closes a response only after it has drained the
    connection; when the browser drops a connection first (a page left while its favicon
    loads), an open static file would be left to the garbage collector, and its
    ResourceWarning would fail whichever test is running then."""
    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    return wsgi
