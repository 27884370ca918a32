"""Certification status (pure): what a manager sees for a person and a certification.

未开始 (nothing met yet) / 进行中 (some requirements met) / 有效 / 即将到期 (within 30 days) /
已过期 / 已暂停 (the holder has an overdue new-business notice) / 已撤销.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

EXPIRING_DAYS = 30
STATUS_LEVEL = {"未开始": "off", "进行中": "warn", "有效": "ok", "即将到期": "warn", "已过期": "bad",
                "已暂停": "bad", "已撤销": "bad", "未取得": "off"}


@dataclass(frozen=True)
class Requirement:
    kind: str  # course | scenario | exam
    key: str
    label: str
    met: bool
    detail: str = ""
    met_at: datetime | None = None
    started: bool = False  # some progress towards it (a module studied, a run, an attempt)


@dataclass(frozen=True)
class CertificateFacts:
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, keeping the day where the month allows it."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError("unreachable")


def status_of(requirements: list[Requirement], certificate: CertificateFacts | None, now: datetime,
              suspended: bool = False) -> str:
    """Return the status label of a person for one certification."""
    if certificate is not None:
        if certificate.revoked_at is not None:
            return "已撤销"
        if now >= certificate.expires_at:
            return "已过期"
        if suspended:
            return "已暂停"
        if certificate.expires_at - now <= timedelta(days=EXPIRING_DAYS):
            return "即将到期"
        return "有效"
    if any(r.met or r.started for r in requirements):
        return "进行中"
    return "未开始"


def all_met(requirements: list[Requirement]) -> bool:
    return bool(requirements) and all(r.met for r in requirements)
