"""The permission text and its version change together."""

from __future__ import annotations

from webapp.config import load
from webapp.consent import wording


def test_the_text_has_not_changed_without_a_new_version():
    assert wording.VERSION in wording.FINGERPRINTS, (
        "add the fingerprint of the new text under its new version")
    assert wording.fingerprint(wording.TEXT) == wording.FINGERPRINTS[wording.VERSION], (
        "the permission text changed: give it a new wording.VERSION and add its fingerprint "
        "to wording.FINGERPRINTS (physicians are then shown the sharing notice again)")


def test_each_version_has_its_own_text():
    assert len(set(wording.FINGERPRINTS.values())) == len(wording.FINGERPRINTS)


def test_the_provider_name_is_filled_in():
    text = wording.permission("Lakeshore Health")
    assert "{" not in text
    assert "transmitted by Lakeshore Health to the Accreditation Council" in text


def test_the_version_cannot_be_set_by_a_deployment():
    assert "CONSENT_WORDING_VERSION" not in load({"CONSENT_WORDING_VERSION": "2099-01"})
