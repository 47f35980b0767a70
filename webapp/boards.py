"""The certifying boards that accept MOC credit through PARS."""

from __future__ import annotations

#: Board codes as PARS and the credit export spell them, with their names.
BOARDS: dict[str, str] = {
    "ABA": "American Board of Anesthesiology",
    "ABIM": "American Board of Internal Medicine",
    "ABOHNS": "American Board of Otolaryngology – Head and Neck Surgery",
    "ABOS": "American Board of Orthopaedic Surgery",
    "ABP": "American Board of Pediatrics",
    "ABPATH": "American Board of Pathology",
    "ABPMR": "American Board of Physical Medicine and Rehabilitation",
    "ABS": "American Board of Surgery",
    "ABTS": "American Board of Thoracic Surgery",
}

#: Boards that do not require the physician's board ID on a record.
BOARD_ID_OPTIONAL = frozenset({"ABS"})
