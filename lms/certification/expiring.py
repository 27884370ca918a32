"""The list of certificates expiring soon or expired (到期上岗证), by store, for trainers and admins.

A row is an active person's current certificate of the certification their position needs that
expires within the next N days or has expired (a renewed one is not current any more: its successor
is), with the state and the recertification progress from `status.evaluate` over facts loaded in
batch — what the person's own 上岗证 page and the matrix say. Revoked certificates are left out: they
did not run out. The page and its XLSX are built from the same rows, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..accounts.models import Store, User
from ..catalog import CertificationInfo, catalog
from ..clock import LOCAL_TZ, now
from ..exports import Table
from ..extensions import db
from ..notices.service import overdue_people
from ..web import local_date
from .facts import current_certificates, evaluate_people
from .models import Certificate
from .status import STATUS_LEVEL, Evaluation, pass_fail

DEFAULT_DAYS = 60
MAX_DAYS = 366


@dataclass(frozen=True)
class ExpiringRow:
    person: User
    store: Store | None
    certification: CertificationInfo
    evaluation: Evaluation
    days_left: int  # whole days until expiry; negative: expired that many days ago (0: today)

    @property
    def certificate(self):
        return self.evaluation.certificate

    @property
    def status(self) -> str:
        return self.evaluation.status

    @property
    def level(self) -> str:
        return STATUS_LEVEL[self.status]

    @property
    def left(self) -> str:
        """The time left as people read it: 还剩12天, 今天到期, 已过期3天."""
        if self.status != "已过期":
            return f"还剩{self.days_left}天" if self.days_left > 0 else "今天到期"
        return f"已过期{-self.days_left}天" if self.days_left < 0 else "今天已到期"

    def renewal_steps(self, at: datetime) -> list[str]:
        """Where the person stands on the way to a valid certificate, one step a line."""
        evaluation = self.evaluation
        if self.status == "已过期":
            return ["需重新完成全部认证要求"]
        if evaluation.window_opens is None:
            return ["到期后需重新完成全部认证要求"]
        if not evaluation.window_open(at):
            return [f"{local_date(evaluation.window_opens)}起可续证"]
        return [f"{'考试' if r.kind == 'exam' else '情景演练'}「{r.title}」{pass_fail(r.met)}"
                for r in evaluation.renewal]

    def renewal(self, at: datetime) -> str:
        """The same in one line."""
        return "；".join(self.renewal_steps(at))


def _days_left(expires_at: datetime, at: datetime) -> int:
    """Calendar days (Beijing time) from today to the expiry date."""
    return (expires_at.astimezone(LOCAL_TZ).date() - at.astimezone(LOCAL_TZ).date()).days


def expiring(days: int, store_id: int | None = None, at: datetime | None = None) -> list[ExpiringRow]:
    """The certificates expiring within `days` days or expired, by store code, soonest first."""
    at = at or now()
    query = current_certificates().where(Certificate.revoked_at.is_(None), User.active.is_(True),
                                         Certificate.expires_at <= at + timedelta(days=days))
    if store_id is not None:
        query = query.where(User.store_id == store_id)
    content = catalog()
    people = [person for certificate, person in db.session.execute(query).all()
              if (c := content.certification_for(person.position)) is not None and c.id == certificate.certification_id]
    ids = [p.id for p in people]
    evaluations = evaluate_people([(p.id, p.position) for p in people], overdue_people(ids), at)
    stores = {s.id: s for s in db.session.scalars(select(Store).where(Store.id.in_({p.store_id for p in people})))}
    rows = []
    for person in people:
        certification, evaluation = evaluations[person.id]
        rows.append(ExpiringRow(person, stores.get(person.store_id), certification, evaluation,
                                _days_left(evaluation.certificate.expires_at, at)))
    return sorted(rows, key=lambda r: (r.store.code if r.store else "~", r.certificate.expires_at, r.person.emp_no))


def by_store(rows: list[ExpiringRow]) -> list[tuple[Store | None, list[ExpiringRow]]]:
    """The rows grouped by store, in the rows' order."""
    groups: dict[int | None, tuple[Store | None, list[ExpiringRow]]] = {}
    for row in rows:
        groups.setdefault(row.person.store_id, (row.store, []))[1].append(row)
    return list(groups.values())


HEADER = ["营业厅", "姓名", "状态", "剩余", "有效期至", "续证", "工号", "岗位", "证书编号", "发证日期", "上岗证"]


def expiring_table(rows: list[ExpiringRow], days: int, at: datetime | None = None) -> Table:
    """The list as a downloadable table (lms/exports.py): the rows, order and columns of the page."""
    at = at or now()

    def day(moment: datetime) -> str:
        return f"{moment.astimezone(LOCAL_TZ):%Y-%m-%d}"

    lines = [[r.store.name if r.store else "", r.person.name, r.status, r.left, day(r.certificate.expires_at),
              r.renewal(at), r.person.emp_no, r.person.position or "", r.certificate.code,
              day(r.certificate.issued_at), r.certification.title] for r in rows]
    return Table("到期上岗证", HEADER, lines,
                 title=[f"{days}天内到期和已过期的上岗证（{at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}）"],
                 widths=[16, 10, 10, 10, 12, 40, 10, 10, 12, 12, 26])
