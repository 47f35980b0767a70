"""Security headers, the Content-Security-Policy nonce, cache rules and rate limits."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

from webapp.auth.views import bp as auth

#: Paths whose pages carry personal data even when the response does not say so.
PRIVATE_PREFIXES = ("/transcript", "/profile", "/staff", "/login", "/callback", "/auth")


def csp_nonce() -> str:
    """This response's script nonce (one per request)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(app: Flask, nonce: str) -> str:
    # Signing out posts a form that redirects to the identity provider: form-action must allow it.
    form_targets = ["'self'"]
    issuer = _origin(app.config.get("OIDC_ISSUER") or "")
    if issuer:
        form_targets.append(issuer)
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action " + " ".join(form_targets),
    ])


def _set_headers(response: Response) -> Response:
    from flask import current_app

    headers = response.headers
    headers.setdefault("Content-Security-Policy",
                       content_security_policy(current_app, csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["APP_ENV"] != "development" and current_app.config.get("HSTS", True):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if _is_private():
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def _is_private() -> bool:
    if request.path.startswith("/static/"):
        return False
    if request.path.startswith(PRIVATE_PREFIXES):
        return True
    return bool(getattr(current_user, "is_authenticated", False))


def init_app(app: Flask) -> None:
    app.after_request(_set_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    # One limiter per application: Flask-Limiter keeps its on/off switch and default limits
    # on the Limiter object, so a process-wide one would let the last app made (or the
    # first) govern every other app in the process. Limits count per client address; the
    # general limit applies to form posts only.
    limiter = Limiter(key_func=get_remote_address,
                      default_limits_exempt_when=lambda: request.method != "POST", app=app)
    # Sign-in endpoints get a tighter limit than the general one on form posts.
    limiter.limit(app.config["RATELIMIT_SIGNIN"])(auth)
