"""The clock: the one place that says what time it is, so tests can freeze time."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

_frozen: datetime | None = None

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc)


def today() -> date:
    """Return today's date in the stores' time zone (Asia/Shanghai)."""
    return now().astimezone(LOCAL_TZ).date()


def freeze(at: datetime | None) -> None:
    """Freeze the clock at an aware datetime, or unfreeze it with None (tests only)."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at.astimezone(timezone.utc) if at is not None else None
