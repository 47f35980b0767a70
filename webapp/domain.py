"""Old home of reference data, split into ``webapp.identifiers``, ``webapp.cme_credit``,
``webapp.boards`` and ``webapp.models.people``.

Only ``webapp/pars/client.py`` and ``webapp/transcript/services.py`` still import from
here; delete this module once they import from the new ones.
"""

from webapp.boards import BOARDS
from webapp.cme_credit import AMA_CREDIT_TYPE

__all__ = ["AMA_CREDIT_TYPE", "BOARDS"]
