"""The store's certification matrix (上岗认证矩阵): people × requirements, in a fixed number of queries.

For every active person of a store: each requirement of their position's certification (courses
studied in their current version, scenarios passed in typing mode with the minimum score, the
exam passed), the certificate, pending new-business notices, and the status label of
DESIGN.md §4.4. Everything is loaded in batches; nothing is asked per person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..accounts.constants import POSITIONS
from ..accounts.models import User
from ..certification.models import Certificate, Certification
from ..certification.status import STATUS_LEVEL, CertificateFacts, Requirement, status_of
from ..clock import now
from ..courses.models import Course
from ..courses.service import module_totals, progress_by_course
from ..exams.models import Attempt, Exam
from ..extensions import db
from ..notices.service import notice_counts
from ..roleplay.models import Run, Scenario

STATUS_ORDER = ("已暂停", "已过期", "已撤销", "即将到期", "进行中", "未开始", "有效", "无需认证")


@dataclass
class Cell:
    label: str  # the column
    met: bool
    text: str  # what the cell says


@dataclass
class MatrixRow:
    person: User
    certification: Certification | None
    cells: list[Cell] = field(default_factory=list)
    certificate: Certificate | None = None
    pending_notices: int = 0
    overdue_notices: int = 0
    status: str = "无需认证"

    @property
    def level(self) -> str:
        return STATUS_LEVEL.get(self.status, "off")


def build(people: list[User]) -> list[MatrixRow]:
    """Work out the matrix rows for these people."""
    ids = [p.id for p in people]
    certifications = db.session.scalars(select(Certification).where(Certification.active.is_(True))).all()
    by_position = {position: c for c in certifications for position in c.positions}
    course_slugs = {s for c in certifications for s in c.rule.get("courses", [])}
    scenario_slugs = {s for c in certifications for s in c.rule.get("scenarios", {})}
    exam_slugs = {c.rule.get("exam") for c in certifications if c.rule.get("exam")}
    courses = {c.slug: c for c in db.session.scalars(select(Course).where(Course.slug.in_(course_slugs)))}
    scenarios = {s.slug: s for s in db.session.scalars(select(Scenario).where(Scenario.slug.in_(scenario_slugs)))}
    exams = {e.slug: e for e in db.session.scalars(select(Exam).where(Exam.slug.in_(exam_slugs)))}
    done = progress_by_course(ids)
    totals = module_totals()
    best = {(u, s): score for u, s, score in db.session.execute(
        select(Run.user_id, Run.scenario_id, func.max(Run.score)).where(
            Run.user_id.in_(ids), Run.status == "finished", Run.passed.is_(True), Run.mode == "text")
        .group_by(Run.user_id, Run.scenario_id))} if ids else {}
    passed_exams = {(u, e) for u, e in db.session.execute(
        select(Attempt.user_id, Attempt.exam_id).where(Attempt.user_id.in_(ids), Attempt.passed.is_(True))
        .group_by(Attempt.user_id, Attempt.exam_id))} if ids else set()
    tried_exams = {(u, e): score for u, e, score in db.session.execute(
        select(Attempt.user_id, Attempt.exam_id, func.max(Attempt.score)).where(
            Attempt.user_id.in_(ids), Attempt.kind == "exam").group_by(Attempt.user_id, Attempt.exam_id))} if ids else {}
    newest: dict[int, Certificate] = {}
    for certificate in db.session.scalars(select(Certificate).where(Certificate.user_id.in_(ids))
                                          .order_by(Certificate.issued_at, Certificate.id)) if ids else []:
        newest[certificate.user_id] = certificate
    at = now()
    notices = notice_counts(ids)  # (still to learn, overdue) per person
    rows = []
    for person in people:
        certification = by_position.get(person.position)
        row = MatrixRow(person, certification, certificate=newest.get(person.id),
                        pending_notices=notices.get(person.id, (0, 0))[0],
                        overdue_notices=notices.get(person.id, (0, 0))[1])
        requirements: list[Requirement] = []
        if certification is not None:
            for slug in certification.rule.get("courses", []):
                course = courses.get(slug)
                if course is None:
                    continue
                got, total = min(done.get((person.id, course.id), 0), totals.get(course.id, 0)), totals.get(course.id, 0)
                met = total > 0 and got >= total
                row.cells.append(Cell(course.title, met, "已学完" if met else f"{got}/{total} 章"))
                requirements.append(Requirement("course", slug, course.title, met, started=got > 0))
            for slug, minimum in certification.rule.get("scenarios", {}).items():
                scenario = scenarios.get(slug)
                if scenario is None:
                    continue
                score = best.get((person.id, scenario.id))
                met = score is not None and score >= minimum
                row.cells.append(Cell(scenario.title, met, f"{score} 分" if score is not None else "未通过"))
                requirements.append(Requirement("scenario", slug, scenario.title, met, started=score is not None))
            exam = exams.get(certification.rule.get("exam"))
            if exam is not None:
                met = (person.id, exam.id) in passed_exams
                tried = tried_exams.get((person.id, exam.id))
                row.cells.append(Cell(exam.title, met, "已通过" if met else (f"最高 {tried:g} 分" if tried is not None else "未考")))
                requirements.append(Requirement("exam", exam.slug, exam.title, met, started=tried is not None))
            certificate = row.certificate
            facts = CertificateFacts(certificate.issued_at, certificate.expires_at, certificate.revoked_at) \
                if certificate is not None else None
            row.status = status_of(requirements, facts, at, row.overdue_notices > 0)
        rows.append(row)
    return rows


def columns(rows: list[MatrixRow]) -> list[str]:
    """The requirement columns, in order of first appearance."""
    seen: list[str] = []
    for row in rows:
        for cell in row.cells:
            if cell.label not in seen:
                seen.append(cell.label)
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
