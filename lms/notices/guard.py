"""Enforcement of the 48-hour rule in other areas' pages."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user


def blocked_redirect(module_id: int | None = None):
    """If an overdue notice blocks the person, say so and send them to it; else None.

    Studying the overdue notice's own module is always allowed.
    """
    from .service import blocking

    assignment = blocking(current_user.id, module_id)
    if assignment is None:
        return None
    flash(f"请先完成已逾期的新业务培训「{assignment.notice.title}」，完成后才能开始其他培训。", "error")
    return redirect(url_for("notices.view", notice_id=assignment.notice_id))
