"""The sign-in fixtures (a real provider over HTTP, a browser that goes through it), for
linking a refused sign-in by hand."""

from tests.auth.conftest import _provider_server, browser, idp  # noqa: F401
