"""In-person training sessions (培训记录表, 「第四章 二、培训周期 4」) and who attended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..dbtypes import UTCDateTime
from ..extensions import db


class TrainingSession(db.Model):
    """One in-person training: who trained, when, where, what, and how it was assessed."""

    __tablename__ = "training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    trainer_name: Mapped[str] = mapped_column(String(50))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    assessment: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    attendees: Mapped[list["SessionAttendance"]] = relationship(back_populates="session")
    store = relationship("Store")


class SessionAttendance(db.Model):
    __tablename__ = "session_attendance"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    session: Mapped[TrainingSession] = relationship(back_populates="attendees")
    user = relationship("User")
