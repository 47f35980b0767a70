"""The pure rules: safe ``next`` addresses, the staff claim, verified e-mails, token checks."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from webapp.auth import tokens
from webapp.auth.redirects import safe_next
from webapp.auth.services import LinkRules, claimed_learner_id, is_staff, verified_email
from webapp.config import load


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


@pytest.mark.parametrize("address", [
    "\u212aate@example.org",  # Kelvin sign: NFC and lower() would make it "kate"
    "Ka\u0301te@example.org",  # a decomposed accent that normalising would compose
])
def test_emails_are_not_unicode_folded(address):
    assert verified_email({"email": address, "email_verified": True}) is None


def test_only_ascii_letters_are_lowered():
    claims = {"email": "KATE@Example.org", "email_verified": True}
    assert verified_email(claims) == "kate@example.org"


def test_xms_edov_vouches_for_the_email_claim_only():
    assert verified_email({"email": "a@hospital.org", "xms_edov": True}) == "a@hospital.org"
    assert verified_email({"email": "a@hospital.org", "xms_edov": False}) is None
    rules = LinkRules(email_claim="preferred_username")
    assert verified_email({"preferred_username": "a@hospital.org", "xms_edov": True,
                           "email_verified": True}, rules) is None


@pytest.mark.parametrize("claims,expected", [
    ({"preferred_username": "A@Hospital.org"}, "a@hospital.org"),
    ({"preferred_username": "a@sub.hospital.org"}, None),
    ({"preferred_username": "a@hospital.org.evil.example"}, None),
    ({"preferred_username": "a@elsewhere.org"}, None),
    ({"preferred_username": "a@hospital.org", "hd": "hospital.org"}, "a@hospital.org"),
    ({"preferred_username": "a@hospital.org", "hd": "elsewhere.org"}, None),
])
def test_trusted_domains(claims, expected):
    rules = LinkRules(email_claim="preferred_username",
                      trusted_domains=frozenset({"hospital.org"}))
    assert verified_email(claims, rules) == expected


def test_google_needs_hd_for_a_trusted_domain():
    rules = LinkRules(trusted_domains=frozenset({"hospital.org"}), hosted_domain_required=True)
    claims = {"email": "a@hospital.org", "email_verified": False}
    assert verified_email(claims, rules) is None
    assert verified_email({**claims, "hd": "hospital.org"}, rules) == "a@hospital.org"
    cfg = load({"OIDC_ISSUER": "https://accounts.google.com"})
    assert LinkRules.from_config(cfg).hosted_domain_required is True


@pytest.mark.parametrize("value,expected", [
    ("E-1", "E-1"), (" E-1 ", "E-1"), (40213, "40213"), (True, None), ("", None),
    (None, None), (["E-1"], None), ("x" * 65, None),
])
def test_learner_id_claim(value, expected):
    assert claimed_learner_id({"employeeNumber": value}, "employeeNumber") == expected
    assert claimed_learner_id({"employeeNumber": value}, "") is None


def test_settings():
    cfg = load({"OIDC_SCOPES": "groups openid email groups", "OIDC_EMAIL_CLAIM": "upn",
                "OIDC_TRUSTED_EMAIL_DOMAINS": " Hospital.org, @clinic.example ,"})
    assert cfg["OIDC_SCOPES"] == "openid groups email"
    assert cfg["OIDC_TRUSTED_EMAIL_DOMAINS"] == {"hospital.org", "clinic.example"}
    rules = LinkRules.from_config(cfg)
    assert (rules.email_claim, rules.learner_id_claim) == ("upn", "")
    assert load({})["OIDC_SCOPES"] == "openid email profile"


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
