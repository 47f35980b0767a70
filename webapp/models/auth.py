"""Sign-in identities and server-side sessions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, intpk, str255, string_enum, timestamp

if TYPE_CHECKING:
    from webapp.models.people import Learner


class EndReason(enum.StrEnum):
    """Why a signed-in session ended."""

    LOGOUT = "logout"
    #: A new sign-in in the same browser.
    REPLACED = "replaced"
    IDLE = "idle"
    EXPIRED = "expired"
    #: Staff turned off sign-in through the identity.
    DISABLED = "disabled"


class Identity(Base):
    """An account at an identity provider, keyed by (issuer, subject)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[intpk]
    issuer: Mapped[str255]
    subject: Mapped[str255]
    #: The learner this identity signs in as; None for staff who are not learners.
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[timestamp]
    last_login_at: Mapped[dt.datetime | None]
    #: Set by staff to refuse sign-in through this identity.
    disabled_at: Mapped[dt.datetime | None]

    learner: Mapped[Learner | None] = relationship(back_populates="identities")

    def __repr__(self) -> str:
        return f"<Identity {self.id}>"


class IdentityLink(Base):
    """Staff linked an identity to a learner by hand, or unlinked it. Rows are only ever added."""

    __tablename__ = "identity_links"

    id: Mapped[intpk]
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    #: The learner linked to; None when this row records an unlinking.
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id"))
    #: The staff member's signed-in identity.
    actor_identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    #: What staff checked (a call, the support request); may name the person, so it is
    #: kept here and not in the audit log.
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp]


class UserSession(Base):
    """A signed-in session; the cookie carries only its random token."""

    __tablename__ = "user_sessions"

    #: SHA-256 of the token in the cookie, so a database leak yields no usable cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    is_staff: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[timestamp]
    last_seen_at: Mapped[timestamp]
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[EndReason | None] = mapped_column(string_enum(EndReason, length=32))
    #: The provider's ID token, kept to end the session there too.
    id_token_hint: Mapped[str | None] = mapped_column(String(4096))

    identity: Mapped[Identity] = relationship()
