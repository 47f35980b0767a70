"""A real site, a real sign-in provider and headless Chromium for end-to-end tests.

The site runs on a werkzeug server thread against its own database with the demo
data, the development provider on another; Playwright drives Debian's Chromium
(``/usr/bin/chromium``, or ``CHROMIUM`` in the environment). Screenshots go to
``artifacts/e2e/``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from devtools import oidc
from devtools.database import create_database, drop_database, make_app, migrate
from tests.e2e.helpers import buffered
from webapp.extensions import db

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    url = create_database(tmp)
    # Ports are chosen by the system as each server binds (port 0), never picked beforehand:
    # the site's socket is bound and listening before the app that needs its address exists.
    listener = socket.create_server(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with oidc.serve(0) as provider:
            app = make_app(
                url, SERVER_NAME=None, TESTING=False, PORTAL_URL=base,
                BATCH_DIR=str(tmp / "batches"), OIDC_ISSUER=oidc.issuer(provider.server_port),
                OIDC_CLIENT_ID=oidc.CLIENT_ID, OIDC_CLIENT_SECRET=oidc.CLIENT_SECRET,
                # Small pages, so a demo physician's transcript (Elena Marsh: 7 credits) has two.
                TRANSCRIPT_PAGE_SIZE=4,
            )
            migrate(app)
            with app.app_context():  # the e2e site's own, whatever context a test may hold
                result = app.test_cli_runner().invoke(args=["demo", "load"])
            assert result.exit_code == 0, result.output
            server = make_server("127.0.0.1", 0, buffered(app), threaded=True,
                                 fd=listener.fileno())
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield base
            finally:
                server.shutdown()
                server.server_close()
                with app.app_context():
                    db.engine.dispose()
    finally:
        listener.close()
        drop_database(url)


@pytest.fixture(scope="session")
def browser():
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, site, request):
    context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    # The same safety net for `expect(...)` assertions (Playwright's own default is 5 s,
    # which a loaded two-core machine running the browser, the site and PostgreSQL can pass).
    playwright_api.expect.set_options(timeout=15_000)
    yield page
    context.close()


@pytest.fixture
def shot(request):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        stem = re.sub(r"[^\w.-]+", "_", f"{request.node.name}-{name}").strip("_")
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)

    return take
