"""Certifications (上岗认证: what a position group must do) and certificates (上岗证: what a person holds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..versioning import CatalogContent


class Certification(CatalogContent, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    positions: Mapped[list[str]] = mapped_column(JSON, default=list)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # courses, scenarios, exam, validity
    version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


def _issued_at(context) -> datetime:
    return context.get_current_parameters()["issued_at"]


class Certificate(db.Model):
    """A certificate held by a person; never deleted (revoked, renewed or superseded instead).

    A certificate issued by renewal (续证) points at the one it renewed (`renewed_from_id`) and its
    period starts at that one's expiry (`valid_from`); otherwise it starts when it is issued.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certification.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, default=_issued_at)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    basis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the requirements met, with times

    certification: Mapped[Certification] = relationship()
    holder = relationship("User", foreign_keys=[user_id])


# Which certificate is a person's current one for a certification: the newest issued (the id breaks a tie).
NEWEST_FIRST = (Certificate.issued_at.desc(), Certificate.id.desc())


class PersonStanding(db.Model):
    """What the evaluation of a person's certification found that does not move with the clock,
    kept in the same transaction as what it depends on (lms/certification/standing.py): the
    certification of their position (None: none needed), whether anything towards it was met or
    started, the requirements still missing (their titles, in the rule's order) and the newest
    certificate's dates; `basis`: what in the content it was worked out against (`standing.basis`)."""

    __tablename__ = "person_standing"

    # a person's id, with no foreign key: derived data, and a key check would lock the person's row
    # (standing._lock); nobody is ever deleted
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    basis: Mapped[int] = mapped_column(BigInteger)
    certification_id: Mapped[int | None] = mapped_column()
    progressed: Mapped[bool] = mapped_column(default=False)
    missing: Mapped[str] = mapped_column(Text, default="")  # the titles, one a line (standing.SEPARATOR)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
