"""Learners, their identifiers and their consent history."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, intpk, str64, str255, string_enum, timestamp, utcnow

if TYPE_CHECKING:
    from webapp.models.auth import Identity
    from webapp.models.catalog import Completion


#: Physician degrees (U.S. and international), written as ``normalise_degree`` leaves them.
#: ``PHYSICIAN_DEGREES`` in the configuration replaces this list for reporting.
PHYSICIAN_DEGREES = frozenset({"MD", "DO", "MBBS", "MBCHB", "MBBCH", "BMBS", "MBBCHIR", "BMBCH",
                               "MBCHBAO", "MBBCHBAO"})


def normalise_degree(degree: str) -> str:
    """``M.B. B.Ch.`` and ``MBBCh`` alike: upper case, without spaces, dots or commas."""
    return "".join(ch for ch in degree.upper() if ch.isalnum())


def is_physician(degree: str, degrees: frozenset[str] = PHYSICIAN_DEGREES) -> bool:
    return normalise_degree(degree) in degrees


class ConsentSource(enum.StrEnum):
    """Who recorded a consent decision."""

    PHYSICIAN = "physician"
    #: Staff, on the physician's behalf.
    STAFF = "staff"
    #: The provider's learning system, through a credit import.
    IMPORT = "import"

    @property
    def personal(self) -> bool:
        """Speaks for the physician: an import never overrides it."""
        return self is not ConsentSource.IMPORT


class Learner(Base):
    """A person on the provider's transcript: a physician or another clinician."""

    __tablename__ = "learners"

    id: Mapped[intpk]
    #: The provider's learning system's stable key (``learner_id`` in imports).
    source_id: Mapped[str64] = mapped_column(unique=True)
    first_name: Mapped[str255]
    last_name: Mapped[str255]
    #: Lower-cased; a first sign-in links by it only when the provider verified it.
    email: Mapped[str] = mapped_column(String(320), index=True)
    #: MD and DO are physicians reported to PARS; anything else is kept locally.
    degree: Mapped[str] = mapped_column(String(16))
    npi: Mapped[str | None] = mapped_column(String(10))
    #: ``MM-DD``: PARS matches on month and day of birth, never the year.
    birth_month_day: Mapped[str | None] = mapped_column(String(5))
    #: The current sharing permission; None until anyone chose (the configured default applies).
    consent_granted: Mapped[bool | None]
    #: Who recorded the current value.
    consent_source: Mapped[ConsentSource | None] = mapped_column(string_enum(ConsentSource))
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp] = mapped_column(onupdate=utcnow)

    licenses: Mapped[list[License]] = relationship(
        back_populates="learner", cascade="all, delete-orphan", order_by="License.state"
    )
    board_certifications: Mapped[list[BoardCertification]] = relationship(
        back_populates="learner", cascade="all, delete-orphan", order_by="BoardCertification.board"
    )
    consent_events: Mapped[list[ConsentEvent]] = relationship(
        back_populates="learner", order_by="ConsentEvent.id"
    )
    consent_notices: Mapped[list[ConsentNotice]] = relationship(
        back_populates="learner", order_by="ConsentNotice.id"
    )
    completions: Mapped[list[Completion]] = relationship(back_populates="learner")
    identities: Mapped[list[Identity]] = relationship(back_populates="learner")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_physician(self) -> bool:
        return is_physician(self.degree)

    @property
    def chose_personally(self) -> bool:
        """The current sharing value is the physician's own (or staff's on their behalf)."""
        return self.consent_source is not None and self.consent_source.personal

    def shares(self, default: bool) -> bool:
        """Whether credit may be sent, with ``default`` for learners who never chose."""
        return default if self.consent_granted is None else self.consent_granted

    @property
    def primary_license(self) -> License | None:
        """The license reported to PARS: the one marked primary.

        Rows written around the services (bulk inserts) may mark none; the oldest
        license is then taken, the same rule migration 0006 applied to existing rows.
        """
        if not self.licenses:
            return None
        marked = next((lic for lic in self.licenses if lic.primary), None)
        return marked or min(self.licenses, key=lambda lic: (lic.id is None, lic.id or 0))

    def board_id_for(self, board: str) -> str | None:
        for cert in self.board_certifications:
            if cert.board == board:
                return cert.board_id
        return None

    def __repr__(self) -> str:  # no personal data in logs
        return f"<Learner {self.id}>"


class License(Base):
    """A state medical license: with its state, one way PARS matches a physician."""

    __tablename__ = "licenses"
    __table_args__ = (
        UniqueConstraint("learner_id", "state", "number"),
        # At most one primary per learner; the services keep it exactly one while
        # the learner has any license.
        Index("uq_licenses_one_primary", "learner_id", unique=True,
              sqlite_where=text("is_primary"), postgresql_where=text("is_primary")),
    )

    id: Mapped[intpk]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(2))
    number: Mapped[str64]
    #: The license reported to PARS with the physician's credit (chosen on the profile).
    primary: Mapped[bool] = mapped_column("is_primary", default=False, server_default=false())
    created_at: Mapped[timestamp]

    learner: Mapped[Learner] = relationship(back_populates="licenses")


class BoardCertification(Base):
    """A certifying board the physician is certified by, with their ID there."""

    __tablename__ = "board_certifications"
    __table_args__ = (UniqueConstraint("learner_id", "board"),)

    id: Mapped[intpk]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    #: One of ``webapp.boards.BOARDS``.
    board: Mapped[str] = mapped_column(String(8))
    #: The physician's ID with the board; ABS accepts records without one.
    board_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[timestamp]

    learner: Mapped[Learner] = relationship(back_populates="board_certifications")


class ConsentEvent(Base):
    """One change of the sharing permission. Rows are only ever added."""

    __tablename__ = "consent_events"

    id: Mapped[intpk]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"), index=True)
    granted: Mapped[bool]
    source: Mapped[ConsentSource] = mapped_column(string_enum(ConsentSource))
    #: The signed-in identity that made the change; None for imports and commands.
    actor_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    #: Version of the permission text the physician agreed to or withdrew.
    wording_version: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp]

    learner: Mapped[Learner] = relationship(back_populates="consent_events")


class ConsentNotice(Base):
    """The sharing notice, shown to a physician after signing in and acknowledged.

    One row per physician and wording version they were shown (two only if two
    sessions acknowledged at once). Rows are only ever added.
    """

    __tablename__ = "consent_notices"

    id: Mapped[intpk]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"), index=True)
    #: The signed-in identity the notice was shown to.
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    #: Version of the permission text shown (``webapp.consent.wording``).
    wording_version: Mapped[str] = mapped_column(String(32))
    #: Whether credit was being shared when the physician continued (continuing keeps it).
    sharing: Mapped[bool]
    #: When the notice was first shown in that sign-in.
    shown_at: Mapped[timestamp]
    #: When the physician continued past it.
    acknowledged_at: Mapped[timestamp]

    learner: Mapped[Learner] = relationship(back_populates="consent_notices")
