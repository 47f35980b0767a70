"""The pure rules: safe ``next`` addresses, the staff claim, verified e-mails, token checks."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from webapp.auth import tokens
from webapp.auth.redirects import safe_next
from webapp.auth.services import is_staff, verified_email


@pytest.mark.parametrize("value", ["/", "/transcript/", "/transcript/?year=2024#top",
                                   "/faq/what-is-pars", "/a%2F%2Fb"])
def test_same_site_paths_are_safe(value):
    assert safe_next(value) == value


@pytest.mark.parametrize("value", [None, "", "//evil.example", "///evil.example",
                                   "https://evil.example", "/\\evil.example", "\\/evil.example",
                                   "/ok\\..\\x", "javascript:alert(1)", "data:text/html,x",
                                   "/\r\nLocation: https://evil.example", "/\x00", " /",
                                   "transcript", "/" + "x" * 2001])
def test_everything_else_is_not(value):
    assert safe_next(value) is None


@pytest.mark.parametrize("claims,expected", [
    ({"groups": ["a", "cme-staff"]}, True),
    ({"groups": "cme-staff"}, True),
    ({"groups": "cme-staff-readonly"}, False),
    ({"groups": ["cme-staff-readonly"]}, False),
    ({"groups": [{"name": "cme-staff"}]}, False),
    ({"groups": None}, False),
    ({}, False),
])
def test_staff_claim_string_or_list(claims, expected):
    assert is_staff(claims, "groups", "cme-staff") is expected


def test_staff_claim_may_be_nested():
    claims = {"realm_access": {"roles": ["user", "cme-staff"]}}
    assert is_staff(claims, "realm_access.roles", "cme-staff") is True
    assert is_staff(claims, "realm_access.missing", "cme-staff") is False
    assert is_staff(claims, "", "cme-staff") is False


@pytest.mark.parametrize("verified,expected", [
    (True, "morgan.hale@example.org"), ("true", "morgan.hale@example.org"),
    (False, None), ("false", None), (None, None), (1, None),
])
def test_only_verified_emails_count(verified, expected):
    claims = {"email": "Morgan.Hale@Example.ORG", "email_verified": verified}
    assert verified_email(claims) == expected


def test_invalid_email_is_not_used():
    assert verified_email({"email": "not an address", "email_verified": True}) is None


def _claims(**changes):
    now = int(time.time())
    claims = {"iss": "https://idp.test", "aud": "client", "sub": "s", "nonce": "n",
              "iat": now, "exp": now + 60}
    claims.update(changes)
    return claims


def test_shared_secret_tokens_are_refused_even_with_the_right_secret():
    """An HS256 token keyed with a public value must not pass as the provider's."""
    secret = OctKey.import_key("client-secret-that-is-long-enough-for-hs256")
    raw = jwt.encode({"alg": "HS256"}, _claims(), secret)
    with pytest.raises(tokens.InvalidIdToken) as refused:
        tokens.verify(raw, keys=lambda refresh: {"keys": [secret.as_dict()]},
                      issuer="https://idp.test", client_id="client", nonce="n")
    assert refused.value.reason == "disallowed_algorithm"


def test_algorithms_are_narrowed_to_what_the_provider_uses():
    assert tokens.algorithms_for(["RS256", "HS256", "none"]) == ("RS256",)
    assert tokens.algorithms_for(None) == tokens.ALLOWED_ALGORITHMS


def test_a_valid_token_passes_and_a_garbled_one_does_not():
    key = RSAKey.generate_key(2048, {"kid": "k"}, private=True)
    jwks = {"keys": [key.as_dict(private=False)]}
    raw = jwt.encode({"alg": "RS256", "kid": "k"}, _claims(), key)
    check = dict(keys=lambda refresh: jwks, issuer="https://idp.test", client_id="client",
                 nonce="n")
    assert tokens.verify(raw, **check)["sub"] == "s"
    with pytest.raises(tokens.InvalidIdToken) as refused:
        tokens.verify("not.a-token", **check)
    assert refused.value.reason == "malformed_token"
    header, payload, signature = raw.split(".")
    with pytest.raises(tokens.InvalidIdToken) as refused:
        tokens.verify(f"{header}.{payload}.{signature[::-1]}", **check)
    assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize("jwks", [{}, {"keys": None}, {"keys": "k"}])
def test_a_key_set_without_a_list_of_keys_is_refused(jwks):
    key = RSAKey.generate_key(2048, {"kid": "k"}, private=True)
    raw = jwt.encode({"alg": "RS256", "kid": "k"}, _claims(), key)
    with pytest.raises(tokens.InvalidIdToken) as refused:
        tokens.verify(raw, keys=lambda refresh: jwks, issuer="https://idp.test",
                      client_id="client", nonce="n")
    assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize("name,value", [
    ("exp", float("nan")), ("exp", float("inf")), ("iat", float("-inf")), ("nbf", float("nan")),
    ("exp", 10 ** 400),
])
def test_times_that_are_not_finite_numbers_are_refused(name, value):
    key = RSAKey.generate_key(2048, {"kid": "k"}, private=True)
    jwks = {"keys": [key.as_dict(private=False)]}
    raw = jwt.encode({"alg": "RS256", "kid": "k"}, _claims(**{name: value}), key)
    with pytest.raises(tokens.InvalidIdToken) as refused:
        tokens.verify(raw, keys=lambda refresh: jwks, issuer="https://idp.test",
                      client_id="client", nonce="n")
    assert refused.value.reason == "invalid_claims"
