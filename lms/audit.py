"""培训档案: the append-only record of who learned what, and when.

Every use case that changes a person's training state writes one `AuditEvent`; rows are never
updated or deleted. The archive pages and the xAPI export read from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .clock import now
from .dbtypes import UTCDateTime
from .extensions import db


class AuditEvent(db.Model):
    """One event in a person's training archive (or an admin action on a person)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    verb: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(80), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    verb: str,
    *,
    actor_id: int | None,
    subject_id: int | None = None,
    object_type: str = "",
    object_id: str | int = "",
    at: datetime | None = None,
    **data: Any,
) -> AuditEvent:
    """Append an event to the archive in the current session (the caller commits)."""
    event = AuditEvent(
        at=at or now(),
        actor_id=actor_id,
        subject_id=subject_id if subject_id is not None else actor_id,
        verb=verb,
        object_type=object_type,
        object_id=str(object_id),
        data=data,
    )
    db.session.add(event)
    return event
