"""A local OpenID Connect provider for development, never for production.

``make run`` starts it next to the site when no ``OIDC_ISSUER`` is configured,
so a newcomer can sign in in the browser as one of the demo physicians or as a
CME staff member. It is the ``oidc-provider-mock`` package (a development
dependency), served on 127.0.0.1 only; it signs real RS256 ID tokens, so the
site's sign-in code runs exactly as it does against a real provider.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server

HOST = "127.0.0.1"
DEFAULT_PORT = 8800
CLIENT_ID = "cme-portal-dev"
#: Development only: the local provider accepts any secret; production uses OIDC_CLIENT_SECRET.
CLIENT_SECRET = "local-development-secret"  # noqa: S105
STAFF_GROUP = "cme-staff"


@dataclass(frozen=True)
class DemoUser:
    subject: str
    given_name: str
    family_name: str
    groups: tuple[str, ...] = ()
    email_verified: bool = True
    email: str | None = None

    def claims(self) -> dict[str, object]:
        email = self.email or f"{self.given_name}.{self.family_name}@example.org".lower()
        claims: dict[str, object] = {
            "email": email, "email_verified": self.email_verified,
            "name": f"{self.given_name} {self.family_name}",
            "given_name": self.given_name, "family_name": self.family_name,
        }
        if self.groups:
            claims["groups"] = list(self.groups)
        return claims


#: The featured demo learners of ``flask demo load``, one CME staff member, and an
#: account whose e-mail the provider has not verified (it shows the refusal page).
DEMO_USERS = (
    DemoUser("morgan.hale", "Morgan", "Hale"),
    DemoUser("priya.lindqvist", "Priya", "Lindqvist"),
    DemoUser("samuel.okafor", "Samuel", "Okafor"),
    DemoUser("elena.marsh", "Elena", "Marsh"),
    DemoUser("jordan.ellis", "Jordan", "Ellis"),
    DemoUser("casey.staff", "Casey", "Staff", groups=(STAFF_GROUP,)),
    DemoUser("unverified.hale", "Morgan", "Hale", email_verified=False),
)


def issuer(port: int) -> str:
    # The mock names itself after the host it is reached on, without a trailing slash.
    return f"http://{HOST}:{port}"


def build_app():
    """The provider's WSGI app with the demo users pre-loaded."""
    if os.environ.get("APP_ENV", "").strip().lower() == "production":
        raise RuntimeError("the local sign-in provider never runs with APP_ENV=production")
    # The provider speaks plain HTTP on the loopback interface; Authlib's server
    # side refuses that unless told this is deliberate.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    from authlib.deprecate import AuthlibDeprecationWarning

    with warnings.catch_warnings():
        # The mock imports modules Authlib has deprecated (``authlib.jose``, its httpx
        # client); that is the mock's business and nothing this project can act on.
        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        import oidc_provider_mock

    users = [oidc_provider_mock.User(sub=u.subject, claims=u.claims()) for u in DEMO_USERS]
    return oidc_provider_mock.app(require_nonce=True, user_claims=users)


@contextmanager
def serve(port: int = DEFAULT_PORT) -> Iterator[BaseWSGIServer]:
    """Run the provider on a background thread for as long as the block lasts."""
    server = make_server(HOST, port, build_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="local-oidc-provider",
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
