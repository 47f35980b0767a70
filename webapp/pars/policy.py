"""What the outbox and the engine are told: the reporting rules and whose CreditIDs they mint.

Domain code takes a ``Policy`` as an argument and never reads the application's
configuration itself; ``from_app`` builds one for views and commands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import current_app

from webapp.pars.eligibility import Rules


@dataclass(frozen=True)
class Policy:
    rules: Rules
    #: ACCME's ID of the provider, part of every CreditID.
    provider_id: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any], today: dt.date | None = None) -> Policy:
        return cls(Rules.from_config(config, today), config["PARS_PROVIDER_ID"])

    def on(self, today: dt.date) -> Policy:
        """The same policy as it applies on another day."""
        return replace(self, rules=replace(self.rules, today=today))


def from_app(today: dt.date | None = None) -> Policy:
    """The running application's policy (for views and commands only)."""
    return Policy.from_config(current_app.config, today)
