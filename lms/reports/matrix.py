"""The store's certification matrix (上岗认证矩阵): people × requirements, in a fixed number of queries.

For every active person of a store: each requirement of their position's certification and the
status label of DESIGN.md §4.4 (both from `certification.status.evaluate`, over facts loaded in
batch), the certificate, and pending new-business notices. Nothing is asked per person.
"""

from __future__ import annotations

from dataclasses import dataclass


from ..accounts.constants import POSITIONS
from ..accounts.models import User
from ..catalog import CertificationInfo
from ..certification.facts import evaluate_people
from ..certification.status import NOT_REQUIRED, STATUS_LEVEL, CertificateFacts, Requirement
from ..clock import LOCAL_TZ, now
from ..exports import Table
from ..notices.service import notice_counts

STATUS_ORDER = ("已暂停", "已过期", "已撤销", "即将到期", "进行中", "未开始", "有效", NOT_REQUIRED)


@dataclass
class MatrixRow:
    person: User  # or a row with its id, emp_no, name and position (the manager's 今天: lms/home.py)
    certification: CertificationInfo | None
    cells: tuple[Requirement, ...] = ()  # one per requirement: the column is its title, the cell its detail
    certificate: CertificateFacts | None = None
    pending_notices: int = 0
    overdue_notices: int = 0
    status: str = NOT_REQUIRED

    @property
    def level(self) -> str:
        return STATUS_LEVEL[self.status]


def build(people: list[User]) -> list[MatrixRow]:
    """Work out the matrix rows for these people."""
    ids = [p.id for p in people]
    at = now()
    notices = notice_counts(ids)  # (still to learn, overdue) per person
    suspended = {user_id for user_id, (_, overdue) in notices.items() if overdue}
    evaluations = evaluate_people([(p.id, p.position) for p in people], suspended, at)
    rows = []
    for person in people:
        row = MatrixRow(person, None, pending_notices=notices.get(person.id, (0, 0))[0],
                        overdue_notices=notices.get(person.id, (0, 0))[1])
        if person.id in evaluations:
            row.certification, evaluation = evaluations[person.id]
            row.cells, row.certificate, row.status = evaluation.requirements, evaluation.certificate, evaluation.status
        rows.append(row)
    return rows


def columns(rows: list[MatrixRow]) -> list[str]:
    """The requirement columns, in order of first appearance."""
    seen: list[str] = []
    for row in rows:
        for cell in row.cells:
            if cell.title not in seen:
                seen.append(cell.title)
    return seen


def sort_rows(rows: list[MatrixRow], key: str) -> list[MatrixRow]:
    """Sort by status (most urgent first), position, name or 工号."""
    keys = {
        "status": lambda r: (STATUS_ORDER.index(r.status) if r.status in STATUS_ORDER else 99, r.person.emp_no),
        "position": lambda r: (POSITIONS.index(r.person.position) if r.person.position in POSITIONS else 99,
                               r.person.emp_no),
        "name": lambda r: r.person.name,
        "emp_no": lambda r: r.person.emp_no,
    }
    return sorted(rows, key=keys.get(key, keys["status"]))


def matrix_table(store, rows: list[MatrixRow]) -> Table:
    """The store's matrix as a downloadable table (lms/exports.py)."""
    cols = columns(rows)
    lines = []
    for row in rows:
        cells = {c.title: c.detail for c in row.cells}
        cert = row.certificate
        lines.append([row.person.emp_no, row.person.name, row.person.position or "", row.status,
                      cert.code if cert else "", f"{cert.expires_at.astimezone(LOCAL_TZ):%Y-%m-%d}" if cert else "",
                      row.pending_notices, row.overdue_notices, *[cells.get(c, "—") for c in cols]])
    return Table("上岗认证", ["工号", "姓名", "岗位", "状态", "证书编号", "有效期至", "待学新业务", "逾期新业务", *cols],
                 lines, title=[f"{store.name}上岗认证情况（{now().astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}）"])
