"""Small rules of the store pages (pure)."""

from __future__ import annotations

from datetime import date

NEW_HIRE_DAYS = 7


def is_new_hire(hire_date: date | None, today: date) -> bool:
    """Tell whether a person joined within the last week (not in the future)."""
    return hire_date is not None and 0 <= (today - hire_date).days <= NEW_HIRE_DAYS
