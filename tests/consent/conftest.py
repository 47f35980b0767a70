"""The sign-in fixtures (a real provider over HTTP), for the notice shown after sign-in."""

from tests.auth.conftest import _provider_server, browser, idp  # noqa: F401
