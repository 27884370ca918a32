"""Row and advisory locks for check-then-write use cases.

On PostgreSQL two requests can read the same state and both act on it (two hand-ins grading
twice, two exam starts passing the attempt limit). Locking the row they both depend on makes the
second wait and then see the first one's result. On SQLite writing transactions are already
serialised (BEGIN IMMEDIATE), and FOR UPDATE is ignored.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select, text

from .extensions import db

T = TypeVar("T")

NOTICE_FAN_OUT = 48_000  # advisory lock: publishing notices vs people changing scope


def lock_row(model: type[T], row_id: int) -> T | None:
    """Lock a row for the rest of the transaction and return it freshly read."""
    return db.session.scalar(select(model).where(model.id == row_id).with_for_update()
                             .execution_options(populate_existing=True))


def advisory_lock(key: int) -> None:
    """Serialise a kind of change across processes (PostgreSQL; SQLite needs nothing)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
