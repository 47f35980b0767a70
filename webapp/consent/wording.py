"""The sharing permission in the provider's words, and the version recorded with it.

The text and its version live together here, not in configuration, so every
consent choice and every sharing notice records the version of the words the
physician actually read. Changing the text means giving it a new ``VERSION``
and adding its fingerprint to ``FINGERPRINTS`` (``tests/consent/test_wording.py``
fails otherwise); physicians are then shown the sharing notice again when they
next sign in.
"""

from __future__ import annotations

import hashlib

#: Version of ``TEXT``; recorded with each consent choice and each notice shown.
VERSION = "2023-07"

#: ``{institution}`` is filled in with ``INSTITUTION_NAME``.
TEXT = (
    "I provide permission for my CME/MOC completion data to be shared and transmitted by "
    "{institution} to the Accreditation Council for Continuing Medical Education (ACCME) "
    "Program and Activity Reporting System (PARS), and from there to CME Passport, my "
    "certifying boards and state medical licensing boards."
)

#: SHA-256 of ``TEXT`` for every version ever used; never change an existing entry.
FINGERPRINTS = {
    "2023-07": "27198c14cc0a420fd9b41584cb02183e3930a58bfcd0e0830fb7c11e18751fed",
}


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def permission(institution: str) -> str:
    """The permission as physicians read it, with the provider's name."""
    return TEXT.replace("{institution}", institution)
