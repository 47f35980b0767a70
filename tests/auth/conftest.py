"""Sign-in fixtures: a real provider over HTTP, and a browser that goes through it.

Our app is driven with the Flask test client; everything between the app and
the provider (discovery, keys, token exchange) and the browser's visit to the
provider's authorization endpoint are real HTTP to a server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from tests.auth.idp import CLIENT_ID, CLIENT_SECRET, TestProvider
from tests.auth.oidc_node import CLIENT_ID as NODE_CLIENT_ID
from tests.auth.oidc_node import CLIENT_SECRET as NODE_CLIENT_SECRET
from tests.auth.oidc_node import NodeBrowser, NodeProvider, install, require_node
from webapp.models import AuditEvent, UserSession


@pytest.fixture(scope="session")
def _provider_server() -> Iterator[TestProvider]:
    with TestProvider().serve() as provider:
        yield provider


@pytest.fixture
def idp(_provider_server: TestProvider, app, monkeypatch) -> TestProvider:
    """The test provider, configured as this app's issuer, with a default verified user."""
    _provider_server.reset(sub="idp-user-1", email="someone@example.org", email_verified=True,
                           name="Some One")
    monkeypatch.setitem(app.config, "OIDC_ISSUER", _provider_server.issuer)
    monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setitem(app.config, "OIDC_CLIENT_SECRET", CLIENT_SECRET)
    # Each test sees the provider's discovery document as it is now.
    app.extensions.pop("cme_oidc_clients", None)
    return _provider_server


class Browser:
    """A person signing in: our site through ``client``, the provider over HTTP."""

    def __init__(self, client) -> None:
        self.client = client

    def start(self, next_url: str | None = None):
        query = f"?{urlencode({'next': next_url})}" if next_url is not None else ""
        return self.client.get(f"/login{query}")

    def visit_provider(self, authorize_url: str) -> str:
        """The provider's answer: the callback path and query it sends the browser to."""
        answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        callback = urlsplit(answer.headers["Location"])
        assert callback.netloc == "portal.test"
        return f"{callback.path}?{callback.query}"

    def sign_in(self, next_url: str | None = None):
        """Run the whole flow; returns the response to the callback."""
        login = self.start(next_url)
        assert login.status_code == 302, login.get_data(as_text=True)
        return self.client.get(self.visit_provider(login.headers["Location"]))


@pytest.fixture
def browser(client, idp) -> Browser:
    return Browser(client)


def audit(db_session, action: str) -> list[AuditEvent]:
    return list(db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ))


def live_sessions(db_session) -> list[UserSession]:
    return list(db_session.scalars(select(UserSession).where(UserSession.ended_at.is_(None))))


@pytest.fixture(scope="session")
def _node_servers() -> Iterator[dict[str, NodeProvider]]:
    """Servers of panva's oidc-provider by profile, started when first asked for."""
    servers: dict[str, NodeProvider] = {}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def node_idp(_node_servers, tmp_path_factory, app, monkeypatch):
    """``node_idp(profile, **settings)``: that profile's provider as this app's issuer."""
    node = require_node()

    def use(profile: str, **settings: object) -> NodeProvider:
        if profile not in _node_servers:
            install()
            log = tmp_path_factory.mktemp("oidc-node") / f"{profile}.log"
            _node_servers[profile] = NodeProvider(profile, node, log)
        server = _node_servers[profile]
        monkeypatch.setitem(app.config, "OIDC_ISSUER", server.issuer)
        monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", NODE_CLIENT_ID)
        monkeypatch.setitem(app.config, "OIDC_CLIENT_SECRET", NODE_CLIENT_SECRET)
        for name, value in settings.items():
            monkeypatch.setitem(app.config, name, value)
        app.extensions.pop("cme_oidc_clients", None)
        return server

    return use


@pytest.fixture
def node_browser(client) -> NodeBrowser:
    return NodeBrowser(client)
