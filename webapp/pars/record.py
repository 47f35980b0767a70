"""What one learner record reports, independent of how it travels.

The engine stores this form as ``Delivery.sent_payload`` when it claims a
record, so the exact content of every transmission is kept; the web-service
adapter (``client.py``) and the Excel writer (``excel.py``) each turn it into
their own format.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from webapp.models import Action, Completion, Learner

if TYPE_CHECKING:
    from webapp.pars.eligibility import Assessment


def build(
    credit_id: str, action: Action, completion: Completion, learner: Learner,
    parts: Assessment,
) -> dict[str, Any]:
    """The record for ``completion`` as it stands now, with the parts that can go
    (``parts.sends_cme``, ``parts.sends_boards``): CME credit ``0.00`` means no CME
    part. Holds personal data: never log it."""
    license_ = learner.primary_license
    return {
        "credit_id": credit_id,
        "action": action.value,
        "activity_id": completion.activity.accme_activity_id,
        "activity_title": completion.activity.title,
        "completion_date": completion.completion_date.isoformat(),
        "first_name": learner.first_name,
        "last_name": learner.last_name,
        "birth_month_day": learner.birth_month_day,
        "npi": learner.npi,
        "license_state": license_.state if license_ else None,
        "license_number": license_.number if license_ else None,
        "cme_credits": _amount(completion.cme_credits if parts.sends_cme else Decimal(0)),
        "boards": [
            {"board": line.board, "board_id": learner.board_id_for(line.board),
             "credit_type": line.credit_type, "credits": _amount(line.credits)}
            for line in completion.board_credits if line.board in parts.sends_boards
        ],
    }


def as_delete(reported: dict[str, Any]) -> dict[str, Any]:
    """The delete of a reported add: the same record, so nothing new is disclosed."""
    return {**reported, "action": Action.DELETE.value}


def _amount(value: Decimal) -> str:
    # Kept as text in JSON so amounts are exact; adapters convert.
    return str(value.quantize(Decimal("0.01")))
