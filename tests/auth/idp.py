"""An OpenID Connect provider for tests, served over real HTTP on 127.0.0.1.

It does what a provider does (discovery, JWKS, authorize, token with PKCE and
single-use codes, userinfo, end session) and signs real RS256 ID tokens, and it
can be told to misbehave: change claims, sign with a key it never published,
send an unsigned (``alg: none``) token, or refuse the user.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "cme-portal-test"
CLIENT_SECRET = "test-client-secret"  # noqa: S105
#: Sentinel for ``claim_changes``: leave the claim out of the token.
DROP = object()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Behaviour:
    """How the provider answers the next sign-ins; reset before every test."""

    user: dict[str, Any] = field(default_factory=dict)
    #: Claims to change in the ID token (``DROP`` removes one).
    claim_changes: dict[str, Any] = field(default_factory=dict)
    #: ``good``, ``none`` (unsigned), ``unpublished`` (a key not in the JWKS, same kid).
    signing: str = "good"
    #: Answer the authorization request with this error instead of a code.
    error: str | None = None
    #: Extra or replaced fields in the discovery document.
    discovery_changes: dict[str, Any] = field(default_factory=dict)


class TestProvider:
    """The provider; ``issuer`` is its URL once ``serve`` runs."""

    __test__ = False  # not a test class, despite the name

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, {"kid": "test-key-1", "use": "sig", "alg": "RS256"},
                                       private=True)
        self.first_key = self.key
        self.rogue_key = RSAKey.generate_key(2048, {"kid": "test-key-1"}, private=True)
        self.behaviour = Behaviour()
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.issuer = ""
        self.app = self._build_app()

    def reset(self, **user: Any) -> None:
        self.behaviour = Behaviour(user=user)
        self.key = self.first_key
        self.codes.clear()
        self.access_tokens.clear()
        self.authorize_requests.clear()
        self.token_requests.clear()

    # -- tokens -------------------------------------------------------------

    def id_token(self, claims: dict[str, Any]) -> str:
        signing = self.behaviour.signing
        if signing == "none":
            header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            return f"{header}.{_b64(json.dumps(claims).encode())}."
        key = self.rogue_key if signing == "unpublished" else self.key
        return jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, key)

    def rotate_key(self, kid: str) -> None:
        """Publish a new signing key (and only that one) and sign with it from now on."""
        self.key = RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"},
                                       private=True)

    def _claims(self, grant: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
            "nonce": grant["nonce"], **grant["user"],
        }
        for name, value in self.behaviour.claim_changes.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    # -- HTTP ---------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("test_provider")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify({
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                **self.behaviour.discovery_changes,
            })

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([self.key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize():
            args = request.args.to_dict()
            self.authorize_requests.append(args)
            required = ("client_id", "redirect_uri", "state", "nonce", "code_challenge")
            if (any(not args.get(name) for name in required)
                    or args.get("response_type") != "code"
                    or args.get("code_challenge_method") != "S256"
                    or "openid" not in args.get("scope", "").split()
                    or args["client_id"] != CLIENT_ID):
                abort(400)
            answer = {"state": args["state"]}
            if self.behaviour.error:
                answer["error"] = self.behaviour.error
            else:
                code = secrets.token_urlsafe(24)
                self.codes[code] = {
                    "redirect_uri": args["redirect_uri"], "nonce": args["nonce"],
                    "challenge": args["code_challenge"], "user": dict(self.behaviour.user),
                    "used": False,
                }
                answer["code"] = code
            return redirect(f"{args['redirect_uri']}?{urlencode(answer)}")

        @app.post("/token")
        def token():
            form = request.form.to_dict()
            self.token_requests.append(form)
            auth = request.authorization
            if auth is None or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
                return jsonify(error="invalid_client"), 401
            grant = self.codes.get(form.get("code", ""))
            if form.get("grant_type") != "authorization_code" or grant is None:
                return jsonify(error="invalid_grant"), 400
            if grant["used"]:
                # A code is good once; a second try is a replay.
                return jsonify(error="invalid_grant", error_description="code already used"), 400
            grant["used"] = True
            verifier = form.get("code_verifier", "")
            challenge = _b64(hashlib.sha256(verifier.encode()).digest())
            if challenge != grant["challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
                return jsonify(error="invalid_grant"), 400
            access = secrets.token_urlsafe(24)
            self.access_tokens[access] = grant["user"]
            return jsonify({"access_token": access, "token_type": "Bearer", "expires_in": 300,
                            "id_token": self.id_token(self._claims(grant))})

        @app.get("/userinfo")
        def userinfo():
            header = request.headers.get("Authorization", "")
            user = self.access_tokens.get(header.removeprefix("Bearer "))
            if user is None:
                return jsonify(error="invalid_token"), 401
            return jsonify(user)

        return app

    @contextmanager
    def serve(self) -> Iterator[TestProvider]:
        server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, name="test-idp", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
